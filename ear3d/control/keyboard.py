"""Keyboard and mouse bindings: the one table the live window uses and its help overlay lists.

Keys are spelled as moderngl-window names them (``"UP"``, ``"NUMBER_1"``, ``"LEFT_BRACKET"``),
with an optional ``"SHIFT+"`` or ``"CTRL+"`` prefix. Parameter commands go to
control.params.Parameters (``"exposure:next"``); ``app:*`` commands to the live app.
W A S D Q E (and shift) are held to fly (:data:`FLY_KEYS`, driven by the camera controller,
ear3d.gfx.controller); :func:`binding_help` lists every key and mouse action, given the
controller's own table (control sits below gfx and cannot import it).
"""

from __future__ import annotations

from collections.abc import Sequence

from ear3d.messages import Command

#: Number of recall slots (scenes) on the number keys.
SCENE_SLOTS = 9

#: (key, command name, value, what it does), in the order the help lists them.
_TABLE: tuple[tuple[str, str, object, str], ...] = (
    ("F1", "app:help", None, "show or hide this help"),
    ("H", "app:help", None, "show or hide this help"),
    ("TAB", "app:panels", None, "show or hide the control panels"),
    ("F2", "app:performance", None, "performance mode: only the picture"),
    ("F", "app:fullscreen", None, "fullscreen on or off"),
    ("F11", "app:fullscreen", None, "fullscreen on or off"),
    ("F12", "app:screenshot", None, "screenshot (PNG into out/)"),
    ("F9", "app:record", None, "start or stop recording picture and sound (MP4 into out/)"),
    ("CTRL+S", "app:save_session", None, "save the session file"),
    ("CTRL+L", "app:load_session", None, "load the session file again"),
    ("CTRL+M", "app:learn", None, "MIDI learn: move a control for the last touched parameter (again: cancel)"),
    ("CTRL+U", "app:unlearn", None, "forget the MIDI bindings of the last touched parameter"),
    # The target: what the ear aims at.
    ("T", "target_layer:next", None, "target layer: next"),
    ("SHIFT+T", "target_layer:prev", None, "target layer: previous"),
    ("L", "channel_pos:next", None, "target channels: move up"),
    ("J", "channel_pos:prev", None, "target channels: move down"),
    ("SHIFT+L", "channel_width:next", None, "target channels: wider"),
    ("SHIFT+J", "channel_width:prev", None, "target channels: narrower"),
    ("I", "pitch_pos:next", None, "target pitch: move up"),
    ("K", "pitch_pos:prev", None, "target pitch: move down"),
    ("SHIFT+I", "pitch_width:next", None, "target pitch: wider"),
    ("SHIFT+K", "pitch_width:prev", None, "target pitch: narrower"),
    ("O", "time_pos:next", None, "target time: later in the loop"),
    ("U", "time_pos:prev", None, "target time: earlier in the loop"),
    ("SHIFT+O", "time_width:next", None, "target time: longer"),
    ("SHIFT+U", "time_width:prev", None, "target time: shorter"),
    ("N", "minimise:toggle", None, "maximise or minimise the target"),
    ("Y", "app:keep_selection", None, "keep this target and add the next one"),
    ("P", "sonify:toggle", None, "pause or resume the optimisation"),
    ("PERIOD", "app:step", None, "one optimisation step (also while paused)"),
    ("Z", "app:reset_origin", None, "back to the origin clip"),
    # The optimizer (everything else is in the panels and on MIDI).
    ("SHIFT+UP", "learning_rate:next", None, "learning rate up"),
    ("SHIFT+DOWN", "learning_rate:prev", None, "learning rate down"),
    ("SHIFT+RIGHT", "mix_origin:next", None, "more mix back to the origin"),
    ("SHIFT+LEFT", "mix_origin:prev", None, "less mix back to the origin"),
    # The look and the view.
    ("UP", "exposure:next", None, "brighter"),
    ("DOWN", "exposure:prev", None, "darker"),
    ("EQUAL", "sphere_scale:next", None, "bigger spheres"),
    ("MINUS", "sphere_scale:prev", None, "smaller spheres"),
    ("RIGHT_BRACKET", "highlight_layer:next", None, "highlight the next layer"),
    ("LEFT_BRACKET", "highlight_layer:prev", None, "highlight the previous layer"),
    ("BACKSPACE", "highlight_layer:reset", None, "no highlighted layer"),
    ("RIGHT", "orbit_speed:next", None, "orbit faster (to the right)"),
    ("LEFT", "orbit_speed:prev", None, "orbit slower (to the left)"),
    ("SPACE", "app:pause_orbit", None, "pause or resume the orbit"),
    ("R", "app:reset_camera", None, "camera back home"),
    ("X", "app:fly", None, "fly mode: the mouse looks around without a button (X again: back)"),
    ("G", "app:focus_selection", None, "fly to the target neurons"),
    ("V", "adaptive:toggle", None, "adaptive quality on or off"),
    ("F3", "app:next_display", None, "next display mode: flat, stereo, anaglyph, dome, 360°"),
    ("SHIFT+F3", "app:prev_display", None, "previous display mode"),
    # The sound.
    ("PAGE_UP", "volume:next", None, "louder"),
    ("PAGE_DOWN", "volume:prev", None, "quieter"),
    ("M", "mute:toggle", None, "mute or unmute"),
    ("C", "app:reopen_audio", None, "reconnect the audio device"),
    *((f"NUMBER_{n}", "app:recall_scene", n, f"recall scene {n}") for n in range(1, SCENE_SLOTS + 1)),
    *((f"SHIFT+NUMBER_{n}", "app:store_scene", n, f"store scene {n}") for n in range(1, SCENE_SLOTS + 1)),
)

#: key (with an optional SHIFT+/CTRL+ prefix) → command
KEY_BINDINGS: dict[str, Command] = {key: Command(name, value) for key, name, value, _ in _TABLE}

#: Keys held to fly the camera (the camera controller owns their directions), and the key
#: held for speed: the window passes them on while they are down.
FLY_KEYS: tuple[str, ...] = ("W", "A", "S", "D", "Q", "E")
FAST_KEYS: tuple[str, ...] = ("LEFT_SHIFT", "RIGHT_SHIFT")

#: What the mouse does besides moving the camera (the controller lists those), for the help.
MOUSE_ACTIONS: tuple[tuple[str, str], ...] = (
    ("click a sphere", "pick it: the inspector shows its layer, channel, pitch and activation"),
    ("point at a sphere", "the inspector shows it while the pointer rests there"),
    ("right click a control", "reset it, MIDI learn, forget its MIDI bindings"),
)

#: Keys the window itself handles (moderngl-window's exit key).
WINDOW_KEYS: tuple[tuple[str, str], ...] = (("ESCAPE", "quit"),)


def binding(key: str, shift: bool = False, ctrl: bool = False) -> Command | None:
    """The command of ``key`` with these modifiers; a shifted key without a binding of its own
    falls back to the plain key (None when neither is bound)."""
    if ctrl:
        return KEY_BINDINGS.get(f"CTRL+{key}")
    if shift and f"SHIFT+{key}" in KEY_BINDINGS:
        return KEY_BINDINGS[f"SHIFT+{key}"]
    return KEY_BINDINGS.get(key)


def key_label(key: str) -> str:
    """A key as people write it: "SHIFT+NUMBER_1" → "Shift+1", "RIGHT_BRACKET" → "]"."""
    symbols = {"RIGHT_BRACKET": "]", "LEFT_BRACKET": "[", "EQUAL": "=", "MINUS": "-", "PERIOD": ".",
               "PAGE_UP": "Page Up", "PAGE_DOWN": "Page Down", "BACKSPACE": "Backspace", "ESCAPE": "Esc"}
    parts = key.split("+")
    name = parts[-1]
    name = symbols.get(name, name.removeprefix("NUMBER_").title() if len(name) > 1 else name)
    return "+".join([p.title() for p in parts[:-1]] + [name])


def binding_help(camera: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(keys, what they do) for every key and mouse action, for the help overlay: this table,
    then ``camera`` (the camera controller's (action, description) pairs: drags, wheel, fly
    keys), then the other mouse actions. Keys doing the same thing share a line; the scene
    keys are summarised."""
    lines: dict[str, list[str]] = {}
    for key, name, _, doc in _TABLE:
        if name in ("app:recall_scene", "app:store_scene"):
            continue
        lines.setdefault(doc, []).append(key_label(key))
    out = [(" / ".join(keys), doc) for doc, keys in lines.items()]
    out.append((f"1 … {SCENE_SLOTS}", "recall a scene"))
    out.append((f"Shift+1 … {SCENE_SLOTS}", "store the current state as a scene"))
    out += [(str(what), str(doc)) for what, doc in camera]
    out += list(MOUSE_ACTIONS)
    out += [(key_label(key), doc) for key, doc in WINDOW_KEYS]
    return out


def help_text(camera: Sequence[tuple[str, str]] = ()) -> str:
    """The help as plain text, one binding a line (for the README and the log)."""
    return "\n".join(f"{keys:>22}  {doc}" for keys, doc in binding_help(camera))
