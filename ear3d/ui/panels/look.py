"""Look: how the network is drawn and seen: every parameter of the "look" group (sphere size,
exposure, edge gain, bloom, fog, highlighted layer) and of the "view" group (orbit speed, field
of view, render scale, adaptive quality), and the camera's actions."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ui.panels import PanelInput

TITLE = "Look"


def draw(ui: PanelInput) -> None:
    ui.widgets("look")
    ui.widgets("view")  # the camera's orbit and field of view, render scale, adaptive quality
    ui.button("reset camera", Command("app:reset_camera"), "back to the home view")
    imgui.same_line()
    ui.button("stop orbit", Command("app:pause_orbit"), "hold or continue the camera's orbit")
    imgui.same_line()
    ui.button("fullscreen", Command("app:fullscreen"))
    imgui.same_line()
    ui.button("fly", Command("app:fly"), "fly mode: the mouse looks around, W A S D Q E move (X)")
