"""Neuron graphs: edges counted by hand, weights against autograd, the CPC model's wiring
against the gradients of its blocks, and bad wiring refused."""

import numpy as np
import pytest
import torch
from torch import nn

from ear3d.graph import Connection, add, compose, conv_op, identity_op, network_graph, neuron_table, pool_op
from ear3d.layout.network import cpc_graph, sequential_graph
from ear3d.ml.model import PRESETS, CPCModel


def small_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 2, (3, 2)),  # (1, 5, 4) → (2, 3, 3)
        nn.ReLU(),
        nn.Conv2d(2, 3, (2, 1), padding=(1, 0)),  # → (3, 4, 3)
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(36, 4),
    )


def edge_set(g, src_layer, dst_layer):
    a, b = g.table.layers[src_layer], g.table.layers[dst_layer]
    m = (g.src >= a.offset) & (g.src < a.offset + a.size) & (g.dst >= b.offset) & (g.dst < b.offset + b.size)
    return {(int(s) - a.offset, int(d) - b.offset): float(w)
            for s, d, w in zip(g.src[m], g.dst[m], g.weight[m], strict=True)}


def test_image_cnn_edges_counted_by_hand():
    model = small_cnn()
    g = sequential_graph(model, (1, 5, 4))
    assert [(i.name, i.channels, i.pitches) for i in g.table.layers] == [
        ("input", 1, 5), ("0", 2, 3), ("2", 3, 4), ("5", 4, 1)]
    assert g.table.size == 5 + 6 + 12 + 4
    # conv 1: 2 out × 3 rows × 1 in × 3 taps; conv 2 (padded): 6 valid (row, tap) pairs × 3 × 2;
    # linear: 4 out × 3 channels × 4 rows.
    spans = [(s[0], s[1], s[3] - s[2]) for s in g.spans]
    assert spans == [(0, 1, 18), (1, 2, 36), (2, 3, 48)]
    assert g.edge_count == 102 and g.src.dtype == np.uint32 and g.weight.dtype == np.float32
    # One edge each, read off the weights: time taps summed.
    w1 = model[0].weight.detach().numpy()
    e1 = edge_set(g, 0, 1)
    assert e1[(2, 1 * 3 + 0)] == pytest.approx(w1[1, 0, 2, :].sum())  # input row 2 → channel 1, row 0 (tap 2)
    w3 = model[5].weight.detach().numpy().reshape(4, 3, 4, 3)
    assert edge_set(g, 2, 3)[(2 * 4 + 3, 1)] == pytest.approx(w3[1, 2, 3, :].sum())
    e2 = edge_set(g, 1, 2)
    assert (0 * 3 + 2, 0) not in e2  # row 0 of conv 2 reads padding and input row 0 only


def linear_jacobian_weights(model, shape, src_rows, dst_rows, t_out):
    """d output[dst neuron, t_out] / d input[src neuron, all t], summed over input time."""
    x = torch.zeros((1, *shape), requires_grad=True)
    y = model(x)
    out = {}
    for d in dst_rows:
        c, f = divmod(d, y.shape[2])
        (g,) = torch.autograd.grad(y[0, c, f, t_out], x, retain_graph=True)
        for s in src_rows:
            ci, fi = divmod(s, shape[1])
            v = float(g[0, ci, fi].sum())
            if v != 0:
                out[(s, d)] = v
    return out


def test_weights_equal_the_jacobian_of_a_linear_network():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 3, (3, 2), padding=(1, 0), bias=False), nn.AvgPool2d((2, 1)))
    g = sequential_graph(model, (2, 8, 6))
    edges = edge_set(g, 0, 1)
    jac = linear_jacobian_weights(model, (2, 8, 6), range(16), range(12), t_out=-1)
    assert set(jac) == set(edges)
    for key, w in jac.items():
        assert edges[key] == pytest.approx(w, rel=1e-5, abs=1e-6)


def layer_edges(g, src, dst) -> set[tuple[int, int]]:
    """Edges between two layers of ``g`` as (row in src, row in dst)."""
    m = ((g.src >= src.offset) & (g.src < src.offset + src.size)
         & (g.dst >= dst.offset) & (g.dst < dst.offset + dst.size))
    return set(zip((g.src[m] - src.offset).tolist(), (g.dst[m] - dst.offset).tolist(), strict=True))


def gradient_support(fn, src, dst, picked: list[int], trials: int) -> set[tuple[int, int]]:
    """(input row, output row) pairs where d fn(x)[output] / d x[input] ≠ 0 for some of
    ``trials`` random signed inputs (max-pools and ReLUs pass gradient to some inputs only: take
    the union)."""
    support = set()
    c_idx, f_idx = torch.tensor(picked) // dst.pitches, torch.tensor(picked) % dst.pitches
    for _ in range(trials):
        # One batch item per picked output: a single backward pass gives every gradient.
        x = torch.randn(1, src.channels, src.pitches, 4).expand(len(picked), -1, -1, -1).clone().requires_grad_()
        y = fn(x)
        assert y.shape[1:3] == (dst.channels, dst.pitches)
        y[torch.arange(len(picked)), c_idx, f_idx, -1].sum().backward()
        reach = x.grad.abs().sum(-1).reshape(len(picked), -1) > 0
        support |= {(s, picked[k]) for k, s in reach.nonzero().tolist()}
    return support


def test_cpc_edges_are_exactly_the_blocks_receptive_fields():
    """Each encoder block's hidden layer is reached from its input by exactly the graph's
    conv1 edges, its output by exactly the two-hop paths through the hidden layer plus the
    shortcut edges."""
    torch.manual_seed(0)
    model = CPCModel(PRESETS["tiny"], 216).eval()
    g = cpc_graph(model, 216)
    t = g.table
    for i, block in enumerate(model.encoder):
        src, mid, dst = t.layers[2 * i], t.layers[2 * i + 1], t.layers[2 * i + 2]
        assert (mid.name, dst.name) == (f"enc{i}.mid", f"enc{i}")
        first = layer_edges(g, src, mid)
        second = layer_edges(g, mid, dst)
        through: dict[int, set[int]] = {}
        for m, d in second:
            through.setdefault(d, set()).add(m)
        into_mid: dict[int, set[int]] = {}
        for s_, m in first:
            into_mid.setdefault(m, set()).add(s_)
        paths = layer_edges(g, src, dst) | {(s_, d) for d, ms in through.items() for m in ms for s_ in into_mid[m]}
        # A max-pool right before the hidden layer routes each trial's gradient to one row of
        # its window, so that map needs many trials before every row has won once.
        for fn, out, expected, trials in ((lambda x, b=block: b(x)[0], mid, first, 100),
                                          (lambda x, b=block: b(x)[1], dst, paths, 20)):
            picked = list(range(0, out.size, max(1, out.size // 12)))
            support = gradient_support(fn, src, out, picked, trials)
            assert support <= expected, f"block {i} → {out.name}: gradient reaches neurons the graph does not connect"
            checked = {d for _, d in support}  # outputs whose ReLU let some gradient through
            assert len(checked) >= len(picked) // 2
            assert support == {e for e in expected if e[1] in checked}, f"block {i} → {out.name}: edges without a path"


def test_cpc_graph_counts_and_heads():
    model = CPCModel(PRESETS["tiny"], 216)
    g = cpc_graph(model, 216)
    t = g.table
    names = [i.name for i in t.layers]
    assert names == model.layer_names()
    counts = {(names[a], names[b]): e - s for a, b, s, e in g.spans}
    # AR blocks: every channel to every channel (time taps summed into one edge).
    assert counts[("enc7", "ar0")] == 32 * 32 and counts[("ar3", "ar4")] == 24 * 32
    assert counts[("ar8", "enc7")] == 32 * 24  # heads: c → z, the K future steps summed
    w = model.predictors.weight.detach().numpy().reshape(8, 32, 24).sum(0)
    heads = edge_set(g, names.index("ar8"), names.index("enc7"))
    assert heads[(5, 7)] == pytest.approx(w[7, 5], rel=1e-5)
    keys = g.src.astype(np.int64) * t.size + g.dst
    assert len(np.unique(keys)) == g.edge_count  # no duplicate edges
    deg = np.bincount(g.src, minlength=t.size) + np.bincount(g.dst, minlength=t.size)
    assert (deg > 0).all()


def test_composition_and_addition_of_pitch_maps():
    a = conv_op(np.arange(2 * 1 * 3, dtype=float).reshape(2, 1, 3))  # 1 → 2 channels, 3 taps
    b = pool_op(2, 2)
    c = compose(a, b)
    assert (c.taps, c.stride, c.offset) == (4, 2, 0)
    assert c.kernel[1, 0].tolist() == pytest.approx([1.5, 3.5, 4.5, 2.5])  # mean of two shifted copies
    # A shortcut: pool, crop one pooled row, 1 × 1 conv → input rows 2f + 2, 2f + 3 at 1/2 each.
    skip = compose(compose(pool_op(1, 2), identity_op(1, 1)), conv_op(np.ones((2, 1, 1))))
    assert (skip.taps, skip.stride, skip.offset) == (2, 2, 2)
    s = add(c, skip)
    assert (s.taps, s.offset) == (4, 0)
    assert s.kernel[0, 0].tolist() == pytest.approx(c.kernel[0, 0] + [0, 0, 0.5, 0.5])
    with pytest.raises(ValueError, match="stride"):
        add(c, conv_op(np.ones((2, 1, 1))))


def test_bad_wiring_is_refused():
    t = neuron_table([("a", 2, 5), ("b", 3, 3)])
    op = conv_op(np.ones((3, 2, 3)))
    assert network_graph(t, [Connection("a", "b", op)]).edge_count == 3 * 2 * 3 * 3
    with pytest.raises(ValueError, match="channels"):
        network_graph(t, [Connection("a", "b", conv_op(np.ones((4, 2, 3))))])
    with pytest.raises(ValueError, match="no input"):
        network_graph(t, [Connection("a", "b", conv_op(np.ones((3, 2, 3)), stride=3))])
    with pytest.raises(ValueError, match="two connections"):
        network_graph(t, [Connection("a", "b", op), Connection("a", "b", op)])
    with pytest.raises(KeyError):
        network_graph(t, [Connection("a", "zz", op)])
    with pytest.raises(ValueError, match="not supported"):
        sequential_graph(nn.Sequential(nn.Conv2d(1, 1, 1), nn.Upsample(scale_factor=2)), (1, 4, 4))
    with pytest.raises(ValueError, match="no Conv"):
        sequential_graph(nn.Sequential(nn.ReLU()), (1, 4, 4))
