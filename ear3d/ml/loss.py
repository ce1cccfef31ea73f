"""The contrastive (InfoNCE) loss of CPC.

For item n, c step j and prediction k the score of a candidate encoding is
``z_m[t]ᵀ · (M_k c_n[j])`` with t = ``model.target_step(j, k)``. The positive is m = n; the
negatives are the other items m of the minibatch at the same step t, or, with
``over_time``, every item at every valid target step of that k (B·J − 1 negatives):

    L = − mean over n, j, k of log( exp(s_nn) / Σ_m exp(s_nm) )

Accuracy is the fraction of (n, j, k) whose positive scores highest (ties count as wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ear3d.ml.model import CPCModel


@dataclass
class LossResult:
    """loss: scalar tensor (mean cross-entropy, nats); accuracy: scalar tensor in [0, 1];
    count: number of (n, j, k) terms; negatives: negatives per term."""

    loss: torch.Tensor
    accuracy: torch.Tensor
    count: int
    negatives: int


def valid_steps(model: CPCModel, k: int, z_steps: int, c_steps: int) -> int:
    """How many c steps j (0 … J−1) have their prediction k inside the z sequence."""
    j = 0
    while j < c_steps and model.target_step(j, k) < z_steps:
        j += 1
    return j


def cpc_loss(model: CPCModel, z: torch.Tensor, c: torch.Tensor, over_time: bool = False) -> LossResult:
    """z (B, z_dim, Tz), c (B, c_dim, Tc) of a CPCModel ``model`` → :class:`LossResult`.

    Scores are computed in float32 whatever the activations' dtype (autocast-safe).
    """
    b = z.shape[0]
    pred = model.predict(c).float()  # (B, K, D, Tc)
    z = z.float()
    total = z.new_zeros(())
    correct = z.new_zeros(())
    count, negatives = 0, 0
    for k in range(pred.shape[1]):
        j = valid_steps(model, k, z.shape[2], c.shape[2])
        if j == 0:
            continue
        steps = torch.tensor([int(model.target_step(i, k)) for i in range(j)], device=z.device)
        p = pred[:, k, :, :j]  # (B, D, J)
        target = z[:, :, steps]  # (B, D, J)
        if over_time:
            scores = torch.einsum("ndj,mdi->njmi", p, target).reshape(b * j, b * j)
            labels = torch.arange(b * j, device=z.device)
            negatives = b * j - 1
        else:
            scores = torch.einsum("ndj,mdj->jnm", p, target).reshape(j * b, b)
            labels = torch.arange(b, device=z.device).repeat(j)
            negatives = b - 1
        total = total + F.cross_entropy(scores, labels, reduction="sum")
        best = scores.argmax(-1)
        top = scores.gather(1, labels[:, None])[:, 0]
        # ties count as wrong: the positive must be strictly the unique maximum
        unique = (scores >= top[:, None]).sum(-1) == 1
        correct = correct + ((best == labels) & unique).sum()
        count += scores.shape[0]
    if count == 0:
        raise ValueError(f"the crop is too short: {z.shape[2]} z steps leave no prediction target")
    return LossResult(total / count, correct / count, count, negatives)


class ContrastiveObjective(nn.Module):
    """What a training step differentiates: scalogram (B, C, F, T) → (loss, accuracy).

    Wrapping this module (not the bare model) in DistributedDataParallel keeps the
    prediction heads inside the synchronised forward.
    """

    def __init__(self, model: CPCModel, over_time: bool = False):
        super().__init__()
        self.model = model
        self.over_time = over_time

    def forward(self, scalogram: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, c = self.model.encode(scalogram)
        result = cpc_loss(self.model, z, c, self.over_time)
        return result.loss, result.accuracy
