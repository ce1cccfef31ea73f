"""Live parameters of the sonification and their translation into worker commands.

The app keeps them in the same :class:`Parameters` as the look; once per apply tick the
changed ones become at most one ``select`` (target region), one ``set`` ([optimize] keys)
and a pause/resume command, so a flood of fader messages costs the worker one update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ear3d.control.params import ParamSpec
from ear3d.messages import Command

SELECTION_KEYS = frozenset(
    ("target_layer", "channel_pos", "channel_width", "pitch_pos", "pitch_width", "time_pos", "time_width", "minimise")
)


def selection(values: Mapping[str, float], layer_names: Sequence[str]) -> dict:
    """The worker's ``select`` value for the current parameters."""
    layer = layer_names[min(max(int(values["target_layer"]), 0), len(layer_names) - 1)]
    region = {axis: (float(values[f"{axis}_pos"]), float(values[f"{axis}_width"]))
              for axis in ("channel", "pitch", "time")}
    return {"layer": layer, **region, "mode": "min" if values.get("minimise") else "max"}


def optimize_settings(changed: Mapping[str, float], specs: Mapping[str, ParamSpec]) -> dict:
    """``{[optimize] key: value}`` (in the config's types) for the changed optimizer parameters."""
    settings = {}
    for name, value in changed.items():
        spec = specs.get(name)
        if spec is not None and spec.config_key.startswith("optimize.") and name not in SELECTION_KEYS:
            settings[spec.config_key.partition(".")[2]] = spec.config_value(value)
    return settings


def worker_commands(changed: Mapping[str, float], values: Mapping[str, float], layer_names: Sequence[str],
                    specs: Mapping[str, ParamSpec]) -> list[Command]:
    """Commands for the worker after ``changed`` parameters (``values`` = all current ones)."""
    commands = []
    selects = bool(SELECTION_KEYS & changed.keys()) or bool(changed.get("sonify"))
    if selects:  # also when paused: the targets show, and resuming aims at them
        commands.append(Command("select", selection(values, layer_names)))
    settings = optimize_settings(changed, specs)
    if settings:
        commands.append(Command("set", settings))
    if "sonify" in changed:
        commands.append(Command("resume" if changed["sonify"] else "pause"))
    return commands


def start_commands(values: Mapping[str, float], layer_names: Sequence[str]) -> list[Command]:
    """Worker commands that start a session at ``values`` (all live parameters, seeded from the
    config): the target region when ``sonify`` is on, a pause when only listening (a target
    chosen later then waits for ``sonify``). The worker already runs with the config's
    [optimize] values, so no ``set`` is sent."""
    if not values.get("sonify", 0):
        return [Command("pause")]
    return [Command("select", selection(values, layer_names))]


def check_start_target(target: str, layer_names: Sequence[str]) -> None:
    """An ``optimize.start_target`` that names no layer is an error naming the layers."""
    if target and target not in layer_names:
        raise ValueError(f"optimize.start_target = {target!r} is not a layer; layers: {', '.join(layer_names)}")
