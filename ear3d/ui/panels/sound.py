"""Sound: volume, mute, the output device (chosen from PortAudio's list, or tried again), and
recording picture and sound as heard (MP4, the app's record action)."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ui.panels import PanelInput

TITLE = "Sound"

#: What the device list shows for config ``audio.device = ''``.
DEFAULT_DEVICE = "the default device"


def _device_combo(ui: PanelInput) -> None:
    """PortAudio's output devices (listed when the combo opens: probing takes a moment)."""
    audio = ui.state.audio
    shown = audio.device or "no sound"
    if imgui.begin_combo("output", shown, imgui.ComboFlags_.height_large):
        devices = ui.scratch.get("audio_devices")
        if devices is None:  # once per opening of the list
            from ear3d.audio import AudioUnavailable, list_output_devices

            try:
                devices = [name for _, name, _ in list_output_devices()]
            except AudioUnavailable as e:
                devices = []
                ui.scratch["audio_devices_problem"] = str(e)
            ui.scratch["audio_devices"] = devices
        if imgui.selectable(DEFAULT_DEVICE, False)[0]:
            ui.out.append(Command("app:audio_device", ""))
        for name in devices:
            if imgui.selectable(name, name == audio.device)[0]:
                ui.out.append(Command("app:audio_device", name))
        if not devices:
            imgui.text_disabled(ui.scratch.get("audio_devices_problem", "PortAudio lists no output device"))
        imgui.end_combo()
    else:
        ui.scratch.pop("audio_devices", None)
    ui.record("audio_device")
    imgui.set_item_tooltip("play on another output device (config audio.device)")


def draw(ui: PanelInput) -> None:
    audio = ui.state.audio
    ui.widgets("sound")
    _device_combo(ui)
    ui.button("reopen", Command("app:reopen_audio"), "try the output device again (after it came back)")
    imgui.same_line()
    ui.button("stop recording" if audio.record else "record", Command("app:record"),
              "record picture and sound as heard (MP4 into the output folder)")
    if audio.device:
        imgui.text_disabled(f"{audio.underruns} underruns")
    else:
        imgui.text_colored(imgui.ImVec4(0.95, 0.62, 0.25, 1.0), "no sound: the picture runs on the wall clock")
        if audio.problem:
            imgui.text_wrapped(audio.problem)
    if audio.record:
        imgui.text_colored(imgui.ImVec4(0.95, 0.35, 0.3, 1.0), f"recording to {audio.record}")
