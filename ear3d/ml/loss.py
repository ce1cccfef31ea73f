"""The contrastive (InfoNCE) loss of CPC.

For item n, c step j and prediction k the score of a candidate encoding is
``z_m[t]ᵀ · (M_k c_n[j])`` with t = ``model.target_step(j, k)``. The positive is m = n; the
negatives are the other items m of the minibatch at the same step t, or, with
``over_time``, every item at every valid target step of that k (B·J − 1 negatives):

    L = − mean over n, j, k of log( exp(s_nn) / Σ_m exp(s_nm) )

Accuracy is the fraction of (n, j, k) whose positive scores highest (ties count as wrong).

An optional second term, the *segment contrast*, asks the same of whole stretches of time: the
time-mean of a layer (z unless told otherwise) over the first half of item n must be closer
(cosine, over a temperature) to the time-mean over n's second half than to any other item's.
No labels are used: the positive is the same recording a few seconds later. It rewards what
stays put within a piece (instruments, register, key, texture) — what CPC's per-step
predictions reward only indirectly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from ear3d.config import TrainConfig
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


def segment_contrast_loss(z: torch.Tensor, temperature: float) -> LossResult:
    """z (B, D, T) or a layer's activations (B, C, F, T) → symmetric InfoNCE between the
    time-means of each item's first and last ``T // 2`` steps (flattened over channels and
    pitch rows, L2-normalised; scores are cosines divided by ``temperature``).

    The positive of item n's first half is n's second half, its negatives the other B − 1
    items' second halves, and the other way round; accuracy counts both directions (ties wrong).
    """
    z = z.flatten(1, -2)
    b, _, t = z.shape
    if b < 2 or t < 2:
        raise ValueError(f"segment contrast needs at least 2 items of 2 z steps, got {b} of {t}")
    half = t // 2
    z = z.float()
    first = F.normalize(z[:, :, :half].mean(-1), dim=1)
    second = F.normalize(z[:, :, t - half:].mean(-1), dim=1)
    scores = first @ second.T / temperature  # (B, B): row n = first half of n against every second half
    labels = torch.arange(b, device=z.device)
    both = torch.cat([scores, scores.T])
    targets = labels.repeat(2)
    top = both.gather(1, targets[:, None])
    correct = ((both >= top).sum(-1) == 1).float().sum()
    return LossResult(F.cross_entropy(both, targets), correct / (2 * b), 2 * b, b - 1)


def segment_contrast(acts: Mapping[str, torch.Tensor], layers: Sequence[str], temperature: float) -> LossResult:
    """The segment contrast of each named layer of ``acts`` (a CPCModel's output), averaged:
    loss and accuracy are the layers' means."""
    results = [segment_contrast_loss(acts[name], temperature) for name in layers]
    return LossResult(torch.stack([r.loss for r in results]).mean(), torch.stack([r.accuracy for r in results]).mean(),
                      results[0].count, results[0].negatives)


class ObjectiveOutput(NamedTuple):
    """loss: what a step differentiates (scalar); cpc_loss: CPC's share of it (scalar, the
    number validation reports); accuracy: CPC top-1 (scalar in [0, 1]); segment_accuracy:
    the segment contrast's top-1, or None when it is off."""

    loss: torch.Tensor
    cpc_loss: torch.Tensor
    accuracy: torch.Tensor
    segment_accuracy: torch.Tensor | None


class ContrastiveObjective(nn.Module):
    """What a training step differentiates: scalogram (B, C, F, T) → :class:`ObjectiveOutput`.
    The loss is CPC's plus ``segment_weight`` times the segment contrast
    (:func:`segment_contrast_loss`; off at weight 0).

    Wrapping this module (not the bare model) in DistributedDataParallel keeps the
    prediction heads inside the synchronised forward.
    """

    def __init__(self, model: CPCModel, over_time: bool = False, segment_weight: float = 0.0,
                 segment_temperature: float = 0.1, segment_layers: Sequence[str] = ()):
        super().__init__()
        self.model = model
        self.over_time = over_time
        self.segment_weight = segment_weight
        self.segment_temperature = segment_temperature
        self.segment_layers = tuple(segment_layers) or (model.z_name,)
        unknown = [name for name in self.segment_layers if name not in model.layer_names()[1:]]
        if unknown:
            raise ValueError(f"train.segment_layers: no layer named {', '.join(unknown)} "
                             f"(layers: {', '.join(model.layer_names()[1:])})")

    @property
    def segment_on(self) -> bool:
        """Whether the segment contrast is part of the loss."""
        return self.segment_weight > 0

    @classmethod
    def from_config(cls, model: CPCModel, tc: TrainConfig) -> ContrastiveObjective:
        """The objective ``[train]`` asks for (score_over_time, segment_contrast/_temperature/_layers)."""
        layers = [name.strip() for name in tc.segment_layers.split(",") if name.strip()]
        return cls(model, tc.score_over_time, tc.segment_contrast, tc.segment_temperature, layers)

    def forward(self, scalogram: torch.Tensor) -> ObjectiveOutput:
        acts = self.model(scalogram)
        z, c = self.model.split(acts)
        result = cpc_loss(self.model, z, c, self.over_time)
        if not self.segment_on:
            return ObjectiveOutput(result.loss, result.loss, result.accuracy, None)
        segment = segment_contrast(acts, self.segment_layers, self.segment_temperature)
        return ObjectiveOutput(result.loss + self.segment_weight * segment.loss, result.loss, result.accuracy,
                               segment.accuracy)
