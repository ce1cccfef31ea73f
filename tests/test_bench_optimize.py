"""The sonification bench aims at a neuron that can be woken from the start clip."""

import numpy as np

from ear3d.bench.optimize import target_selection
from ear3d.ml.objectives import selected_mask
from ear3d.ml.stats import LayerStats, Stats


def stats_with(mean: np.ndarray) -> Stats:
    zeros = np.zeros_like(mean)
    return Stats({"enc": LayerStats(silence=zeros, mean=mean, std=np.ones_like(mean), scale=1.0)}, "test")


def test_target_is_the_middle_row_of_the_channel_music_drives_furthest_above_the_start():
    mean = np.zeros((4, 5), np.float32)
    mean[1, 2], mean[3, 2] = 3.0, 2.0  # channel 1 has the most headroom over silence
    stats, shape = stats_with(mean), (4, 5, 6)
    sel = target_selection(stats, "enc", shape)
    mask = selected_mask((sel,), {"enc": shape})["enc"]
    assert mask[1, 2].all() and mask.sum() == 6  # one neuron row over the whole loop

    start = np.zeros(shape, np.float32)
    start[1] = 2.5  # the start clip already drives channel 1: channel 3 has more room left
    mask = selected_mask((target_selection(stats, "enc", shape, start),), {"enc": shape})["enc"]
    assert mask[3, 2].all() and mask.sum() == 6

    start[1], start[3] = -5.0, -5.0  # held below silence: not more room than the data level
    mask = selected_mask((target_selection(stats, "enc", shape, start),), {"enc": shape})["enc"]
    assert mask[1, 2].all()
