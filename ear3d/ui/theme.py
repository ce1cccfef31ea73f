"""The look of the controls: a dark, translucent theme that sits on the scene's near-black
background, and the font (Roboto, shipped inside imgui-bundle, Apache-2.0)."""

from __future__ import annotations

from pathlib import Path

from imgui_bundle import imgui

#: Text height in pixels at a pixel ratio of 1 (readable on a projector at 720p).
FONT_PX = 16.0

#: Accent colour (RGBA 0–1): a cool cyan that reads against the scene's warm and cold layers.
ACCENT = (0.33, 0.72, 0.95, 1.0)


#: Unicode ranges put into the font atlas (pairs, 0-terminated): Latin and Latin-1, general
#: punctuation (– … ·), arrows (→) and mathematical operators (×, −, ≤).
GLYPH_RANGES = (0x0020, 0x00FF, 0x2000, 0x206F, 0x2190, 0x21FF, 0x2200, 0x22FF, 0)


def font_path() -> Path | None:
    """Roboto Regular from imgui-bundle's assets, or None when this build ships no fonts."""
    import imgui_bundle

    path = Path(imgui_bundle.__file__).parent / "assets" / "fonts" / "Roboto" / "Roboto-Regular.ttf"
    return path if path.is_file() else None


def load_font(scale: float = 1.0) -> None:
    """Add the UI font to the atlas (before the renderer builds its font texture)."""
    io = imgui.get_io()
    path = font_path()
    if path is None:
        config = imgui.ImFontConfig()
        config.size_pixels = 13.0 * scale
        io.fonts.add_font_default(config)
        return
    io.fonts.add_font_from_file_ttf(str(path), FONT_PX * scale, None, list(GLYPH_RANGES))


def _rgba(r: float, g: float, b: float, a: float = 1.0) -> imgui.ImVec4:
    return imgui.ImVec4(r, g, b, a)


def apply(scale: float = 1.0) -> None:
    """Style the current ImGui context: dark, low-contrast frames, accent on what is active."""
    imgui.style_colors_dark()
    style = imgui.get_style()
    style.window_rounding = 6.0
    style.child_rounding = 4.0
    style.frame_rounding = 4.0
    style.grab_rounding = 3.0
    style.popup_rounding = 4.0
    style.scrollbar_rounding = 6.0
    style.tab_rounding = 4.0
    style.window_border_size = 0.0
    style.frame_border_size = 0.0
    style.window_padding = imgui.ImVec2(10, 10)
    style.frame_padding = imgui.ImVec2(7, 3)
    style.item_spacing = imgui.ImVec2(8, 5)
    style.item_inner_spacing = imgui.ImVec2(6, 4)
    style.grab_min_size = 10.0
    style.window_title_align = imgui.ImVec2(0.02, 0.5)
    ar, ag, ab, _ = ACCENT
    colors = {
        imgui.Col_.text: _rgba(0.86, 0.89, 0.93),
        imgui.Col_.text_disabled: _rgba(0.45, 0.49, 0.55),
        imgui.Col_.window_bg: _rgba(0.035, 0.045, 0.07, 0.80),
        imgui.Col_.child_bg: _rgba(0.0, 0.0, 0.0, 0.0),
        imgui.Col_.popup_bg: _rgba(0.05, 0.06, 0.09, 0.96),
        imgui.Col_.border: _rgba(0.25, 0.30, 0.38, 0.35),
        imgui.Col_.frame_bg: _rgba(0.12, 0.15, 0.20, 0.75),
        imgui.Col_.frame_bg_hovered: _rgba(0.17, 0.22, 0.30, 0.85),
        imgui.Col_.frame_bg_active: _rgba(0.20, 0.28, 0.38, 0.95),
        imgui.Col_.title_bg: _rgba(0.04, 0.05, 0.08, 0.85),
        imgui.Col_.title_bg_active: _rgba(0.06, 0.09, 0.14, 0.92),
        imgui.Col_.title_bg_collapsed: _rgba(0.04, 0.05, 0.08, 0.60),
        imgui.Col_.slider_grab: _rgba(ar, ag, ab, 0.85),
        imgui.Col_.slider_grab_active: _rgba(ar, ag, ab, 1.0),
        imgui.Col_.check_mark: _rgba(ar, ag, ab, 1.0),
        imgui.Col_.button: _rgba(0.16, 0.21, 0.29, 0.80),
        imgui.Col_.button_hovered: _rgba(0.22, 0.32, 0.45, 0.90),
        imgui.Col_.button_active: _rgba(ar * 0.7, ag * 0.7, ab * 0.7, 1.0),
        imgui.Col_.header: _rgba(0.13, 0.17, 0.24, 0.85),
        imgui.Col_.header_hovered: _rgba(0.19, 0.27, 0.38, 0.90),
        imgui.Col_.header_active: _rgba(0.22, 0.33, 0.47, 1.0),
        imgui.Col_.separator: _rgba(0.25, 0.30, 0.38, 0.45),
        imgui.Col_.plot_lines: _rgba(ar, ag, ab, 1.0),
        imgui.Col_.plot_histogram: _rgba(0.95, 0.62, 0.25, 1.0),
        imgui.Col_.table_header_bg: _rgba(0.10, 0.13, 0.18, 0.90),
        imgui.Col_.table_row_bg_alt: _rgba(1.0, 1.0, 1.0, 0.03),
    }
    for col, value in colors.items():
        style.set_color_(col, value)
    style.scale_all_sizes(scale)
