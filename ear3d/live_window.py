"""The live window: ear3d's own frame loop on a moderngl-window backend.

ear3d creates the window itself (moderngl-window never sees ear3d's command line), draws a
loading screen at once while the model loads, then the network; keys, mouse and resize go to
an optional overlay first (the GUI: ``window.overlay``), then to the LiveApp.

The overlay, when set, is any object with ``render(frame_time)`` (called after the scene,
into the window's framebuffer), ``want_capture_mouse`` and ``want_capture_keyboard``
(booleans), and optionally the moderngl-window event methods ``on_key_event(key, action,
modifiers)``, ``on_mouse_position_event(x, y, dx, dy)``, ``on_mouse_drag_event(x, y, dx, dy)``,
``on_mouse_scroll_event(x_offset, y_offset)``, ``on_mouse_press_event(x, y, button)``,
``on_mouse_release_event(x, y, button)``, ``on_unicode_char_entered(char)`` and
``on_resize(width, height)``, which receive every event first.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import Any

import moderngl_window as mglw

from ear3d.app import LiveApp
from ear3d.config import Config
from ear3d.control.keyboard import FLY_KEYS, KEY_BINDINGS

log = logging.getLogger(__name__)

#: Window backends tried in this order when none is asked for (the first whose library imports).
BACKENDS = (("pyglet", "pyglet"), ("glfw", "glfw"), ("sdl2", "sdl2"))
#: OpenGL version asked for (compute shaders for the edge rasterizer need 4.3).
GL_VERSION = (4, 3)
#: Pixels a press may move and still count as a click (a pick), not a drag.
CLICK_SLOP = 4


class WindowError(RuntimeError):
    """No window backend could open a window."""


def choose_backend(requested: str | None = None) -> str:
    """``requested`` when given, else the first of BACKENDS whose Python library is installed."""
    if requested:
        return requested
    for name, module in BACKENDS:
        if importlib.util.find_spec(module) is not None:
            return name
    raise WindowError(f"no window library found; install one of {', '.join(m for _, m in BACKENDS)}")


def _key_names(keys: Any) -> dict[Any, str]:
    """The backend's key codes → moderngl-window key names for every bound and fly key."""
    names = {key.rpartition("+")[2] for key in KEY_BINDINGS} | set(FLY_KEYS)
    codes = {name: getattr(keys, name, None) for name in names}
    counts: dict[Any, int] = {}
    for code in codes.values():
        counts[code] = counts.get(code, 0) + 1
    # Backends without a keyboard give every key the same placeholder: bind none of those.
    return {code: name for name, code in codes.items() if code is not None and counts[code] == 1}


class LiveWindow:
    """A window running a :class:`LiveApp` until it is closed (or a frame or time limit).

    backend: a moderngl-window backend name (pyglet, glfw, sdl2, …); monitor: open fullscreen
    on this monitor (-1 = windowed; ``fullscreen`` = on the current one).
    """

    def __init__(self, config: Config, backend: str | None = None, fullscreen: bool = False, monitor: int = -1,
                 session_path: str | Path | None = None, out_dir: str | Path = "out"):
        self.backend = choose_backend(backend)
        window_cls = mglw.get_local_window_cls(self.backend)
        rc = config.render
        self.wnd = window_cls(title="ear3d (loading the model…)", size=(rc.width, rc.height), resizable=True,
                              fullscreen=False, vsync=rc.vsync, gl_version=GL_VERSION, samples=0, cursor=True)
        mglw.activate_context(window=self.wnd)
        self.wnd.fullscreen_key = None  # F / F11 are ear3d's bindings
        self.app = LiveApp(config, self.wnd.ctx, session_path, out_dir)
        self.app.wnd = self.wnd  # type: ignore[attr-defined]  # for the overlay (ImGui needs the window)
        #: the GUI (see the module doc); None draws only the scene
        self.overlay: Any = None
        self._names = _key_names(self.wnd.keys)
        self._press: tuple[int, int] | None = None
        self._dragged = False
        self._connect()
        if monitor >= 0 or fullscreen:
            self.set_fullscreen(True, monitor)

    def _connect(self) -> None:
        w = self.wnd
        w.key_event_func = self._on_key
        w.mouse_press_event_func = self._on_press
        w.mouse_release_event_func = self._on_release
        w.mouse_drag_event_func = self._on_drag
        w.mouse_position_event_func = self._on_move
        w.mouse_scroll_event_func = self._on_scroll
        w.unicode_char_entered_func = lambda char: self._to_overlay("on_unicode_char_entered", char)
        w.resize_func = lambda width, height: self._to_overlay("on_resize", width, height)

    # -- events ---------------------------------------------------------------------------------

    def _to_overlay(self, method: str, *args: Any) -> None:
        handler = getattr(self.overlay, method, None) if self.overlay is not None else None
        if handler is not None:
            handler(*args)

    def _overlay_wants(self, what: str) -> bool:
        return self.overlay is not None and bool(getattr(self.overlay, f"want_capture_{what}", False))

    def _on_key(self, key: Any, action: Any, modifiers: Any) -> None:
        self._to_overlay("on_key_event", key, action, modifiers)
        name = self._names.get(key)
        if name is None:
            return
        keys = self.wnd.keys
        if action == keys.ACTION_RELEASE:
            self.app.key_held(name, False)  # always: a key held into a text field must not fly on
            return
        if action != keys.ACTION_PRESS or self._overlay_wants("keyboard"):
            return
        shift, ctrl = bool(modifiers.shift), bool(modifiers.ctrl)
        if name in FLY_KEYS and not ctrl:
            self.app.key_held(name, True)
        self.app.key(name, shift, ctrl)

    def _buttons(self) -> set[str]:
        states = self.wnd.mouse_states
        return {b for b in ("left", "right", "middle") if getattr(states, b)}

    def _on_press(self, x: int, y: int, button: int) -> None:
        self._to_overlay("on_mouse_press_event", x, y, button)
        if not self._overlay_wants("mouse"):
            self._press, self._dragged = (x, y), False

    def _on_release(self, x: int, y: int, button: int) -> None:
        self._to_overlay("on_mouse_release_event", x, y, button)
        press, self._press = self._press, None
        if press is not None and not self._dragged and button == self.wnd.mouse.left:
            self.app.on_click(x, y, self.wnd.size)

    def _on_drag(self, x: int, y: int, dx: int, dy: int) -> None:
        self._to_overlay("on_mouse_drag_event", x, y, dx, dy)
        if self._press is None:  # the press went to the overlay
            return
        if abs(x - self._press[0]) + abs(y - self._press[1]) > CLICK_SLOP:
            self._dragged = True
        if self._dragged:
            self.app.on_mouse_drag(dx, dy, self._buttons(), bool(self.wnd.modifiers.shift))

    def _on_move(self, x: int, y: int, dx: int, dy: int) -> None:
        self._to_overlay("on_mouse_position_event", x, y, dx, dy)

    def _on_scroll(self, x_offset: float, y_offset: float) -> None:
        self._to_overlay("on_mouse_scroll_event", x_offset, y_offset)
        if not self._overlay_wants("mouse"):
            self.app.on_scroll(y_offset)

    # -- fullscreen -------------------------------------------------------------------------------

    def set_fullscreen(self, on: bool, monitor: int = -1) -> None:
        """Fullscreen on monitor ``monitor`` (-1 = the current one), or windowed."""
        if not on or monitor < 0:
            self.wnd.fullscreen = on
            return
        if self.backend == "pyglet":
            import pyglet

            screens = pyglet.display.get_display().get_screens()
            self._check_monitor(monitor, len(screens))
            self.wnd._window.set_fullscreen(True, screen=screens[monitor])
            self.wnd._fullscreen = True
        elif self.backend == "glfw":
            import glfw

            monitors = glfw.get_monitors()
            self._check_monitor(monitor, len(monitors))
            mode = glfw.get_video_mode(monitors[monitor])
            glfw.set_window_monitor(self.wnd._window, monitors[monitor], 0, 0, mode.size.width, mode.size.height,
                                    mode.refresh_rate)
            self.wnd._fullscreen = True
        else:
            log.warning("the %s backend cannot choose a monitor: fullscreen on the current one", self.backend)
            self.wnd.fullscreen = True

    @staticmethod
    def _check_monitor(monitor: int, count: int) -> None:
        if monitor >= count:
            raise WindowError(f"monitor {monitor} does not exist: this display has {count} (0–{count - 1})")

    # -- the loop -------------------------------------------------------------------------------

    def run(self, frames: int | None = None, seconds: float | None = None, screenshot: str | Path | None = None,
            save_session: bool = False) -> int:
        """Draw until the window closes, or after ``frames`` frames / ``seconds`` seconds of the
        network (counted once the model is ready). At the end: ``screenshot`` (PNG) of the last
        frame, and the session file when ``save_session``. Releases everything."""
        wnd, app = self.wnd, self.app
        last = time.perf_counter()
        ready_at: float | None = None
        try:
            while not wnd.is_closing:
                now = time.perf_counter()
                dt, last = now - last, now
                wnd.use()
                app.frame(wnd.fbo, dt)
                if self.overlay is not None:
                    wnd.use()
                    self.overlay.render(dt)
                app.after_frame(wnd.fbo)
                if app.wants_fullscreen_toggle:
                    app.wants_fullscreen_toggle = False
                    self.set_fullscreen(not wnd.fullscreen)
                if not app.loading:
                    if ready_at is None:
                        ready_at = now
                        wnd.title = "ear3d"
                    done = (frames is not None and app.frames_drawn >= frames) or (
                        seconds is not None and now - ready_at >= seconds)
                    if done:
                        if screenshot:
                            app.screenshot(wnd.fbo, screenshot)
                        break
                wnd.swap_buffers()
            if save_session and not app.loading:
                app.save_session()
        finally:
            app.close()
            wnd.destroy()
        return 0


def run_live(config: Config, window: str | None = None, fullscreen: bool = False, monitor: int = -1,
             session: str | Path | None = None, out_dir: str | Path = "out", frames: int | None = None,
             seconds: float | None = None, screenshot: str | Path | None = None, save_session: bool = False) -> int:
    """Open the live window and run until it is closed (see LiveWindow.run)."""
    live = LiveWindow(config, window, fullscreen, monitor, session, out_dir)
    return live.run(frames, seconds, screenshot, save_session)
