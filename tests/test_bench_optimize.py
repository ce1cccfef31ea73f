"""The sonification bench aims at a neuron that can be woken from the start clip."""

import numpy as np
import pytest

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


def test_the_99th_percentile_is_of_the_target_regions_mean_over_clips():
    from ear3d.bench.optimize import data_percentile, gain_ratio

    stats, shape = stats_with(np.zeros((4, 5), np.float32)), (4, 5, 6)
    sel = target_selection(stats, "enc", shape)  # channel 0, pitch row 2, whole loop
    levels = np.zeros((200,) + shape, np.float32)
    levels[:, 0, 2] = np.arange(200, dtype=np.float32)[:, None]  # clip i holds the target at i
    levels[:, 1] = 1000.0  # other neurons do not count
    assert data_percentile(levels, sel) == pytest.approx(np.percentile(np.arange(200), 99))
    assert gain_ratio(6.0, 2.0) == 3.0
    assert gain_ratio(6.0, -1.0) == np.inf  # the rest of the layer fell: no gain to compare


def test_held_out_clips_come_from_a_folder_and_bad_files_are_skipped(tmp_path, capsys):
    import soundfile as sf

    from ear3d.bench.optimize import dataset_clips
    from ear3d.config import Config

    config = Config()
    sr = config.audio.sample_rate
    t = np.arange(int(9.5 * sr)) / sr
    sf.write(tmp_path / "a.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    clips, described = dataset_clips(tmp_path, config, 5)
    n = round(config.audio.clip_seconds * sr)
    assert clips.shape == (2, n) and "2 clips" in described  # 9.5 s holds two 4 s clips
    assert "broken.wav" in capsys.readouterr().out
    with pytest.raises(ValueError, match="nowhere: not a folder"):
        dataset_clips(tmp_path / "nowhere", config, 5)
