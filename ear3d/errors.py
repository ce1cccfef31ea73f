"""The errors a user can cause and fix: the command line prints them in one line, no traceback.

The classes are named here, not imported: importing them would load torch (``ml``),
moderngl (``gfx``) and PortAudio (``audio``) into every command, ``ear3d audio --list``
and ``ear3d --help`` included. An exception can only have been raised by a module that was
imported, so :func:`user_errors` looks the classes up among the modules already loaded.
"""

from __future__ import annotations

import importlib
import sys

#: (module, class name) of every user error; ``ConfigError`` is handled on its own.
USER_ERROR_NAMES: tuple[tuple[str, str], ...] = (
    ("ear3d.argtypes", "UsageError"),
    ("ear3d.audio", "AudioUnavailable"),
    ("ear3d.clips", "AudioFileError"),
    ("ear3d.control.params", "ControlError"),
    ("ear3d.gfx.context", "GLUnavailable"),
    ("ear3d.gfx.shaders", "ShaderError"),
    ("ear3d.live_window", "WindowError"),
    ("ear3d.ml.checkpoint", "CheckpointError"),
    ("ear3d.session_file", "SessionFileError"),
    ("ear3d.video", "VideoError"),
)


def user_errors(loaded_only: bool = True) -> tuple[type[BaseException], ...]:
    """The user error classes; with ``loaded_only`` only those whose module is already
    imported (the others cannot have been raised), so that nothing new is imported."""
    found = []
    for module_name, class_name in USER_ERROR_NAMES:
        module = sys.modules.get(module_name)
        if module is None and not loaded_only:
            module = importlib.import_module(module_name)
        if module is not None:
            found.append(getattr(module, class_name))
    return tuple(found)
