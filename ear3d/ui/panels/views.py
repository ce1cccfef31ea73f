"""Views: the loss and the target's activation over the optimisation steps, and the
scalogram of the playing clip and the loss's gradient with respect to it, with the playhead
moving on the audio clock."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from ear3d.ui import theme
from ear3d.ui.images import magnitude_image, signed_image
from ear3d.ui.panels import PanelInput

TITLE = "Views"

#: Height of each history plot and each scalogram picture, pixels.
PLOT_PX = 84
PICTURE_PX = 64


def _history(title: str, values: np.ndarray, colour: tuple[float, float, float, float]) -> None:
    flags = implot.Flags_.no_legend | implot.Flags_.no_menus | implot.Flags_.no_box_select | implot.Flags_.no_mouse_text
    style = imgui.get_style()  # half the column each (the window's width is fixed, its content auto-sized)
    width = (imgui.get_window_width() - 2 * style.window_padding.x) / 2 - style.item_spacing.x
    if implot.begin_plot(title, imgui.ImVec2(width, PLOT_PX), flags):
        axis_x = implot.AxisFlags_.auto_fit | implot.AxisFlags_.no_tick_labels
        implot.setup_axes("", "", axis_x, implot.AxisFlags_.auto_fit)
        if values.size:
            implot.push_style_color(implot.Col_.line, imgui.get_color_u32(imgui.ImVec4(*colour)))
            implot.plot_line(title, np.ascontiguousarray(values, dtype=np.float32))
            implot.pop_style_color()
        implot.end_plot()


def _picture(ui: PanelInput, key: str, values: np.ndarray, signed: bool, caption: str) -> None:
    """values: (F, T) float32, row 0 = lowest pitch (drawn at the bottom)."""
    frame = ui.state.frame
    make = (lambda: signed_image(values[::-1])) if signed else (lambda: magnitude_image(values[::-1]))
    tex = ui.images.texture(key, frame.serial if frame is not None else 0, make)
    width = imgui.get_content_region_avail().x
    p = imgui.get_cursor_screen_pos()
    imgui.image(tex.glo, imgui.ImVec2(width, PICTURE_PX))
    x = p.x + width * ui.state.phase  # the playhead, on the audio clock
    draw = imgui.get_window_draw_list()
    draw.add_line(imgui.ImVec2(x, p.y), imgui.ImVec2(x, p.y + PICTURE_PX),
                  imgui.get_color_u32(imgui.ImVec4(1.0, 1.0, 1.0, 0.85)), 2.0)
    draw.add_text(imgui.ImVec2(p.x + 6, p.y + 4), imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 0.8)), caption)


def draw(ui: PanelInput) -> None:
    frame = ui.state.frame
    if frame is None:
        imgui.text_disabled("waiting for the first activations …")
        return
    loss = frame.loss_history
    target = frame.target_history
    if imgui.begin_table("histories", 2):  # side by side: the column keeps room for the pictures
        imgui.table_next_column()
        imgui.text(f"loss {frame.loss:.4g}" if loss.size else "loss: no target")
        _history("##loss", loss, theme.ACCENT)
        imgui.table_next_column()
        imgui.text(f"target {frame.target:.4g}" if target.size else "target: none")
        _history("##target", target, (0.95, 0.62, 0.25, 1.0))
        imgui.end_table()
    if frame.scalogram is not None:
        _picture(ui, "scalogram", frame.scalogram, False, "scalogram")
    if frame.scalogram_grad is not None:
        _picture(ui, "gradient", frame.scalogram_grad, True, "gradient of the loss")
