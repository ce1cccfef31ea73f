"""Help: every key and mouse action, from the binding tables the code uses (the keyboard's,
with the camera controller's mouse and fly bindings: control.keyboard.binding_help)."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.control.keyboard import binding_help
from ear3d.gfx.controller import BINDINGS as CAMERA_BINDINGS
from ear3d.ui.panels import PanelInput

TITLE = "Keys and mouse"

#: Rows per column of the table, the width of a description (pixels) and the text size:
#: three columns of pairs fit a 1280 × 720 window.
ROWS_PER_COLUMN = 22
DOES_PX = 250
FONT_SCALE = 0.88


def bindings() -> list[tuple[str, str]]:
    """(key or mouse action, what it does), in the order the help shows them."""
    return binding_help(CAMERA_BINDINGS)


def draw(ui: PanelInput) -> None:
    imgui.set_window_font_scale(FONT_SCALE)
    rows = bindings()
    columns = (len(rows) + ROWS_PER_COLUMN - 1) // ROWS_PER_COLUMN
    flags = imgui.TableFlags_.row_bg | imgui.TableFlags_.borders_inner_v | imgui.TableFlags_.sizing_fixed_fit
    if imgui.begin_table("bindings", 2 * columns, flags):
        for _ in range(columns):
            imgui.table_setup_column("key")
            imgui.table_setup_column("does", imgui.TableColumnFlags_.width_fixed, DOES_PX)
        for r in range(min(ROWS_PER_COLUMN, len(rows))):
            imgui.table_next_row()
            for c in range(columns):
                i = c * ROWS_PER_COLUMN + r
                imgui.table_next_column()
                if i < len(rows):
                    imgui.text_colored(imgui.ImVec4(0.62, 0.82, 0.98, 1.0), rows[i][0])
                imgui.table_next_column()
                if i < len(rows):
                    imgui.text_wrapped(rows[i][1])
        imgui.end_table()
    imgui.text_disabled("Esc quits. Right click a control: reset it, MIDI learn.")
