"""The panels. Each module has ``TITLE`` and ``draw(ui: PanelInput) -> None``: it reads the
registry (``ui.specs``, ``ui.values``) and the app snapshot (``ui.state``) and appends
commands to ``ui.out``; it never changes the app itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ui.images import ImageCache
from ear3d.ui.state import AppState
from ear3d.ui.widgets import param_widgets, specs_in


@dataclass
class PanelInput:
    """specs: name → ParamSpec; values: name → current value; out: commands to send;
    scratch: what a panel's widgets keep between frames (text being typed), by key;
    rects: where each parameter's widget was drawn (see ear3d.ui.widgets.Rects)."""

    specs: Mapping[str, Any]
    values: Mapping[str, float]
    state: AppState
    out: list[Command]
    images: ImageCache
    scratch: dict[str, Any] = field(default_factory=dict)
    rects: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)

    def widgets(self, group: str, exclude: tuple[str, ...] = ()) -> None:
        """A widget for every parameter of ``group`` (registry order), without ``exclude``."""
        param_widgets(specs_in(self.specs, group, exclude), self.values, self.out, self.state.layer_names, self.rects,
                      midi=self.state)

    def record(self, key: str) -> None:
        """Note where the last widget was drawn, under ``key`` in ``rects``."""
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.rects[key] = (lo.x, lo.y, min(hi.x, lo.x + imgui.calc_item_width()), hi.y)

    def has(self, name: str) -> bool:
        return name in self.specs

    def app_action(self, name: str) -> bool:
        """Whether ``Command("app:" + name)`` is one of the app's actions (control.actions)."""
        return name in self.state.app_commands

    def button(self, label: str, command: Command, tooltip: str = "") -> None:
        """A button sending ``command``; an ``app:`` command must be one of the app's actions."""
        if command.name.startswith("app:") and not self.app_action(command.name[4:]):
            raise ValueError(f"{command.name} is not an app action (ear3d.control.actions)")
        if imgui.button(label):
            self.out.append(command)
        if tooltip:
            imgui.set_item_tooltip(tooltip)

