"""Frame targets and the post-process: the scene is drawn into a floating-point (HDR)
target, then bloom (a downsample/upsample chain, shaders/bloom_down.glsl and bloom_up.glsl)
and the composite (background with vignette, depth-faded coverage, tone mapping;
shaders/composite.glsl) produce the picture in the caller's framebuffer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import moderngl

from ear3d.gfx.shaders import load_draw_program, set_uniforms

#: Bloom levels at most; the chain also stops before a level gets smaller than 4 pixels.
MAX_BLOOM_LEVELS = 6
#: The glow reaches about this fraction of the frame's smaller side, whatever the size.
BLOOM_REACH = 0.08


def bloom_levels(size: tuple[int, int]) -> int:
    """Levels of the bloom chain for a frame of ``size``: the coarsest level's 3-texel tent
    spans about BLOOM_REACH of the smaller side (1080p: 5, 720p: 4, 64 px: 1)."""
    reach = max(min(size) * BLOOM_REACH / 3.0, 1.0)
    return int(min(max(round(math.log2(reach)), 1), MAX_BLOOM_LEVELS))


class FrameTargets:
    """Internal targets for one output size (w, h): the scene (RGBA16F colour + depth,
    multisampled when ``samples`` > 1, resolved into textures) and the bloom chain."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], samples: int):
        w, h = size
        if w < 1 or h < 1:
            raise ValueError(f"render target size must be at least 1×1, got {w}×{h}")
        self.ctx = ctx
        self.size = (w, h)
        #: the samples asked for (``samples`` is what the driver allows)
        self.requested_samples = samples
        self.samples = min(samples, ctx.max_samples) if samples > 1 else 0
        self._objects: list = []
        self.color = self._keep(ctx.texture(size, 4, dtype="f2"))
        self.color.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.color.repeat_x = self.color.repeat_y = False
        self.depth = self._keep(ctx.depth_texture(size))
        self.depth.compare_func = ""  # read as numbers (compute edge pass), not as a shadow map
        self.depth.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.resolved = self._keep(ctx.framebuffer([self.color], self.depth))
        if self.samples:
            self.multisampled = self._keep(ctx.framebuffer(
                [self._keep(ctx.renderbuffer(size, 4, samples=self.samples, dtype="f2"))],
                self._keep(ctx.depth_renderbuffer(size, samples=self.samples)),
            ))
        else:
            self.multisampled = None
        self.bloom: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []
        bw, bh = w // 2, h // 2
        while len(self.bloom) < bloom_levels(size) and min(bw, bh) >= 4:
            tex = self._keep(ctx.texture((bw, bh), 4, dtype="f2"))
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
            self.bloom.append((tex, self._keep(ctx.framebuffer([tex]))))
            bw, bh = bw // 2, bh // 2

    def _keep(self, obj):
        self._objects.append(obj)
        return obj

    @property
    def draw_fbo(self) -> moderngl.Framebuffer:
        """Where the scene passes draw."""
        return self.multisampled or self.resolved

    def resolve(self) -> None:
        """Multisampled colour and depth → the ``color`` and ``depth`` textures."""
        if self.multisampled is not None:
            self.ctx.copy_framebuffer(self.resolved, self.multisampled)

    def release(self) -> None:
        for obj in reversed(self._objects):  # framebuffers before their attachments
            obj.release()
        self._objects = []
        self.bloom = []


@dataclass(frozen=True)
class PostStyle:
    """background: display RGB 0–1; bloom: strength (0 = off); threshold: light above which
    pixels glow; vignette: 0–1 darkening of the background towards the corners."""

    background: tuple[float, float, float]
    bloom: float = 0.8
    threshold: float = 0.6
    vignette: float = 0.6


class PostProcess:
    """Bloom and composite programs (one set per context)."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.down = load_draw_program(ctx, "bloom_down")
        self.up = load_draw_program(ctx, "bloom_up")
        self.composite_program = load_draw_program(ctx, "composite")
        self._vaos = {id(p): ctx.vertex_array(p, []) for p in (self.down, self.up, self.composite_program)}

    def _fullscreen(self, program: moderngl.Program) -> None:
        self._vaos[id(program)].render(moderngl.TRIANGLES, vertices=3)

    def run(self, targets: FrameTargets, out: moderngl.Framebuffer, style: PostStyle) -> None:
        """Bloom from ``targets.color``, then composite into ``out`` (same size)."""
        self.bloom(targets, style)
        self.composite(targets, out, style)

    @staticmethod
    def _uses_bloom(targets: FrameTargets, style: PostStyle) -> bool:
        return style.bloom > 0 and bool(targets.bloom)

    def bloom(self, targets: FrameTargets, style: PostStyle) -> None:
        """The bloom chain from ``targets.color`` into ``targets.bloom`` (nothing when off)."""
        ctx = self.ctx
        ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND)
        if not self._uses_bloom(targets, style):
            return
        source = targets.color
        for level, (tex, fbo) in enumerate(targets.bloom):
            fbo.use()
            ctx.viewport = (0, 0, *tex.size)
            source.use(location=0)
            set_uniforms(self.down, u_source=0, u_texel=(1 / source.size[0], 1 / source.size[1]),
                         u_first=level == 0, u_threshold=float(style.threshold), u_knee=0.5 * float(style.threshold))
            self._fullscreen(self.down)
            source = tex
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE
        for (tex, fbo), (below, _) in zip(reversed(targets.bloom[:-1]), reversed(targets.bloom[1:]), strict=True):
            fbo.use()
            ctx.viewport = (0, 0, *tex.size)
            below.use(location=0)
            set_uniforms(self.up, u_source=0, u_texel=(1 / below.size[0], 1 / below.size[1]), u_spread=1.0)
            self._fullscreen(self.up)
        ctx.disable(moderngl.BLEND)

    def composite(self, targets: FrameTargets, out: moderngl.Framebuffer, style: PostStyle) -> None:
        """Background, ``targets.color``, the bloom (after ``bloom``) and tone mapping into ``out``."""
        ctx = self.ctx
        ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND)
        use_bloom = self._uses_bloom(targets, style)
        out.use()
        ctx.viewport = (0, 0, *out.size)
        targets.color.use(location=0)
        if use_bloom:
            targets.bloom[0][0].use(location=1)
        set_uniforms(self.composite_program, u_scene=0, u_bloom=1, u_has_bloom=use_bloom,
                     u_bloom_strength=float(style.bloom) / max(len(targets.bloom), 1),
                     u_background=tuple(style.background), u_vignette=float(style.vignette))
        self._fullscreen(self.composite_program)

    def release(self) -> None:
        for vao in self._vaos.values():
            vao.release()
        for program in (self.down, self.up, self.composite_program):
            program.release()
