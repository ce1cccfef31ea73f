"""Picking: which neuron sphere is under a pixel — exactly the impostor the neuron pass draws.

shaders/neurons.glsl draws each neuron as a camera-facing quad of half-size r, pushed
towards the camera by r, and keeps the fragments whose quad coordinate lies in the unit
disc; the depth it writes is the sphere's front surface there. ``pick_sphere`` intersects
the pixel's ray with those quads on the CPU (vectorised numpy over all neurons; a 15.6 k
neuron network costs well under a millisecond) and returns the one whose written depth is
nearest, as the depth test does. ``drawn_radii`` is the shader's radius rule.
"""

from __future__ import annotations

import numpy as np
from pyglm import glm

#: How far (window units) a click or a resting pointer may land from a sphere's drawn edge and
#: still pick it, when it is over no sphere.
POINTER_SLOP = 6.0


def drawn_radii(activity: np.ndarray, selected: np.ndarray, radius: float, sphere_scale: float) -> np.ndarray:
    """(N,) float32 radius in world units of each drawn sphere — the rule of
    shaders/neurons.glsl's vertex stage (change both together). activity: (N,) float 0–1
    at the drawn loop position; selected: (N,) bool; radius: idle radius (world units)."""
    base = np.float32(radius * sphere_scale)
    a = np.clip(np.nan_to_num(np.asarray(activity, np.float32)), 0.0, None)
    r = base * (0.5 + 1.5 * np.sqrt(a))
    return np.where(np.asarray(selected, bool), np.maximum(r * 1.25, base * 1.2), r).astype(np.float32)


def pixel_ray(view: glm.mat4, projection: glm.mat4, x: float, y: float, size: tuple[float, float]) -> np.ndarray:
    """(3,) float64 direction in view space of the ray through (x, y) — window units from the
    top-left corner of a window ``size`` (width, height) wide — from the eye (the origin)."""
    w, h = size
    ndc = glm.vec4(2.0 * x / w - 1.0, 1.0 - 2.0 * y / h, -1.0, 1.0)
    q = glm.vec4(glm.inverse(projection) * ndc)
    return np.array([q.x, q.y, q.z], np.float64) / q.w


def pick_sphere(centres: np.ndarray, radii: np.ndarray, view: glm.mat4, projection: glm.mat4, x: float, y: float,
                size: tuple[float, float], near: float, slop: float = 0.0) -> int | None:
    """Index of the sphere impostor drawn at (x, y), or None over the background.

    centres: (N, 3) float32 world positions as drawn; radii: (N,) float32 (``drawn_radii``);
    view, projection: the frame's matrices; (x, y) and size (width, height): window units
    from the top-left corner; near: the near clipping distance (quads nearer are clipped);
    slop: window units — over the background, the sphere whose drawn edge is nearest the
    point, if it is at most this far (a far-away network draws spheres a few pixels wide,
    with gaps between them that a hand on a mouse keeps hitting).
    """
    n = len(centres)
    if n == 0 or not (size[0] > 0 and size[1] > 0) or not (0 <= x <= size[0] and 0 <= y <= size[1]):
        return None
    v = np.array(view.to_list(), np.float64)  # pyglm: to_list() gives columns
    c = np.asarray(centres, np.float64) @ v[:3, :3] + v[3, :3]  # (N, 3) view space
    r = np.asarray(radii, np.float64)
    d = pixel_ray(view, projection, x, y, size)
    plane = c[:, 2] + r  # the quad's depth (view z, negative in front of the eye)
    in_front = plane <= -near
    t = np.where(in_front, plane / d[2], np.nan)  # ray parameter where it meets the quad's plane
    corner = (t[:, None] * d[None, :2] - c[:, :2]) / r[:, None]  # the fragment's v_corner
    d2 = (corner ** 2).sum(axis=1)
    hit = in_front & (d2 <= 1.0)
    if not hit.any():
        if slop <= 0 or not in_front.any():
            return None
        # the miss in the quad's plane (world units) scaled to window units at the quad's depth
        units_per_world = 0.5 * size[1] * float(projection[1][1]) / -plane
        gap = np.where(in_front, (np.sqrt(d2) - 1.0) * r * units_per_world, np.inf)
        nearest = int(np.argmin(gap))
        return nearest if gap[nearest] <= slop else None
    depth = np.where(hit, c[:, 2] + r * np.sqrt(np.clip(1.0 - d2, 0.0, 1.0)), -np.inf)  # front surface z
    return int(np.argmax(depth))
