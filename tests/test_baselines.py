"""The random-weights baseline drawn several times: named draws, and their rows folded into
one mean with its range, each draw keeping its own choice of layer."""

import pytest
import torch

from ear3d.config import load
from ear3d.ml.baselines import merge_draws, random_ears
from ear3d.report import Row


def test_one_draw_is_plain_random_init_and_more_draws_are_other_networks():
    config = load(None, ["model.preset=tiny", "model.seed=7"])
    one = random_ears(config, 1)
    three = random_ears(config, 3)
    assert list(one) == ["random_init"] and list(three) == ["random_init#0", "random_init#1", "random_init#2"]
    weights = {name: torch.cat([p.flatten() for p in ear.model.parameters()]) for name, ear in three.items()}
    first = torch.cat([p.flatten() for p in one["random_init"].model.parameters()])
    assert torch.equal(weights["random_init#0"], first)  # draw 0 is the one-draw baseline (model.seed)
    assert not torch.equal(weights["random_init#0"], weights["random_init#1"])
    assert not torch.equal(weights["random_init#1"], weights["random_init#2"])
    with pytest.raises(ValueError, match="at least 1"):
        random_ears(config, 0)


def test_merged_draws_report_the_mean_the_range_and_each_draws_own_layer():
    rows = [Row("raw_cqt", "probe_accuracy_piece", 75.0, "%")]
    for k, (a, b, cv_a, cv_b) in enumerate([(80.0, 70.0, 78.0, 60.0), (76.0, 74.0, 70.0, 72.0)]):
        rows += [Row(f"random_init#{k}/enc0.mid", "probe_accuracy_piece", a, "%"),
                 Row(f"random_init#{k}/enc0.mid", "cv_accuracy_piece", cv_a, "%"),
                 Row(f"random_init#{k}/enc1", "probe_accuracy_piece", b, "%"),
                 Row(f"random_init#{k}/enc1", "cv_accuracy_piece", cv_b, "%")]
        best, layer = (a, 0) if cv_a >= cv_b else (b, 1)
        rows += [Row(f"random_init#{k}/best", "probe_accuracy_piece", best, "%"),
                 Row(f"random_init#{k}/best", "chosen_layer_piece", layer, f"layer {layer}")]
        rows.append(Row(f"random_init#{k}", "contrastive_accuracy", 10.0 + k, "%"))
    rows.append(Row("cpc/best", "probe_accuracy_piece", 79.0, "%"))
    out = merge_draws(rows)
    got = {(r.case, r.metric): r.value for r in out}
    assert out[0] == rows[0] and out[-2] == Row("cpc/best", "probe_accuracy_piece", 79.0, "%")  # others unchanged
    assert got[("random_init/enc0.mid", "probe_accuracy_piece")] == 78.0
    assert got[("random_init/enc0.mid", "lowest_draw_probe_accuracy_piece")] == 76.0
    assert got[("random_init/enc0.mid", "highest_draw_probe_accuracy_piece")] == 80.0
    assert got[("random_init/enc1", "cv_accuracy_piece")] == 66.0
    assert ("random_init/enc1", "lowest_draw_cv_accuracy_piece") not in got  # a range only for test accuracy
    # draw 0 chose enc0.mid (80), draw 1 enc1 (74): the baseline is the mean of their own choices
    assert got[("random_init/best", "probe_accuracy_piece")] == 77.0
    assert got[("random_init#0/best", "chosen_layer_piece")] == 0
    assert got[("random_init#1/best", "chosen_layer_piece")] == 1
    assert got[("random_init#1/best", "probe_accuracy_piece")] == 74.0
    assert ("random_init/best", "chosen_layer_piece") not in got  # no single layer was chosen
    assert got[("random_init", "contrastive_accuracy")] == 10.5
    assert got[("random_init", "draws")] == 2
    assert not any("#" in r.case and "/best" not in r.case for r in out)  # per-draw layers are folded in
    assert merge_draws(rows[:1]) == rows[:1]
