"""Widgets generated from the parameter registry's specs.

A spec (``ear3d.control.params.ParamSpec``) gives ``name lo hi default doc integer`` and,
where the registry has them, ``scale`` ("linear" | "log"), ``group`` (a panel: "target",
"origin", "optimizer", "look", "sound", "view") and ``choices`` (labels of an integer
parameter's values lo…hi). The widget follows from the spec:

* ``*_layer`` → a combo of the model's layer names (−1 = "none" where the range allows it);
* ``choices`` → a combo; an integer 0–1 → a checkbox; other integers → an integer slider;
* ``scale = "log"`` → a logarithmic slider; other numbers → a linear slider.

A widget never writes the registry: a change becomes ``Command(name, value)``, and a right
click on any widget resets it (``Command("name:reset")``). Hovering shows the spec's doc.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from imgui_bundle import imgui

from ear3d.messages import Command

GROUPS = ("target", "origin", "optimizer", "look", "sound", "view")

#: Where a parameter goes when its spec names no ``group`` (registries before groups existed).
FALLBACK_GROUPS: dict[str, str] = {
    "target_layer": "target", "channel_pos": "target", "channel_width": "target", "pitch_pos": "target",
    "pitch_width": "target", "time_pos": "target", "time_width": "target", "target_mode": "target",
    "mix_origin": "origin",
    "learning_rate_log10": "optimizer", "learning_rate": "optimizer", "time_jitter": "optimizer",
    "time_mask": "optimizer", "pitch_mask": "optimizer", "activity_penalty": "optimizer",
    "noise_penalty": "optimizer", "hf_penalty": "optimizer", "batch": "optimizer", "parametrization": "optimizer",
    "sonify": "optimizer",
    "sphere_scale": "look", "exposure": "look", "edge_gain": "look", "bloom": "look", "fog": "look",
    "orbit_speed": "look", "highlight_layer": "look", "palette": "look",
    "volume": "sound",
}


def group_of(spec: Any) -> str:
    """The panel a spec belongs to: its ``group``, else the fallback table, else "view"."""
    group = getattr(spec, "group", None)
    return group if group in GROUPS else FALLBACK_GROUPS.get(spec.name, "view")


def specs_in(specs: Mapping[str, Any], group: str, exclude: Iterable[str] = ()) -> list[Any]:
    """The specs of ``group`` in registry order, without ``exclude``."""
    skip = set(exclude)
    return [s for s in specs.values() if group_of(s) == group and s.name not in skip]


def label_of(name: str) -> str:
    """'pitch_width' → 'pitch width'; a trailing '_log10' is dropped (the slider shows the log)."""
    return name.removesuffix("_log10").replace("_", " ")


#: name → (x0, y0, x1, y1) window pixels of each parameter's widget (its frame, not the label)
#: in the last frame, for automation and tests; a layer combo's open list adds "name#i" for layer row i.
Rects = dict[str, tuple[float, float, float, float]]


def _record(rects: Rects | None, key: str) -> None:
    if rects is not None:
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        rects[key] = (lo.x, lo.y, min(hi.x, lo.x + imgui.calc_item_width()), hi.y)


def _tooltip_and_reset(spec: Any, out: list[Command]) -> None:
    if imgui.is_item_hovered(imgui.HoveredFlags_.delay_short):
        imgui.set_tooltip(f"{spec.doc}\nrange {spec.lo:g} – {spec.hi:g}, default {spec.default:g}\nright click: reset")
    if imgui.is_item_clicked(imgui.MouseButton_.right):
        out.append(Command(f"{spec.name}:reset"))


def layer_combo(spec: Any, value: int, layer_names: Sequence[str], out: list[Command], label: str | None = None,
                rects: Rects | None = None) -> None:
    """A combo of layer names for an integer layer-index parameter (−1 = none when allowed)."""
    allow_none = spec.lo < 0
    names = (["none"] if allow_none else []) + list(layer_names)
    shift = 1 if allow_none else 0
    current = min(max(int(value) + shift, 0), len(names) - 1)
    opened = imgui.begin_combo(label or label_of(spec.name), names[current], imgui.ComboFlags_.height_large)
    _record(rects, spec.name)
    if opened:
        for index, name in enumerate(names):
            if imgui.selectable(name, index == current)[0] and index != current:
                out.append(Command(spec.name, index - shift))
            _record(rects, f"{spec.name}#{index - shift}")
            if index == current:
                imgui.set_item_default_focus()
        imgui.end_combo()
    _tooltip_and_reset(spec, out)


def param_widget(spec: Any, value: float, out: list[Command], layer_names: Sequence[str] = (),
                 label: str | None = None, rects: Rects | None = None) -> None:
    """Draw the widget ``spec`` calls for at ``value``; a change appends a Command to ``out``."""
    label = label or label_of(spec.name)
    choices = getattr(spec, "choices", None)
    if spec.name.endswith("_layer") and spec.integer and layer_names:
        layer_combo(spec, value, layer_names, out, label, rects)
        return
    if choices:
        current = min(max(int(value) - int(spec.lo), 0), len(choices) - 1)
        changed, index = imgui.combo(label, current, list(choices))
        _record(rects, spec.name)
        _tooltip_and_reset(spec, out)
        if changed and index != current:
            out.append(Command(spec.name, int(spec.lo) + index))
        return
    if spec.integer and spec.lo == 0 and spec.hi == 1:
        changed, on = imgui.checkbox(label, bool(value))
        _record(rects, spec.name)
        _tooltip_and_reset(spec, out)
        if changed:
            out.append(Command(spec.name, int(on)))
        return
    if spec.integer:
        changed, new = imgui.slider_int(label, int(value), int(spec.lo), int(spec.hi))
        _record(rects, spec.name)
        _tooltip_and_reset(spec, out)
        if changed and new != int(value):
            out.append(Command(spec.name, int(new)))
        return
    flags = imgui.SliderFlags_.always_clamp
    if getattr(spec, "scale", "linear") == "log" and spec.lo > 0:
        flags |= imgui.SliderFlags_.logarithmic
        fmt = "%.3g"
    else:
        fmt = "10^%.2f" if spec.name.endswith("_log10") else "%.3g" if abs(spec.hi) >= 10 else "%.3f"
    changed, new = imgui.slider_float(label, float(value), float(spec.lo), float(spec.hi), fmt, flags)
    _record(rects, spec.name)
    _tooltip_and_reset(spec, out)
    if changed and new != float(value):
        out.append(Command(spec.name, float(new)))


def param_widgets(specs: Iterable[Any], values: Mapping[str, float], out: list[Command],
                  layer_names: Sequence[str] = (), rects: Rects | None = None) -> None:
    """One widget per spec, in order."""
    for spec in specs:
        imgui.push_id(spec.name)
        param_widget(spec, values[spec.name], out, layer_names, rects=rects)
        imgui.pop_id()
