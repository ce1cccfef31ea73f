"""`ear3d bench layout`: the multi-level force layout against its peers, on the default
model's graph and on the `paper` preset's graph, in one run.

Variants per graph: ``multilevel`` (ours), ``single-level`` (the same engine on the finest
graph from random positions, given as many vertex-steps as the multi-level run used),
``igraph-drl`` and ``igraph-fr`` (python-igraph's DrL and Fruchterman–Reingold, unweighted,
in the same dimension; both of ours end with the same separation pass,
``layout.min_separation``). Rows per variant: seconds, and the quality measures of
ear3d.layout.quality (stress ↓, trustworthiness ↑, edge-length CV ↓, overlapping vertices ↓),
plus ours against each other variant (advantage ratios and rank).

On a CPU the `paper` graph is cut down in iterations, not in size: our levels above
``--fine-vertices`` vertices get at most ``--paper-steps`` steps, and Fruchterman–Reingold runs
``--fr-iterations`` of its 500 iterations. DrL's run time does not follow its iteration options
in python-igraph (a 3,000-vertex graph took 34.6 s at 2 % of the default iterations and 33.6 s
at 100 %), so it cannot be cut down: each peer runs in a child process and is stopped after
``--peer-timeout`` seconds, which the table reports instead of quality rows. The rows
``…/settings`` say what ran.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

import numpy as np

from ear3d.bench import Row
from ear3d.config import Config

HELP = "multi-level force layout vs single-level and igraph DrL / Fruchterman–Reingold: time and quality"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--graphs", default="default,paper",
                        help="comma-separated: default (the default model), paper (the paper preset's size)")
    parser.add_argument("--dim", type=int, choices=(2, 3), default=3, help="layout dimension (default 3)")
    parser.add_argument("--sources", type=int, default=64, help="BFS sources sampled for stress/trustworthiness")
    parser.add_argument("--paper-steps", type=int, default=60,
                        help="on the paper graph: most steps of our levels above --fine-vertices vertices")
    parser.add_argument("--fine-vertices", type=int, default=4000, help="see --paper-steps")
    parser.add_argument("--peer-timeout", type=float, default=1200.0,
                        help="seconds after which an igraph layout is stopped and reported as unfinished")
    parser.add_argument("--fr-iterations", type=float, default=0.1,
                        help="on the paper graph: fraction of Fruchterman–Reingold's 500 iterations")
    parser.add_argument("--skip-peers", action="store_true", help="leave out the igraph layouts")
    parser.add_argument("--out", type=Path, help="also write a PNG per graph with every variant's layout side by side")


def _graph(config: Config, preset: str):
    import torch

    from ear3d.clips import origin_clip
    from ear3d.layout.build import model_spread
    from ear3d.layout.network import ear_graph
    from ear3d.ml.model import build_ear
    from ear3d.ml.worker import listen
    from ear3d.model_folder import stats_folder

    cfg = (config if preset == config.model.preset
           else config.replace({"model": {"preset": preset, "weights": "random"}}))
    ear = build_ear(cfg)
    acts = listen(ear, origin_clip(cfg), torch.device("cpu"))
    spread = model_spread(ear, stats_folder(cfg)) if cfg is config else None
    t0 = time.perf_counter()
    graph = ear_graph(ear, cfg.cqt.n_bins)
    return graph, acts, spread, time.perf_counter() - t0


def _quality_rows(case: str, sample, pos: np.ndarray, seconds: float) -> list[Row]:
    q = sample.measure(pos)
    return [
        Row(case, "seconds", seconds, "s"),
        Row(case, "stress", q.stress, "scale-normalised, lower is better"),
        Row(case, "trustworthiness", q.trustworthiness, "k=10, higher is better"),
        Row(case, "edge_cv", q.edge_cv, "std/mean of edge length, lower is better"),
        Row(case, "overlaps", q.overlaps, "vertices closer than 0.012 RMS radii to another"),
    ]


def _ours(graph, acts, spread, config: Config, dim: int, big: bool, args) -> tuple[list, dict]:
    from ear3d.layout.build import levels_of, physics_of, schedule_of
    from ear3d.layout.inputs import activation_charges
    from ear3d.layout.multilevel import multilevel_layout, single_level_layout

    settings = dataclasses.replace(config.layout, dim=dim)
    charges = activation_charges(acts, graph.table, 0, settings.charge_floor, spread=spread)
    t0 = time.perf_counter()
    levels = levels_of(graph, charges, settings.coarsest, _device(settings))
    t_coarsen = time.perf_counter() - t0
    full = schedule_of(settings)
    capped = schedule_of(settings, min(args.paper_steps, settings.max_steps))
    schedules = [capped if big and lv.size > args.fine_vertices else full for lv in levels]
    physics = physics_of(settings)
    t0 = time.perf_counter()
    pos, reports = multilevel_layout(levels, dim, physics, schedules, settings.seed,
                                     separation=settings.min_separation)
    t_ml = time.perf_counter() - t0 + t_coarsen
    vertex_steps = sum(r.steps * r.vertices for r in reports)
    budget = max(1, math.ceil(vertex_steps / levels[0].size))
    t0 = time.perf_counter()
    pos1, rep1 = single_level_layout(levels[0], dim, physics, schedule_of(settings, budget), settings.seed,
                                     separation=settings.min_separation)
    t_sl = time.perf_counter() - t0
    info = {"levels": len(levels), "ml_steps_finest": reports[-1].steps, "vertex_steps": vertex_steps,
            "sl_steps": rep1.steps, "ml_separated": reports[-1].separated, "sl_separated": rep1.separated}
    return [("multilevel", pos.cpu().numpy(), t_ml), ("single-level", pos1.cpu().numpy(), t_sl)], info


def _device(settings):
    from ear3d.ml.device import choose_device

    return choose_device(settings.device, "layout.device")


def _peer_job(name: str, src: np.ndarray, dst: np.ndarray, n: int, dim: int, fr_fraction: float, out: str) -> None:
    """Child process: one igraph layout of the graph, saved to ``out`` as (N, dim) float64 .npy."""
    import random

    import igraph

    random.seed(0)  # igraph draws from Python's random module: the same start on every run
    g = igraph.Graph(n=n, edges=np.stack([src, dst], 1).astype(np.int64), directed=False)
    if name == "igraph-drl":
        layout = g.layout_drl(dim=dim)
    else:
        layout = g.layout_fruchterman_reingold(dim=dim, niter=max(1, int(round(500 * fr_fraction))))
    np.save(out, np.asarray(layout.coords, np.float64))


def _peers(graph, dim: int, fr_fraction: float, timeout: float) -> list[tuple[str, np.ndarray | None, float]]:
    """(name, positions or None when stopped at ``timeout``, seconds) for DrL and FR, each run
    in a forked child so that a layout stuck in igraph's C code can be stopped."""
    import multiprocessing
    import tempfile

    out: list[tuple[str, np.ndarray | None, float]] = []
    with tempfile.TemporaryDirectory(prefix="ear3d-peers-") as tmp:
        for name in ("igraph-drl", "igraph-fr"):
            path = str(Path(tmp) / f"{name}.npy")
            job = multiprocessing.get_context("fork").Process(
                target=_peer_job, args=(name, graph.src, graph.dst, graph.table.size, dim, fr_fraction, path))
            t0 = time.perf_counter()
            job.start()
            job.join(timeout)
            seconds = time.perf_counter() - t0
            if job.is_alive():
                job.kill()
                job.join()
                print(f"{name}: stopped after {seconds:.0f} s (--peer-timeout)")
                out.append((name, None, seconds))
            elif job.exitcode != 0:
                raise RuntimeError(f"{name} failed in its child process (exit code {job.exitcode})")
            else:
                out.append((name, np.load(path), seconds))
    return out


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    from ear3d.layout.quality import GraphSample

    rows: list[Row] = []
    for name in [g.strip() for g in args.graphs.split(",") if g.strip()]:
        if name not in ("default", "paper"):
            raise ValueError(f"unknown graph {name!r}; choose default and/or paper")
        big = name == "paper"
        graph, acts, spread, seconds = _graph(config, "paper" if big else config.model.preset)
        rows += [Row(f"{name}/graph", "vertices", graph.table.size, "neurons"),
                 Row(f"{name}/graph", "edges", graph.edge_count, "connections"),
                 Row(f"{name}/graph", "extraction seconds", seconds, "s"),
                 Row(f"{name}/graph", "charges", 1.0 if spread else 0.0, "1 = spread over data, 0 = origin clip")]
        sample = GraphSample(graph.src, graph.dst, graph.table.size, args.sources)
        results, info = _ours(graph, acts, spread, config, args.dim, big, args)
        fr = args.fr_iterations if big else 1.0
        if not args.skip_peers:
            results += _peers(graph, args.dim, fr, args.peer_timeout)
        rows += [Row(f"{name}/settings", "levels", info["levels"], "levels"),
                 Row(f"{name}/settings", "multilevel finest-level steps", info["ml_steps_finest"], "steps"),
                 Row(f"{name}/settings", "single-level steps (same vertex-steps budget)", info["sl_steps"], "steps"),
                 Row(f"{name}/settings", "multilevel pairs separated", info["ml_separated"], "pairs"),
                 Row(f"{name}/settings", "single-level pairs separated", info["sl_separated"], "pairs"),
                 Row(f"{name}/settings", "FR iterations", fr, "of igraph's default 500"),
                 Row(f"{name}/settings", "peer timeout", args.peer_timeout, "s")]
        by_case: dict[str, list[Row]] = {}
        for variant, pos, seconds in results:
            if pos is None:  # stopped at the timeout: no layout to measure
                rows.append(Row(f"{name}/{variant}", "unfinished after", seconds, "s"))
                continue
            by_case[variant] = _quality_rows(f"{name}/{variant}", sample, pos, seconds)
            rows += by_case[variant]
        rows += _ratios(name, by_case)
        if args.out is not None:
            finished = [(v, pos, value_of(by_case[v])) for v, pos, _ in results if pos is not None]
            path = args.out / f"layout_{name}.png"
            comparison_png(path, graph, finished, config)
            print(f"picture: {path}")
    return rows


def value_of(rows: list[Row]) -> dict[str, float]:
    """metric → value of one variant's rows."""
    return {r.metric: r.value for r in rows}


def comparison_png(path: Path, graph, variants: list[tuple[str, np.ndarray, dict[str, float]]],
                   config: Config, tile: tuple[int, int] = (640, 400)) -> None:
    """Every variant's layout (N, D) in a grid of ``tile``-sized pictures, two per row, each captioned
    with its stress, trustworthiness, edge CV and seconds; edges are the strongest 30 k (colours:
    layer palette). The pictures are images (layout.picture), placed pixel for pixel; matplotlib
    sets the captions."""
    from ear3d.figures import new_figure, save_png
    from ear3d.layout.picture import draw
    from ear3d.palette import load_palette

    colors = load_palette(config.render.palette).layer_colors(graph.table.layer, [i.name for i in graph.table.layers])
    edges = np.stack([graph.src, graph.dst], 1)
    pictures = []
    for _, pos, _ in variants:
        pos = np.asarray(pos, np.float64)
        if pos.shape[1] == 2:
            pos = np.concatenate([pos, np.zeros((len(pos), 1))], 1)
        pictures.append(draw(pos, colors, tile, 0.0, edges, graph.weight, max_edges=30000))  # (H, W, 3) uint8
    # behind an empty last tile: the pictures' own background (their commonest colour)
    background = tuple(np.median(pictures[0].reshape(-1, 3), axis=0) / 255) if pictures else "black"
    cols = 2
    rows = -(-len(variants) // cols)
    fig = new_figure((tile[0] * cols, tile[1] * rows), facecolor=background, layout=None)
    for i, ((variant, _, q), picture) in enumerate(zip(variants, pictures, strict=True)):
        col, row = i % cols, i // cols
        ax = fig.add_axes((col / cols, 1 - (row + 1) / rows, 1 / cols, 1 / rows))
        ax.imshow(picture, interpolation="none")
        ax.set_axis_off()
        ax.text(0.015, 0.97, f"{variant}\nstress {q['stress']:.3f}   trustworthiness {q['trustworthiness']:.4f}   "
                             f"edge CV {q['edge_cv']:.3f}   {q['seconds']:.0f} s",
                transform=ax.transAxes, va="top", ha="left", color="0.92", fontsize=9, clip_on=True,
                bbox={"facecolor": background, "alpha": 0.6, "edgecolor": "none", "pad": 2})
    save_png(fig, path)


def _ratios(name: str, by_case: dict[str, list[Row]]) -> list[Row]:
    """Ours against each other variant, per quality measure: the other's value divided by ours
    for stress, edge CV and overlaps, ours divided by the other's for trustworthiness — so
    above 1 means ours is better — and the rank of ours among all variants (1 = best)."""
    value = {case: value_of(rows) for case, rows in by_case.items()}
    ours = value["multilevel"]
    out = []
    for metric, lower_better in (("stress", True), ("trustworthiness", False), ("edge_cv", True),
                                 ("overlaps", True)):
        for case, v in value.items():
            if case == "multilevel":
                continue
            a, b = (v[metric], ours[metric]) if lower_better else (ours[metric], v[metric])
            ratio = a / b if b else (1.0 if a == b else float("inf"))
            out.append(Row(f"{name}/multilevel", f"{metric}: advantage over {case}", ratio, "×, > 1 = ours better"))
        ordered = sorted(value, key=lambda c: value[c][metric], reverse=not lower_better)
        rank = 1 + sum(1 for c in ordered if (value[c][metric] < ours[metric] if lower_better
                                                else value[c][metric] > ours[metric]))
        out.append(Row(f"{name}/multilevel", f"{metric}: rank", rank, f"of {len(value)}, 1 = best"))
    return out
