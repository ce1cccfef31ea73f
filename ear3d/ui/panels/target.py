"""Target: which neurons the ear is aimed at. The layer by name, the region along channels,
pitch and time, keep (add the next region), maximise / minimise, and a picture of the layer's
channel × pitch grid: mean activation over the loop, the worker's selected cells in the
accent colour, the region being set outlined."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ml.objectives import Region
from ear3d.ui import theme
from ear3d.ui.panels import PanelInput
from ear3d.ui.widgets import layer_combo

TITLE = "Target"

#: Largest side of the grid picture in pixels.
PICTURE_PX = 300


def grid_image(acts: np.ndarray | None, selected: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """(F, C, 4) uint8: pitch rows (high pitch first) × channel columns. acts: (C, F, T)
    float32 or None; selected: (C, F, T) bool or None; shape: (C, F)."""
    c, f = shape
    level = np.zeros((c, f), np.float32) if acts is None else np.abs(acts).mean(axis=2)
    top = float(np.percentile(level, 99)) if level.size else 0.0
    level = np.clip(level / top, 0, 1) if top > 0 else level
    rgb = np.empty((c, f, 3), np.float32)
    base = np.array([0.10, 0.12, 0.17], np.float32)
    lit = np.array([0.80, 0.84, 0.90], np.float32)
    rgb[:] = base + (lit - base) * np.sqrt(level)[..., None]
    if selected is not None:
        sel = selected.any(axis=2)
        accent = np.array(theme.ACCENT[:3], np.float32)
        rgb[sel] = 0.35 * rgb[sel] + 0.65 * accent * (0.5 + 0.5 * level[sel, None])
    rgba = np.empty((f, c, 4), np.uint8)
    rgba[..., :3] = (rgb.transpose(1, 0, 2)[::-1] * 255).astype(np.uint8)
    rgba[..., 3] = 255
    return rgba


def _picture(ui: PanelInput, layer_index: int) -> None:
    layers = ui.state.layers
    if not 0 <= layer_index < len(layers):
        return
    info = layers[layer_index]
    frame = ui.state.frame
    acts = frame.layers.get(info.name) if frame is not None else None
    selected = frame.selected.get(info.name) if frame is not None else None
    version = (info.name, frame.serial if frame is not None else 0)
    tex = ui.images.texture("target_grid", version,
                            lambda: grid_image(acts, selected, (info.channels, info.pitches)), smooth=False)
    width = min(imgui.get_content_region_avail().x, PICTURE_PX)
    aspect = info.pitches / info.channels
    height = max(24.0, min(width * aspect, PICTURE_PX * 0.6))
    origin = imgui.get_cursor_screen_pos()
    imgui.image(tex.glo, imgui.ImVec2(width, height))
    draw = imgui.get_window_draw_list()
    v = ui.values
    if all(f"{axis}_{k}" in v for axis in ("channel", "pitch") for k in ("pos", "width")):
        c0, c1 = Region(float(v["channel_pos"]), float(v["channel_width"])).bounds(info.channels)
        f0, f1 = Region(float(v["pitch_pos"]), float(v["pitch_width"])).bounds(info.pitches)
        x0 = origin.x + width * c0 / info.channels
        x1 = origin.x + width * c1 / info.channels
        y0 = origin.y + height * (1 - f1 / info.pitches)  # high pitch at the top
        y1 = origin.y + height * (1 - f0 / info.pitches)
        draw.add_rect(imgui.ImVec2(x0, y0), imgui.ImVec2(x1, y1), imgui.get_color_u32(imgui.ImVec4(*theme.ACCENT)),
                      0.0, 0, 2.0)
    imgui.text_disabled(f"{info.name}: {info.channels} channels (across) × {info.pitches} pitches (up)")


def _time_strip(ui: PanelInput) -> None:
    """The loop as a bar: the time region shaded, the playhead on the audio clock."""
    v = ui.values
    if "time_pos" not in v or "time_width" not in v:
        return
    width = imgui.get_content_region_avail().x
    height = 10.0
    p = imgui.get_cursor_screen_pos()
    draw = imgui.get_window_draw_list()
    steps = 1000  # the region as a fraction of the loop
    t0, t1 = Region(float(v["time_pos"]), float(v["time_width"])).bounds(steps)
    col = imgui.get_color_u32
    draw.add_rect_filled(p, imgui.ImVec2(p.x + width, p.y + height), col(imgui.ImVec4(0.12, 0.15, 0.2, 0.9)), 3.0)
    draw.add_rect_filled(imgui.ImVec2(p.x + width * t0 / steps, p.y),
                         imgui.ImVec2(p.x + width * t1 / steps, p.y + height),
                         col(imgui.ImVec4(theme.ACCENT[0], theme.ACCENT[1], theme.ACCENT[2], 0.55)), 3.0)
    x = p.x + width * ui.state.phase
    draw.add_line(imgui.ImVec2(x, p.y - 2), imgui.ImVec2(x, p.y + height + 2), col(imgui.ImVec4(1, 1, 1, 0.9)), 2.0)
    imgui.dummy(imgui.ImVec2(width, height))


def draw(ui: PanelInput) -> None:
    specs, values = ui.specs, ui.values
    names = ui.state.layer_names
    layer = int(values.get("target_layer", -1))
    if "target_layer" in specs:
        layer_combo(specs["target_layer"], layer, names, ui.out, "layer", ui.rects)
    _picture(ui, layer)
    ui.widgets("target", ("target_layer", "sonify"))  # sonify: the Optimizer's pause / resume
    _time_strip(ui)
    keep = ui.app_action("keep_selection")
    imgui.begin_disabled(not keep)
    if imgui.button("keep, add next"):
        ui.out.append(Command("app:keep_selection"))
    imgui.end_disabled()
    imgui.set_item_tooltip("keep this region as a target; the next region you set is added to it")
    imgui.same_line()
    imgui.begin_disabled(not ui.app_action("focus_selection"))
    if imgui.button("look at it"):
        ui.out.append(Command("app:focus_selection"))
    imgui.end_disabled()
    imgui.set_item_tooltip("fly the camera to the targeted neurons")
