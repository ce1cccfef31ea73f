"""Headless OpenGL contexts (EGL) with a clear error when none can be made."""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import moderngl

#: SSBOs in vertex shaders need OpenGL 4.3.
GL_VERSION = 430


class GLUnavailable(RuntimeError):
    """No OpenGL 4.3 context could be created."""


def headless_context() -> moderngl.Context:
    """A standalone OpenGL 4.3+ context through EGL (Mesa llvmpipe or a GPU driver)."""
    try:
        # moderngl's stub types each **settings value as a dict
        return moderngl.create_standalone_context(require=GL_VERSION, backend="egl")  # type: ignore[arg-type]
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


#: Where glFinish may be found (GLVND's libOpenGL, the classic libGL, macOS, Windows).
_GL_LIBRARIES = ("libOpenGL.so.0", "libGL.so.1", "libGL.so", "/System/Library/Frameworks/OpenGL.framework/OpenGL",
                 "opengl32")


def gil_free_finish(ctx: moderngl.Context) -> Callable[[], None]:
    """A function that waits, like ``ctx.finish()``, until the current context has drawn
    everything — but lets other Python threads run meanwhile (glFinish through ctypes, which
    releases the GIL; moderngl holds the GIL in every call). A window's buffer swap through
    pyglet or glfw waits this way. Falls back to ``ctx.finish`` where no GL library is found.
    Call it on the thread whose context is current."""
    for name in _GL_LIBRARIES:
        try:
            finish = ctypes.CDLL(name).glFinish
        except (OSError, AttributeError):
            continue
        finish.argtypes, finish.restype = [], None
        return finish
    return ctx.finish
