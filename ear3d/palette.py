"""Layer palettes from assets/palettes/NAME.json (sRGB hex → linear RGB floats)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ear3d import paths
from ear3d.config import ConfigError, parse_hex_color


@dataclass(frozen=True)
class Palette:
    """colors: (K, 3) float32 sRGB in 0–1, cycled over layers; highlight: (3,) for targets."""

    name: str
    colors: np.ndarray
    highlight: np.ndarray

    def layer_colors(self, layer: np.ndarray) -> np.ndarray:
        """layer: (N,) int → (N, 3) float32 colour of each neuron's layer."""
        return self.colors[np.asarray(layer) % len(self.colors)]


def load_palette(name: str) -> Palette:
    path = paths.assets() / "palettes" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = sorted(p.stem for p in path.parent.glob("*.json"))
        raise ConfigError(f"render.palette = {name!r}: no file {path}; known palettes: {', '.join(known)}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"palette file {path} is not valid JSON: {e}") from None
    colors = data.get("colors")
    if not isinstance(colors, list) or not colors:
        raise ConfigError(f"palette file {path} needs a non-empty list 'colors' of #rrggbb strings")
    rgb = np.array([parse_hex_color(c, f"{path.name} colors") for c in colors], np.float32)
    highlight = np.array(parse_hex_color(data.get("highlight", "#3ff7ff"), f"{path.name} highlight"), np.float32)
    return Palette(name, rgb, highlight)
