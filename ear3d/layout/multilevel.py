"""The multi-level scheme: lay out the coarsest graph first, then reconstruct the finer levels
in reverse order, each vertex starting from its parent's position plus a little noise, and
relax each level with the engine. The single-level variant (for comparison) starts the
finest graph from random positions. Both end by pushing apart vertices closer than
``separation`` (``ear3d.layout.separate``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ear3d.layout.coarsen import Level
from ear3d.layout.engine import Physics, Relaxed, Schedule, make_springs, relax
from ear3d.layout.separate import separate

#: on_level(level index (0 = finest), level, max steps) before a level; on_step(level index, step, pos, displacement).
LevelHook = Callable[[int, Level, int], None]
StepHook = Callable[[int, int, torch.Tensor, float], None]


@dataclass(frozen=True)
class LevelReport:
    """How one level went: index (0 = finest), vertices, edges, steps, converged, seconds;
    separated: pairs of vertices pushed apart after the relaxation (finest level only)."""

    index: int
    vertices: int
    edges: int
    steps: int
    converged: bool
    seconds: float
    separated: int = 0


def _schedule_for(schedules: Schedule | Sequence[Schedule], index: int) -> Schedule:
    if isinstance(schedules, Schedule):
        return schedules
    if len(schedules) == 0:
        raise ValueError("no schedules given")
    return schedules[min(index, len(schedules) - 1)]


def random_positions(n: int, dim: int, generator: torch.Generator, radius: float = 1.0) -> torch.Tensor:
    """(n, dim) float32 uniform in a ball of ``radius``."""
    if dim not in (2, 3):
        raise ValueError(f"layouts are 2-D or 3-D, got dim = {dim}")
    v = torch.randn(n, dim, generator=generator)
    v /= v.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return v * torch.rand(n, 1, generator=generator).pow(1 / dim) * radius


def prolong(coarse_pos: torch.Tensor, parent: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Finer positions: each vertex at its parent's position plus noise of 10 % of the typical
    vertex spacing of the coarse layout (so merged siblings separate without tangling)."""
    n, dim = coarse_pos.shape
    radius = float(coarse_pos.pow(2).sum(1).mean().sqrt()) + 1e-12
    spacing = radius / max(n, 1) ** (1 / dim)
    noise = torch.randn(len(parent), dim, generator=generator) * (0.1 * spacing)
    return coarse_pos[parent.to(coarse_pos.device)] + noise.to(coarse_pos.device)


def _relax_level(index: int, level: Level, pos: torch.Tensor, physics: Physics, schedule: Schedule,
                 on_level: LevelHook | None, on_step: StepHook | None) -> tuple[Relaxed, LevelReport]:
    if on_level is not None:
        on_level(index, level, schedule.max_steps)
    t0 = time.perf_counter()
    springs = make_springs(level.src, level.dst, level.strength, level.size)
    hook = (lambda s, p, d: on_step(index, s, p, d)) if on_step is not None else None
    result = relax(pos, level.charge, springs, physics, schedule, hook)
    report = LevelReport(index, level.size, len(level.src), result.steps, result.converged, time.perf_counter() - t0)
    return result, report


def multilevel_layout(
    levels: Sequence[Level],
    dim: int,
    physics: Physics,
    schedules: Schedule | Sequence[Schedule],
    seed: int = 0,
    on_level: LevelHook | None = None,
    on_step: StepHook | None = None,
    separation: float = 0.0,
) -> tuple[torch.Tensor, list[LevelReport]]:
    """Positions (N_0, dim) of the finest level and one report per level (coarsest first).

    levels: [finest, …, coarsest] from ``ear3d.layout.coarsen.hierarchy``; schedules: one for
    all levels or one per level index (finest first; the last one repeats for coarser ones);
    separation: the finest layout's minimum vertex distance in RMS radii (0 = as relaxed).
    """
    if not levels:
        raise ValueError("no levels to lay out")
    gen = torch.Generator().manual_seed(seed)
    device = levels[0].charge.device
    top = len(levels) - 1
    pos = random_positions(levels[top].size, dim, gen).to(device)
    reports = []
    for index in range(top, -1, -1):
        if index < top:
            pos = prolong(pos, levels[index + 1].parent, gen)  # type: ignore[arg-type]
        result, report = _relax_level(index, levels[index], pos, physics, _schedule_for(schedules, index),
                                      on_level, on_step)
        pos = result.pos
        reports.append(report)
    return _separated(pos, reports, separation, seed)


def _separated(pos: torch.Tensor, reports: list[LevelReport], separation: float,
               seed: int) -> tuple[torch.Tensor, list[LevelReport]]:
    """The finest layout after :func:`separate`, its report amended with the pairs and the time."""
    t0 = time.perf_counter()
    pos, pairs = separate(pos, separation, seed=seed)
    last = reports[-1]
    reports[-1] = dataclasses.replace(last, seconds=last.seconds + time.perf_counter() - t0, separated=pairs)
    return pos, reports


def single_level_layout(
    level: Level,
    dim: int,
    physics: Physics,
    schedule: Schedule,
    seed: int = 0,
    on_level: LevelHook | None = None,
    on_step: StepHook | None = None,
    separation: float = 0.0,
) -> tuple[torch.Tensor, LevelReport]:
    """The same engine on the finest graph only, from random positions."""
    gen = torch.Generator().manual_seed(seed)
    pos = random_positions(level.size, dim, gen).to(level.charge.device)
    result, report = _relax_level(0, level, pos, physics, schedule, on_level, on_step)
    pos, (report,) = _separated(result.pos, [report], separation, seed)
    return pos, report
