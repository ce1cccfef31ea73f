"""The live app's own commands (``app:<name>``) that keys, MIDI buttons and OSC can run.

Defined here, below the app, so that mapping files and OSC can be checked against them; the
live app (ear3d.app.LiveApp) implements each one.
"""

from __future__ import annotations

#: name → what it does; the ones in :data:`APP_ACTION_VALUES` take a value.
APP_ACTIONS: dict[str, str] = {
    "help": "show or hide the help",
    "panels": "show or hide the control panels",
    "performance": "performance mode: only the picture",
    "fullscreen": "fullscreen on or off",
    "screenshot": "screenshot (PNG into out/)",
    "record": "start or stop recording picture and sound",
    "save_session": "save the session file",
    "load_session": "load the session file again",
    "keep_selection": "keep this target and add the next one",
    "step": "one optimisation step",
    "reset_origin": "back to the origin clip",
    "pause_orbit": "pause or resume the orbit",
    "reset_camera": "camera back home",
    "focus_selection": "fly to the target neurons",
    "reopen_audio": "reconnect the audio device",
    "audio_device": "play on another output device (a name, part of one, an index; '' = the default)",
    "fly": "fly mode on or off: the mouse looks around without a button",
    "recall_scene": "recall scene N",
    "store_scene": "store the current state as scene N",
    "mute": "mute or unmute",
    "toggle_sonify": "pause or resume the optimisation",
    "origin": "start from another clip (silence, noise, a clip name or a path)",
    "learn": "MIDI learn: the next control moved drives the given parameter, else the last touched one (again: cancel)",
    "unlearn": "forget the MIDI bindings of the given parameter, else of the last touched one",
    "next_display": "next display mode (flat, stereo, anaglyph, dome, 360°), round and round",
    "prev_display": "previous display mode",
}

#: Actions that need a value: name → what kind ("scene": an integer from 1, "text": a string).
#: (learn and unlearn take an optional parameter name: the GUI's per-widget learn sends one.)
APP_ACTION_VALUES: dict[str, str] = {"recall_scene": "scene", "store_scene": "scene", "origin": "text",
                                     "audio_device": "text"}
