"""Headless OpenGL contexts (EGL) with a clear error when none can be made."""

from __future__ import annotations

import moderngl

#: SSBOs in vertex shaders need OpenGL 4.3.
GL_VERSION = 430


class GLUnavailable(RuntimeError):
    """No OpenGL 4.3 context could be created."""


def headless_context() -> moderngl.Context:
    """A standalone OpenGL 4.3+ context through EGL (Mesa llvmpipe or a GPU driver)."""
    try:
        return moderngl.create_standalone_context(require=GL_VERSION, backend="egl")
    except Exception as e:  # moderngl/glcontext raise several types here
        raise GLUnavailable(
            f"cannot create a headless OpenGL {GL_VERSION // 100}.{GL_VERSION % 100 // 10} context through EGL: {e}. "
            "Install the EGL libraries (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri; `make run` does this)."
        ) from None


#: Substrings of GL_RENDERER that mean the GPU is emulated on the CPU.
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "lavapipe")


def is_software(ctx: moderngl.Context) -> bool:
    """Whether ``ctx`` renders on the CPU (Mesa llvmpipe and friends)."""
    renderer = str(ctx.info.get("GL_RENDERER", "")).lower()
    return any(name in renderer for name in SOFTWARE_RENDERERS)
