"""`ear3d bench render`: frame time of the renderer, straightforward vs optimized, side by side.

Graphs: ``default`` — the default model's graph (models/<name>/layout.npz when it exists,
else a synthetic stand-in of the small model's size: 15,560 neurons, 1.9 M edges) — and
``paper`` — a synthetic graph of the paper preset's size (40,776 neurons, 26.7 M edges).
Paths, each at 1280×720 and 1920×1080 (with ``--modes``, each display mode against flat at the
same size: the frame and the edges' share of it):

- ``naive``: the straightforward renderer (ear3d/bench/render_baseline.py) — plain GL_LINES
  from a vertex buffer, every edge, and the frame's positions and activations computed on
  the CPU and uploaded every frame;
- ``lines``: the optimized renderer — data uploaded once, key frames and the heard step
  computed on the GPU, edges pulled from storage buffers, dark edges culled;
- ``compute``: as ``lines`` with the edges rasterized by a compute shader.

Against a peer: ``vispy`` (ear3d/bench/render_peer.py, an optional dependency: pip install
'ear3d[bench]'; the row says why when it is missing) drawing the same graph (markers, every
edge as a line segment, every colour recomputed and uploaded each frame) at the same size
from the same camera, its frames alternated with ear3d's full-quality frame (every visible
edge, bloom, the activity table uploaded each frame too): wall and CPU time, and the ratio.
Then the full-quality frame's breakdown per pass (ear3d.gfx.pass_timer: upload,
interpolate, neurons, edges, resolve, bloom, post), and its neuron pass drawn as point sprites
and as instanced quads side by side (render.neuron_mode).

Also the activation upload (one (N, S) table per optimization step): host copy in bytes/s,
and CUDA–GL interop where torch has CUDA and the GL context runs on the same GPU.
On a software renderer (llvmpipe) absolute times mean little: read the ratios. On a shared
machine the CPU-time ratio is the steadier one (other processes stretch wall time).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import math
import statistics
import time
from pathlib import Path

import numpy as np

from ear3d.argtypes import frame_sizes
from ear3d.bench import Row
from ear3d.config import DISPLAY_MODES, Config

HELP = "renderer frame time: vs vispy, per pass, straightforward vs optimized edges, activation upload"
log = logging.getLogger(__name__)

GRAPHS = {"default": (15_560, 1_876_032), "paper": (40_776, 26_720_592)}
PATHS = ("naive", "lines", "compute")
ACTIVITY_STEPS = 172  # time steps of the small model's scalogram over a 4 s loop


def _names(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        bad = [n for n in names if n not in allowed]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} (comma-separated), got {text!r}")
        return names
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--graphs", type=_names(tuple(GRAPHS) + ("custom",)), default=["default", "paper"],
                        help="graphs to draw: default, paper, custom (--neurons/--edges); default: default,paper")
    parser.add_argument("--sizes", type=frame_sizes, default=[(1280, 720), (1920, 1080)],
                        help="frame sizes, comma-separated (default 1280x720,1920x1080)")
    parser.add_argument("--paths", type=_names(PATHS + ("none",)), default=list(PATHS),
                        help="edge paths: naive (straightforward baseline), lines, compute, or none; default: all")
    parser.add_argument("--frames", type=int, default=2, help="timed frames per case (default 2; after one warm-up)")
    parser.add_argument("--neurons", type=int, default=2000, help="neurons of the custom graph")
    parser.add_argument("--edges", type=int, default=20_000, help="edges of the custom graph")
    parser.add_argument("--budget", type=int, default=0,
                        help="also time the optimized paths with this edge budget (strongest edges first)")
    parser.add_argument("--modes", type=_names(DISPLAY_MODES), default=[],
                        help="also time these display modes (comma-separated, e.g. flat,sbs,anaglyph,dome,equirect) "
                             "against flat at each size: the frame and the edges' share (default: none)")
    parser.add_argument("--no-peer", dest="peer", action="store_false",
                        help="leave out the vispy peer (pip install 'ear3d[bench]' to have it)")
    parser.add_argument("--full-mode", choices=("lines", "compute"), default="lines",
                        help="edge path of ear3d's full-quality frame in the peer comparison (default lines)")
    parser.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                        help="leave out the per-pass breakdown (GPU timer queries) of the full-quality frame")
    parser.add_argument("--divisor", type=int, default=2,
                        help="also time the compute path at 1/N resolution (render.edge_resolution; 1 = skip)")


def _graph(name: str, args: argparse.Namespace, config: Config):
    """(label, key frames, layer, layer names or None, edges, weights, activity) for graph ``name``."""
    from ear3d.gfx.synthetic import synthetic_network
    from ear3d.model_folder import layout_file

    if name == "default":
        layout = layout_file(config)
        loaded = _load_layout(layout)
        if loaded is not None:
            pos, layer, names, edges, weights = loaded
            rng = np.random.default_rng(0)
            activity = (rng.random((pos.shape[1], ACTIVITY_STEPS), dtype=np.float32) ** 3)
            return f"default ({layout.name})", pos, layer, names, edges, weights, activity
        log.info("no layout at %s: a synthetic stand-in of the small model's size", layout)
    n, e = GRAPHS.get(name, (args.neurons, args.edges))
    net = synthetic_network(neurons=n, edges=e, layers=18, key_frames=8, steps=ACTIVITY_STEPS, seed=0)
    return name, net.positions, net.layer, None, net.edges, net.weights, net.activity


def _load_layout(path: Path):
    """positions (K, N, 3), layer (N,), layer names, edges (E, 2), weights (E,) from a layout file, or None."""
    from ear3d.layout.file import LayoutMismatch, load_layout

    try:
        layout = load_layout(path)
    except FileNotFoundError:
        return None
    except LayoutMismatch as e:
        log.warning("%s: using a synthetic stand-in", e)
        return None
    return (layout.positions, layout.table.layer, [i.name for i in layout.table.layers], layout.edges,
            layout.weights)


def _lit_fraction(scene, edges: np.ndarray, weights: np.ndarray, activity: np.ndarray) -> float:
    """Share of edges whose signal passes the cull at mid-loop (what the optimized paths draw)."""
    scale = scene.edge_set.weight_scale if scene.edge_set is not None else 0.0
    a = np.nan_to_num(activity[:, activity.shape[1] // 2])
    signal = np.abs(np.asarray(weights, np.float32)) * np.float32(scale) * a[np.asarray(edges)[:, 0]]
    return float((signal >= scene.render_config.edge_cull).mean())


def _time_frames(ctx, draw, target, frames: int) -> float:
    """Median seconds per frame over ``frames`` frames at different loop positions;
    draw(fbo, phase) draws one."""
    times = []
    for i in range(max(frames, 1)):
        t0 = time.perf_counter()
        draw(target.fbo, (i + 0.5) / max(frames, 1))
        ctx.finish()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _torch_cuda_status() -> tuple[bool, str]:
    """(True, "") when torch imports and sees a CUDA device, else (False, why not)."""
    try:
        import torch
    except ImportError:
        return False, "torch is not installed"
    if not torch.cuda.is_available():
        return False, "torch has no CUDA"
    return True, ""


def _upload_rows(ctx, scene, label: str, activity: np.ndarray) -> list[Row]:
    from ear3d.gfx.interop import cuda_gl_status

    rows = []
    reps = 5
    scene.set_activity(activity)  # allocate
    ctx.finish()
    t0 = time.perf_counter()
    for _ in range(reps):
        scene.set_activity(activity)
    ctx.finish()
    dt = (time.perf_counter() - t0) / reps
    rows.append(Row(f"{label} activity upload host copy", "bandwidth", activity.nbytes / dt / 1e6, "MB/s"))
    rows.append(Row(f"{label} activity upload host copy", "time", dt * 1e3, "ms"))
    ok, reason = cuda_gl_status(ctx)
    if ok:
        ok, reason = _torch_cuda_status()
    if not ok:
        print(f"(no interop row: {reason})")
        return rows
    import torch  # importable, checked above (benchmarks may use torch; the renderer does not)

    table = torch.from_numpy(activity).cuda()
    scene.set_activity(table)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        path = scene.set_activity(table)
    ctx.finish()
    dt = (time.perf_counter() - t0) / reps
    rows.append(Row(f"{label} activity upload {path}", "bandwidth", activity.nbytes / dt / 1e6, "MB/s"))
    rows.append(Row(f"{label} activity upload {path}", "time", dt * 1e3, "ms"))
    # the host round trip a CUDA tensor would otherwise take
    t0 = time.perf_counter()
    for _ in range(reps):
        scene.network.uploader.mode = "host"
        scene.set_activity(table)
    ctx.finish()
    scene.network.uploader.mode = "auto"
    dt = (time.perf_counter() - t0) / reps
    rows.append(Row(f"{label} activity upload cuda→host→gl", "bandwidth", activity.nbytes / dt / 1e6, "MB/s"))
    return rows


def _mode_rows(ctx, scene, label: str, args: argparse.Namespace) -> list[Row]:
    """Each display mode in ``args.modes`` against flat at the same output size (a dome's
    image circle fills the smaller side), per optimized edge path: the frame time, its ratio
    to flat, and the edges' cost (all edges minus a budget of one) and its ratio to flat's."""
    from ear3d.gfx.offscreen import OffscreenTarget

    rows: list[Row] = []
    pose = scene.camera  # every mode from the same pose (not each mode's own home): the same scene's cost
    paths = [p for p in args.paths if p != "naive"] or ["lines"]
    for path in paths:
        scene.set_edge_mode(path)
        for w, h in args.sizes:
            flat: tuple[float, float] | None = None
            for mode in ["flat", *(m for m in args.modes if m != "flat")]:
                scene.set_display(mode)
                scene.camera = pose
                with OffscreenTarget(ctx, w, h, samples=0) as target:
                    times = []
                    for budget in (0, 1):  # all edges, then (almost) none: the difference is the edges' cost
                        scene.look.edge_budget = budget
                        scene.draw(target.fbo, 0.1)  # warm-up: programs, eye and face targets
                        ctx.finish()
                        times.append(_time_frames(ctx, scene.draw, target, args.frames))
                scene.look.edge_budget = 0
                frame, edges = times[0], max(times[0] - times[1], 0.0)
                name = f"{label} {w}x{h} {path} display {mode}"
                rows.append(Row(name, "frame_time", frame * 1e3, "ms"))
                rows.append(Row(name, "edge_time", edges * 1e3, "ms"))
                if mode == "flat":
                    flat = (frame, edges)
                elif flat is not None:
                    rows.append(Row(name, "vs_flat", frame / flat[0], "x"))
                    if flat[1] > 0:
                        rows.append(Row(name, "edges_vs_flat", edges / flat[1], "x"))
                print(f"  {name}: {frame * 1e3:.1f} ms (edges {edges * 1e3:.1f} ms)")
    scene.set_display("flat")
    scene.camera = pose
    return rows
def _peer_graph(scene, activity: np.ndarray, config: Config) -> dict[str, np.ndarray]:
    """The graph as the vispy peer draws it: first key frame, layer colours, ear3d's normalised
    weights and per-edge light, marker size in pixels at 720p (see render_peer.PeerProcess)."""
    from ear3d.gfx.renderer import Renderer

    edges, weights = scene.edge_set.sorted_host()
    centre, _ = scene.network.bounds()
    cam = scene.camera
    distance = float(np.linalg.norm(centre - np.array(cam.eye, np.float32)))
    focal_720 = 360.0 / math.tan(math.radians(cam.fov_y) / 2)
    look = dataclasses.replace(scene.look, edge_budget=0)
    return {
        "positions": scene.positions[0], "colors": scene.network._style[:, :3].copy(), "edges": edges,
        "weights": np.abs(weights), "activity": activity,
        "gain": np.float32(Renderer.edge_gain(scene.edge_set, look) * look.exposure),
        "radius": np.float32(2 * config.render.sphere_radius * focal_720 / distance),
    }


def _view_projection(scene, size: tuple[int, int]) -> np.ndarray:
    """(4, 4) float32 projection × view of the scene's camera at ``size`` (column vectors)."""
    cam = scene.camera
    return np.array(cam.projection(size[0] / size[1]) * cam.view(), np.float32)


def _full_quality_frame(scene, activity: np.ndarray, mode: str):
    """ear3d's full-quality frame as the peer comparison times it: every visible edge (no
    budget), bloom, and the activity table uploaded every frame (as vispy uploads colours)."""
    def draw(fbo, phase: float) -> None:
        scene.set_edge_mode(mode)
        scene.look.edge_budget = 0
        scene.set_activity(activity)
        scene.draw(fbo, phase)
    return draw


def _peer_rows(ctx, scene, peer, draw, target, size: tuple[int, int], label: str, frames: int) -> list[Row]:
    """vispy and ear3d's full-quality frame, alternated frame by frame."""
    name = f"{label} {size[0]}x{size[1]}"
    peer.frame(size, 0.1)  # warm-ups: vispy's canvas and buffers, ear3d's targets
    draw(target.fbo, 0.1)
    ctx.finish()
    ours, theirs = [], []
    for i in range(max(frames, 1)):
        phase = (i + 0.5) / max(frames, 1)
        theirs.append(peer.frame(size, phase))
        t0, c0 = time.perf_counter(), time.process_time()
        draw(target.fbo, phase)
        ctx.finish()
        ours.append((time.perf_counter() - t0, time.process_time() - c0))
    # each frame is a (wall, CPU) pair: the medians of both columns
    (vispy_s, vispy_cpu), (ear3d_s, ear3d_cpu) = (
        tuple(statistics.median(x) for x in zip(*t, strict=True)) for t in (theirs, ours))
    print(f"  {name} vispy: {vispy_s * 1e3:.1f} ms (CPU {vispy_cpu * 1e3:.1f} ms); ear3d full quality: "
          f"{ear3d_s * 1e3:.1f} ms (CPU {ear3d_cpu * 1e3:.1f} ms): {vispy_s / ear3d_s:.2f}x "
          f"(CPU {vispy_cpu / ear3d_cpu:.2f}x)")
    return [
        Row(f"{name} vispy all edges", "frame_time", vispy_s * 1e3, "ms"),
        Row(f"{name} vispy all edges", "cpu_time", vispy_cpu * 1e3, "ms"),
        Row(f"{name} ear3d full quality", "frame_time", ear3d_s * 1e3, "ms"),
        Row(f"{name} ear3d full quality", "cpu_time", ear3d_cpu * 1e3, "ms"),
        Row(f"{name} ear3d full quality", "fps", 1.0 / ear3d_s, "1/s"),
        Row(f"{name} ear3d full quality", "speedup_vs_vispy", vispy_s / ear3d_s, "x"),
        Row(f"{name} ear3d full quality", "cpu_speedup_vs_vispy", vispy_cpu / ear3d_cpu, "x"),
    ]


def _breakdown_rows(ctx, scene, draw, target, size: tuple[int, int], label: str) -> list[Row]:
    """One full-quality frame timed pass by pass (ear3d.gfx.pass_timer), and its neuron pass
    drawn both ways (point sprites and instanced quads, ear3d.gfx.neurons) side by side."""
    from ear3d.gfx.pass_timer import PassTimer

    timer = PassTimer(ctx)
    scene.renderer.timer = timer
    configured = scene.render_config
    neurons: dict[str, list[float]] = {"sprites": [], "quads": []}
    try:
        draw(target.fbo, 0.5)
        breakdown = timer.read()
        drawn_as = scene.neurons.drawn_as
        for _ in range(3):
            for mode, times in neurons.items():
                scene.render_config = dataclasses.replace(configured, neuron_mode=mode)
                timer.reset()
                draw(target.fbo, 0.5)
                times.append(timer.read()["neurons"])
    finally:
        scene.renderer.timer = None
        scene.render_config = configured
    name = f"{label} {size[0]}x{size[1]} breakdown"
    print(f"  {name} ({timer.source}, neurons as {drawn_as}): "
          + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in breakdown.items()))
    sprites, quads = (statistics.median(neurons[m]) for m in ("sprites", "quads"))
    print(f"  {name} neuron pass: sprites {sprites * 1e3:.1f} ms, quads {quads * 1e3:.1f} ms ({quads / sprites:.2f}x)")
    return [*(Row(name, f"{k}_time", v * 1e3, "ms") for k, v in breakdown.items()),
            Row(f"{name} neurons as sprites", "neurons_time", sprites * 1e3, "ms"),
            Row(f"{name} neurons as quads", "neurons_time", quads * 1e3, "ms"),
            Row(f"{name} neurons as sprites", "speedup_vs_quads", quads / sprites, "x")]


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    from ear3d.bench.render_peer import PEER, PeerProcess, peer_status
    from ear3d.gfx.context import headless_context
    from ear3d.gfx.offscreen import OffscreenTarget
    from ear3d.gfx.scene import Scene
    from ear3d.palette import load_palette

    ctx = headless_context()
    print(f"GL: {ctx.info['GL_RENDERER']}")
    rows: list[Row] = []
    peer_ok, peer_why = peer_status() if args.peer else (False, "--no-peer")
    try:
        for graph in args.graphs:
            t0 = time.perf_counter()
            label, pos, layer, names, edges, weights, activity = _graph(graph, args, config)
            scene = Scene(ctx, pos, layer, load_palette(config.render.palette), config.render, edges, weights,
                          layer_names=names)
            naive: list = [None]  # the baseline's edge pass, built on first use
            peer = None
            try:
                scene.set_activity(activity)
                print(f"{label}: {pos.shape[1]:,} neurons, {len(edges):,} edges, {pos.shape[0]} key frames "
                      f"(built and uploaded in {time.perf_counter() - t0:.1f} s)")
                rows += _upload_rows(ctx, scene, label, activity)
                rows.append(Row(f"{label} edges", "lit_fraction", _lit_fraction(scene, edges, weights, activity), "1"))
                scene.set_activity(activity)
                if peer_ok and scene.edge_set is not None:
                    peer = PeerProcess(_peer_graph(scene, activity, config),
                                       {size: _view_projection(scene, size) for size in args.sizes})
                elif args.peer:
                    print(f"(no {PEER} row: {peer_why})")
                full = _full_quality_frame(scene, activity, args.full_mode)
                for w, h in args.sizes:
                    with OffscreenTarget(ctx, w, h, samples=0) as target:
                        if peer is not None:
                            rows += _peer_rows(ctx, scene, peer, full, target, (w, h), label, args.frames)
                        elif args.peer:
                            rows.append(Row(f"{label} {w}x{h} {PEER} all edges", "absent", 0.0, peer_why))
                        if args.breakdown:
                            rows += _breakdown_rows(ctx, scene, full, target, (w, h), label)
                        rows += _path_rows(ctx, scene, activity, args, target, (w, h), label, naive)
                if args.modes:
                    rows += _mode_rows(ctx, scene, label, args)
            finally:
                if peer is not None:
                    peer.close()
                if naive[0] is not None:
                    naive[0].release()
                scene.release()
    finally:
        ctx.release()
    return rows


def _path_rows(ctx, scene, activity: np.ndarray, args: argparse.Namespace, target, size: tuple[int, int],
               label: str, naive_holder: list) -> list[Row]:
    """ear3d's own paths (naive baseline, lines, compute, ½ resolution, budget), one after another."""
    from ear3d.bench.render_baseline import NaiveEdgePass, draw_baseline

    w, h = size
    rows: list[Row] = []
    base = None
    paths = [p for p in args.paths if p != "none"]
    cases = [(p, 0, 1) for p in paths]
    if args.divisor > 1 and "compute" in paths:
        cases.append(("compute", 0, args.divisor))
    if args.budget:
        cases += [(p, args.budget, 1) for p in paths if p != "naive"]
    for path, budget, divisor in cases:
        if path == "naive":
            if naive_holder[0] is None and scene.edge_set is not None:
                naive_holder[0] = NaiveEdgePass(ctx, scene.network, scene.edge_set)
            draw = functools.partial(draw_baseline, scene, activity=activity, edges=naive_holder[0])
        else:
            scene.set_edge_mode(path)
            draw = scene.draw
        scene.render_config = dataclasses.replace(scene.render_config, edge_resolution=divisor)
        scene.look.edge_budget = 1000
        draw(target.fbo, 0.1)  # warm-up: programs, targets, buffers
        ctx.finish()
        scene.look.edge_budget = budget
        seconds = _time_frames(ctx, draw, target, args.frames)
        name = (f"{label} {w}x{h} {path}" + (f" 1/{divisor} res" if divisor > 1 else "")
                + (f" budget {budget:,}" if budget else ""))
        rows.append(Row(name, "frame_time", seconds * 1e3, "ms"))
        rows.append(Row(name, "fps", 1.0 / seconds, "1/s"))
        if path == "naive" and not budget:
            base = seconds
        elif base is not None:
            rows.append(Row(name, "speedup_vs_naive", base / seconds, "x"))
        print(f"  {name}: {seconds * 1e3:.1f} ms")
    scene.render_config = dataclasses.replace(scene.render_config, edge_resolution=1)
    return rows
