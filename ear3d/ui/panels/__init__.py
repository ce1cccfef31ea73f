"""The panels. Each module has ``TITLE`` and ``draw(ui: PanelInput) -> None``: it reads the
registry (``ui.specs``, ``ui.values``) and the app snapshot (``ui.state``) and appends
commands to ``ui.out``; it never changes the app itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ui.images import ImageCache
from ear3d.ui.state import AppState


@dataclass
class PanelInput:
    """specs: name → ParamSpec; values: name → current value; out: commands to send;
    scratch: what a panel's widgets keep between frames (text being typed), by key."""

    specs: Mapping[str, Any]
    values: Mapping[str, float]
    state: AppState
    out: list[Command]
    images: ImageCache
    scratch: dict[str, Any] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.specs

    def app_action(self, name: str) -> bool:
        """Whether the app understands ``Command("app:" + name)``."""
        return name in self.state.app_commands

    def button(self, label: str, command: Command, tooltip: str = "") -> None:
        """A button sending ``command``; disabled when the app does not understand it."""
        name = command.name.removeprefix("app:") if command.name.startswith("app:") else command.name
        imgui.begin_disabled(not self.app_action(name))
        if imgui.button(label):
            self.out.append(command)
        imgui.end_disabled()
        if tooltip:
            imgui.set_item_tooltip(tooltip)
