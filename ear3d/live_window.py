"""The live window: ear3d's own frame loop on a moderngl-window backend.

ear3d creates the window itself (moderngl-window never sees ear3d's command line), draws a
loading screen at once while the model loads (the GUI says what is loading), then the
network with the on-screen controls over it (ear3d.ui.gui.Gui). Every event goes to the GUI
first; the app (keys, the camera controller, picking) gets it only when the GUI did not take
it (the pointer over a panel, a text field being typed in). A press and release close
together on the scene is a click: it picks the neuron there.
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
from ear3d.control.keyboard import FAST_KEYS, FLY_KEYS, KEY_BINDINGS
from ear3d.ui.gui import Gui

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
    """The backend's key codes → moderngl-window key names for every bound, fly and fast key."""
    names = {key.rpartition("+")[2] for key in KEY_BINDINGS} | set(FLY_KEYS) | set(FAST_KEYS)
    codes = {name: getattr(keys, name, None) for name in names}
    counts: dict[Any, int] = {}
    for code in codes.values():
        counts[code] = counts.get(code, 0) + 1
    # Backends without a keyboard give every key the same placeholder: bind none of those.
    return {code: name for name, code in codes.items() if code is not None and counts[code] == 1}


class LiveWindow:
    """A window running a :class:`LiveApp` with its GUI until it is closed (or a frame or time limit).

    backend: a moderngl-window backend name (pyglet, glfw, sdl2, …; "headless": an offscreen
    EGL window without events, for tests); monitor: open fullscreen on this monitor (-1 =
    windowed; ``fullscreen`` = on the current one).
    """

    def __init__(self, config: Config, backend: str | None = None, fullscreen: bool = False, monitor: int = -1,
                 session_path: str | Path | None = None, out_dir: str | Path = "out"):
        self.backend = choose_backend(backend)
        window_cls = mglw.get_local_window_cls(self.backend)
        rc = config.render
        extra: dict[str, Any] = {"backend": "egl"} if self.backend == "headless" else {}
        self.wnd = window_cls(title="ear3d (loading the model…)", size=(rc.width, rc.height), resizable=True,
                              fullscreen=False, vsync=rc.vsync, gl_version=GL_VERSION, samples=0, cursor=True, **extra)
        mglw.activate_context(window=self.wnd)
        self.wnd.fullscreen_key = None  # F / F11 are ear3d's bindings
        self.app = LiveApp(config, self.wnd.ctx, session_path, out_dir)
        self.app.set_view_size(*self.wnd.size)
        #: the on-screen controls, drawn over the scene (and over the loading screen)
        self.gui = Gui(self.wnd, self.app)
        self._names = _key_names(self.wnd.keys)
        self._press: tuple[float, float] | None = None
        self._dragged = False
        self._at: tuple[float, float] | None = None  # where the pointer was last seen
        self._pointer = (rc.width / 2, rc.height / 2)  # fly mode's virtual pointer (the real one is grabbed)
        self._grabbed = False
        self._closed = False
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
        w.unicode_char_entered_func = self.gui.unicode_char_entered
        w.resize_func = self._on_resize

    # -- events: the GUI first, then the app --------------------------------------------------

    def _on_key(self, key: Any, action: Any, modifiers: Any) -> None:
        typing = self.gui.key_event(key, action, modifiers)
        name = self._names.get(key)
        if name is None:
            return
        keys = self.wnd.keys
        if action == keys.ACTION_RELEASE:
            self.app.key_held(name, False)  # always: a key held into a text field must not fly on
            return
        if action != keys.ACTION_PRESS or typing:
            return
        shift, ctrl = bool(modifiers.shift), bool(modifiers.ctrl)
        if (name in FLY_KEYS and not ctrl) or name in FAST_KEYS:
            self.app.key_held(name, True)
        self.app.key(name, shift, ctrl)

    def _on_press(self, x: int, y: int, button: int) -> None:
        if self.gui.mouse_press_event(x, y, button):
            return  # on a panel: no camera move, no pick
        self._press, self._dragged, self._at = (x, y), False, (x, y)
        self.app.mouse_press(x, y, button)

    def _on_release(self, x: int, y: int, button: int) -> None:
        self.gui.mouse_release_event(x, y, button)
        self.app.mouse_release(x, y, button)  # always: a drag may end over a panel
        press, self._press = self._press, None
        if press is not None and not self._dragged and button == self.wnd.mouse.left:
            self.app.pick(x, y)

    def _on_drag(self, x: int, y: int, dx: int, dy: int) -> None:
        self.gui.mouse_drag_event(x, y, dx, dy)
        self._at = (x, y)
        if self._press is not None and abs(x - self._press[0]) + abs(y - self._press[1]) > CLICK_SLOP:
            self._dragged = True
        self.app.mouse_move(x, y)  # the controller moves only for buttons pressed on the scene

    def _on_move(self, x: int, y: int, dx: int, dy: int) -> None:
        self.gui.mouse_position_event(x, y, dx, dy)
        self._at = (x, y)
        pointer: tuple[float, float] = (x, y)
        if self.app.flying:  # the pointer is grabbed: its motion, summed, looks around
            self._pointer = pointer = (self._pointer[0] + dx, self._pointer[1] + dy)
        self.app.mouse_move(*pointer)

    def _on_scroll(self, x_offset: float, y_offset: float) -> None:
        if not self.gui.mouse_scroll_event(x_offset, y_offset):
            x, y = self._at if self._at is not None else (None, None)
            self.app.scroll(y_offset, x, y)  # zoom towards the point under the pointer

    def _on_resize(self, width: int, height: int) -> None:
        self.gui.resize(*self.wnd.size)
        self.app.set_view_size(*self.wnd.size)

    # -- fullscreen -------------------------------------------------------------------------------

    def set_fullscreen(self, on: bool, monitor: int = -1) -> None:
        """Fullscreen on monitor ``monitor`` (-1 = the current one), or windowed."""
        if not on or monitor < 0:
            self.wnd.fullscreen = on
            return
        if self.backend == "pyglet":
            import pyglet
            from moderngl_window.context.pyglet.window import Window as PygletWindow

            assert isinstance(self.wnd, PygletWindow)  # the backend chose the class
            screens = pyglet.display.get_display().get_screens()
            self._check_monitor(monitor, len(screens))
            self.wnd._window.set_fullscreen(True, screen=screens[monitor])
            self.wnd._fullscreen = True
        elif self.backend == "glfw":
            import glfw
            from moderngl_window.context.glfw.window import Window as GlfwWindow

            assert isinstance(self.wnd, GlfwWindow)  # the backend chose the class
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
                self.draw(dt)
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
            self.close()
        return 0

    def draw(self, dt: float) -> None:
        """One frame into the window's framebuffer: the scene (or the loading screen), the GUI
        over it, then screenshots and recording; window requests (fullscreen, grabbing the
        pointer in fly mode) are carried out. ``dt``: seconds since the last frame."""
        wnd, app = self.wnd, self.app
        wnd.use()
        app.frame(wnd.fbo, dt)
        wnd.use()
        self.gui.render(dt)
        app.after_frame(wnd.fbo)
        if app.wants_fullscreen_toggle:
            app.wants_fullscreen_toggle = False
            self.set_fullscreen(not wnd.fullscreen)
        flying = app.flying
        if flying != self._grabbed and not wnd.headless:
            self._grabbed = flying
            self._pointer = self._at or self._pointer
            wnd.cursor = not flying
            try:
                wnd.mouse_exclusivity = flying
            except NotImplementedError:  # backends that cannot grab: fly mode looks while the pointer moves
                pass

    def close(self) -> None:
        """Release the GUI, then the app, then the window (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.gui.release()
            self.app.close()
        finally:
            self.wnd.destroy()


def run_live(config: Config, window: str | None = None, fullscreen: bool = False, monitor: int = -1,
             session: str | Path | None = None, out_dir: str | Path = "out", frames: int | None = None,
             seconds: float | None = None, screenshot: str | Path | None = None, save_session: bool = False) -> int:
    """Open the live window and run until it is closed (see LiveWindow.run)."""
    live = LiveWindow(config, window, fullscreen, monitor, session, out_dir)
    return live.run(frames, seconds, screenshot, save_session)
