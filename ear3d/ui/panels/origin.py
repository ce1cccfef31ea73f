"""Origin: the clip the sonification starts from and is pulled back to: silence, noise, a
clip from assets/clips/, any audio file by path; the mix back towards it; reset to it."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ui.panels import PanelInput

TITLE = "Origin"


def draw(ui: PanelInput) -> None:
    ui.button("silence", Command("app:origin", "silence"), "start again from silence")
    imgui.same_line()
    ui.button("noise", Command("app:origin", "noise"), "start again from white noise")
    imgui.same_line()
    ui.button("reset", Command("app:reset_origin"), "back to the origin clip; the loss history starts afresh")
    if ui.state.clips:
        chosen = ui.scratch.get("origin_clip", "")
        if imgui.begin_combo("clip", chosen or "assets/clips/ …"):
            for name in ui.state.clips:
                if imgui.selectable(name, name == chosen)[0]:
                    ui.scratch["origin_clip"] = name
                    ui.out.append(Command("app:origin", name))
            imgui.end_combo()
    path = ui.scratch.get("origin_path", "")
    entered, path = imgui.input_text_with_hint("##path", "any audio file: path, then Enter", path,
                                               imgui.InputTextFlags_.enter_returns_true)
    ui.record("origin_path")
    ui.scratch["origin_path"] = path
    if entered and path.strip():
        ui.out.append(Command("app:origin", path.strip()))
    imgui.set_item_tooltip("wav, flac, ogg or mp3; resampled, mono, cut or looped to the loop's length")
    ui.widgets("origin")
