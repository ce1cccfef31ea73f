"""Live session files: every live parameter, the kept target regions, the origin clip, the
camera and the numbered scenes, as TOML.

::

    version = 1
    origin = "silence"                  # as optimize.origin: silence, noise, a clip name or a path

    [params]                            # every live parameter (control.params); choices by name
    exposure = 1.2
    target_layer = "ar6"
    parametrization = "spectral"

    [camera]
    target = [0.0, 0.1, 0.0]
    distance = 4.2
    yaw = 0.45
    pitch = 0.3
    fov_y = 45.0

    [[kept]]                            # target regions kept besides the current one (params)
    layer = "ar3"
    channel = [0.5, 0.1]
    pitch = [0.5, 0.3]
    time = [0.0, 1.0]
    mode = "max"

    [scenes.1]                          # a recall slot: the same keys as the top level
    params = { exposure = 2.0 }
    camera = { target = [0, 0, 0], distance = 3.0, yaw = 0.0, pitch = 0.2, fov_y = 45.0 }

Reading checks everything: TOML syntax errors name the line (tomllib's message), bad values
raise :class:`SessionFileError` naming the key. Parameters missing from a file keep their
current values. Files are written atomically.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ear3d.atomic import atomic_write
from ear3d.control.params import LAYER_PARAMS, ControlError, ParamSpec

FORMAT_VERSION = 1
_CAMERA_KEYS = ("target", "distance", "yaw", "pitch", "fov_y")
_REGION_AXES = ("channel", "pitch", "time")
_SNAPSHOT_KEYS = ("params", "camera", "kept", "origin")


class SessionFileError(ValueError):
    """A session file cannot be read, or holds an unknown key or a bad value (named)."""


@dataclass(frozen=True)
class CameraPose:
    """An orbit camera pose: ``target`` (x, y, z) world units, ``distance`` world units, ``yaw``
    and ``pitch`` radians, ``fov_y`` degrees."""

    target: tuple[float, float, float]
    distance: float
    yaw: float
    pitch: float
    fov_y: float


@dataclass
class Snapshot:
    """One state of the instrument: parameter values (name → number, as Parameters holds
    them), the camera, the kept target regions (the worker's ``select`` mappings) and the origin."""

    params: dict[str, float] = field(default_factory=dict)
    camera: CameraPose | None = None
    kept: list[dict[str, Any]] = field(default_factory=list)
    origin: str | None = None


@dataclass
class SessionState:
    """The current snapshot and the numbered scenes (slot → Snapshot)."""

    current: Snapshot
    scenes: dict[int, Snapshot] = field(default_factory=dict)


# -- writing ---------------------------------------------------------------------------------


def _snapshot_table(snapshot: Snapshot, specs: Mapping[str, ParamSpec]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    if snapshot.origin is not None:
        table["origin"] = snapshot.origin
    table["params"] = {name: specs[name].written(value) for name, value in snapshot.params.items() if name in specs}
    if snapshot.camera is not None:
        c = snapshot.camera
        table["camera"] = {"target": [float(v) for v in c.target], "distance": float(c.distance),
                           "yaw": float(c.yaw), "pitch": float(c.pitch), "fov_y": float(c.fov_y)}
    if snapshot.kept:
        table["kept"] = [_region_table(region) for region in snapshot.kept]
    return table


def _region_table(region: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"layer": str(region["layer"])}
    for axis in _REGION_AXES:
        out[axis] = [float(v) for v in region.get(axis, (0.5, 1.0))]
    out["mode"] = str(region.get("mode", "max"))
    return out


def session_toml(state: SessionState, specs: Mapping[str, ParamSpec]) -> str:
    """The TOML text of ``state`` (parameters written through their ``specs``)."""
    doc: dict[str, Any] = {"version": FORMAT_VERSION, **_snapshot_table(state.current, specs)}
    if state.scenes:
        doc["scenes"] = {str(slot): _snapshot_table(s, specs) for slot, s in sorted(state.scenes.items())}
    return tomli_w.dumps(doc)


def save_session(path: str | Path, state: SessionState, specs: Mapping[str, ParamSpec]) -> Path:
    """Write ``state`` to ``path`` atomically; returns the path."""
    text = session_toml(state, specs)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


# -- reading ---------------------------------------------------------------------------------


class _Reader:
    def __init__(self, source: str, specs: Mapping[str, ParamSpec], layer_names: Sequence[str] | None):
        self.source = source
        self.specs = specs
        self.layer_names = list(layer_names) if layer_names else None

    def fail(self, key: str, message: str) -> SessionFileError:
        return SessionFileError(f"session file {self.source}: {key}: {message}")

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, got {type(value).__name__} {value!r}")
        return value

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {value!r}")
        return float(value)

    def snapshot(self, prefix: str, data: dict[str, Any], allowed: tuple[str, ...]) -> Snapshot:
        unknown = [k for k in data if k not in allowed]
        if unknown:
            raise self.fail(f"{prefix}{unknown[0]}", f"unknown key; allowed: {', '.join(allowed)}")
        snap = Snapshot()
        if "origin" in data:
            if not isinstance(data["origin"], str) or not data["origin"]:
                raise self.fail(f"{prefix}origin", f"must be a non-empty string, got {data['origin']!r}")
            snap.origin = data["origin"]
        for name, value in self.table(f"{prefix}params", data.get("params", {})).items():
            key = f"{prefix}params.{name}"
            if name not in self.specs:
                raise self.fail(key, f"unknown parameter; known: {', '.join(self.specs)}")
            if name in LAYER_PARAMS and isinstance(value, str) and self.layer_names is None:
                continue  # a layer by name: checked once the model's layers are known
            try:
                snap.params[name] = self.specs[name].parse(value)
            except ControlError as e:
                raise self.fail(key, str(e)) from None
        if "camera" in data:
            snap.camera = self.camera(f"{prefix}camera", self.table(f"{prefix}camera", data["camera"]))
        kept = data.get("kept", [])
        if not isinstance(kept, list):
            raise self.fail(f"{prefix}kept", f"must be an array of tables, got {type(kept).__name__}")
        snap.kept = [self.region(f"{prefix}kept[{i}]", self.table(f"{prefix}kept[{i}]", r)) for i, r in enumerate(kept)]
        return snap

    def camera(self, key: str, data: dict[str, Any]) -> CameraPose:
        missing = [k for k in _CAMERA_KEYS if k not in data]
        unknown = [k for k in data if k not in _CAMERA_KEYS]
        if missing or unknown:
            raise self.fail(f"{key}.{(missing or unknown)[0]}", f"{'missing' if missing else 'unknown key'}; "
                            f"a camera has {', '.join(_CAMERA_KEYS)}")
        target = data["target"]
        if not isinstance(target, list) or len(target) != 3:
            raise self.fail(f"{key}.target", f"must be [x, y, z], got {target!r}")
        xyz = tuple(self.number(f"{key}.target", v) for v in target)
        distance = self.number(f"{key}.distance", data["distance"])
        if distance <= 0:
            raise self.fail(f"{key}.distance", f"must be positive, got {distance}")
        fov = self.number(f"{key}.fov_y", data["fov_y"])
        if not 1.0 <= fov <= 179.0:
            raise self.fail(f"{key}.fov_y", f"must be 1–179 degrees, got {fov}")
        return CameraPose(xyz, distance, self.number(f"{key}.yaw", data["yaw"]),  # type: ignore[arg-type]
                          self.number(f"{key}.pitch", data["pitch"]), fov)

    def region(self, key: str, data: dict[str, Any]) -> dict[str, Any]:
        allowed = ("layer", *_REGION_AXES, "mode")
        unknown = [k for k in data if k not in allowed]
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", f"unknown key; a region has {', '.join(allowed)}")
        layer = data.get("layer")
        if not isinstance(layer, str) or (self.layer_names is not None and layer not in self.layer_names):
            known = f"; layers: {', '.join(self.layer_names)}" if self.layer_names else ""
            raise self.fail(f"{key}.layer", f"{layer!r} is not a layer{known}")
        region: dict[str, Any] = {"layer": layer}
        for axis in _REGION_AXES:
            pair = data.get(axis, [0.5, 1.0])
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.fail(f"{key}.{axis}", f"must be [position, width], got {pair!r}")
            values = tuple(self.number(f"{key}.{axis}", v) for v in pair)
            if not all(0.0 <= v <= 1.0 for v in values):
                raise self.fail(f"{key}.{axis}", f"position and width must be within 0–1, got {pair!r}")
            region[axis] = values
        mode = data.get("mode", "max")
        if mode not in ("max", "min"):
            raise self.fail(f"{key}.mode", f"must be 'max' or 'min', got {mode!r}")
        region["mode"] = mode
        return region


def parse_session(text: str, specs: Mapping[str, ParamSpec], layer_names: Sequence[str] | None = None,
                  source: str = "<text>") -> SessionState:
    """Read session TOML ``text``; SessionFileError names the line (syntax) or the key (values).
    Without ``layer_names`` (before the model is known) layers given by name are left out."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SessionFileError(f"session file {source} is not valid TOML: {e}") from None
    reader = _Reader(source, specs, layer_names)
    version = data.pop("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise reader.fail("version", f"format {version!r} is not known; this ear3d reads version {FORMAT_VERSION}")
    scenes_data = reader.table("scenes", data.pop("scenes", {}))
    current = reader.snapshot("", data, _SNAPSHOT_KEYS + ("scenes", "version"))
    scenes = {}
    for slot_text, scene in scenes_data.items():
        if not slot_text.isdigit() or not 1 <= int(slot_text) <= 99:
            raise reader.fail(f"scenes.{slot_text}", "a scene's slot is a number 1–99")
        scenes[int(slot_text)] = reader.snapshot(f"scenes.{slot_text}.", reader.table(f"scenes.{slot_text}", scene),
                                                 _SNAPSHOT_KEYS)
    return SessionState(current, scenes)


def load_session(path: str | Path, specs: Mapping[str, ParamSpec],
                 layer_names: Sequence[str] | None = None) -> SessionState:
    """Read a session file (see :func:`parse_session`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SessionFileError(f"session file {path} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SessionFileError(f"cannot read session file {path}: {e}") from None
    return parse_session(text, specs, layer_names, str(path))
