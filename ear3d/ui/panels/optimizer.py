"""Optimizer: how the sound is changed. Every parameter of the "optimizer" group (learning
rate on a log slider, jitter, masks, penalties, batch, parametrization, …) and pause /
resume / step once."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ui.panels import PanelInput

TITLE = "Optimizer"


def draw(ui: PanelInput) -> None:
    frame = ui.state.frame
    running = bool(ui.values.get("sonify", 1))
    if "sonify" in ui.specs:
        if imgui.button("pause" if running else "resume", imgui.ImVec2(80, 0)):
            ui.out.append(Command("sonify", 0 if running else 1))
        imgui.set_item_tooltip("hold or continue the optimisation (the loop keeps playing)")
        imgui.same_line()
    ui.button("step once", Command("app:step"), "one optimisation step (also while paused)")
    if frame is not None:
        imgui.same_line()
        imgui.text_disabled(f"step {frame.step}" + (f"  loss {frame.loss:.4g}" if frame.loss == frame.loss else ""))
    ui.widgets("optimizer", ("sonify",))
