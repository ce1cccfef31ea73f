"""Projections for the immersive outputs: pure math on pyglm and numpy, no GL.

- :func:`stereo_eyes`: a stereo pair by off-axis (asymmetric frustum) projection — both eyes
  look parallel, each frustum is shifted so that the zero-parallax plane at the convergence
  distance coincides (no toe-in, so no vertical parallax);
- :class:`Frame`: the orthonormal frame a cube map is rendered in (right, up, forward and
  the eye position), with :func:`cube_face_eye` giving each face's 90° view;
- :func:`fisheye_directions` and :func:`equirect_directions`: where each pixel of a
  domemaster or an equirectangular panorama looks — the reference the resampling shaders
  (shaders/dome.glsl, shaders/equirect.glsl) implement and the tests check them against.

Cube faces follow OpenGL's cube-map convention in the frame's local coordinates (x = right,
y = up, z = backward, as in view space): face i of +X −X +Y −Y +Z −Z, rendered with the
usual up vectors, lands in ``samplerCube`` texel layout without flips. Angles in degrees
where the name says so, else radians; distances in world units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyglm import glm

from ear3d.gfx.camera import OrbitCamera

#: (direction, up) of the six cube faces in local frame coordinates, in GL face order.
CUBE_FACES: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...] = (
    ((1, 0, 0), (0, -1, 0)), ((-1, 0, 0), (0, -1, 0)),
    ((0, 1, 0), (0, 0, 1)), ((0, -1, 0), (0, 0, -1)),
    ((0, 0, 1), (0, -1, 0)), ((0, 0, -1), (0, -1, 0)),
)
#: The horizontal faces (+X −X +Z −Z): the ones an omni-directional stereo pair renders per eye.
SIDE_FACES = (0, 1, 4, 5)


@dataclass(frozen=True)
class Eye:
    """One view to draw: world → view matrix, view → clip projection, and the eye's world
    position (the depth fade is measured from it)."""

    view: glm.mat4
    projection: glm.mat4
    position: glm.vec3


def camera_eye(camera: OrbitCamera, aspect: float) -> Eye:
    """The flat view of ``camera`` at ``aspect`` (width / height)."""
    return Eye(camera.view(), camera.projection(aspect), glm.vec3(camera.eye))


def stereo_eyes(camera: OrbitCamera, aspect: float, separation: float, convergence: float) -> tuple[Eye, Eye]:
    """(left, right) eyes of an off-axis stereo pair around ``camera``.

    separation: distance between the eyes and convergence: distance of the zero-parallax
    plane, both as fractions of ``camera.distance`` (config render.eye_separation and
    render.convergence). Each eye sits half the separation along the camera's right axis and
    looks parallel to it; its frustum is shifted by ``s · near / C`` so that a point at the
    convergence distance lands on the same pixel in both eyes. A point straight ahead at
    view depth D lands at NDC x = s / (tan(fov_y / 2) · aspect) · (1/C − 1/D) in the eye at
    offset s (s = ±separation / 2): see :func:`expected_ndc_x`.
    """
    if not aspect > 0 or not math.isfinite(aspect):
        raise ValueError(f"aspect ratio must be a positive number, got {aspect}")
    sep = max(float(separation), 0.0) * camera.distance
    conv = max(float(convergence), 1e-3) * camera.distance
    view = camera.view()
    right = glm.vec3(view[0][0], view[1][0], view[2][0])  # first row of the rotation: the camera's right axis
    top = camera.near * math.tan(math.radians(camera.fov_y) / 2)
    half_w = top * aspect
    eyes = []
    for s in (-sep / 2, sep / 2):
        shift = s * camera.near / conv
        projection = glm.frustum(-half_w - shift, half_w - shift, -top, top, camera.near, camera.far)
        eye_view = glm.translate(glm.mat4(1.0), glm.vec3(-s, 0.0, 0.0)) * view
        # pyglm's stub types mat4 * mat4 as mat4x2
        eyes.append(Eye(eye_view, projection, glm.vec3(camera.eye) + right * s))  # type: ignore[arg-type]
    return eyes[0], eyes[1]


def expected_ndc_x(offset: float, depth: float, convergence: float, fov_y: float, aspect: float) -> float:
    """NDC x of a point straight ahead at view depth ``depth`` in the eye at ``offset`` along
    the right axis (world units; convergence distance in world units; fov_y in degrees)."""
    return offset / (math.tan(math.radians(fov_y) / 2) * aspect) * (1.0 / convergence - 1.0 / depth)


@dataclass(frozen=True)
class Frame:
    """An orthonormal frame at ``position``: right, up, forward (unit vectors, world units).
    The cube map is rendered in it; the panorama's centre looks along ``forward``."""

    position: glm.vec3
    right: glm.vec3
    up: glm.vec3
    forward: glm.vec3

    def view(self, offset: glm.vec3 | None = None) -> glm.mat4:
        """World → local frame coordinates (x right, y up, z backward), from ``position`` +
        ``offset`` (an eye offset in local coordinates)."""
        r, u, b = self.right, self.up, -self.forward
        rotation = glm.mat4(glm.vec4(r.x, u.x, b.x, 0), glm.vec4(r.y, u.y, b.y, 0),  # type: ignore[call-overload]
                            glm.vec4(r.z, u.z, b.z, 0), glm.vec4(0, 0, 0, 1))  # (pyglm's stub lacks the 4-column form)
        origin = self.position + (self.to_world(offset) if offset is not None else glm.vec3(0.0))
        return rotation * glm.translate(glm.mat4(1.0), -origin)

    def to_world(self, local: glm.vec3) -> glm.vec3:
        """A direction or offset in local coordinates (x right, y up, z backward) → world."""
        return self.right * local.x + self.up * local.y - self.forward * local.z


def camera_frame(camera: OrbitCamera) -> Frame:
    """The camera's own frame (it looks at the target; up is the view's up)."""
    forward = glm.normalize(camera.target - camera.eye)
    right = glm.normalize(glm.cross(forward, glm.vec3(0.0, 1.0, 0.0)))
    return Frame(glm.vec3(camera.eye), right, glm.cross(right, forward), forward)


def level_frame(camera: OrbitCamera) -> Frame:
    """A frame at the camera's eye with world up (+y) as up and the view direction's
    horizontal part as forward: a 360° panorama keeps its horizon level whatever the pitch."""
    ahead = camera.target - camera.eye
    flat = glm.vec3(ahead.x, 0.0, ahead.z)
    if glm.length(flat) < 1e-9 * max(glm.length(ahead), 1e-30):  # looking straight up or down
        flat = glm.vec3(-math.sin(camera.yaw), 0.0, -math.cos(camera.yaw))
    forward = glm.normalize(flat)
    up = glm.vec3(0.0, 1.0, 0.0)
    return Frame(glm.vec3(camera.eye), glm.normalize(glm.cross(forward, up)), up, forward)


def tilted_frame(frame: Frame, tilt_deg: float) -> Frame:
    """``frame`` turned about its right axis so that forward rises by ``tilt_deg`` degrees
    (the dome's centre; its image top turns away from up correspondingly)."""
    t = math.radians(tilt_deg)
    forward = frame.forward * math.cos(t) + frame.up * math.sin(t)
    up = frame.up * math.cos(t) - frame.forward * math.sin(t)
    return Frame(frame.position, frame.right, up, forward)


def cube_face_eye(frame: Frame, face: int, near: float, far: float, offset: glm.vec3 | None = None) -> Eye:
    """Face ``face`` (0–5, GL order +X −X +Y −Y +Z −Z in local coordinates) of a cube map
    around ``frame``: a 90° square view from the frame's position + ``offset`` (local)."""
    direction, up = CUBE_FACES[face]
    face_rotation = glm.lookAt(glm.vec3(0.0), glm.vec3(*direction), glm.vec3(*up))
    view = face_rotation * frame.view(offset)
    position = frame.position + (frame.to_world(offset) if offset is not None else glm.vec3(0.0))
    # pyglm's stub types mat4 * mat4 as mat4x2
    return Eye(view, glm.perspective(math.radians(90.0), 1.0, near, far), position)  # type: ignore[arg-type]


def ods_offset(face: int, separation: float, left: bool) -> glm.vec3:
    """The eye offset (local coordinates) of a side face of an omni-directional stereo pair:
    half the separation across that face's view direction (to its left for the left eye).
    Top and bottom faces get none (the disparity tapers to zero at the poles)."""
    if face not in SIDE_FACES:
        return glm.vec3(0.0)
    direction = glm.vec3(*CUBE_FACES[face][0])
    across = glm.normalize(glm.cross(direction, glm.vec3(0.0, 1.0, 0.0)))  # the face's right
    return across * (-separation / 2 if left else separation / 2)


# -- where each output pixel looks (numpy; shaders/dome.glsl and equirect.glsl do the same) --


def fisheye_directions(uv: np.ndarray, fov_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Equidistant (angular) fisheye: uv (..., 2) in 0–1 over the square image (origin
    bottom-left) → (local directions (..., 3) with the dome's centre along −z, up +y; inside
    (...,) bool — the pixels within the image circle)."""
    p = np.asarray(uv, np.float64) * 2.0 - 1.0
    rho = np.hypot(p[..., 0], p[..., 1])
    theta = rho * math.radians(fov_deg) / 2
    phi = np.arctan2(p[..., 1], p[..., 0])
    s = np.sin(theta)
    d = np.stack([s * np.cos(phi), s * np.sin(phi), -np.cos(theta)], axis=-1)
    return d, rho <= 1.0


def equirect_directions(uv: np.ndarray) -> np.ndarray:
    """Equirectangular 360° × 180°: uv (..., 2) in 0–1 (origin bottom-left) → local
    directions (..., 3): the centre looks along −z (forward), u = 0 and 1 straight behind,
    v = 1 straight up."""
    p = np.asarray(uv, np.float64)
    lon = (p[..., 0] - 0.5) * 2 * math.pi
    lat = (p[..., 1] - 0.5) * math.pi
    return np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), -np.cos(lat) * np.cos(lon)], axis=-1)


def faces_seen(directions: np.ndarray) -> list[int]:
    """The cube faces (GL order) that some of ``directions`` ((M, 3) local) fall on."""
    d = np.asarray(directions, np.float64).reshape(-1, 3)
    axis = np.abs(d).argmax(axis=1)
    sign = d[np.arange(len(d)), axis] < 0
    return sorted({int(a) * 2 + int(s) for a, s in zip(axis, sign, strict=True)})


def dome_faces(fov_deg: float, samples: int = 256) -> list[int]:
    """The faces a fisheye of ``fov_deg`` samples (a 180° dome never sees the face behind
    it). Found from a dense grid of its pixel directions plus a margin of one degree (the
    bilinear filter reads across a face's edge)."""
    g = (np.arange(samples) + 0.5) / samples
    uv = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    d, inside = fisheye_directions(uv, min(fov_deg + 2.0, 360.0))
    return faces_seen(d[inside])
