"""The live window: wires the worker, the audio loop, the renderer and the controls.

``LiveApp`` is the window-independent part (testable on a headless window); ``LiveWindow``
adapts it to moderngl-window's event callbacks.
"""

from __future__ import annotations

import logging
import time

import moderngl
import moderngl_window as mglw

from ear3d.config import Config
from ear3d.control.keyboard import KEY_BINDINGS
from ear3d.control.mapping import load_mapping
from ear3d.control.midi import MidiInput, MidiRouter
from ear3d.control.params import ALL_PARAMS, ControlError, Parameters
from ear3d.control.sonify import worker_commands
from ear3d.messages import Command
from ear3d.playback import Playback
from ear3d.session import Session

log = logging.getLogger(__name__)

# --- on-screen controls (h/gui): worker commands the panels may send as Command("worker:NAME", value) ---
GUI_WORKER_COMMANDS = ("origin", "step", "clear")


class LiveApp:
    """Everything live except the window: session, audio, controls. ``frame`` draws one frame."""

    def __init__(self, config: Config, ctx: moderngl.Context):
        self.config = config
        self.session = Session(config, ctx)
        self.params = Parameters(ALL_PARAMS)
        self.params.set("volume", config.audio.volume)
        self.params.set("orbit_speed", config.render.orbit_speed)
        for name, value in self.session.sonify_values.items():
            self.params.set(name, value)
        self._param_version = self.params.version  # the worker already has these
        self._error_version = 0
        self.layer_names = [info.name for info in self.session.table.layers]
        self.playback = Playback(config.audio, self.session.clip)
        self.midi_router = MidiRouter(load_mapping(config.control.midi_mapping))
        self.midi = MidiInput(config.control, self.midi_router)
        self._next_midi_apply = 0.0
        self.orbit_paused = False
        self.wants_fullscreen_toggle = False
        self.errors = 0

    def command(self, command: Command) -> None:
        """Apply one command from any input; a bad one is logged, never raised."""
        try:
            if command.name.startswith("app:"):
                self._app_command(command.name[4:])
            elif command.name.startswith("worker:"):  # h/gui: origin, step once, clear
                name = command.name[len("worker:"):]
                if name not in GUI_WORKER_COMMANDS:
                    raise ControlError(f"unknown worker command {name!r}; known: {', '.join(GUI_WORKER_COMMANDS)}")
                self.session.worker.send(Command(name, command.value))
            elif not self.params.apply(command):
                raise ControlError(f"unknown command {command.name!r}; parameters: {', '.join(self.params.specs)}")
        except (ControlError, ValueError, TypeError) as e:
            self.errors += 1
            log.warning("ignored command %r: %s", command.name, e)

    def _app_command(self, name: str) -> None:
        if name == "mute":
            self.playback.toggle_mute()
        elif name == "reopen_audio":
            self.playback.reopen()
        elif name == "reset_camera":
            self.session.scene.reset_camera(1.0)
        elif name == "focus_selection":
            self.session.scene.focus_selection(1.5)
        elif name == "keep_selection":  # the next target is added to the current one
            self.session.worker.send(Command("keep"))
        elif name == "toggle_sonify":
            self.params.set("sonify", 1 - self.params.get("sonify"))
        elif name == "reset_origin":
            self.session.worker.send(Command("reset"))
        elif name == "pause_orbit":
            self.orbit_paused = not self.orbit_paused
        elif name == "fullscreen":
            self.wants_fullscreen_toggle = True
        else:
            raise ControlError(f"unknown app command 'app:{name}'; known: mute, reopen_audio, reset_camera, focus_selection, keep_selection, toggle_sonify, reset_origin, pause_orbit, fullscreen")

    #: what ``Command("app:NAME")`` and ``Command("worker:NAME", value)`` may name (h/gui: the panels offer these)
    app_commands = frozenset(("mute", "reopen_audio", "reset_camera", "focus_selection", "keep_selection",
                              "toggle_sonify", "reset_origin", "pause_orbit", "fullscreen")
                             + tuple(f"worker:{n}" for n in GUI_WORKER_COMMANDS))

    def key(self, name: str) -> None:
        """A key press by moderngl-window key name (see control.keyboard)."""
        if name in KEY_BINDINGS:
            self.command(KEY_BINDINGS[name])

    def frame(self, fbo: moderngl.Framebuffer, dt: float) -> None:
        """Apply pending controls, pick up new activations, draw at the heard loop position."""
        now = time.perf_counter()
        if now >= self._next_midi_apply:  # coalesced controller values, at control.apply_hz
            self._next_midi_apply = now + 1.0 / self.config.control.apply_hz
            for command in self.midi_router.drain():
                self.command(command)
        self._param_version, changed = self.params.changed_since(self._param_version)
        if changed:
            self.session.apply(changed)
            if "volume" in changed:
                self.playback.set_volume(float(changed["volume"]))
            for command in worker_commands(changed, self.params.snapshot(), self.layer_names):
                self.session.worker.send(command)
        version, error = self.session.worker.errors.peek()
        if version != self._error_version:  # say each worker error once; the loop goes on
            self._error_version = version
            log.warning("worker: %s", error)
        if self.session.poll():
            self.playback.submit(self.session.frame.clip)
        self.playback.check()
        if not self.orbit_paused:
            self.session.advance(dt)
        self.session.scene.draw(fbo, self.playback.phase())

    def close(self) -> None:
        """Release audio, MIDI, worker and GL objects (idempotent)."""
        self.playback.close()
        self.midi.close()
        self.session.release()


class LiveWindow(mglw.WindowConfig):
    """moderngl-window adapter; ``ear3d_config`` is set on a subclass by :func:`run_live`."""

    gl_version = (4, 3)
    title = "ear3d"
    resizable = True
    vsync = True
    aspect_ratio = None
    ear3d_config: Config = Config()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.app = LiveApp(self.ear3d_config, self.ctx)
        from ear3d.ui.gui import Gui  # h/gui: the on-screen controls, drawn after the scene

        self.gui = Gui(self.wnd, self.app)
        codes = {name: getattr(self.wnd.keys, name, None) for name in KEY_BINDINGS}
        # Backends without a keyboard (headless) give every key the same placeholder: bind none.
        self._key_names = {code: name for name, code in codes.items() if list(codes.values()).count(code) == 1}

    def on_render(self, time: float, frame_time: float) -> None:
        self.app.frame(self.wnd.fbo, frame_time)
        self.gui.render(frame_time)
        if self.app.wants_fullscreen_toggle:
            self.app.wants_fullscreen_toggle = False
            self.wnd.fullscreen = not self.wnd.fullscreen

    def on_key_event(self, key, action, modifiers) -> None:
        if self.gui.key_event(key, action, modifiers):  # h/gui: a text field or a GUI key took it
            return
        if action == self.wnd.keys.ACTION_PRESS and key in self._key_names:
            self.app.key(self._key_names[key])

    # h/gui: the GUI sees every pointer event first; the camera gets those it returns False for.
    def on_mouse_position_event(self, x, y, dx, dy) -> None:
        self.gui.mouse_position_event(x, y, dx, dy)

    def on_mouse_drag_event(self, x, y, dx, dy) -> None:
        self.gui.mouse_drag_event(x, y, dx, dy)

    def on_mouse_press_event(self, x, y, button) -> None:
        self.gui.mouse_press_event(x, y, button)

    def on_mouse_release_event(self, x, y, button) -> None:
        self.gui.mouse_release_event(x, y, button)

    def on_mouse_scroll_event(self, x_offset, y_offset) -> None:
        self.gui.mouse_scroll_event(x_offset, y_offset)

    def on_unicode_char_entered(self, char) -> None:
        self.gui.unicode_char_entered(char)

    def on_resize(self, width, height) -> None:
        self.gui.resize(width, height)

    def on_close(self) -> None:
        self.gui.release()
        self.app.close()


def window_class(config: Config) -> type[LiveWindow]:
    """A LiveWindow subclass bound to ``config`` (moderngl-window instantiates it)."""
    return type("Ear3dWindow", (LiveWindow,), {"ear3d_config": config, "window_size": (config.render.width, config.render.height)})


def run_live(config: Config, window: str | None = None, fullscreen: bool = False) -> int:
    """Open the live window and run until it is closed."""
    args = []
    if window:
        args += ["--window", window]
    if fullscreen:
        args.append("--fullscreen")
    mglw.run_window_config(window_class(config), args=args)
    return 0
