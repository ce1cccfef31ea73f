"""The whole layout of a network: graph → charges and strengths → levels → multi-level
layout → key frames → world units. ``ear3d layout`` and the bench call :func:`build_layout`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ear3d.config import LayoutConfig
from ear3d.graph import NetworkGraph
from ear3d.layout.coarsen import Level, finest_level, hierarchy
from ear3d.layout.engine import Physics, Schedule, make_springs
from ear3d.layout.inputs import activation_charges, spring_strengths, uniform_charges
from ear3d.layout.keyframes import key_frames
from ear3d.layout.multilevel import LevelHook, LevelReport, StepHook, multilevel_layout
from ear3d.ml.device import choose_device

if TYPE_CHECKING:
    from ear3d.ml.model import Ear


def model_spread(ear: Ear, model_dir: Path) -> dict[str, np.ndarray] | None:
    """Each neuron's standard deviation over data, ``{layer: (C, F)}``, from the model's
    ``stats.npz`` when that file belongs to these weights (same fingerprint); else None."""
    from ear3d.ml.stats import fingerprint, load_stats
    from ear3d.model_folder import STATS_FILE

    path = Path(model_dir) / STATS_FILE
    if not path.exists():
        return None
    stats = load_stats(path)
    if stats.fingerprint != fingerprint(ear):
        return None
    return {name: s.std for name, s in stats.layers.items()}


def physics_of(settings: LayoutConfig) -> Physics:
    return Physics(theta=settings.theta, exponent=settings.repulsion_exponent,
                   spring_exponent=settings.spring_exponent, gravity=settings.gravity)


def schedule_of(settings: LayoutConfig, max_steps: int | None = None) -> Schedule:
    steps = settings.max_steps if max_steps is None else max_steps
    return Schedule(max_steps=steps, min_steps=min(settings.min_steps, steps), tolerance=settings.tolerance)


def key_frame_schedule(settings: LayoutConfig) -> Schedule:
    """Short relaxations from an already converged layout: a small first step."""
    steps = settings.key_frame_steps
    return Schedule(max_steps=steps, min_steps=min(10, steps), tolerance=settings.tolerance, step=0.01)


def levels_of(graph: NetworkGraph, charges: np.ndarray, coarsest: int, device: torch.device) -> list[Level]:
    """The multi-level hierarchy [finest, …, coarsest] of ``graph`` with ``charges`` (N,)."""
    if graph.table.size == 0:
        raise ValueError("the graph has no vertices")
    shapes = [(i.channels, i.pitches) for i in graph.table.layers]
    strength = spring_strengths(graph)
    finest = finest_level(
        shapes,
        torch.as_tensor(charges, dtype=torch.float32, device=device),
        torch.as_tensor(graph.src.astype(np.int64), device=device),
        torch.as_tensor(graph.dst.astype(np.int64), device=device),
        torch.as_tensor(strength, device=device),
    )
    return hierarchy(finest, coarsest)


def isolated_vertices(graph: NetworkGraph) -> np.ndarray:
    """Rows of the neuron table with no edge at all."""
    n = graph.table.size
    deg = np.bincount(graph.src, minlength=n) + np.bincount(graph.dst, minlength=n)
    return np.flatnonzero(deg == 0)


def check_graph(graph: NetworkGraph, allow_isolated: bool = False) -> None:
    """Refuse graphs a layout would silently get wrong: no vertices, or vertices without edges
    (they have nothing to place them but gravity; ``allow_isolated`` accepts that)."""
    if graph.table.size == 0:
        raise ValueError("the graph has no vertices")
    lonely = isolated_vertices(graph)
    if len(lonely) and not allow_isolated:
        t, v = graph.table, int(lonely[0])
        raise ValueError(
            f"{len(lonely)} of {t.size} neurons have no connection (first: layer {t.layers[t.layer[v]].name!r} "
            f"channel {t.channel[v]} pitch {t.pitch[v]}); pass allow_isolated=True to place them by gravity alone"
        )


@dataclass
class LayoutResult:
    """positions: (K, N, D) float32 in world units (RMS radius ``settings.radius``), key
    frame k at loop phase k / K; base: (N, D) the layout before the key frames (same units);
    levels: one report per level, coarsest first; seconds: wall time per stage."""

    positions: np.ndarray
    base: np.ndarray
    levels: list[LevelReport]
    seconds: dict[str, float] = field(default_factory=dict)


def build_layout(
    graph: NetworkGraph,
    activations: Mapping[str, np.ndarray] | None,
    settings: LayoutConfig,
    device: torch.device | None = None,
    on_level: LevelHook | None = None,
    on_step: StepHook | None = None,
    on_frame: Callable[[int, torch.Tensor], None] | None = None,
    allow_isolated: bool = False,
    spread: Mapping[str, np.ndarray] | None = None,
) -> LayoutResult:
    """Lay out ``graph`` in ``settings.dim`` dimensions.

    activations: ``{layer: (C, F, T)}`` from one clip (charges and key frames come from
    them); None: uniform charges and a single key frame. spread: ``{layer: (C, F)}`` each
    neuron's standard deviation over data (the model's statistics), for the base charges.
    """
    check_graph(graph, allow_isolated)
    device = device or choose_device(settings.device, "layout.device")
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    if activations is None:
        base_q, frame_q = uniform_charges(graph.table), None
    else:
        base_q = activation_charges(activations, graph.table, 0, settings.charge_floor, spread=spread)
        frame_q = activation_charges(activations, graph.table, settings.key_frames, settings.charge_floor,
                                     spread=spread)
    levels = levels_of(graph, base_q, settings.coarsest, device)
    times["coarsen"] = time.perf_counter() - t0
    physics = physics_of(settings)
    t0 = time.perf_counter()
    base, reports = multilevel_layout(levels, settings.dim, physics, schedule_of(settings), settings.seed,
                                      on_level, on_step, settings.min_separation)
    times["layout"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if frame_q is None or settings.key_frames == 1 and settings.key_frame_steps == 0:
        frames = base[None].clone()
    else:
        fine = levels[0]
        springs = make_springs(fine.src, fine.dst, fine.strength, fine.size)
        frames = key_frames(base, springs, torch.as_tensor(frame_q, device=device), physics,
                            key_frame_schedule(settings), on_frame, settings.min_separation)
    times["key_frames"] = time.perf_counter() - t0
    # World units: centre on the base layout's centroid, scale its RMS radius to settings.radius.
    centre = base.mean(0)
    scale = settings.radius / (float((base - centre).pow(2).sum(1).mean().sqrt()) + 1e-12)
    positions = ((frames - centre) * scale).float().cpu().numpy()
    base_world = ((base - centre) * scale).float().cpu().numpy()
    return LayoutResult(positions, base_world, reports, times)
