"""The CPC contrastive loss: a hand-computed case and an explicit-loop reference."""

import math

import numpy as np
import pytest
import torch

from ear3d.ml.loss import ContrastiveObjective, cpc_loss, segment_contrast_loss, valid_steps
from ear3d.ml.model import PRESETS, CPCModel


class IdentityHeads:
    """A stand-in model: one prediction step, M_1 = identity, c step j predicts z step j + 1."""

    arch = PRESETS["tiny"]

    def predict(self, c: torch.Tensor) -> torch.Tensor:
        return c[:, None]  # (B, K=1, D, T)

    def target_step(self, j, k):
        return j + 1 + k


def test_loss_equals_hand_computed_value():
    c = torch.tensor([[[1.0], [0.0]], [[0.0], [1.0]]])  # (B=2, D=2, Tc=1): c_0 = (1, 0), c_1 = (0, 1)
    z = torch.zeros(2, 2, 2)
    z[0, :, 1] = torch.tensor([2.0, 0.0])
    z[1, :, 1] = torch.tensor([0.0, 1.0])
    # scores s_nm = c_n · z_m = [[2, 0], [0, 1]]: L = mean(log(1 + e^-2), log(1 + e^-1))
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1))) / 2
    r = cpc_loss(IdentityHeads(), z, c)
    assert r.loss.item() == pytest.approx(expected, rel=1e-6)
    assert r.accuracy.item() == 1.0 and r.count == 2 and r.negatives == 1
    z[0, :, 1] = torch.tensor([0.0, 3.0])  # now item 0's positive loses to item 1's z for c_1 … and c_0 ties at 0
    r = cpc_loss(IdentityHeads(), z, c)
    assert r.accuracy.item() == 0.0  # c_0: scores (0, 0) is a tie → wrong; c_1: (3, 1) → wrong


def reference_loss(model: CPCModel, z: np.ndarray, c: np.ndarray, over_time: bool) -> tuple[float, float]:
    """The seed's formula with explicit loops (numpy, float64)."""
    w = model.predictors.weight.detach().double().numpy()
    bias = model.predictors.bias.detach().double().numpy()
    k_steps, d = model.arch.prediction_steps, model.z_dim
    b, _, tz = z.shape
    terms, correct = [], 0
    for k in range(k_steps):
        js = [j for j in range(c.shape[2]) if model.target_step(j, k) < tz]
        cands = [(m, model.target_step(j2, k) if over_time else None)
                 for m in range(b) for j2 in (js if over_time else [0])]
        for n in range(b):
            for j in js:
                pred = (w @ c[n, :, j] + bias).reshape(k_steps, d)[k]
                t = model.target_step(j, k)
                pool = [(m, t if tt is None else tt) for m, tt in cands]
                scores = np.array([pred @ z[m, :, tt] for m, tt in pool])
                pos = pool.index((n, t))
                terms.append(-(scores[pos] - np.log(np.exp(scores - scores.max()).sum()) - scores.max()))
                correct += int(scores.argmax() == pos)
    return float(np.mean(terms)), correct / len(terms)


@pytest.mark.parametrize("over_time", [False, True])
def test_loss_matches_explicit_loops(over_time):
    torch.manual_seed(0)
    model = CPCModel(PRESETS["tiny"], 216).double()
    torch.nn.init.normal_(model.predictors.weight, std=0.1)  # the heads start at zero; make scores differ
    torch.nn.init.normal_(model.predictors.bias, std=0.1)
    z = torch.randn(3, model.z_dim, 24, dtype=torch.float64)
    c = torch.randn(3, model.c_dim, 6, dtype=torch.float64)
    r = cpc_loss(model, z, c, over_time)
    loss, acc = reference_loss(model, z.numpy(), c.numpy(), over_time)
    assert r.loss.item() == pytest.approx(loss, rel=1e-5)
    assert r.accuracy.item() == pytest.approx(acc)
    assert r.count == 3 * sum(valid_steps(model, k, 24, 6) for k in range(model.arch.prediction_steps))
    assert r.negatives == (3 * valid_steps(model, model.arch.prediction_steps - 1, 24, 6) - 1 if over_time else 2)


def test_targets_lie_after_what_c_has_seen():
    model = CPCModel(PRESETS["small"], 216)
    # c step 0 pools z steps 0-3; with gap g the first target is 3 + g + 1
    assert model.target_step(0, 0) == 3 + model.arch.prediction_gap + 1
    assert model.target_step(2, 1) == model.target_step(0, 0) + 2 * model.c_stride + 1


def test_training_starts_at_chance_and_backpropagates_to_every_parameter():
    torch.manual_seed(0)
    model = CPCModel(PRESETS["tiny"], 216)
    x = torch.rand(4, 1, 216, 172)
    loss, _, acc, segment = ContrastiveObjective(model)(x)
    assert segment is None  # off unless asked for
    assert loss.item() == pytest.approx(math.log(4))  # zero heads: every score 0, nothing to collapse from
    loss.backward()
    assert model.predictors.weight.grad.abs().sum() > 0  # … and the heads still get a gradient
    torch.nn.init.normal_(model.predictors.weight, std=0.1)
    model.zero_grad()
    loss, _, acc, _ = ContrastiveObjective(model)(x)
    loss.backward()
    assert 0.0 <= acc.item() <= 1.0
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_too_short_a_crop_is_a_clear_error():
    model = CPCModel(PRESETS["tiny"], 216)
    with pytest.raises(ValueError, match="too short"):
        cpc_loss(model, torch.rand(2, model.z_dim, 4), torch.rand(2, model.c_dim, 1))


def test_segment_contrast_finds_each_crop_by_its_own_later_half():
    torch.manual_seed(0)
    pieces = torch.rand(6, 32, 1) + 0.1  # one steady spectrum per "piece"
    z = pieces + 0.05 * torch.rand(6, 32, 10)  # ten steps each, a little variation over time
    r = segment_contrast_loss(z, temperature=0.1)
    assert r.accuracy.item() == 1.0 and r.negatives == 5 and r.count == 12
    # halves swapped between items: each first half now matches another item's second half
    shuffled = torch.cat([z[:, :, :5], z[[1, 2, 3, 4, 5, 0], :, 5:]], dim=2)
    worse = segment_contrast_loss(shuffled, temperature=0.1)
    assert worse.accuracy.item() == 0.0 and worse.loss.item() > r.loss.item() + 1.0
    # identical items are ties, and ties count as wrong
    assert segment_contrast_loss(z[[0, 0]], 0.1).accuracy.item() == 0.0
    with pytest.raises(ValueError, match="at least 2 items"):
        segment_contrast_loss(z[:1], 0.1)


def test_segment_contrast_adds_to_the_cpc_loss_and_trains_the_encoder():
    torch.manual_seed(0)
    model = CPCModel(PRESETS["tiny"], 216)
    x = torch.rand(4, 1, 216, 172)
    model.eval()  # no dropout: the three forward passes below see the same network
    plain = ContrastiveObjective(model)(x).loss
    both, cpc, _, segment = ContrastiveObjective(model, segment_weight=2.0)(x)
    assert cpc.item() == pytest.approx(plain.item(), rel=1e-6)  # CPC's share, reported apart
    z, _ = model.encode(x)
    expected = plain + 2.0 * segment_contrast_loss(z, 0.1).loss
    assert both.item() == pytest.approx(expected.item(), rel=1e-5)
    assert segment is not None and 0.0 <= segment.item() <= 1.0
    first = next(model.encoder[0].parameters())
    model.train()
    model.zero_grad()
    ContrastiveObjective(model)(x)[0].backward()
    # the prediction heads start at zero: CPC alone gives the encoder no gradient yet …
    assert first.grad is None or first.grad.abs().sum() == 0
    model.zero_grad()
    ContrastiveObjective(model, segment_weight=1.0)(x)[0].backward()
    # … so the encoder's gradient here is the segment contrast's
    assert first.grad.abs().sum() > 0


def test_segment_contrast_on_named_layers_and_a_clear_error_for_unknown_ones():
    torch.manual_seed(0)
    model = CPCModel(PRESETS["tiny"], 216).eval()
    x = torch.rand(4, 1, 216, 172)
    acts = model(x)
    objective = ContrastiveObjective(model, segment_weight=1.0, segment_layers=["enc1", "enc3"])
    out = objective(x)
    both = [segment_contrast_loss(acts[name], 0.1).loss for name in ("enc1", "enc3")]
    assert out.loss.item() == pytest.approx(out.cpc_loss.item() + (both[0] + both[1]).item() / 2, rel=1e-5)
    assert ContrastiveObjective(model).segment_layers == ("enc" + str(len(model.encoder) - 1),)  # z by default
    with pytest.raises(ValueError, match="no layer named enc99"):
        ContrastiveObjective(model, segment_weight=1.0, segment_layers=["enc3", "enc99"])
