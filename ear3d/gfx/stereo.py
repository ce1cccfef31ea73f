"""Stereo pairs: two off-axis eyes (ear3d.gfx.projection.stereo_eyes), each drawn and
post-processed (bloom, tone mapping) at its own size, then composed into the output by
shaders/stereo.glsl.

Layouts for an output of W × H pixels:

- ``sbs``: each eye W/2 × H with its own aspect (full-resolution side by side: VR viewers,
  players that take a double-wide frame);
- ``sbs-half``: each eye W/2 × H squeezed from the output's aspect W / H (half side by side:
  3-D TVs and projectors stretch each half back);
- ``top-bottom``: each eye W × H/2 with its own aspect, the left eye on top;
- ``anaglyph``: both eyes W × H, red from the left eye, green and blue from the right;
- ``anaglyph-dubois``: the same eyes through Dubois' least-squares matrices (colours kept
  better, less retinal rivalry).
"""

from __future__ import annotations

import moderngl

from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.display import STEREO_MODES, DisplaySettings, ScenePasses
from ear3d.gfx.post import FrameTargets
from ear3d.gfx.projection import stereo_eyes
from ear3d.gfx.shaders import load_program, set_uniforms

_LAYOUT = {"sbs": 0, "sbs-half": 0, "top-bottom": 1, "anaglyph": 2, "anaglyph-dubois": 3}


def eye_layout(mode: str, size: tuple[int, int]) -> tuple[tuple[int, int], float]:
    """(eye size in pixels, the aspect its projection uses) of ``mode`` for an output ``size``."""
    w, h = size
    if mode == "sbs":
        return (max(w // 2, 1), h), max(w // 2, 1) / h
    if mode == "sbs-half":
        return (max(w // 2, 1), h), w / h
    if mode == "top-bottom":
        return (w, max(h // 2, 1)), w / max(h // 2, 1)
    return (w, h), w / h


class StereoDisplay:
    """A stereo pair in one of STEREO_MODES. Release with ``release()``."""

    def __init__(self, ctx: moderngl.Context, mode: str):
        if mode not in STEREO_MODES:
            raise ValueError(f"stereo mode {mode!r} is not one of {', '.join(STEREO_MODES)}")
        self.ctx = ctx
        self.mode = mode
        self.program = load_program(ctx, "stereo")
        self.vao = ctx.vertex_array(self.program, [])
        self._targets: FrameTargets | None = None
        self._eyes: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []

    def _allocate(self, size: tuple[int, int], samples: int) -> FrameTargets:
        if self._targets is None or self._targets.size != size or self._targets.requested_samples != samples:
            self._release_targets()
            self._targets = FrameTargets(self.ctx, size, samples)
            for _ in range(2):
                tex = self.ctx.texture(size, 4)
                tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
                self._eyes.append((tex, self.ctx.framebuffer([tex])))
        return self._targets

    def draw(self, passes: ScenePasses, camera: OrbitCamera, fbo: moderngl.Framebuffer,
             settings: DisplaySettings) -> None:
        """Both eyes from ``camera``, composed into ``fbo``."""
        size, aspect = eye_layout(self.mode, fbo.size)
        targets = self._allocate(size, settings.samples)
        for eye, (_, eye_fbo) in zip(stereo_eyes(camera, aspect, settings.eye_separation, settings.convergence),
                                     self._eyes, strict=True):
            passes.light(targets, eye)
            passes.post(targets, eye_fbo)
        fbo.use()
        self.ctx.viewport = (0, 0, *fbo.size)
        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND)
        self._eyes[0][0].use(location=0)
        self._eyes[1][0].use(location=1)
        set_uniforms(self.program, u_left=0, u_right=1, u_layout=_LAYOUT[self.mode])
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def _release_targets(self) -> None:
        if self._targets is not None:
            self._targets.release()
            self._targets = None
        for tex, fb in self._eyes:
            fb.release()
            tex.release()
        self._eyes = []

    def release(self) -> None:
        self._release_targets()
        self.vao.release()
        self.program.release()
