"""Live parameters of the sonification and their translation into worker commands.

The app keeps them in the same :class:`Parameters` as the look; once per apply tick the
changed ones become at most one ``select`` (target region), one ``set`` (factors) and a
pause/resume command, so a flood of fader messages costs the worker one update.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ear3d.control.params import SONIFY_PARAMS
from ear3d.messages import Command

SELECTION_KEYS = frozenset(
    ("target_layer", "channel_pos", "channel_width", "pitch_pos", "pitch_width", "time_pos", "time_width")
)
FACTOR_KEYS = frozenset(
    ("mix_origin", "time_jitter", "time_mask", "pitch_mask", "activity_penalty", "noise_penalty", "hf_penalty")
)


def selection(values: Mapping[str, float], layer_names: Sequence[str]) -> dict:
    """The worker's ``select`` value for the current parameters."""
    layer = layer_names[min(int(values["target_layer"]), len(layer_names) - 1)]
    region = {axis: (float(values[f"{axis}_pos"]), float(values[f"{axis}_width"])) for axis in ("channel", "pitch", "time")}
    return {"layer": layer, **region, "mode": "max"}


def worker_commands(changed: Mapping[str, float], values: Mapping[str, float], layer_names: Sequence[str]) -> list[Command]:
    """Commands for the worker after ``changed`` parameters (``values`` = all current ones)."""
    commands = []
    if SELECTION_KEYS & changed.keys():
        commands.append(Command("select", selection(values, layer_names)))
    settings = {k: float(changed[k]) for k in FACTOR_KEYS & changed.keys()}
    if "learning_rate_log10" in changed:
        settings["learning_rate"] = 10.0 ** float(changed["learning_rate_log10"])
    if settings:
        commands.append(Command("set", settings))
    if "sonify" in changed:
        commands.append(Command("resume" if changed["sonify"] else "pause"))
    return commands


def start_commands(target: str, layer_names: Sequence[str]) -> tuple[dict[str, float], list[Command]]:
    """Parameter values and worker commands that start a session sonifying layer ``target``
    with the default region ('' = only listen). An unknown layer is an error naming them."""
    if not target:
        return {}, []
    if target not in layer_names:
        raise ValueError(f"optimize.start_target = {target!r} is not a layer; layers: {', '.join(layer_names)}")
    values = {spec.name: spec.default for spec in SONIFY_PARAMS}
    values["target_layer"] = layer_names.index(target)
    return values, worker_commands(values, values, layer_names)
