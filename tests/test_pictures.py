"""The plots people read (training curves, target over steps, scalograms) come out as whole PNGs
of the asked size, with the curves and data drawn in them."""

import numpy as np
import pytest
from PIL import Image

from ear3d.ml.curves import SIZE, TRAIN_COLOUR, VAL_COLOUR, plot_curves
from ear3d.ml.pictures import SCALOGRAM_CMAP, SIGNED_CMAP, curves_png, scalograms_png

HISTORY = [  # three steps, as a very short run writes them
    {"step": 1, "train_loss": 2.8, "train_accuracy": 0.06},
    {"step": 2, "train_loss": 2.5, "train_accuracy": 0.10, "val_loss": 2.6, "val_accuracy": 0.09},
    {"step": 3, "train_loss": 2.1, "train_accuracy": 0.21, "val_loss": 2.3, "val_accuracy": 0.15},
]


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def near(img: np.ndarray, colour, tolerance: int = 12) -> int:
    """How many pixels of ``img`` (H, W, 3) are within ``tolerance`` of ``colour`` in every channel."""
    return int((np.abs(img - np.asarray(colour)) <= tolerance).all(-1).sum())


def test_training_curves_png_has_both_curves_text_and_no_leftovers(tmp_path):
    path = plot_curves(HISTORY, tmp_path / "curves.png", "tiny preset, 3 steps")
    img = pixels(path)
    assert img.shape == (SIZE[1], SIZE[0], 3)
    assert near(img, VAL_COLOUR) > 100 and near(img, TRAIN_COLOUR) > 50  # both curves, in both panels
    dark = (img.max(-1) < 90).mean()
    assert 0.005 < dark < 0.2  # axes, ticks and labels are drawn; the plot is not a dark block
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # written atomically, no temp file left


def test_training_curves_without_validation_or_points_still_draw(tmp_path):
    train_only = plot_curves(HISTORY[:1], tmp_path / "one.png")
    empty = plot_curves([], tmp_path / "empty.png")
    assert pixels(train_only).shape == pixels(empty).shape == (SIZE[1], SIZE[0], 3)
    assert near(pixels(train_only), VAL_COLOUR) == 0


def test_target_curves_png_draws_each_series(tmp_path):
    path = curves_png(tmp_path / "target.png", {"rising": [0.1, 0.8, 2.0, 3.5], "flat": [0.0, np.nan, 0.1, 0.1]},
                      "target over 3 steps", "normalised activation", size=(640, 360))
    img = pixels(path)
    assert img.shape == (360, 640, 3)
    assert near(img, (31, 119, 180), 20) > 40 and near(img, (255, 127, 14), 20) > 40  # the two series' colours


@pytest.mark.parametrize("symmetric", [False, True])
def test_scalograms_png_shows_the_data_low_pitch_at_the_bottom(tmp_path, symmetric):
    from matplotlib import colormaps

    data = np.zeros((48, 64))
    data[:12] = 1.0  # loud low bins (row 0 = lowest pitch)
    path = scalograms_png(tmp_path / "s.png", {"before": data, "after": data}, symmetric=symmetric)
    img = pixels(path)
    assert img.shape[0] >= 48 * 2 and img.shape[1] >= 2 * 64 * 2
    cmap = colormaps[SIGNED_CMAP if symmetric else SCALOGRAM_CMAP]
    loud, quiet = (np.asarray(cmap(v)[:3]) * 255 for v in (1.0, 0.5 if symmetric else 0.0))
    loud_rows, quiet_rows = (np.nonzero((np.abs(img - c) <= 6).all(-1))[0] for c in (loud, quiet))
    assert len(loud_rows) > 2 * 12 * 64 and len(quiet_rows) > 2 * 36 * 64  # ≥ 1 px per cell, both panels
    assert loud_rows.mean() > quiet_rows.mean() + 0.25 * img.shape[0]  # low pitch drawn below high pitch
