"""The neuron table, the grid placement and the activity table the renderer reads."""

import numpy as np
import pytest

from ear3d.activity import activity_table
from ear3d.config import LayoutConfig
from ear3d.graph import neuron_table, table_from_activations
from ear3d.layout.grid import grid_positions


def test_neuron_table_order_and_counts():
    t = neuron_table([("a", 2, 3), ("b", 4, 1)])
    assert t.size == 10
    assert t.layer.tolist() == [0] * 6 + [1] * 4
    assert t.channel[:6].tolist() == [0, 0, 0, 1, 1, 1] and t.pitch[:6].tolist() == [0, 1, 2, 0, 1, 2]
    assert t.layers[1].offset == 6 and t.layer_index("b") == 1
    with pytest.raises(KeyError, match="no layer named 'c'"):
        t.layer_index("c")


@pytest.mark.parametrize("shapes", [[], [("a", 0, 3)]])
def test_empty_graphs_are_refused(shapes):
    with pytest.raises(ValueError):
        neuron_table(shapes)


def test_grid_places_layers_apart_and_pitch_upwards():
    t = neuron_table([("a", 2, 5), ("b", 9, 1)])
    p = grid_positions(t, LayoutConfig())
    assert p.shape == (19, 3) and p.dtype == np.float32 and np.isfinite(p).all()
    assert p[:10, 0].max() < p[10:, 0].min()  # layer a left of layer b
    assert p[4, 1] > p[0, 1]  # higher pitch higher up
    assert len({tuple(r) for r in p.round(5)}) == 19  # no two neurons in one place


def test_activity_table_resamples_and_normalises():
    layers = {"a": np.arange(8, dtype=np.float32).reshape(1, 2, 4), "b": np.full((3, 1, 2), np.nan, np.float32)}
    t = table_from_activations(layers)
    a = activity_table(layers, t, 8)
    assert a.shape == (5, 8) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    assert a[0].tolist() == sorted(a[0].tolist())  # rising input, rising brightness, nearest-earlier steps
    assert (a[2:] == 0).all()  # NaN layer: dark, not garbage


def test_activity_table_rejects_mismatched_layers():
    t = neuron_table([("a", 2, 3)])
    with pytest.raises(ValueError, match="expects"):
        activity_table({"a": np.zeros((3, 3, 4), np.float32)}, t, 4)
    with pytest.raises(KeyError, match="lack layer 'a'"):
        activity_table({}, t, 4)
