"""Look: how the network is drawn: sphere size, exposure, edge gain, bloom, fog, orbit speed,
highlighted layer, palette (every parameter of the "look" group) and camera actions."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ui.panels import PanelInput

TITLE = "Look"


def draw(ui: PanelInput) -> None:
    ui.widgets("look")
    ui.button("reset camera", Command("app:reset_camera"), "back to the home view")
    imgui.same_line()
    ui.button("stop orbit", Command("app:pause_orbit"), "hold or continue the camera's orbit")
    imgui.same_line()
    ui.button("fullscreen", Command("app:fullscreen"))
    imgui.same_line()
    ui.button("fly", Command("app:fly"), "fly mode: the mouse looks around, W A S D Q E move (X)")
