"""The on-screen controls drawn over the scene: Dear ImGui through moderngl-window's
imgui-bundle integration (its ``ModernGLRenderer``), fed through ImGui's input queue.

Wiring (``ear3d.live_window.LiveWindow`` does this)::

    gui = Gui(wnd, app)                           # once the GL context exists (the model may still load)
    each frame:     app.frame(fbo, dt); gui.render(dt)           # the GUI after the scene
    key events:     if not gui.key_event(key, action, mods): app.key(...)
    mouse events:   gui.mouse_*(…) first; the camera only gets the event when the GUI
                    returns False (``want_capture_mouse``: the pointer is over a panel)
    text input:     gui.unicode_char_entered(char)
    resize:         gui.resize(width, height)
    at the end:     gui.release() before app.close()

What is shown follows the app's switches (``app.show_panels``, ``app.show_help``,
``app.performance``: the app's actions panels, help and performance, on TAB, F1 / H, F2); while
the model loads (``app.session`` is None) a card says what is loading.

Without a window (tests, offscreen pictures) give a moderngl context and a size and pass
the framebuffer to ``render``; drive input through ``gui.io`` (ImGui's input queue).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import moderngl
from imgui_bundle import imgui, implot
from moderngl_window.integrations.imgui_bundle import ModernGLRenderer

from ear3d.gfx.picking import POINTER_SLOP
from ear3d.messages import Command
from ear3d.ui import theme
from ear3d.ui.images import ImageCache
from ear3d.ui.panels import PanelInput, inspector, look, optimizer, origin, sound, status, target, views
from ear3d.ui.panels import help as help_panel
from ear3d.ui.state import Neuron, Rates, clip_names, neuron_at, snapshot

log = logging.getLogger(__name__)

#: The two side columns: (window title, its panels, open at start), left then right.
LEFT = ("Controls", ((target, True), (origin, False), (optimizer, True), (look, False), (sound, False)))
RIGHT = ("Listening", ((views, True), (inspector, True), (status, True)))

#: Column widths in logical pixels (before ``scale``) and the margin to the window edge.
LEFT_WIDTH, RIGHT_WIDTH, MARGIN = 330, 340, 8

#: Seconds between hover picks (a pick renders an id buffer: not every frame on a CPU).
PICK_INTERVAL = 0.1

#: moderngl-window key names → ImGui keys (text editing and navigation inside widgets).
_IMGUI_KEYS = {
    "TAB": imgui.Key.tab, "LEFT": imgui.Key.left_arrow, "RIGHT": imgui.Key.right_arrow, "UP": imgui.Key.up_arrow,
    "DOWN": imgui.Key.down_arrow, "PAGE_UP": imgui.Key.page_up, "PAGE_DOWN": imgui.Key.page_down,
    "HOME": imgui.Key.home, "END": imgui.Key.end, "DELETE": imgui.Key.delete, "BACKSPACE": imgui.Key.backspace,
    "SPACE": imgui.Key.space, "ENTER": imgui.Key.enter, "ESCAPE": imgui.Key.escape,
    "A": imgui.Key.a, "C": imgui.Key.c, "V": imgui.Key.v, "X": imgui.Key.x, "Y": imgui.Key.y, "Z": imgui.Key.z,
}


class Gui:
    """The panels of a live app (``ear3d.app.LiveApp``: ``params``, ``session``, ``playback``,
    ``config``, ``command``). ``window_or_ctx``: a moderngl-window window, or a moderngl
    context with ``size`` = (width, height) in pixels. ``scale`` multiplies font and sizes
    (1 = 16 px text). Release with ``release()``."""

    def __init__(self, window_or_ctx: Any, app: Any, size: tuple[int, int] | None = None, scale: float = 1.0):
        if isinstance(window_or_ctx, moderngl.Context):
            if size is None:
                raise ValueError("Gui on a bare context needs size=(width, height)")
            self.wnd, ctx, self._size = None, window_or_ctx, size
        else:
            self.wnd, ctx, self._size = window_or_ctx, window_or_ctx.ctx, tuple(window_or_ctx.size)
        self.ctx: moderngl.Context = ctx
        self.app = app
        self.scale = scale
        self.hovered: Neuron | None = None
        self.rates = Rates()
        self._clips = clip_names(_clips_folder())
        self._scratch: dict[str, Any] = {}
        self._logged_rects: dict[str, list[int]] = {}
        self._panel_rects: list[tuple[float, float, float, float]] = []  # the windows drawn last frame
        self._held_by_gui = False  # a widget is active or a popup is open (last frame)
        self._mouse: tuple[float, float] | None = None
        self._next_pick = 0.0
        self._pick_at: tuple[float, float] | None = None
        self._imgui = imgui.create_context()
        imgui.set_current_context(self._imgui)
        self._implot = implot.create_context()
        self.io = imgui.get_io()
        self.io.set_ini_filename("")  # no imgui.ini written into the working directory
        self.io.set_log_filename("")
        ratio = self._pixel_ratio()
        theme.load_font(scale * ratio)
        self.io.font_global_scale = 1.0 / ratio
        theme.apply(scale)
        self.renderer = ModernGLRenderer(ctx=ctx, display_size=self._size)
        self.images = ImageCache(ctx, self.renderer.register_texture, self.renderer.remove_texture)
        self._key_names = self._window_key_names()
        self.rects: dict[str, tuple[float, float, float, float]] = {}
        self._expand: set[str] | None = None  # panel titles to open (the others close) next frame
        self._released = False

    # -- input: call these from the window's event handlers -----------------------------------

    @property
    def want_capture_mouse(self) -> bool:
        """True while the pointer is over a panel, a widget is being dragged or a menu or list
        is open. Judged from the pointer's position now against where the panels were drawn
        in the last frame: ImGui's own flag is only updated at the next frame, too late for a
        press that comes in the same batch of events as the motion onto the scene."""
        if not self._shown():
            return False
        if self._held_by_gui:
            return True
        x, y = self._mouse if self._mouse is not None else (-1.0, -1.0)
        return any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in self._panel_rects)

    @property
    def want_capture_keyboard(self) -> bool:
        """True while a text field has the keyboard."""
        return bool(self.io.want_capture_keyboard) and self._shown()

    def mouse_position_event(self, x: float, y: float, dx: float = 0.0, dy: float = 0.0) -> bool:
        self._use()
        self.io.add_mouse_pos_event(x, y)
        self._mouse = (x, y)
        return self.want_capture_mouse

    def mouse_drag_event(self, x: float, y: float, dx: float = 0.0, dy: float = 0.0) -> bool:
        return self.mouse_position_event(x, y, dx, dy)

    def mouse_press_event(self, x: float, y: float, button: int) -> bool:
        """``button``: moderngl-window's (1 left, 2 right, 3 middle). True = the GUI took it."""
        self._use()
        self.io.add_mouse_pos_event(x, y)
        self._mouse = (x, y)
        captured = self.want_capture_mouse
        self.io.add_mouse_button_event(_imgui_button(button), True)
        return captured

    def mouse_release_event(self, x: float, y: float, button: int) -> bool:
        self._use()
        self._mouse = (x, y)
        self.io.add_mouse_pos_event(x, y)
        self.io.add_mouse_button_event(_imgui_button(button), False)
        return self.want_capture_mouse

    def mouse_scroll_event(self, x_offset: float, y_offset: float) -> bool:
        self._use()
        self.io.add_mouse_wheel_event(x_offset, y_offset)
        return self.want_capture_mouse

    def unicode_char_entered(self, char: str) -> bool:
        self._use()
        self.io.add_input_character(ord(char))
        return self.want_capture_keyboard

    def key_event(self, key: Any, action: Any, modifiers: Any = None) -> bool:
        """Forward a window key event; True when the GUI used it (a text field has the
        keyboard: the app must not act on it)."""
        self._use()
        name = self._key_names.get(key)
        press = self.wnd is not None and action == self.wnd.keys.ACTION_PRESS
        if modifiers is not None:
            for mod, attr in ((imgui.Key.mod_ctrl, "ctrl"), (imgui.Key.mod_shift, "shift"), (imgui.Key.mod_alt, "alt")):
                self.io.add_key_event(mod, bool(getattr(modifiers, attr, False)))
        if name in _IMGUI_KEYS:
            self.io.add_key_event(_IMGUI_KEYS[name], press)
        return self.want_capture_keyboard

    def expand_only(self, *titles: str) -> None:
        """Open the panels titled ``titles`` and close the others in the next frame."""
        self._expand = set(titles)

    def expand_all(self) -> None:
        """Open every panel in the next frame."""
        self.expand_only(*(module.TITLE for _, panels in (LEFT, RIGHT) for module, _ in panels))

    def resize(self, width: int, height: int) -> None:
        self._size = (width, height)

    # -- drawing ------------------------------------------------------------------------------

    def render(self, frame_time: float, fbo: moderngl.Framebuffer | None = None) -> list[Command]:
        """Draw the panels over what is in ``fbo`` (default: the window's framebuffer) and
        send what the widgets changed to ``app.command``; returns those commands."""
        self._use()
        if self.wnd is not None:
            self._size = tuple(self.wnd.size)
            bw, bh = self.wnd.buffer_size
            self.io.display_framebuffer_scale = (bw / max(self._size[0], 1), bh / max(self._size[1], 1))
        self.io.display_size = self._size
        self.io.delta_time = max(float(frame_time), 1e-4)
        session = self.app.session
        frame = session.frame if session is not None else None
        self.rates.tick(frame_time, frame.step if frame is not None else None)
        if session is not None:
            self._hover()
        imgui.new_frame()
        out: list[Command] = []
        self._panel_rects = []
        if session is None:
            self._loading()
            self.rects = {}
        elif self._shown():
            ui = PanelInput(self.app.params.specs, self.app.params.snapshot(),
                            snapshot(self.app, self.rates, self._clips, self.hovered, self.inspected),
                            out, self.images, self._scratch)
            self.rects = ui.rects  # where each parameter's widget is (window pixels), for automation and tests
            if self.app.show_panels:
                self._column(ui, *LEFT, left=True)
                self._column(ui, *RIGHT, left=False)
            if self.app.show_help:
                self._help(ui)
        else:
            self.rects = {}
        self._expand = None
        self._held_by_gui = imgui.is_any_item_active() or imgui.is_popup_open("", imgui.PopupFlags_.any_popup_id)
        imgui.render()
        target_fbo = fbo if fbo is not None else (self.wnd.fbo if self.wnd is not None else self.ctx.screen)
        target_fbo.use()
        self.renderer.render(imgui.get_draw_data())
        self.ctx.disable(moderngl.BLEND)  # the integration leaves blending on; the scene sets its own
        self._log_rects()
        for command in out:
            self.app.command(command)
        return out

    @property
    def inspected(self) -> Neuron | None:
        """The neuron last clicked (the app's ``picked``), or None."""
        session, picked = self.app.session, self.app.picked
        if session is None or picked is None:
            return None
        return neuron_at(tuple(session.table.layers), int(picked))

    def _note_window(self) -> None:
        """Remember where the current ImGui window is (for want_capture_mouse)."""
        pos, size = imgui.get_window_pos(), imgui.get_window_size()
        self._panel_rects.append((pos.x, pos.y, pos.x + size.x, pos.y + size.y))

    def _shown(self) -> bool:
        return not self.app.performance and (self.app.show_panels or self.app.show_help)

    def _log_rects(self) -> None:
        """Log where the widgets are (window units) whenever that changes, for automation
        (``ear3d -v live`` prints them; tests drive real clicks with them)."""
        rounded = {k: [round(v) for v in r] for k, r in self.rects.items()}
        if rounded != self._logged_rects:
            self._logged_rects = rounded
            log.info("gui rects: %s", json.dumps(rounded, separators=(",", ":")))

    def _loading(self) -> None:
        """A card in the middle of the window while the model loads."""
        config = self.app.config
        below_bar = imgui.ImVec2(self._size[0] / 2, self._size[1] / 2 + 24)  # the app draws a bar across the middle
        imgui.set_next_window_pos(below_bar, imgui.Cond_.always, imgui.ImVec2(0.5, 0.0))
        flags = (imgui.WindowFlags_.always_auto_resize | imgui.WindowFlags_.no_decoration
                 | imgui.WindowFlags_.no_inputs | imgui.WindowFlags_.no_saved_settings)
        if imgui.begin("loading", None, flags)[0]:
            imgui.text("ear3d")
            imgui.separator()
            imgui.text(f"loading the model {config.model.name} ({config.model.preset}) …")
            imgui.text_disabled(f"then it listens to the origin clip ({config.optimize.origin}), lays out its "
                                f"{config.layout.kind} graph and starts the sound")
            imgui.text_disabled(f"{time.perf_counter() - self.app.started:.0f} s")
        imgui.end()

    def _column(self, ui: PanelInput, title: str, panels: tuple, left: bool) -> None:
        width = (LEFT_WIDTH if left else RIGHT_WIDTH) * self.scale
        x = MARGIN if left else self._size[0] - width - MARGIN
        imgui.set_next_window_pos(imgui.ImVec2(x, MARGIN), imgui.Cond_.first_use_ever)
        imgui.set_next_window_size_constraints(imgui.ImVec2(width, 0), imgui.ImVec2(width, self._size[1] - 2 * MARGIN))
        flags = imgui.WindowFlags_.always_auto_resize | imgui.WindowFlags_.no_focus_on_appearing
        expanded = imgui.begin(title, None, flags)[0]
        self._note_window()  # the title bar too when collapsed
        if expanded:
            imgui.push_item_width(-width * 0.42)  # labels right of the widgets get 42 % of the column
            for module, open_at_start in panels:
                header_flags = imgui.TreeNodeFlags_.default_open if open_at_start else 0
                if self._expand is not None:
                    imgui.set_next_item_open(module.TITLE in self._expand, imgui.Cond_.always)
                if imgui.collapsing_header(module.TITLE, header_flags):
                    imgui.push_id(module.TITLE)
                    module.draw(ui)
                    imgui.pop_id()
                    imgui.spacing()
            imgui.pop_item_width()
        imgui.end()

    def _help(self, ui: PanelInput) -> None:
        center = imgui.ImVec2(self._size[0] / 2, self._size[1] / 2)
        imgui.set_next_window_pos(center, imgui.Cond_.always, imgui.ImVec2(0.5, 0.5))
        imgui.set_next_window_bg_alpha(0.97)  # over the panels: readable, not see-through
        opened, keep = imgui.begin(help_panel.TITLE, True, imgui.WindowFlags_.always_auto_resize)
        self._note_window()
        if opened:
            help_panel.draw(ui)
        imgui.end()
        if keep is False:
            self.app.command(Command("app:help"))

    # -- picking ------------------------------------------------------------------------------

    def _pick(self, x: float, y: float) -> Neuron | None:
        """The neuron drawn at or next to window point (x, y) (mouse units), through ``scene.pick``."""
        session = self.app.session
        try:
            index = session.scene.pick(x, y, self._size, POINTER_SLOP)
        except (ValueError, RuntimeError) as e:  # never stop the frame loop over a pick
            log.warning("pick failed: %s", e)
            return None
        return None if index is None else neuron_at(tuple(session.table.layers), int(index))

    def _hover(self) -> None:
        """Pick under a resting pointer that is not over a panel (at most every PICK_INTERVAL)."""
        now = time.perf_counter()
        if self._mouse is None or now < self._next_pick or self._mouse == self._pick_at:
            return
        if self.want_capture_mouse:
            self.hovered = None
            return
        self._next_pick, self._pick_at = now + PICK_INTERVAL, self._mouse
        self.hovered = self._pick(*self._mouse)

    # -- plumbing -----------------------------------------------------------------------------

    def _use(self) -> None:
        imgui.set_current_context(self._imgui)
        implot.set_current_context(self._implot)

    def _pixel_ratio(self) -> float:
        return float(getattr(self.wnd, "pixel_ratio", 1.0) or 1.0) if self.wnd is not None else 1.0

    def _window_key_names(self) -> dict[Any, str]:
        """Window key code → name for the keys the GUI uses (backends without a keyboard
        give every key one placeholder: then none)."""
        if self.wnd is None:
            return {}
        names = set(_IMGUI_KEYS)
        codes = {name: getattr(self.wnd.keys, name, None) for name in names}
        values = list(codes.values())
        return {code: name for name, code in codes.items() if code is not None and values.count(code) == 1}

    def release(self) -> None:
        """Free the textures, the renderer's GL objects and the ImGui/ImPlot contexts (idempotent)."""
        if self._released:
            return
        self._released = True
        self._use()
        self.images.release()
        self.renderer.shutdown()
        implot.destroy_context(self._implot)
        imgui.destroy_context(self._imgui)


def _imgui_button(button: int) -> int:
    """moderngl-window's mouse button (1 left, 2 right, 3 middle) → ImGui's (0, 1, 2)."""
    return {1: 0, 2: 1, 3: 2}.get(int(button), 0)


def _clips_folder() -> Path:
    from ear3d import paths

    return paths.clips()
