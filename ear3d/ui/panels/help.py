"""Help: every key and mouse action, from the binding tables the code uses."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.ui.panels import PanelInput

TITLE = "Keys and mouse"


def bindings() -> list[tuple[str, str]]:
    """(key or mouse action, what it does): the live app's table, then the panels' own keys."""
    from ear3d.control import keyboard
    from ear3d.ui.gui import GUI_BINDINGS

    table = getattr(keyboard, "binding_help", None)
    if table is not None:
        rows = [(str(k), str(v)) for k, v in _pairs(table())]
    else:
        rows = [(key, command.name) for key, command in keyboard.KEY_BINDINGS.items()]
    return rows + list(GUI_BINDINGS.items())


def _pairs(table: object) -> list[tuple[object, object]]:
    """binding_help() as (key, action) pairs, whether it returns pairs, a mapping or text lines."""
    if isinstance(table, dict):
        return list(table.items())
    if isinstance(table, str):
        return [tuple(line.strip().split(None, 1)) + ("",) * (2 - len(line.strip().split(None, 1)))  # type: ignore[misc]
                for line in table.splitlines() if line.strip()]
    return [tuple(row)[:2] for row in table]  # type: ignore[union-attr]


def draw(ui: PanelInput) -> None:
    flags = imgui.TableFlags_.row_bg | imgui.TableFlags_.borders_inner_v | imgui.TableFlags_.sizing_fixed_fit
    if imgui.begin_table("bindings", 2, flags):
        imgui.table_setup_column("key")
        imgui.table_setup_column("action")
        imgui.table_headers_row()
        for key, action in bindings():
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text(key)
            imgui.table_next_column()
            imgui.text(action)
        imgui.end_table()
