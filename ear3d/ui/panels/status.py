"""Status: frames/s and frame time, optimisation steps/s, audio device and underruns, MIDI,
model and layout in use."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.ui.panels import PanelInput

TITLE = "Status"


def rows(ui: PanelInput) -> list[tuple[str, str]]:
    """(label, text) of every status line."""
    s = ui.state
    frame = s.frame
    audio = s.audio
    sound = (f"{audio.device}, {audio.underruns} underruns" if audio.device
             else f"none ({(audio.problem or 'off').split(' (')[0]})")
    out = [
        ("frames", f"{s.fps:.1f} /s, {s.frame_ms:.1f} ms"),
        ("steps", f"{s.steps_per_s:.1f} /s" + (f", {frame.step} so far" if frame is not None else "")),
        ("sound", sound + (", muted" if audio.muted else "")),
        ("MIDI", s.midi),
        ("model", s.model),
        ("layout", s.layout),
    ]
    if frame is not None and frame.recoveries:
        out.append(("recoveries", str(frame.recoveries)))
    out.extend(s.extra.items())
    return out


def draw(ui: PanelInput) -> None:
    if imgui.begin_table("status", 2, imgui.TableFlags_.row_bg):
        imgui.table_setup_column("what", imgui.TableColumnFlags_.width_fixed)
        imgui.table_setup_column("value", imgui.TableColumnFlags_.width_stretch)
        for key, value in rows(ui):
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text_disabled(key)
            imgui.table_next_column()
            imgui.text_wrapped(value)
        imgui.end_table()
