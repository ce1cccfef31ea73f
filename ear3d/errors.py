"""The errors a user can cause and fix: the command line prints them in one line, no traceback."""

from __future__ import annotations

from ear3d.audio import AudioUnavailable
from ear3d.clips import AudioFileError
from ear3d.control.params import ControlError
from ear3d.gfx.context import GLUnavailable
from ear3d.gfx.shaders import ShaderError
from ear3d.live_window import WindowError
from ear3d.ml.checkpoint import CheckpointError
from ear3d.session_file import SessionFileError
from ear3d.video import VideoError

USER_ERRORS: tuple[type[BaseException], ...] = (
    AudioFileError,
    AudioUnavailable,
    CheckpointError,
    ControlError,
    GLUnavailable,
    SessionFileError,
    ShaderError,
    VideoError,
    WindowError,
)
