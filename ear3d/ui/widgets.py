"""Widgets generated from the parameter registry's specs (``ear3d.control.params.ParamSpec``).

The widget follows from the spec:

* ``*_layer`` → a combo of the model's layer names (−1 = "none" where the range allows it);
* a switch (``value_type`` bool, or choices off/on) → a checkbox; two other choices → radio
  buttons (maximise / minimise); more choices → a combo; other integers → an integer slider;
* ``scale = "log"`` → a logarithmic slider; other numbers → a linear slider.

A widget never writes the registry: a change becomes ``Command(name, value)``. A right click
opens the widget's menu: reset to the default, MIDI learn (``Command("app:learn", name)``: the
next control moved on a MIDI controller drives it), the controls bound to it and forgetting
them (``app:unlearn``). A widget whose parameter waits for a control is outlined; one with a
MIDI control shows a dot; a soft-takeover control that has not caught up yet shows where it
is as a tick on the slider. Hovering shows the spec's doc.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from imgui_bundle import imgui

from ear3d.control.params import GROUPS
from ear3d.messages import Command
from ear3d.ui import theme

#: Colour of a soft-takeover control's physical position (RGBA 0–1).
PICKUP_COLOUR = (0.95, 0.62, 0.25, 1.0)


def group_of(spec: Any) -> str:
    """The panel a spec belongs to: its ``group``, else "view"."""
    group = getattr(spec, "group", None)
    return group if group in GROUPS else "view"


def specs_in(specs: Mapping[str, Any], group: str, exclude: Iterable[str] = ()) -> list[Any]:
    """The specs of ``group`` in registry order, without ``exclude``."""
    skip = set(exclude)
    return [s for s in specs.values() if group_of(s) == group and s.name not in skip]


def label_of(name: str) -> str:
    """'pitch_width' → 'pitch width'."""
    return name.replace("_", " ")


#: name → (x0, y0, x1, y1) window pixels of each parameter's widget (its frame, not the label)
#: in the last frame, for automation and tests; a combo's open list adds "name#v" for the row
#: of value v, an open widget menu "name:reset", "name:learn" and "name:unlearn".
Rects = dict[str, tuple[float, float, float, float]]


def _record(rects: Rects | None, key: str, full_width: bool = False) -> None:
    if rects is not None:
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        rects[key] = (lo.x, lo.y, hi.x if full_width else min(hi.x, lo.x + imgui.calc_item_width()), hi.y)


def _is_switch(spec: Any) -> bool:
    """An on/off parameter without names of its own for the two states (those get radio buttons)."""
    return bool(spec.integer and spec.lo == 0 and spec.hi == 1
                and tuple(getattr(spec, "choices", ()) or ()) in ((), ("off", "on")))


def _colour(rgba: Sequence[float]) -> int:
    return imgui.get_color_u32(imgui.ImVec4(*rgba))


def _decorate(spec: Any, rect: tuple[float, float, float, float] | None, midi: Any, slider: bool) -> None:
    """Learn outline, bound-control dot and soft-takeover tick on the widget just drawn."""
    if midi is None or rect is None:
        return
    x0, y0, x1, y1 = rect
    draw = imgui.get_window_draw_list()
    if midi.learning == spec.name:
        draw.add_rect(imgui.ImVec2(x0 - 2, y0 - 2), imgui.ImVec2(x1 + 2, y1 + 2), _colour(theme.ACCENT), 4.0, 0, 2.0)
    if midi.bindings.get(spec.name):
        draw.add_circle_filled(imgui.ImVec2(x1 - 5, y0 + 5), 2.5, _colour(theme.ACCENT))
    pickup = midi.pickups.get(spec.name)
    if slider and pickup is not None and not pickup[1]:
        x = x0 + (x1 - x0) * spec.to_normalized(pickup[0])
        draw.add_line(imgui.ImVec2(x, y0 + 1), imgui.ImVec2(x, y1 - 1), _colour(PICKUP_COLOUR), 3.0)


def _menu(spec: Any, value: float, out: list[Command], midi: Any, rects: Rects | None) -> None:
    """Tooltip on hover; on a right click the widget's menu (reset, MIDI learn, unlearn)."""
    bound = tuple(midi.bindings.get(spec.name, ())) if midi is not None else ()
    if imgui.is_item_hovered(imgui.HoveredFlags_.delay_short):
        lines = [spec.doc, f"range {spec.lo:g} – {spec.hi:g}, default {spec.default:g}"]
        if midi is not None and midi.pickups.get(spec.name) and not midi.pickups[spec.name][1]:
            lines.append(f"MIDI control at {midi.pickups[spec.name][0]:.3g}: move it to {value:.3g} to take over")
        lines += [f"MIDI: {b}" for b in bound]
        lines.append("right click: reset, MIDI learn")
        imgui.set_tooltip("\n".join(line for line in lines if line))
    if imgui.begin_popup_context_item("menu"):
        imgui.text_disabled(label_of(spec.name))
        imgui.separator()
        if imgui.menu_item("reset to default", "", False)[0]:
            out.append(Command(f"{spec.name}:reset"))
        _record(rects, f"{spec.name}:reset", full_width=True)
        learning = midi is not None and midi.learning == spec.name
        if imgui.menu_item("cancel MIDI learn" if learning else "MIDI learn: move a control", "", False)[0]:
            out.append(Command("app:learn", spec.name))
        _record(rects, f"{spec.name}:learn", full_width=True)
        for b in bound:
            imgui.text_disabled(b)
        if imgui.menu_item("forget MIDI bindings", "", False, bool(bound))[0]:
            out.append(Command("app:unlearn", spec.name))
        _record(rects, f"{spec.name}:unlearn", full_width=True)
        imgui.end_popup()


def _combo(spec: Any, value: float, names: Sequence[str], first: int, out: list[Command], label: str,
           rects: Rects | None, midi: Any) -> None:
    """A combo of ``names`` for an integer parameter whose value ``first`` is the first name;
    the open list records each row as "name#value" in ``rects``."""
    current = min(max(int(value) - first, 0), len(names) - 1)
    opened = imgui.begin_combo(label, names[current], imgui.ComboFlags_.height_large)
    _record(rects, spec.name)
    rect = rects.get(spec.name) if rects is not None else None
    if opened:
        for index, name in enumerate(names):
            if imgui.selectable(name, index == current)[0] and index != current:
                out.append(Command(spec.name, index + first))
            _record(rects, f"{spec.name}#{index + first}")
            if index == current:
                imgui.set_item_default_focus()
        imgui.end_combo()
    _decorate(spec, rect, midi, slider=False)
    _menu(spec, value, out, midi, rects)


def layer_combo(spec: Any, value: float, layer_names: Sequence[str], out: list[Command], label: str | None = None,
                rects: Rects | None = None, midi: Any = None) -> None:
    """A combo of layer names for an integer layer-index parameter (−1 = none when allowed)."""
    allow_none = spec.lo < 0
    names = (["none"] if allow_none else []) + list(layer_names)
    _combo(spec, value, names, -1 if allow_none else 0, out, label or label_of(spec.name), rects, midi)


def param_widget(spec: Any, value: float, out: list[Command], layer_names: Sequence[str] = (),
                 label: str | None = None, rects: Rects | None = None, midi: Any = None) -> None:
    """Draw the widget ``spec`` calls for at ``value``; a change appends a Command to ``out``.
    ``midi``: what MIDI does (``learning``, ``bindings``, ``pickups``, as in ui.state.AppState)."""
    label = label or label_of(spec.name)
    choices = tuple(getattr(spec, "choices", ()) or ())
    if spec.name.endswith("_layer") and spec.integer and layer_names:
        layer_combo(spec, value, layer_names, out, label, rects, midi)
        return
    own: Rects = {}
    slider = False
    if _is_switch(spec):
        changed, on = imgui.checkbox(label, bool(value))
        new = int(on)
    elif len(choices) == 2:
        current = int(value) - int(spec.lo)
        changed, new = False, int(value)
        for i, choice in enumerate(choices):
            if i:
                imgui.same_line()
            if imgui.radio_button(choice, current == i) and current != i:
                changed, new = True, int(spec.lo) + i
            _record(own, f"{spec.name}#{i}", full_width=True)
        if label not in choices:  # "maximise ( ) minimise" needs no third word
            imgui.same_line()
            imgui.text(label)
        if rects is not None:
            rects.update(own)
            rects[spec.name] = (*own[f"{spec.name}#0"][:2], *own[f"{spec.name}#1"][2:])
        _menu(spec, value, out, midi, rects)
        if changed:
            out.append(Command(spec.name, new))
        return
    elif choices:
        _combo(spec, value, choices, int(spec.lo), out, label, rects, midi)
        return
    elif spec.integer:
        changed, new = imgui.slider_int(label, int(value), int(spec.lo), int(spec.hi))
        slider = True
    else:
        flags = imgui.SliderFlags_.always_clamp
        if getattr(spec, "scale", "linear") == "log" and spec.lo > 0:
            flags |= imgui.SliderFlags_.logarithmic
        fmt = "%.3g" if abs(spec.hi) >= 10 or spec.scale == "log" else "%.3f"
        changed, new = imgui.slider_float(label, float(value), float(spec.lo), float(spec.hi), fmt, flags)
        slider = True
    _record(own, spec.name)
    if rects is not None:
        rects.update(own)
    _decorate(spec, own[spec.name], midi, slider)
    _menu(spec, value, out, midi, rects)
    if changed and new != value:
        out.append(Command(spec.name, int(new) if spec.integer else float(new)))


def param_widgets(specs: Iterable[Any], values: Mapping[str, float], out: list[Command],
                  layer_names: Sequence[str] = (), rects: Rects | None = None, midi: Any = None) -> None:
    """One widget per spec, in order."""
    for spec in specs:
        imgui.push_id(spec.name)
        param_widget(spec, values[spec.name], out, layer_names, rects=rects, midi=midi)
        imgui.pop_id()
