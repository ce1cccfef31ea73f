"""The layout engine: Barnes-Hut against exact forces, springs, convergence, coarsening and
reconstruction, key frames and their periodic interpolation, the layout file, bad input."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from ear3d.config import LayoutConfig
from ear3d.graph import Connection, NetworkGraph, conv_op, network_graph, neuron_table
from ear3d.layout.build import build_layout, check_graph
from ear3d.layout.coarsen import coarsen, finest_level, hierarchy
from ear3d.layout.engine import Physics, Schedule, forces, make_springs, relax
from ear3d.layout.file import LayoutMismatch, load_layout, save_layout
from ear3d.layout.inputs import activation_charges, window_weights
from ear3d.layout.interpolate import periodic_catmull_rom
from ear3d.layout.keyframes import align
from ear3d.layout.multilevel import multilevel_layout, prolong, single_level_layout
from ear3d.layout.quality import GraphSample, overlapping
from ear3d.layout.separate import close_pairs, rms_radius, separate
from ear3d.layout.tree import barnes_hut_forces, build_tree, exact_forces


def clustered(n, dim, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(5, dim, generator=g) * 3
    spread = torch.randn(n, dim, generator=g) * torch.rand(n, 1, generator=g)
    pos = centres[torch.randint(0, 5, (n,), generator=g)] + spread
    return pos, torch.rand(n, generator=g) + 0.2


@pytest.mark.parametrize("dim", [2, 3])
def test_barnes_hut_matches_exact_forces(dim):
    pos, q = clustered(1000, dim)
    exact = exact_forces(pos, q, exponent=2.5)
    err = lambda f: float(((f - exact).norm(dim=1) / exact.norm(dim=1)).mean())  # noqa: E731
    coarse = err(barnes_hut_forces(pos, q, theta=0.5, exponent=2.5))
    assert coarse <= 0.02
    assert err(barnes_hut_forces(pos, q, theta=0.2, exponent=2.5)) < coarse  # smaller θ, closer
    assert err(barnes_hut_forces(pos, q, theta=0.5, exponent=2.5, chunk=97)) == pytest.approx(coarse)


def test_tree_levels_hold_all_charge_and_its_centre():
    pos, q = clustered(400, 3)
    tree = build_tree(pos, q)
    for level in range(len(tree.com)):
        assert float(tree.charge[level].sum()) == pytest.approx(float(q.sum()), rel=1e-5)
        assert int(tree.count[level].sum()) == 400
    centre = (tree.com[0] * tree.charge[0][:, None]).sum(0) / tree.charge[0].sum()
    assert torch.allclose(centre, (pos * q[:, None]).sum(0) / q.sum(), atol=1e-4)
    assert len(tree.com[0]) <= 8


def test_coincident_vertices_stay_finite():
    pos = torch.zeros(50, 3)
    f = barnes_hut_forces(pos, torch.ones(50))
    assert torch.isfinite(f).all()


@pytest.mark.parametrize("beta", [1.0, 3.0])
def test_springs_pull_like_the_sum_over_edges(beta):
    g = torch.Generator().manual_seed(0)
    src, dst = torch.randint(0, 60, (300,), generator=g), torch.randint(0, 60, (300,), generator=g)
    w, pos = torch.rand(300, generator=g), torch.randn(60, 3, generator=g)
    keep = src != dst
    d = pos[dst[keep]] - pos[src[keep]]
    f = (w[keep] * d.norm(dim=1).pow(beta - 1))[:, None] * d
    expected = torch.zeros(60, 3).index_add_(0, src[keep], f).index_add_(0, dst[keep], -f)
    got = make_springs(src, dst, w, 60).pull(pos, beta)
    assert torch.allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("alpha,beta", [(2.5, 1.0), (4.0, 4.0)])
def test_two_vertices_settle_at_the_force_balance(alpha, beta):
    # 1 / d^(α−1) = d^β  →  d = 1
    springs = make_springs(torch.tensor([0]), torch.tensor([1]), torch.tensor([1.0]), 2)
    physics = Physics(exponent=alpha, spring_exponent=beta, gravity=0.0, exact_below=0)
    out = relax(torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.5, 0.0]]), torch.ones(2), springs, physics,
                Schedule(max_steps=1000, tolerance=1e-4))
    assert out.converged
    assert float((out.pos[0] - out.pos[1]).norm()) == pytest.approx(1.0, rel=1e-2)
    assert float(forces(out.pos, torch.ones(2), springs, physics).norm()) < 1e-2


def grid_graph(side: int) -> NetworkGraph:
    """A side × side lattice as one layer (channels × pitches): edges between neighbours
    along channel and along pitch."""
    table = neuron_table([("a", side, side)])
    idx = np.arange(side * side).reshape(side, side)
    src = np.concatenate([idx[:-1].ravel(), idx[:, :-1].ravel()]).astype(np.uint32)
    dst = np.concatenate([idx[1:].ravel(), idx[:, 1:].ravel()]).astype(np.uint32)
    return NetworkGraph(table, src, dst, np.ones(len(src), np.float32), ((0, 0, 0, len(src)),))


def test_coarsening_merges_neighbours_and_sums():
    shapes = [(4, 6), (2, 1)]
    n = 26
    src = torch.tensor([0, 1, 6, 24, 7])
    dst = torch.tensor([1, 6, 0, 25, 24])
    q = torch.arange(1, n + 1, dtype=torch.float32)
    lv0 = finest_level(shapes, q, src, dst, torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert len(lv0.src) == 5  # 0–6 and 6–0 merged
    lv1 = coarsen(lv0)
    assert lv1.shapes == ((4, 3), (1, 1))  # the longer axis halves: pitch for 4 × 6, channel for 2 × 1
    assert lv1.parent.tolist()[:8] == [0, 0, 1, 1, 2, 2, 3, 3] and lv1.parent.tolist()[24:] == [12, 12]
    assert float(lv1.charge.sum()) == pytest.approx(float(q.sum()))
    assert lv1.charge[12] == 25 + 26
    # 0–1 merged into one vertex (gone); 24–25 gone; 0–6 → 0–3 (strength 2 + 3); 7–24 → 3–12.
    pairs = {(int(a), int(b)): float(w) for a, b, w in zip(lv1.src, lv1.dst, lv1.strength, strict=True)}
    assert pairs == {(0, 3): 5.0, (3, 12): 5.0}
    levels = hierarchy(lv0, min_vertices=2)
    assert levels[-1].shapes == ((1, 1), (1, 1)) and levels[-1].size == 2
    assert [lv.size for lv in levels] == sorted((lv.size for lv in levels), reverse=True)


def test_reconstruction_starts_each_vertex_at_its_parent():
    coarse = torch.tensor([[0.0, 0, 0], [10, 0, 0]])
    parent = torch.tensor([0, 0, 1, 1, 1])
    fine = prolong(coarse, parent, torch.Generator().manual_seed(0))
    assert fine.shape == (5, 3)
    assert (fine - coarse[parent]).norm(dim=1).max() < 2.0  # 10 % of a spacing of ~7, a few σ at most
    assert not torch.equal(fine[0], fine[1])  # siblings are split apart


def test_multilevel_unfolds_a_lattice_that_single_level_leaves_tangled():
    graph = grid_graph(16)
    shapes = [(16, 16)]
    src, dst = torch.from_numpy(graph.src.astype(np.int64)), torch.from_numpy(graph.dst.astype(np.int64))
    lv0 = finest_level(shapes, torch.ones(256), src, dst, torch.ones(len(src)))
    levels = hierarchy(lv0, 8)
    physics = Physics(exponent=3.0, spring_exponent=2.0)
    sched = Schedule(max_steps=200, min_steps=30)
    ml, reports = multilevel_layout(levels, 2, physics, sched, seed=1)
    single, _ = single_level_layout(levels[0], 2, physics, sched, seed=1)
    sample = GraphSample(graph.src, graph.dst, 256, sources=48)
    q_ml, q_single = sample.measure(ml.numpy()), sample.measure(single.numpy())
    assert [r.vertices for r in reports] == [lv.size for lv in reversed(levels)]
    assert q_ml.stress < 0.15 and q_ml.trustworthiness > 0.9
    assert q_ml.stress < q_single.stress


def test_window_weights_are_periodic_and_normalised():
    w = window_weights(40, 4)
    assert w.shape == (4, 40) and np.allclose(w.sum(1), 1)
    assert np.allclose(w[0], w[0][::-1])  # window 0 is centred on the loop's seam
    assert w[2].argmax() in (19, 20)
    assert (window_weights(3, 8) > 0).all()  # few steps: every window still sees them all


def test_charges_from_activations_and_bad_activations():
    table = neuron_table([("a", 2, 3), ("b", 4, 1)])
    acts = {"a": np.random.default_rng(0).random((2, 3, 16)), "b": np.zeros((4, 1, 16))}
    q = activation_charges(acts, table, 0, floor=0.3)
    assert q.shape == (10,) and np.isfinite(q).all() and q.min() >= 0.3
    assert np.allclose(q[6:], 0.3)  # a silent layer sits at the floor, never at zero
    assert activation_charges(acts, table, 4, floor=0.3).shape == (4, 10)
    # Key frames: a neuron loud only in the first half of the loop pushes harder there.
    acts["a"][0, 0, 8:] = 0
    frames = activation_charges(acts, table, 4, floor=0.3)
    assert frames[1, 0] > 1.5 * frames[3, 0]
    spread = {"a": np.full((2, 3), 2.0), "b": np.ones((4, 1))}
    base = activation_charges(acts, table, 0, floor=0.3, spread=spread)
    assert np.allclose(base, 1.0)  # equal spreads: every neuron at its layer's mean
    with pytest.raises(ValueError, match="spread"):
        activation_charges(acts, table, spread={**spread, "b": np.full((4, 1), np.nan)})
    with pytest.raises(ValueError, match="NaN"):
        activation_charges({**acts, "a": np.full((2, 3, 16), np.nan)}, table)
    with pytest.raises(ValueError, match="shape"):
        activation_charges({**acts, "a": np.zeros((3, 3, 16))}, table)


def test_bad_charges_and_empty_graphs_are_refused():
    springs = make_springs(torch.tensor([0]), torch.tensor([1]), torch.tensor([1.0]), 3)
    pos = torch.randn(3, 3)
    with pytest.raises(ValueError, match="NaN"):
        relax(pos, torch.tensor([1.0, float("nan"), 1.0]), springs, Physics(), Schedule())
    with pytest.raises(ValueError, match="≤ 0"):
        relax(pos, torch.tensor([1.0, 0.0, 1.0]), springs, Physics(), Schedule())
    with pytest.raises(ValueError, match="empty"):
        relax(torch.zeros(0, 3), torch.zeros(0), springs, Physics(), Schedule())
    with pytest.raises(ValueError, match="at least one vertex"):
        make_springs(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), torch.zeros(0), 0)
    with pytest.raises(ValueError):
        neuron_table([])


def test_isolated_vertices_are_an_error_unless_allowed():
    table = neuron_table([("a", 2, 4), ("b", 3, 2)])
    graph = network_graph(table, [Connection("a", "b", conv_op(np.ones((3, 2, 2)), stride=2))])
    graph = dataclasses.replace(graph, table=neuron_table([("a", 2, 4), ("b", 3, 2), ("c", 2, 1)]))
    with pytest.raises(ValueError, match="2 of 16 neurons have no connection .*'c'"):
        check_graph(graph)
    settings = LayoutConfig(dim=2, max_steps=40, min_steps=5, key_frames=1, key_frame_steps=0)
    result = build_layout(graph, None, settings, torch.device("cpu"), allow_isolated=True)
    assert result.positions.shape == (1, 16, 2) and np.isfinite(result.positions).all()
    # Gravity holds the lonely ones: they stay within a few radii of the centre.
    assert np.linalg.norm(result.positions[0, 14:], axis=1).max() < 5 * settings.radius


def test_periodic_interpolation_is_smooth_and_closes_the_loop():
    frames = np.random.default_rng(0).normal(size=(5, 7, 3))
    at = lambda p: periodic_catmull_rom(frames, p)  # noqa: E731
    for k in range(5):
        assert np.allclose(at(k / 5), frames[k])
    assert np.allclose(at(0.0), at(1.0)) and np.allclose(at(0.3), at(1.3))
    h = 1e-6
    for p in (0.0, 0.2, 0.6):  # first derivative continuous across key frames, and across the seam
        left = (at(p) - at(p - h)) / h
        right = (at(p + h) - at(p)) / h
        assert np.allclose(left, right, atol=1e-3)
    assert np.allclose(periodic_catmull_rom(frames[:1], 0.7), frames[0])


def test_alignment_undoes_a_rigid_motion():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(50, 3, generator=g)
    a = math.radians(40)
    rot = torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    moved = base @ rot.T + torch.tensor([3.0, -1.0, 2.0])
    assert torch.allclose(align(moved, base), base, atol=1e-4)


def layout_file(tmp_path, dim=3, k=2):
    table = neuron_table([("a", 2, 3), ("b", 4, 1)])
    pos = np.random.default_rng(0).normal(size=(k, 10, dim)).astype(np.float32)
    src, dst = np.array([0, 1, 5], np.uint32), np.array([6, 7, 9], np.uint32)
    path = save_layout(tmp_path / "m" / "layout.npz", table, pos, src, dst, np.array([0.5, -1.0, 2.0]),
                       [[0, 1, 0, 3]], {"model": "test"})
    return table, pos, path


@pytest.mark.parametrize("dim", [2, 3])
def test_layout_file_round_trip(tmp_path, dim):
    table, pos, path = layout_file(tmp_path, dim)
    assert [p.name for p in path.parent.iterdir()] == ["layout.npz"]  # no temp file left behind
    assert path.stat().st_mode & 0o777 == 0o644  # a shipped artefact: readable by everyone, not mkstemp's 0600
    layout = load_layout(path, table)
    assert layout.positions.shape == (2, 10, 3) and layout.positions.dtype == np.float32
    assert np.allclose(layout.positions[..., :dim], pos, atol=2e-3)
    assert (layout.positions[..., 2] == 0).all() if dim == 2 else True
    assert layout.edges.dtype == np.uint32 and layout.edges.tolist() == [[0, 6], [1, 7], [5, 9]]
    assert layout.weights.tolist() == [0.5, -1.0, 2.0] and layout.dim == dim
    assert layout.meta["model"] == "test" and layout.key_frames == 2
    assert np.allclose(layout.at(0.5), layout.positions[1]) and layout.at(0.25).shape == (10, 3)


def test_layout_file_of_another_network_is_refused(tmp_path):
    _, _, path = layout_file(tmp_path)
    with pytest.raises(LayoutMismatch, match=r"layer 0 is a \[2 × 3\] in the file but a \[2 × 4\]"):
        load_layout(path, neuron_table([("a", 2, 4), ("b", 4, 1)]))
    with pytest.raises(LayoutMismatch, match="layer 2"):
        load_layout(path, neuron_table([("a", 2, 3), ("b", 4, 1), ("c", 1, 1)]))
    with pytest.raises(FileNotFoundError, match="ear3d layout"):
        load_layout(tmp_path / "nothing.npz")
    bad = tmp_path / "bad.npz"
    with np.load(path) as z:
        data = dict(z)
    data["positions"] = np.full_like(data["positions"], np.nan)
    np.savez(bad, **data)
    with pytest.raises(LayoutMismatch, match="NaN"):
        load_layout(bad)
    bad.write_bytes(b"not a zip")
    with pytest.raises(LayoutMismatch, match="not a readable"):
        load_layout(bad)
    with pytest.raises(ValueError, match="NaN"):
        save_layout(tmp_path / "x.npz", neuron_table([("a", 1, 2)]), np.full((1, 2, 3), np.nan), [], [], [])


def test_layout_command_writes_a_matching_layout_picture_and_video(tmp_path):
    from PIL import Image

    from ear3d.cli import main
    from ear3d.layout.network import cpc_shapes
    from ear3d.ml.model import PRESETS, CPCModel
    from ear3d.video import probe

    out, png, mp4 = tmp_path / "layout.npz", tmp_path / "layout.png", tmp_path / "unfold.mp4"
    sets = ["model.preset=tiny", "model.weights=random", "render.width=160", "render.height=90", "render.fps=6",
            "layout.max_steps=12", "layout.min_steps=2", "layout.key_frames=3", "layout.key_frame_steps=2"]
    argv = [a for s in sets for a in ("--set", s)]
    assert main(argv + ["layout", "--dim", "2", "--out", str(out), "--picture", str(png), "--video", str(mp4)]) == 0
    table = neuron_table(cpc_shapes(CPCModel(PRESETS["tiny"], 216), 216))
    layout = load_layout(out, table)
    assert layout.positions.shape == (3, table.size, 3) and layout.dim == 2
    assert (layout.positions[..., 2] == 0).all() and np.isfinite(layout.positions).all()
    rms = np.sqrt((layout.positions[0] ** 2).sum(1).mean())
    assert rms == pytest.approx(LayoutConfig().radius, rel=0.05)
    assert len(layout.edges) > table.size and layout.meta["preset"] == "tiny" and len(layout.meta["levels"]) > 3
    for frame in layout.positions:  # 12 steps leave clumps: the separation pass still parts them all
        # (the file's float16 positions may round a pair up to 0.001 world units closer)
        assert len(close_pairs(frame, 0.9 * LayoutConfig().min_separation * rms_radius(frame))) == 0
    assert Image.open(png).size == (160, 90)
    info = probe(mp4)
    assert info.frames > 2 * 4 * 6 and (info.width, info.height) == (160, 90)


def test_separation_parts_close_vertices_and_leaves_the_rest():
    g = torch.Generator().manual_seed(0)
    pos = torch.randn(400, 3, generator=g)
    pos[1] = pos[0]  # coincident
    pos[2] = pos[0] + 1e-4  # and a third almost on them
    pos[11] = pos[10] + torch.tensor([2e-3, 0.0, 0.0])
    before = pos.clone()
    out, pairs = separate(pos, 0.012)
    assert pairs >= 4 and out.dtype == pos.dtype and out.shape == pos.shape
    p = out.numpy()
    assert len(close_pairs(p, 0.999 * 0.012 * rms_radius(p))) == 0
    assert overlapping(p) == 0 and overlapping(before.numpy()) >= 4
    moved = (out - before).norm(dim=1)
    untouched = torch.ones(400, dtype=torch.bool)
    untouched[[0, 1, 2, 10, 11]] = False
    far = torch.from_numpy(np.asarray(close_pairs(before.numpy(), 0.05 * rms_radius(before.numpy())))).flatten()
    untouched[far] = False  # neighbours of the moved ones may be nudged in later rounds
    assert (moved[untouched] == 0).all() and moved.max() < 2 * 0.012 * rms_radius(before.numpy())  # a few radii at most
    assert torch.equal(pos, before)  # the input is not modified


def test_separation_refuses_bad_input_and_zero_is_off():
    pos = torch.randn(10, 2)
    same, pairs = separate(pos, 0.0)
    assert same is pos and pairs == 0
    with pytest.raises(ValueError, match="≥ 0"):
        separate(pos, -0.1)
    with pytest.raises(ValueError, match="NaN"):
        separate(torch.full((4, 3), math.nan), 0.01)
    with pytest.raises(ValueError, match="same point"):
        separate(torch.zeros(4, 3), 0.01)
