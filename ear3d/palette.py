"""Layer palettes from assets/palettes/NAME.json: a hue family per group of layers.

A palette file names groups of layers by glob patterns over layer names (``enc*``,
``ar*``); each group has colour stops (#rrggbb, sRGB) that its layers are spread over in
layer order, however many layers the group has, and every other layer of a group is drawn
darker (``stripe``) so that neighbouring layers stay apart even when a group has many
layers. Layers that no group matches take the ``colors`` list, cycled.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ear3d import paths
from ear3d.config import ConfigError, parse_hex_color

#: Brightness of every other layer within a group, when the file does not say.
DEFAULT_STRIPE = 0.72


@dataclass(frozen=True)
class LayerGroup:
    """Layers whose names match one of ``patterns`` (fnmatch globs); stops: (K, 3) float32
    sRGB 0–1, spread over the group's layers from the first to the last."""

    name: str
    patterns: tuple[str, ...]
    stops: np.ndarray

    def matches(self, layer_name: str) -> bool:
        return any(fnmatch.fnmatchcase(layer_name, p) for p in self.patterns)

    def shades(self, count: int, stripe: float) -> np.ndarray:
        """(count, 3) float32: the stops interpolated at evenly spaced positions, every second
        one scaled by ``stripe``."""
        t = np.linspace(0.0, 1.0, count) if count > 1 else np.zeros(1)
        x = np.linspace(0.0, 1.0, len(self.stops))
        out = np.stack([np.interp(t, x, self.stops[:, c]) for c in range(3)], axis=1)
        out[1::2] *= stripe
        return out.astype(np.float32)


@dataclass(frozen=True)
class Palette:
    """colors: (K, 3) float32 sRGB in 0–1, cycled over layers no group claims (or all layers
    when no names are given); highlight: (3,) for targets; groups: hue families by layer name."""

    name: str
    colors: np.ndarray
    highlight: np.ndarray
    groups: tuple[LayerGroup, ...] = ()
    stripe: float = DEFAULT_STRIPE

    def per_layer(self, names: Sequence[str]) -> np.ndarray:
        """(L, 3) float32: the colour of each of the L layers named in network order."""
        out = self.colors[np.arange(len(names)) % len(self.colors)].astype(np.float32)
        for group in self.groups:
            members = [i for i, n in enumerate(names) if group.matches(n)]
            if members:
                out[members] = group.shades(len(members), self.stripe)
        return out

    def layer_colors(self, layer: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
        """layer: (N,) int layer index per neuron → (N, 3) float32 colour of its layer.
        names: the layers' names in index order (for the groups); None cycles ``colors``."""
        layer = np.asarray(layer)
        if names is None:
            return self.colors[layer % len(self.colors)]
        if layer.size and (layer.min() < 0 or layer.max() >= len(names)):
            raise ValueError(f"layer indices {layer.min()}…{layer.max()} but {len(names)} layer names")
        return self.per_layer(names)[layer]


def _colors(value: Any, where: str) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} needs a non-empty list of #rrggbb strings")
    return np.array([parse_hex_color(c, where) for c in value], np.float32)


def load_palette(name: str) -> Palette:
    path = paths.assets() / "palettes" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = sorted(p.stem for p in path.parent.glob("*.json"))
        raise ConfigError(f"render.palette = {name!r}: no file {path}; known palettes: {', '.join(known)}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"palette file {path} is not valid JSON: {e}") from None
    rgb = _colors(data.get("colors"), f"palette file {path} 'colors'")
    highlight = np.array(parse_hex_color(data.get("highlight", "#3ff7ff"), f"{path.name} highlight"), np.float32)
    groups = []
    for i, g in enumerate(data.get("groups", [])):
        where = f"palette file {path} groups[{i}]"
        patterns = g.get("match") if isinstance(g, dict) else None
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
            raise ConfigError(f"{where} needs 'match': a list of layer-name patterns such as \"enc*\"")
        groups.append(LayerGroup(str(g.get("name", f"group {i}")), tuple(patterns), _colors(g.get("colors"), where)))
    stripe = data.get("stripe", DEFAULT_STRIPE)
    if not isinstance(stripe, (int, float)) or not 0.0 < stripe <= 1.0:
        raise ConfigError(f"palette file {path} 'stripe' must be a number in (0, 1], got {stripe!r}")
    return Palette(name, rgb, highlight, tuple(groups), float(stripe))
