"""Sound: volume, mute, the output device (and trying it again), recording what is played."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ui.panels import PanelInput

TITLE = "Sound"


def draw(ui: PanelInput) -> None:
    audio = ui.state.audio
    ui.widgets("sound")
    ui.button("unmute" if audio.muted else "mute", Command("app:mute"))
    imgui.same_line()
    ui.button("reopen device", Command("app:reopen_audio"), "try the output device again (after it came back)")
    if ui.app_action("record"):
        imgui.same_line()
        ui.button("stop recording" if audio.record else "record", Command("app:record"),
                  "write what is played to a WAV file")
    if audio.device:
        imgui.text(f"device: {audio.device}")
    else:
        imgui.text_colored(imgui.ImVec4(0.95, 0.62, 0.25, 1.0), "no sound")
        if audio.problem:
            imgui.text_wrapped(audio.problem)
    if audio.record:
        imgui.text(f"recording to {audio.record}")
