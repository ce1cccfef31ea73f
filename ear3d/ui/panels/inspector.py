"""Inspector: the neuron under the mouse (or last clicked): layer, channel, pitch, activation
now; "make target" aims the ear at exactly that neuron."""

from __future__ import annotations

from imgui_bundle import imgui

from ear3d.messages import Command
from ear3d.ml.objectives import index_region
from ear3d.ui.panels import PanelInput
from ear3d.ui.state import Neuron

TITLE = "Inspector"


def target_commands(neuron: Neuron, channels: int, pitches: int) -> list[Command]:
    """The parameter commands that make ``neuron`` (alone) the target."""
    c_pos, c_width = index_region(neuron.channel, channels)
    f_pos, f_width = index_region(neuron.pitch, pitches)
    return [Command("target_layer", neuron.layer_index), Command("channel_pos", c_pos),
            Command("channel_width", c_width), Command("pitch_pos", f_pos), Command("pitch_width", f_width)]


def draw(ui: PanelInput) -> None:
    state = ui.state
    neuron = state.hovered or state.inspected
    if neuron is None:
        imgui.push_text_wrap_pos(0.0)  # wrap at the panel's edge
        imgui.text_disabled(state.pick_refusal or "point at a sphere; click to hold it")
        imgui.pop_text_wrap_pos()
        return
    info = state.layers[neuron.layer_index]
    imgui.text(f"{'under the mouse' if state.hovered else 'clicked'}: neuron {neuron.index}")
    if imgui.begin_table("neuron", 2, imgui.TableFlags_.row_bg):
        activation = state.activation(neuron)
        for key, value in (("layer", f"{neuron.layer}  ({neuron.layer_index})"),
                           ("channel", f"{neuron.channel} of {info.channels}"),
                           ("pitch", f"{neuron.pitch} of {info.pitches}"),
                           ("activation now", "—" if activation is None else f"{activation:.4g}")):
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text_disabled(key)
            imgui.table_next_column()
            imgui.text(value)
        imgui.end_table()
    names = ("target_layer", "channel_pos", "channel_width", "pitch_pos", "pitch_width")
    imgui.begin_disabled(not all(n in ui.specs for n in names))
    if imgui.button("make target"):
        ui.out.extend(target_commands(neuron, info.channels, info.pitches))
    imgui.end_disabled()
    imgui.set_item_tooltip("aim the ear at this neuron alone (its layer, channel and pitch)")
