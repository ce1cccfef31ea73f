"""What the panels read: one snapshot of the live app per frame (no panel reaches into the app).

:func:`snapshot` gathers it from a LiveApp (``params``, ``session``, ``playback``, ``config``,
``control``, ``recording``); :class:`Rates` measures frames/s and optimisation steps/s over a
sliding window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ear3d.control.actions import APP_ACTIONS
from ear3d.graph import LayerInfo
from ear3d.messages import ActivationFrame


@dataclass(frozen=True)
class Neuron:
    """One neuron: its index in the neuron table, layer name and index, channel and pitch row."""

    index: int
    layer: str
    layer_index: int
    channel: int
    pitch: int


@dataclass(frozen=True)
class AudioStatus:
    """The sound output as the panels show it."""

    device: str  # the device's name, or '' without sound
    problem: str | None  # why there is no sound, or None
    underruns: int
    muted: bool
    record: str  # the MP4 being recorded (picture and sound), '' = none


@dataclass(frozen=True)
class AppState:
    """A frame's view of the app.

    frame: the worker's newest ActivationFrame (None before the first); phase: the heard
    loop position 0–1; fps / frame_ms: the window's measured rate; steps_per_s: the worker's;
    clips: names of the audio files in assets/clips/; app_commands: the ``app:*`` actions
    the app understands (control.actions); hovered / inspected: neurons under the mouse and
    last clicked; learning: the parameter MIDI learn waits for (None); bindings: parameter →
    the MIDI controls bound to it ("nanoKONTROL2: CC 0"); pickups: parameter → (where its
    soft-takeover control physically is, in the parameter's units; whether it has taken over);
    pick_refusal: why the mouse cannot pick in the current display mode (None when it can).
    """

    layers: tuple[LayerInfo, ...]
    frame: ActivationFrame | None
    phase: float
    audio: AudioStatus
    midi: str
    model: str
    layout: str
    fps: float
    frame_ms: float
    steps_per_s: float
    clips: tuple[str, ...] = ()
    app_commands: frozenset[str] = frozenset(APP_ACTIONS)
    hovered: Neuron | None = None
    inspected: Neuron | None = None
    extra: dict[str, str] = field(default_factory=dict)
    learning: str | None = None
    bindings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    pickups: Mapping[str, tuple[float, bool]] = field(default_factory=dict)
    pick_refusal: str | None = None

    @property
    def layer_names(self) -> list[str]:
        return [info.name for info in self.layers]

    def activation(self, neuron: Neuron) -> float | None:
        """The neuron's activation at the heard time step (None without activations)."""
        if self.frame is None or neuron.layer not in self.frame.layers:
            return None
        acts = self.frame.layers[neuron.layer]  # (C, F, T)
        t = min(int(self.phase * acts.shape[2]), acts.shape[2] - 1)
        return float(acts[neuron.channel, neuron.pitch, t])


class Rates:
    """Frames/s, frame time and steps/s over the last ``window`` seconds."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._frames: deque[tuple[float, float]] = deque()  # (time, frame seconds)
        self._steps: deque[tuple[float, int]] = deque()  # (time, step count)

    def tick(self, frame_time: float, step: int | None, now: float | None = None) -> None:
        """Record one drawn frame (``frame_time`` seconds) and the worker's step count."""
        now = time.perf_counter() if now is None else now
        self._frames.append((now, frame_time))
        if step is not None:
            if self._steps and step < self._steps[-1][1]:  # the worker reset: count afresh
                self._steps.clear()
            self._steps.append((now, step))
        for queue in (self._frames, self._steps):
            while len(queue) > 2 and queue[0][0] < now - self.window:
                queue.popleft()

    @property
    def fps(self) -> float:
        if len(self._frames) < 2:
            return 0.0
        span = self._frames[-1][0] - self._frames[0][0]
        return (len(self._frames) - 1) / span if span > 0 else 0.0

    @property
    def frame_ms(self) -> float:
        if not self._frames:
            return 0.0
        return 1000.0 * sum(dt for _, dt in self._frames) / len(self._frames)

    @property
    def steps_per_s(self) -> float:
        if len(self._steps) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._steps[0], self._steps[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0


def clip_names(folder: Path) -> tuple[str, ...]:
    """File names of the audio clips in ``folder`` (sorted; empty when it does not exist)."""
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".wav", ".flac", ".ogg", ".mp3")))


def audio_status(playback: Any, recording: Any = None) -> AudioStatus:
    """The sound output of a ``ear3d.playback.Playback`` and the app's running recording
    (an ``ear3d.live_record.LiveRecording`` or None)."""
    out = getattr(playback, "output", None)
    return AudioStatus(
        device=getattr(out, "device_name", "") if out is not None else "",
        problem=getattr(playback, "problem", None),
        underruns=int(getattr(out, "underruns", 0)) if out is not None else 0,
        muted=bool(getattr(playback, "muted", False)),
        record=str(recording.path) if recording is not None else "",
    )


def midi_status(control: Any) -> str:
    """One line on the MIDI controllers and OSC of a ``ControlSurfaces``."""
    status = control.status()
    ports = [f"{name}{'' if d['connected'] else ' (unplugged)'}" for name, d in status["midi"].items()]
    problem = str(status["midi_problem"] or "listening").split(" (")[0]  # the gist; the log has the rest
    text = ", ".join(ports) if ports else f"no controller ({problem})"
    if status["osc"] is not None:
        host, port = status["osc"]["address"][:2]
        text += f"; OSC on {host}:{port}"
    return text


def midi_bindings(control: Any) -> dict[str, tuple[str, ...]]:
    """Parameter or action → the controls bound to it on every controller ("BCF2000: CC 81")."""
    out: dict[str, list[str]] = {}
    for router in control.routers():
        for b in router.mapping.bindings():
            out.setdefault(b.target, []).append(f"{router.name}: {b.describe()}")
    return {k: tuple(v) for k, v in out.items()}


def neuron_at(layers: tuple[LayerInfo, ...], index: int) -> Neuron | None:
    """The neuron at row ``index`` of the neuron table (layer by layer, channel, pitch)."""
    for i, info in enumerate(layers):
        if info.offset <= index < info.offset + info.size:
            channel, pitch = divmod(index - info.offset, info.pitches)
            return Neuron(index, info.name, i, channel, pitch)
    return None


def snapshot(app: Any, rates: Rates, clips: tuple[str, ...], hovered: Neuron | None = None,
             inspected: Neuron | None = None) -> AppState:
    """The AppState of a LiveApp now."""
    session = app.session
    config = app.config
    control = app.control
    phase = float(app.playback.phase())
    pickups = {name: state for name in app.params.specs if (state := control.pickup_state(name)) is not None}
    return AppState(
        layers=tuple(session.table.layers),
        frame=session.frame,
        phase=phase,
        audio=audio_status(app.playback, app.recording),
        midi=midi_status(control),
        model=f"{config.model.name} ({config.model.preset})",
        layout=config.layout.kind,
        fps=rates.fps,
        frame_ms=rates.frame_ms,
        steps_per_s=rates.steps_per_s,
        clips=clips,
        hovered=hovered,
        inspected=inspected,
        extra=_extra(app),
        learning=control.learn.learning,
        bindings=midi_bindings(control),
        pickups=pickups,
        pick_refusal=session.scene.pick_refusal,
    )


def _extra(app: Any) -> dict[str, str]:
    """Status lines of the app itself: adaptive quality, MIDI learn, the last refused command."""
    q = app.quality.state
    if q.enabled:
        out = {"quality": f"adaptive to {q.target_fps:g}/s: scale {q.scale:.2f}, edges {q.edge_fraction:.0%}"}
    else:
        out = {"quality": f"fixed, render scale {q.scale:.2f}"}
    learning = app.control.learn.learning
    if learning is not None:
        out["MIDI learn"] = f"move a control for {learning}"
    if app.last_error:
        out["last error"] = app.last_error
    return out
