"""Pictures the panels show as ImGui images: GL textures uploaded only when their data change,
and the colour maps that turn (H, W) float arrays into (H, W, 4) uint8 RGBA."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import moderngl
import numpy as np

#: Anchor colours (RGB 0–1) of the maps, evenly spaced from low to high.
_MAGMA_LIKE = np.array([[0.0, 0.0, 0.02], [0.23, 0.06, 0.44], [0.55, 0.16, 0.51], [0.87, 0.29, 0.41],
                        [0.99, 0.62, 0.39], [0.99, 0.99, 0.75]], np.float32)
_DIVERGING = np.array([[0.25, 0.55, 1.0], [0.08, 0.18, 0.40], [0.02, 0.02, 0.04], [0.45, 0.12, 0.06],
                       [1.0, 0.55, 0.2]], np.float32)


def _apply(anchors: np.ndarray, x01: np.ndarray) -> np.ndarray:
    """x01: (H, W) float in 0–1 → (H, W, 4) uint8 through the piecewise-linear map ``anchors``."""
    x = np.clip(np.nan_to_num(x01, nan=0.0), 0.0, 1.0) * (len(anchors) - 1)
    i = np.minimum(x.astype(np.int32), len(anchors) - 2)
    t = (x - i)[..., None]
    rgb = anchors[i] * (1 - t) + anchors[i + 1] * t
    rgba = np.empty(x.shape + (4,), np.uint8)
    rgba[..., :3] = (rgb * 255 + 0.5).astype(np.uint8)
    rgba[..., 3] = 255
    return rgba


def magnitude_image(values: np.ndarray) -> np.ndarray:
    """(H, W) non-negative levels → (H, W, 4) uint8, scaled to the 99th percentile."""
    top = float(np.percentile(values, 99)) if values.size else 0.0
    return _apply(_MAGMA_LIKE, values / top if top > 0 else np.zeros_like(values))


def signed_image(values: np.ndarray) -> np.ndarray:
    """(H, W) signed values → (H, W, 4) uint8: negative blue, zero black, positive orange,
    scaled symmetrically to the 99th percentile of |values|."""
    top = float(np.percentile(np.abs(values), 99)) if values.size else 0.0
    scaled = values / top if top > 0 else np.zeros_like(values)
    return _apply(_DIVERGING, 0.5 + 0.5 * scaled)


class ImageCache:
    """GL textures by key; ``texture(key, version, make)`` re-uploads only when ``version``
    changes. ``register``/``unregister`` tell the ImGui renderer about each texture (its
    draw commands refer to textures by GL name). Release with ``release()``."""

    def __init__(self, ctx: moderngl.Context, register: Callable[[moderngl.Texture], None],
                 unregister: Callable[[moderngl.Texture], None]):
        self.ctx = ctx
        self._register, self._unregister = register, unregister
        self._textures: dict[Hashable, tuple[Any, moderngl.Texture]] = {}

    def texture(self, key: Hashable, version: Any, make: Callable[[], np.ndarray],
                smooth: bool = True) -> moderngl.Texture:
        """The texture of ``key``, rebuilt from ``make()`` ((H, W, 4) uint8, row 0 at the top)
        when ``version`` differs from the uploaded one; ``smooth`` = linear filtering, else
        nearest (one sharp cell per entry)."""
        held = self._textures.get(key)
        if held is not None and held[0] == version:
            return held[1]
        rgba = np.ascontiguousarray(make(), dtype=np.uint8)
        h, w = rgba.shape[:2]
        if held is not None and held[1].size == (w, h):
            tex = held[1]
            tex.write(rgba.tobytes())
        else:
            if held is not None:
                self._drop(held[1])
            tex = self.ctx.texture((w, h), 4, rgba.tobytes())
            tex.repeat_x = tex.repeat_y = False
            self._register(tex)
        tex.filter = (moderngl.LINEAR, moderngl.LINEAR) if smooth else (moderngl.NEAREST, moderngl.NEAREST)
        self._textures[key] = (version, tex)
        return tex

    def _drop(self, tex: moderngl.Texture) -> None:
        self._unregister(tex)
        tex.release()

    def release(self) -> None:
        for _, tex in self._textures.values():
            self._drop(tex)
        self._textures.clear()
