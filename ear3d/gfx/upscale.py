"""Drawing at a fraction of the window's resolution: an offscreen colour texture that the
scene draws into, stretched (linear filtering) onto the window's framebuffer."""

from __future__ import annotations

import moderngl

_VERTEX = """
#version 330
out vec2 uv;
void main() {
    // one triangle covering the screen
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

_FRAGMENT = """
#version 330
uniform sampler2D image;
in vec2 uv;
out vec4 colour;
void main() { colour = vec4(texture(image, uv).rgb, 1.0); }
"""


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """``size`` (width, height) × ``scale``, at least 1 × 1 pixel."""
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


class Upscaler:
    """``target(size, scale)`` gives a framebuffer of ``scaled_size(size, scale)``; ``blit(dst)``
    stretches what was drawn onto ``dst``. Release explicitly."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.program = ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
        self.vao = ctx.vertex_array(self.program, [])
        self.texture: moderngl.Texture | None = None
        self.fbo: moderngl.Framebuffer | None = None

    def target(self, size: tuple[int, int], scale: float) -> moderngl.Framebuffer:
        """The offscreen framebuffer for a window of ``size`` drawn at ``scale``."""
        want = scaled_size(size, scale)
        if self.texture is None or self.texture.size != want:
            self._release_target()
            self.texture = self.ctx.texture(want, 4)
            self.texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self.fbo = self.ctx.framebuffer(color_attachments=[self.texture])
        return self.fbo  # type: ignore[return-value]

    def blit(self, dst: moderngl.Framebuffer) -> None:
        """Stretch the last drawn frame over all of ``dst``."""
        if self.texture is None:
            return
        dst.use()
        self.ctx.viewport = (0, 0, *dst.size)
        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND)
        self.texture.use(0)
        self.program["image"] = 0
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def _release_target(self) -> None:
        for obj in (self.fbo, self.texture):
            if obj is not None:
                obj.release()
        self.fbo = self.texture = None

    def release(self) -> None:
        """Free the GL objects (idempotent)."""
        self._release_target()
        for name in ("vao", "program"):
            obj = getattr(self, name, None)
            if obj is not None:
                obj.release()
                setattr(self, name, None)
