"""Layer colours by group: the encoder warm, the autoregressive model cool, neighbours apart,
however many layers each group has."""

import colorsys
import itertools
import json

import numpy as np
import pytest

from ear3d.config import ConfigError
from ear3d.palette import load_palette


def model_layers(blocks: int, ar: int) -> list[str]:
    """Layer names as ear3d.ml.model names them."""
    encoder = [n for i in range(blocks) for n in (f"enc{i}.mid", f"enc{i}")]
    return ["scalogram", *encoder, *(f"ar{i}" for i in range(ar))]


def hue(rgb) -> float:
    """Hue in degrees (0 = red, 120 = green, 240 = blue)."""
    return colorsys.rgb_to_hsv(*map(float, rgb))[0] * 360


def warm(rgb) -> bool:
    return hue(rgb) <= 60 or hue(rgb) >= 330


def cool(rgb) -> bool:
    return 150 <= hue(rgb) <= 290


@pytest.mark.parametrize("blocks, ar", [(8, 9), (3, 2), (20, 40), (1, 1)])
def test_encoder_is_warm_and_autoregressive_cool_whatever_the_layer_count(blocks, ar):
    names = model_layers(blocks, ar)
    colors = load_palette("default").per_layer(names)
    groups = {"enc": [], "ar": []}
    for name, rgb in zip(names, colors, strict=True):
        if name.startswith("enc"):
            assert warm(rgb), f"{name} {rgb} is not warm (hue {hue(rgb):.0f}°)"
            groups["enc"].append(rgb)
        elif name.startswith("ar"):
            assert cool(rgb), f"{name} {rgb} is not cool (hue {hue(rgb):.0f}°)"
            groups["ar"].append(rgb)
    for members in groups.values():  # neighbouring layers in a group can be told apart
        for a, b in itertools.pairwise(members):
            assert np.linalg.norm(a - b) > 0.15
    if len(groups["enc"]) > 4:  # and the group spans its hue family, not one colour
        assert hue(groups["enc"][0]) - (hue(groups["enc"][-1]) - 360) > 40


def test_layer_colors_follow_the_layer_index():
    names = model_layers(8, 9)
    palette = load_palette("default")
    layer = np.array([0, 0, 5, 17, 25])
    colors = palette.layer_colors(layer, names)
    assert colors.shape == (5, 3) and colors.dtype == np.float32
    assert np.array_equal(colors, palette.per_layer(names)[layer])
    with pytest.raises(ValueError, match="26 layer names"):
        palette.layer_colors(np.array([26]), names)
    # without names: the palette's colour list, cycled (a synthetic network has no groups)
    assert np.array_equal(palette.layer_colors(np.arange(20)), palette.colors[np.arange(20) % len(palette.colors)])


def test_layers_no_group_matches_take_the_cycled_colours():
    palette = load_palette("default")
    colors = palette.per_layer(["mystery", "enc0", "other"])
    assert np.array_equal(colors[0], palette.colors[0]) and np.array_equal(colors[2], palette.colors[2])


def test_a_malformed_palette_names_the_problem(tmp_path, monkeypatch):
    (tmp_path / "assets" / "palettes").mkdir(parents=True)
    monkeypatch.setenv("EAR3D_HOME", str(tmp_path))
    path = tmp_path / "assets" / "palettes" / "bad.json"
    path.write_text(json.dumps({"colors": ["#ffffff"], "groups": [{"name": "enc", "colors": ["#ff0000"]}]}))
    with pytest.raises(ConfigError, match=r"groups\[0\] needs 'match'"):
        load_palette("bad")
    path.write_text(json.dumps({"colors": ["#ffffff"], "groups": [{"match": ["enc*"], "colors": ["red"]}]}))
    with pytest.raises(ConfigError, match="not a colour"):
        load_palette("bad")
    path.write_text(json.dumps({"colors": ["#ffffff"], "stripe": 0}))
    with pytest.raises(ConfigError, match="'stripe'"):
        load_palette("bad")
