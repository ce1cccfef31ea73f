"""The live instrument without its window: session, sound, controls, recording, scenes.

``LiveApp.frame(fbo, dt)`` draws one frame; it never waits on the worker. Until the model is
built and has heard the origin clip (on a background thread, see session.Preparation) it draws
a loading screen. Keys, mouse, MIDI, the GUI and session files all change the one parameter
registry, ``app.params`` (control.params), and run the one list of app actions
(control.actions, ``Command("app:NAME")``). The window (live_window.py) feeds it events: keys
by name (``key``, ``key_held``), the mouse onto the scene's camera controller
(``mouse_press``, ``mouse_move``, ``mouse_release``, ``scroll``) and clicks (``pick``).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import moderngl
import numpy as np
from pyglm import glm

from ear3d.adaptive import AdaptiveQuality, QualityState
from ear3d.config import Config, parse_hex_color
from ear3d.control.actions import APP_ACTIONS
from ear3d.control.keyboard import FAST_KEYS, FLY_KEYS, binding
from ear3d.control.params import ControlError, Parameters, live_specs
from ear3d.control.sonify import selection, worker_commands
from ear3d.control.surfaces import ControlSurfaces
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.context import gil_free_finish, is_software
from ear3d.gfx.picking import POINTER_SLOP
from ear3d.gfx.renderer import Renderer
from ear3d.gfx.upscale import Upscaler
from ear3d.live_record import LiveRecording, read_rgb, save_png
from ear3d.messages import Command
from ear3d.playback import Playback
from ear3d.session import Preparation, Prepared, Session, check_interop
from ear3d.session_file import CameraPose, SessionFileError, SessionState, Snapshot, load_session, save_session
from ear3d.ui.state import neuron_at
from ear3d.video import VideoError
from ear3d.worker_client import worker_kind

log = logging.getLogger(__name__)

#: Frame times kept for the status panel.
FRAME_HISTORY = 120
#: Seconds a recalled scene's camera takes to fly there.
SCENE_FLIGHT_S = 1.2

APP_COMMANDS = tuple(APP_ACTIONS)
#: moderngl-window mouse buttons → the camera controller's names.
MOUSE_BUTTONS = {1: "left", 2: "right", 3: "middle"}


class LiveApp:
    """Everything live except the window. ``frame`` draws one frame; ``close`` releases all.

    session_path: the session file that is loaded when the model is ready (when it exists)
    and that ``save_session()`` writes; out_dir: where screenshots and recordings go.
    """

    def __init__(self, config: Config, ctx: moderngl.Context, session_path: str | Path | None = None,
                 out_dir: str | Path = "out"):
        self.config = config
        self.ctx = ctx
        self.session_path = Path(session_path) if session_path else None
        self.out_dir = Path(out_dir)
        #: every live parameter; layer ranges are sized when the model is known
        self.params = Parameters(live_specs(config))
        self.session: Session | None = None
        self.playback: Playback | None = None
        self.layer_names: list[str] = []
        check_interop(config, ctx)  # a CUDA interop that cannot work fails before the model loads
        self._preparation: Preparation | None = Preparation(config)
        self.started = time.perf_counter()
        #: seconds from start to the first frame of the network (None before)
        self.ready_after: float | None = None
        rc = config.render
        self.quality = AdaptiveQuality(rc.target_fps, rc.scale, rc.min_scale, enabled=rc.adaptive)
        self._upscaler: Upscaler | None = None
        #: on a software renderer, how the end of each frame waits for the drawing (a window's
        #: swap then waits for nothing). A worker thread in this process: inside moderngl, which
        #: holds the GIL, so the worker's Python does not compete with llvmpipe's raster threads.
        #: A worker process: with the GIL released (gil_free_finish), so this process's control,
        #: sound and worker-client threads run meanwhile. Both measured side by side by `ear3d
        #: bench live` ("GIL released vs held while GL draws").
        self.wait_for_gl: Callable[[], None] | None = None
        if is_software(ctx):
            self.wait_for_gl = gil_free_finish(ctx) if worker_kind(config) == "process" else ctx.finish
        self._edge_base = 0
        self._param_version = self.params.version
        self._error_version = 0
        self._next_control_drain = 0.0
        self.errors = 0
        self.last_error = ""
        # What the GUI shows or hides (it reads and toggles these).
        self.show_help = False
        self.show_panels = True
        self.performance = False
        self.orbit_paused = False
        self.wants_fullscreen_toggle = False
        self._wants_screenshot = False
        self.recording: LiveRecording | None = None
        self.last_saved: Path | None = None
        # The state a session file holds besides the parameters.
        self.kept: list[dict[str, Any]] = []
        self.origin = config.optimize.origin
        self.scenes: dict[int, Snapshot] = {}
        #: the neuron last clicked: its row in the neuron table (session.table), or None
        self.picked: int | None = None
        #: the window's size in mouse units (the camera controller's frame of reference)
        self.view_size: tuple[float, float] = (config.render.width, config.render.height)
        self.frame_times: collections.deque[float] = collections.deque(maxlen=FRAME_HISTORY)
        self.frames_drawn = 0
        self.window_size: tuple[int, int] = (config.render.width, config.render.height)
        #: MIDI controllers and OSC (learn, feedback, soft takeover, hot-plug); open from the start
        self.control = ControlSurfaces(config.control, self.params)

    # -- loading ------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """True until the session is built (the window shows a loading screen)."""
        return self.session is None

    def _poll_preparation(self) -> None:
        if self._preparation is None:
            return
        prepared = self._preparation.result()  # re-raises what went wrong while loading
        if prepared is not None:
            self._preparation = None
            self._start(prepared)

    def wait_until_ready(self, timeout: float = 300.0) -> None:
        """Block until the session is built (for tests and benches; the window never calls it)."""
        deadline = time.perf_counter() + timeout
        while self.session is None:
            self._poll_preparation()
            if self.session is None:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"the model was not ready after {timeout:g} s")
                time.sleep(0.02)

    def _start(self, prepared: Prepared) -> None:
        """The model is ready: size the parameters, apply the session file, build the scene."""
        names = prepared.layer_names
        self.layer_names = names
        specs = live_specs(self.config, names)
        self.params.update_specs(specs)
        for spec in specs:
            if spec.name in ("target_layer", "highlight_layer"):
                self.params.set(spec.name, spec.default)
        state = self._read_session_file(names)
        if state is not None:
            for name, value in state.current.params.items():
                self.params.set(name, value)
            self.scenes = dict(state.scenes)
        try:
            self.session = Session(self.config, self.ctx, prepared=prepared, start_values=self.params.snapshot())
        except BaseException:
            prepared.worker.stop()
            raise
        self._param_version = self.params.version  # the session started with every value
        scene = self.session.scene
        scene.controller.resize(*self.view_size)
        self._edge_base = scene.look.edge_budget or (scene.edge_set.count if scene.edge_set is not None else 0)
        self.playback = Playback(self.config.audio, self.session.clip)
        self.playback.set_volume(float(self.params.get("volume")))
        if self.params.get("mute"):
            self.playback.toggle_mute()
        if state is not None:
            self._restore(state.current, flight=0.0)
        self.control.send_state()  # layer ranges are known now: show every value on the controllers
        self.ready_after = time.perf_counter() - self.started
        log.info("ready after %.1f s: %d neurons in %d layers", self.ready_after, self.session.table.size, len(names))

    def _read_session_file(self, names: list[str]) -> SessionState | None:
        if self.session_path is None or not self.session_path.exists():
            return None
        return load_session(self.session_path, self.params.specs, names)

    # -- commands -----------------------------------------------------------------------------

    def command(self, command: Command, by_hand: bool = True) -> None:
        """Apply one command from any input; a bad one is logged, never raised. ``by_hand``:
        from the keyboard or the GUI (a parameter it changes is the one MIDI learn acts on)."""
        try:
            if by_hand and not command.name.startswith("app:"):
                self.control.touched(command.name.partition(":")[0])
            if command.name.startswith("app:"):
                self._app_command(command.name[4:], command.value)
            elif not self.params.apply(command):
                raise ControlError(f"unknown command {command.name!r}; parameters: {', '.join(self.params.specs)}")
        except (ControlError, SessionFileError, ValueError, TypeError, OSError) as e:
            self.errors += 1
            self.last_error = f"{command.name}: {e}"
            log.warning("ignored command %r: %s", command.name, e)

    def _needs_session(self, what: str) -> Session:
        if self.session is None:
            raise ControlError(f"{what}: the model is still loading")
        return self.session

    def _app_command(self, name: str, value: Any = None) -> None:
        if name == "help":
            self.show_help = not self.show_help
        elif name == "panels":
            self.show_panels = not self.show_panels
        elif name == "performance":
            self.performance = not self.performance
        elif name == "fullscreen":
            self.wants_fullscreen_toggle = True
        elif name == "screenshot":
            self._wants_screenshot = True
        elif name == "record":
            self.toggle_recording()
        elif name == "save_session":
            self.save_session()
        elif name == "load_session":
            self.load_session()
        elif name == "mute":
            self.params.toggle("mute")
        elif name == "toggle_sonify":
            self.params.toggle("sonify")
        elif name in ("recall_scene", "store_scene"):
            slot = value if isinstance(value, int) and not isinstance(value, bool) else None
            if slot is None or slot < 1:
                raise ControlError(f"app:{name} needs a scene number from 1, got {value!r}")
            self.recall_scene(slot) if name == "recall_scene" else self.store_scene(slot)
        elif name == "origin":
            if not isinstance(value, str) or not value:
                raise ControlError(f"app:origin needs silence, noise, a clip name or a file path, got {value!r}")
            self.set_origin(value)
        elif name == "learn":
            self._learn(value)
        elif name == "unlearn":
            target = value or self.control.last_touched
            if not target:
                raise ControlError("app:unlearn: touch a parameter first (or name one)")
            self.control.learn.unlearn(str(target))
        elif name == "pause_orbit":
            self.orbit_paused = not self.orbit_paused
        elif name in ("next_display", "prev_display"):  # round and round (display:next stops at the last)
            spec = self.params.spec("display")
            step = 1 if name == "next_display" else -1
            self.params.set("display", spec.lo + (self.params.get("display") - spec.lo + step) % len(spec.choices))
        elif name == "audio_device":
            self.set_audio_device(value)
        elif name == "fly":
            self._needs_session("app:fly").scene.controller.toggle_fly()
        elif name in ("keep_selection", "step", "reset_origin", "reset_camera", "focus_selection", "reopen_audio"):
            self._session_command(name)
        else:
            raise ControlError(f"unknown app command 'app:{name}'; known: {', '.join(APP_COMMANDS)}")

    def _session_command(self, name: str) -> None:
        session = self._needs_session(f"app:{name}")
        if name == "keep_selection":  # the next target is added to the current one
            self.kept.append(selection(self.params.snapshot(), self.layer_names))
            session.worker.send(Command("keep"))
        elif name == "step":
            session.worker.send(Command("step", 1))
        elif name == "reset_origin":
            session.worker.send(Command("reset"))
        elif name == "reset_camera":
            session.scene.reset_camera(1.0)
        elif name == "focus_selection":
            session.scene.focus_selection(1.5)
        elif name == "reopen_audio" and self.playback is not None:
            self.playback.reopen()

    def _learn(self, target: Any) -> None:
        """MIDI learn for ``target`` (a parameter name; None: the last touched parameter);
        learning it again, or learn without a name while armed, cancels."""
        learn = self.control.learn
        if target is None:
            self.control.learn_last_touched()
        elif learn.learning == target:
            learn.cancel()
            log.warning("MIDI learn cancelled")
        else:
            learn.begin(str(target))

    def set_audio_device(self, device: Any) -> None:
        """Play on output device ``device`` (config ``audio.device``: a name, part of one, an
        index, '' = the default): the stream is opened again there; without sound the loop
        goes on on the wall clock and the status says why."""
        if not isinstance(device, str):
            raise ControlError(f"app:audio_device needs a device name or index as text, got {device!r}")
        self.config = dataclasses.replace(self.config, audio=dataclasses.replace(self.config.audio, device=device))
        if self.playback is not None:
            self.playback.config = self.config.audio
            self.playback.reopen()

    def set_origin(self, origin: str) -> None:
        """Start from another clip: "silence", "noise", a clip name in assets/clips/ or a path.
        A file that cannot be read is refused here (AudioFileError), so ``origin`` and a saved
        session never name a clip the loop is not playing."""
        from ear3d.ml.optimize import origin_samples

        session = self._needs_session("app:origin")
        audio = self.config.audio
        origin_samples(origin, audio.sample_rate, round(audio.clip_seconds * audio.sample_rate))
        session.worker.send(Command("origin", origin))
        self.origin = origin

    def key(self, name: str, shift: bool = False, ctrl: bool = False) -> None:
        """A key press by moderngl-window key name (see control.keyboard)."""
        command = binding(name, shift, ctrl)
        if command is not None:
            self.command(command)

    def key_held(self, name: str, down: bool) -> None:
        """A fly key (W A S D Q E) or shift went down (True) or up: the camera controller flies
        while they are held."""
        controller = self._controller()
        if controller is None or (name not in FLY_KEYS and name not in FAST_KEYS):
            return
        key = "shift" if name in FAST_KEYS else name.lower()
        (controller.key_down if down else controller.key_up)(key)

    # -- mouse: window events onto the scene's camera controller (ear3d.gfx.controller) -------

    def _controller(self) -> Any:
        return self.session.scene.controller if self.session is not None else None

    def set_view_size(self, width: float, height: float) -> None:
        """The window's size in mouse units (window coordinates, not framebuffer pixels)."""
        if width > 0 and height > 0:
            self.view_size = (float(width), float(height))
            if self.session is not None:
                self.session.scene.controller.resize(width, height)

    def mouse_press(self, x: float, y: float, button: int) -> None:
        """A mouse button (moderngl-window's: 1 left, 2 right, 3 middle) went down at (x, y)
        over the scene: left drags orbit, right and middle drags pan."""
        controller = self._controller()
        if controller is not None and button in MOUSE_BUTTONS:
            controller.press(MOUSE_BUTTONS[button], x, y)

    def mouse_release(self, x: float, y: float, button: int) -> None:
        controller = self._controller()
        if controller is not None and button in MOUSE_BUTTONS:
            controller.release(MOUSE_BUTTONS[button], x, y)

    def mouse_move(self, x: float, y: float) -> None:
        """The pointer is at (x, y), with or without a button held (a drag, or fly mode's look)."""
        controller = self._controller()
        if controller is not None:
            controller.move(x, y)

    def scroll(self, notches: float, x: float | None = None, y: float | None = None) -> None:
        """Wheel notches (away from the user = positive) with the pointer at (x, y): zoom there."""
        controller = self._controller()
        if controller is not None and math.isfinite(notches):
            controller.scroll(notches, x, y)

    @property
    def flying(self) -> bool:
        """Fly mode (app:fly): the window grabs the pointer and its motion looks around."""
        controller = self._controller()
        return bool(controller is not None and controller.fly_mode)

    def pick(self, x: float, y: float) -> int | None:
        """A click at (x, y) (mouse units, top-left origin): the neuron drawn there, or the
        nearest within POINTER_SLOP, becomes ``picked`` (its row in the neuron table; None over
        the background) and is logged."""
        if self.session is None:
            return None
        refusal = self.session.scene.pick_refusal
        self.picked = self.session.scene.pick(x, y, self.view_size, POINTER_SLOP)
        if refusal is not None:
            log.info("%s", refusal)
        elif self.picked is None:
            log.info("picked nothing at (%.0f, %.0f)", x, y)
        else:
            n = neuron_at(tuple(self.session.table.layers), self.picked)
            assert n is not None  # the scene picks rows of this very table
            log.info("picked neuron %d: layer %s, channel %d, pitch %d", self.picked, n.layer, n.channel, n.pitch)
        return self.picked

    # -- one frame ----------------------------------------------------------------------------

    def frame(self, fbo: moderngl.Framebuffer, dt: float) -> None:
        """Apply pending controls, pick up new activations, draw at the heard loop position."""
        self.frame_times.append(dt)
        self.window_size = fbo.size
        self._poll_preparation()
        if self.session is None:
            self._draw_loading(fbo)
            return
        self._apply_controls()
        session = self.session
        version, error = session.worker.errors.peek()
        if version != self._error_version:  # say each worker error once; the loop goes on
            self._error_version = version
            self.last_error = f"worker: {error}"
            log.warning("worker: %s", error)
        if session.poll():
            self.playback.submit(session.frame.clip)  # type: ignore[union-attr]
        self.playback.check()  # type: ignore[union-attr]
        # Paused or not, the controller advances: held fly keys move and flights go on.
        session.scene.advance(dt, 0.0 if self.orbit_paused else session.orbit_speed)
        self._draw_scene(fbo, self.quality.update(dt))
        if self.wait_for_gl is not None:
            self.wait_for_gl()
        self.frames_drawn += 1

    def _apply_controls(self) -> None:
        now = time.perf_counter()
        if now >= self._next_control_drain:  # MIDI and OSC, coalesced: at most once a frame and control.apply_hz
            self._next_control_drain = now + 1.0 / self.config.control.apply_hz
            for command in self.control.drain():
                self.command(command, by_hand=False)
        self._param_version, changed = self.params.changed_since(self._param_version)
        if not changed:
            return
        self.control.feedback(changed)  # motor faders, LED rings and OSC clients follow every change
        log.info("parameters: %s", ", ".join(f"{k} = {v:.4g}" for k, v in changed.items()))
        session, playback = self.session, self.playback
        session.apply(changed)  # type: ignore[union-attr]
        if "volume" in changed:
            playback.set_volume(float(changed["volume"]))  # type: ignore[union-attr]
        if "mute" in changed and bool(changed["mute"]) != playback.muted:  # type: ignore[union-attr]
            playback.toggle_mute()  # type: ignore[union-attr]
        if {"adaptive", "target_fps", "render_scale"} & changed.keys():
            self.quality.configure(float(self.params.get("target_fps")), float(self.params.get("render_scale")),
                                   bool(self.params.get("adaptive")))
        for command in worker_commands(changed, self.params.snapshot(), self.layer_names, self.params.specs):
            session.worker.send(command)  # type: ignore[union-attr]

    def _draw_scene(self, fbo: moderngl.Framebuffer, state: QualityState) -> None:
        """Draw the network with the levers of ``state`` (adaptive quality): the edge budget
        (each edge as bright as at the full budget), multisampling, bloom (the user's value is
        kept, only not drawn) and the resolution (a fraction of ``fbo``'s, stretched onto it)."""
        scene = self.session.scene  # type: ignore[union-attr]
        if self._edge_base:
            scene.look.edge_budget = max(1, int(self._edge_base * state.edge_fraction))
        samples = self.config.render.samples if state.msaa else 0
        if scene.render_config.samples != samples:
            scene.render_config = dataclasses.replace(scene.render_config, samples=samples)
        scene.display_settings.samples = samples  # the eyes' and cube faces' targets (stereo, dome, 360°)
        phase = self.playback.phase()  # type: ignore[union-attr]
        look = scene.look
        bloom, edge_gain = look.bloom, look.edge_gain
        if not state.bloom:
            look.bloom = 0.0
        if scene.edge_set is not None and look.edge_budget != self._edge_base:
            # Fewer edges, each as bright as at the full budget: the picture loses its faintest
            # edges instead of the strongest ones flaring up (the renderer scales each edge's
            # light by the number drawn, see gfx.renderer.DENSITY_REFERENCE).
            full = Renderer.edge_gain(scene.edge_set, dataclasses.replace(look, edge_budget=self._edge_base))
            drawn = Renderer.edge_gain(scene.edge_set, look)
            look.edge_gain = edge_gain * full / drawn if drawn > 0 else edge_gain
        try:
            if abs(state.scale - 1.0) < 1e-3:
                scene.draw(fbo, phase)
                return
            if self._upscaler is None:
                self._upscaler = Upscaler(self.ctx)
            scene.draw(self._upscaler.target(fbo.size, state.scale), phase)
            self._upscaler.blit(fbo)
        finally:
            look.bloom, look.edge_gain = bloom, edge_gain

    def _draw_loading(self, fbo: moderngl.Framebuffer) -> None:
        """The background with a bar swinging across: the window is alive while the model loads."""
        fbo.use()
        r, g, b = parse_hex_color(self.config.render.background)
        fbo.clear(r, g, b, 1.0)
        w, h = fbo.size
        bar_w, bar_h = max(1, w // 4), max(2, h // 90)
        t = time.perf_counter() - self.started
        x = int((w - bar_w) * (0.5 - 0.5 * math.cos(2.0 * t)))
        fbo.clear(0.35, 0.6, 1.0, 1.0, viewport=(x, h // 2 - bar_h // 2, bar_w, bar_h))

    # -- pictures and recordings --------------------------------------------------------------

    def after_frame(self, fbo: moderngl.Framebuffer) -> None:
        """After the frame (and any overlay) is drawn into ``fbo``: take a pending screenshot,
        feed a running recording."""
        if self._wants_screenshot:
            self._wants_screenshot = False
            self.screenshot(fbo)
        if self.recording is not None and self.playback is not None:
            try:
                self.recording.add_frame(read_rgb(fbo), self.playback.latest)
            except (VideoError, OSError) as e:  # a full disk, a dead encoder: only the recording stops
                recording, self.recording = self.recording, None
                recording.abort()
                self.errors += 1
                self.last_error = f"recording stopped: {' '.join(str(e).split())[:300]}"
                log.warning("%s", self.last_error)

    def screenshot(self, fbo: moderngl.Framebuffer, path: str | Path | None = None) -> Path:
        """Save what ``fbo`` shows as PNG (atomically), by default out/ear3d-<time>.png."""
        path = Path(path) if path else self.out_dir / f"ear3d-{time.strftime('%Y%m%d-%H%M%S')}.png"
        saved = save_png(path, read_rgb(fbo))
        log.warning("screenshot: %s", saved)
        return saved

    def toggle_recording(self, size: tuple[int, int] | None = None) -> Path | None:
        """Start recording picture and sound, or stop and return the MP4's path."""
        if self.recording is not None:
            recording, self.recording = self.recording, None
            try:
                path = recording.close()
            except VideoError as e:  # e.g. no room for the MP4: the frames are lost, nothing else
                raise ControlError(f"recording lost: {' '.join(str(e).split())[:300]}") from None
            log.warning("recorded %.1f s: %s", recording.seconds, path)
            return path
        if self.playback is None:
            raise ControlError("app:record: the model is still loading")
        w, h = size or self.window_size
        path = self.out_dir / f"ear3d-{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        self.recording = LiveRecording(path, w, h, self.config.render.fps, self.playback)
        log.warning("recording to %s (F9 stops)", path)
        return None

    # -- sessions and scenes ------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The state now: every parameter, the camera, the kept regions and the origin."""
        camera = None
        if self.session is not None:
            c = self.session.scene.rig.goal
            camera = CameraPose((c.target.x, c.target.y, c.target.z), c.distance, c.yaw, c.pitch, c.fov_y)
        return Snapshot(self.params.snapshot(), camera, [dict(r) for r in self.kept], self.origin)

    def _restore(self, snap: Snapshot, flight: float = SCENE_FLIGHT_S) -> None:
        session = self.session
        if session is not None and snap.origin is not None and snap.origin != self.origin:
            self.set_origin(snap.origin)  # first: an unreadable clip refuses the whole state
        for name, value in snap.params.items():
            self.params.set(name, value)
        if session is None:
            return
        if snap.camera is not None:
            c = snap.camera
            pose = OrbitCamera(glm.vec3(*c.target), c.distance, c.yaw, c.pitch, c.fov_y,
                               near=c.distance / 1000, far=c.distance * 10)
            session.scene.rig.fly_to(pose, flight) if flight > 0 else session.scene.rig.jump(pose)
        if snap.kept != self.kept:  # replay the kept regions, then aim at the current one too
            for i, region in enumerate(snap.kept):
                session.worker.send(Command("select", {**region, "keep": i > 0}))
            current = selection(self.params.snapshot(), self.layer_names)
            session.worker.send(Command("select", {**current, "keep": bool(snap.kept)}))
            self.kept = [dict(r) for r in snap.kept]
        self.control.send_state()

    def store_scene(self, slot: int) -> None:
        """Remember the state now in recall slot ``slot`` (kept in memory and in session files)."""
        self.scenes[slot] = self.snapshot()
        log.warning("scene %d stored", slot)

    def recall_scene(self, slot: int) -> None:
        """Go to the state stored in ``slot`` (the camera flies there)."""
        if slot not in self.scenes:
            raise ControlError(f"scene {slot} is empty (Shift+{slot} stores one)")
        self._restore(self.scenes[slot])

    def save_session(self, path: str | Path | None = None) -> Path:
        """Write parameters, selection, origin, camera and scenes to TOML (default: the
        session file given at start, else out/session.toml)."""
        path = Path(path) if path else (self.session_path or self.out_dir / "session.toml")
        saved = save_session(path, SessionState(self.snapshot(), dict(self.scenes)), self.params.specs)
        self.last_saved = saved
        log.warning("session saved: %s", saved)
        return saved

    def load_session(self, path: str | Path | None = None) -> None:
        """Read a session file (default: the one given at start) and go to its state; the
        scenes it holds replace the ones in memory. SessionFileError names a bad line or key."""
        path = Path(path) if path else self.session_path
        if path is None:
            raise ControlError("no session file: start with --session FILE or give a path")
        state = load_session(path, self.params.specs, self.layer_names or None)
        self.scenes = dict(state.scenes)
        self._restore(state.current)

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Figures for the status panel: frame rate and time, adaptive quality (its state, and
        ``quality_text``: one line saying what it does now), loading, the worker's kind and life."""
        times = np.asarray(self.frame_times, np.float64)
        median = float(np.median(times)) if times.size else float("nan")
        quality = self.quality.state
        edges = self.session.scene.look.edge_budget if self.session is not None and self._edge_base else None
        return {
            "loading": self.loading,
            "fps": 1.0 / median if median > 0 else float("nan"),
            "frame_ms": median * 1e3,
            "quality": asdict(quality),
            "quality_text": quality.describe(edges),
            "edges_drawn": edges,
            "recording": self.recording is not None,
            "errors": self.errors,
            "last_error": self.last_error,
            # where the steps run ("process" | "thread") and whether they can (False: the worker
            # process died too often; last_error says why)
            "worker": self.session.worker.kind if self.session is not None else None,
            "worker_alive": self.session.worker.alive if self.session is not None else None,
        }

    def close(self) -> None:
        """Release recording, audio, MIDI, worker and GL objects (idempotent)."""
        if self.recording is not None:
            try:
                self.toggle_recording()
            except Exception as e:  # noqa: BLE001  (closing must go on)
                log.warning("recording lost: %s", e)
                self.recording = None
        if self._preparation is not None:
            self._preparation.cancel()
            self._preparation = None
        self.control.close()
        if self.playback is not None:
            self.playback.close()
            self.playback = None
        if self.session is not None:
            self.session.release()
            self.session = None
        if self._upscaler is not None:
            self._upscaler.release()
            self._upscaler = None
