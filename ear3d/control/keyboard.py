"""Keyboard bindings: key names (as moderngl-window spells them) → commands.

Parameter commands go to control.params.Parameters; ``app:*`` commands to the live app.
"""

from __future__ import annotations

from ear3d.messages import Command

KEY_BINDINGS: dict[str, Command] = {
    "RIGHT_BRACKET": Command("highlight_layer:next"),
    "LEFT_BRACKET": Command("highlight_layer:prev"),
    "BACKSPACE": Command("highlight_layer:reset"),
    "EQUAL": Command("sphere_scale:next"),
    "MINUS": Command("sphere_scale:prev"),
    "UP": Command("exposure:next"),
    "DOWN": Command("exposure:prev"),
    "RIGHT": Command("orbit_speed:next"),
    "LEFT": Command("orbit_speed:prev"),
    "PAGE_UP": Command("volume:next"),
    "PAGE_DOWN": Command("volume:prev"),
    "M": Command("app:mute"),
    "A": Command("app:reopen_audio"),
    "R": Command("app:reset_camera"),
    "G": Command("app:focus_selection"),
    "F": Command("app:fullscreen"),
    "SPACE": Command("app:pause_orbit"),
    "T": Command("target_layer:next"),
    "Y": Command("target_layer:prev"),
    "L": Command("channel_pos:next"),
    "J": Command("channel_pos:prev"),
    "I": Command("pitch_pos:next"),
    "U": Command("pitch_pos:prev"),
    "K": Command("app:keep_selection"),
    "P": Command("app:toggle_sonify"),
    "O": Command("app:reset_origin"),
}


def help_text() -> str:
    """One line per binding, for the README and the window's log."""
    return "\n".join(f"{key:>13}  {cmd.name}" for key, cmd in KEY_BINDINGS.items())
