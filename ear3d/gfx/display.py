"""Display modes: how one frame of the scene becomes the output picture.

``flat`` is the renderer's own frame. The others draw the scene's light from several eyes
and compose it (see :data:`ear3d.config.DISPLAY_MODES`):

- stereo pairs (:class:`ear3d.gfx.stereo.StereoDisplay`): ``sbs``, ``sbs-half``,
  ``top-bottom``, ``anaglyph``, ``anaglyph-dubois`` — two off-axis eyes, each with its own
  bloom, composed by shaders/stereo.glsl;
- cube maps resampled (:class:`ear3d.gfx.cubemap.DomeDisplay`, ``EquirectDisplay``):
  ``dome`` (fisheye domemaster), ``equirect`` and ``equirect-stereo`` (360° × 180°) — bloom
  runs once on the resampled picture, so it has no seams at the cube's edges.

Every mode draws from the network's ``current`` state computed once per frame (the key
frames are interpolated once, not per eye or face). A display mode needs only
:class:`ScenePasses` of the scene: the light of one eye into targets, and the post-process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import moderngl
import numpy as np

from ear3d.config import DISPLAY_MODES, RenderConfig
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.post import FrameTargets
from ear3d.gfx.projection import Eye

STEREO_MODES = ("sbs", "sbs-half", "top-bottom", "anaglyph", "anaglyph-dubois")
CUBE_MODES = ("dome", "equirect", "equirect-stereo")


class ScenePasses(Protocol):
    """What a display mode needs of the scene for one frame."""

    def light(self, targets: FrameTargets, eye: Eye) -> None:
        """Draw the scene's HDR light seen from ``eye`` into ``targets`` (resolved)."""

    def post(self, targets: FrameTargets, fbo: moderngl.Framebuffer, vignette: float | None = None) -> None:
        """Bloom and composite ``targets.color`` into ``fbo`` (the same size)."""


@dataclass
class DisplaySettings:
    """The immersive settings (config render.*): eye_separation and convergence as fractions
    of the camera's distance to its target; dome_fov and dome_tilt in degrees; cube_size in
    pixels (0 = from the output size); samples: MSAA of the eye and face targets."""

    eye_separation: float = 0.03
    convergence: float = 1.0
    dome_fov: float = 180.0
    dome_tilt: float = 0.0
    cube_size: int = 0
    samples: int = 4

    @classmethod
    def from_config(cls, render: RenderConfig) -> DisplaySettings:
        return cls(render.eye_separation, render.convergence, render.dome_fov, render.dome_tilt, render.cube_size,
                   render.samples)


class Display(Protocol):
    """A display mode other than flat."""

    mode: str

    def draw(self, passes: ScenePasses, camera: OrbitCamera, fbo: moderngl.Framebuffer,
             settings: DisplaySettings) -> None: ...

    def release(self) -> None: ...


def check_mode(mode: str) -> str:
    """``mode`` when it is one of DISPLAY_MODES, else a ValueError listing them."""
    if mode not in DISPLAY_MODES:
        raise ValueError(f"display mode {mode!r} is not one of {', '.join(DISPLAY_MODES)}")
    return mode


def make_display(ctx: moderngl.Context, mode: str) -> Display | None:
    """The display of ``mode`` (None for flat: the renderer draws it directly)."""
    check_mode(mode)
    if mode in STEREO_MODES:
        from ear3d.gfx.stereo import StereoDisplay

        return StereoDisplay(ctx, mode)
    if mode == "dome":
        from ear3d.gfx.cubemap import DomeDisplay

        return DomeDisplay(ctx)
    if mode in ("equirect", "equirect-stereo"):
        from ear3d.gfx.cubemap import EquirectDisplay

        return EquirectDisplay(ctx, stereo=mode == "equirect-stereo")
    return None


#: Home distances of the cube-map views, in radii of the network (OrbitCamera.around), chosen
#: from renders of the default model at several distances: a dome's eye just at the network's
#: edge, so that it fills the dome's ~180° instead of a small blob at the zenith; a 360°
#: viewer inside it, so that it surrounds them (closer still, single spheres fill the view).
DOME_HOME_RADII = 0.95
INSIDE_HOME_RADII = 0.4
#: Pitch of the 360° home: the eye level with the network's centre (the horizon is level anyway).
INSIDE_HOME_PITCH = 0.0


def home_camera(mode: str, positions: np.ndarray, aspect: float, fov_y: float) -> OrbitCamera:
    """The camera's home in display ``mode`` for neurons at ``positions`` ((N, 3) float32):
    the flat view's framing at ``aspect`` (width / height) for flat and the stereo pairs (one
    view of the whole network); just at the network's edge for a dome; inside it for 360°."""
    check_mode(mode)
    flat = OrbitCamera.framing(positions, aspect, fov_y)
    if mode == "dome":
        return OrbitCamera.around(positions, DOME_HOME_RADII, flat.pitch, fov_y)
    if mode in ("equirect", "equirect-stereo"):
        return OrbitCamera.around(positions, INSIDE_HOME_RADII, INSIDE_HOME_PITCH, fov_y)
    return flat


def frame_shape_error(mode: str, width: int, height: int) -> str | None:
    """Why a ``width`` × ``height`` video cannot carry ``mode`` (None when it can): an
    equirectangular panorama is 2:1, its top-bottom stereo pair 1:1 (2:1 per eye)."""
    if mode == "equirect" and width != 2 * height:
        return f"an equirect video is 2:1 (e.g. --size 4096x2048), got {width}x{height}"
    if mode == "equirect-stereo" and width != height:
        return (f"an equirect-stereo video (2:1 per eye, top-bottom) is square (e.g. --size 4096x4096), "
                f"got {width}x{height}")
    return None
