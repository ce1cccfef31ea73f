"""Still pictures and video frames of a layout, drawn on the CPU with numpy (no GL): for the
README picture and ``ear3d layout --video``. Neurons are additive glowing dots coloured by
layer; edges (a sample of the strongest) are faint additive lines.
"""

from __future__ import annotations

import numpy as np


def rotation(yaw: float, pitch: float = 0.35) -> np.ndarray:
    """(3, 3) rotation: turn by ``yaw`` about the vertical axis, then tilt by ``pitch`` (radians)."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    turn = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    tilt = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return tilt @ turn


def principal_axes(pos: np.ndarray) -> np.ndarray:
    """(3, 3) rows = the principal axes of (N, 3) points, longest first, each signed so that
    the points' third moment along it is positive (stable from frame to frame)."""
    p = pos - pos.mean(0)
    _, _, axes = np.linalg.svd(p[:: max(1, len(p) // 20000)], full_matrices=False)
    skew = ((p @ axes.T) ** 3).sum(0)
    axes = axes * np.where(skew < 0, -1.0, 1.0)[:, None]
    if np.linalg.det(axes) < 0:
        axes[2] *= -1  # a rotation, not a mirror image
    return axes


def project(pos: np.ndarray, size: tuple[int, int], yaw: float = 0.0, extent: float | None = None,
            axes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """pos: (N, 2 or 3) → pixel coordinates (N, 2) float and depth (N,) in [0, 1] (0 = near).

    The points are first turned onto ``axes`` (default: their principal axes, so the longest
    extent runs across the wide frame).

    A perspective camera looks at the centroid; ``extent`` (the layout's radius to fit, by
    default its 98th-percentile distance from the centroid) fills 90 % of the frame height.
    """
    w, h = size
    p = np.asarray(pos, np.float64)
    if p.shape[1] == 2:
        p = np.concatenate([p, np.zeros((len(p), 1))], 1)
    p = p - p.mean(0)
    p = p @ (principal_axes(p) if axes is None else axes).T
    r = extent if extent is not None else float(np.percentile(np.linalg.norm(p, axis=1), 98)) + 1e-12
    q = p @ rotation(yaw).T / r
    dist = 3.0  # camera distance in radii
    z = dist - q[:, 2]
    f = 0.45 * h * dist / 1.0  # a unit radius spans 45 % of the height at the centre depth
    xy = np.stack([w / 2 + f * q[:, 0] / z, h / 2 - f * q[:, 1] / z], 1)
    depth = np.clip((z - (dist - 1.5)) / 3.0, 0, 1)
    return xy, depth


def _splat(img: np.ndarray, xy: np.ndarray, rgb: np.ndarray, radius: int) -> None:
    """Add ``rgb`` (M, 3) at ``xy`` (M, 2) into ``img`` (H, W, 3) float with a soft round kernel."""
    h, w, _ = img.shape
    xi, yi = np.round(xy[:, 0]).astype(np.int64), np.round(xy[:, 1]).astype(np.int64)
    for dy in range(-radius, radius + 1):  # a few kernel offsets; each one vectorized over points
        for dx in range(-radius, radius + 1):
            fall = np.exp(-(dx * dx + dy * dy) / max(radius * radius * 0.5, 0.5))
            x, y = xi + dx, yi + dy
            ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            np.add.at(img, (y[ok], x[ok]), rgb[ok] * fall)


def draw(
    pos: np.ndarray,
    colors: np.ndarray,
    size: tuple[int, int] = (1280, 720),
    yaw: float = 0.0,
    edges: np.ndarray | None = None,
    edge_weights: np.ndarray | None = None,
    max_edges: int = 60000,
    background: tuple[float, float, float] = (0.02, 0.027, 0.05),
    extent: float | None = None,
    point_radius: int = 1,
    axes: np.ndarray | None = None,
) -> np.ndarray:
    """(H, W, 3) uint8 picture of a layout.

    pos: (N, 2|3) positions; colors: (N, 3) floats 0–1; edges: (E, 2) rows of ``pos``
    (the ``max_edges`` strongest by |edge_weights| are drawn, or a random sample without
    weights).
    """
    w, h = size
    n = len(pos)
    img = np.zeros((h, w, 3), np.float64)
    xy, depth = project(pos, size, yaw, extent, axes)
    colors = np.asarray(colors, np.float64)
    if edges is not None and len(edges):
        if len(edges) > max_edges:
            if edge_weights is not None:
                pick = np.argpartition(-np.abs(edge_weights), max_edges)[:max_edges]
            else:
                pick = np.random.default_rng(0).choice(len(edges), max_edges, replace=False)
            edges = edges[pick]
        a, b = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)
        seg = np.linalg.norm(xy[a] - xy[b], axis=1)
        samples = int(np.clip(np.percentile(seg, 90) / 2, 4, 64))
        t = (np.arange(samples) + 0.5) / samples
        pts = xy[a][:, None, :] * (1 - t)[None, :, None] + xy[b][:, None, :] * t[None, :, None]
        col = colors[a][:, None, :] * (1 - t)[None, :, None] + colors[b][:, None, :] * t[None, :, None]
        # Each line carries about the same light whatever its length; far ones are dimmer.
        energy = 0.9 * 200.0 / max(len(edges), 1) ** 0.5 / samples
        shade = (1 - 0.6 * (depth[a] + depth[b]) / 2)[:, None, None]
        _splat(img, pts.reshape(-1, 2), (col * shade * energy).reshape(-1, 3), 0)
    shade = (1 - 0.55 * depth)[:, None]
    glow = 0.9 * min(1.0, 3000.0 / max(n, 1)) ** 0.3
    _splat(img, xy, colors * shade * glow, point_radius)
    img = 1 - np.exp(-img * 1.6)  # soft tone mapping keeps dense regions from clipping flat
    img = np.asarray(background) + img * (1 - np.asarray(background))
    return (np.clip(img, 0, 1) ** (1 / 1.2) * 255).astype(np.uint8)


def level_layers(shapes: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> np.ndarray:
    """(N,) layer index of each vertex of a level with per-layer (channels, pitches) ``shapes``."""
    return np.concatenate([np.full(c * f, k, np.int32) for k, (c, f) in enumerate(shapes)])
