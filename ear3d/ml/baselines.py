"""The random-weights baseline, drawn more than once.

How much of what a probe reads is the trained ear's, and how much the architecture's alone, is
measured against the same network with random weights. That is one draw of a random variable:
on the corpus's piece task the first hidden layer of nine random initialisations read 74.9 to
83.5 % (docs/real-music.md), a wider spread than between any two trained ears. So an evaluation
draws the random network ``draws`` times (seeds ``model.seed``, ``model.seed + 1``, …) and
reports the mean, with the range, instead of trusting one draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ear3d.config import Config
from ear3d.report import Row

if TYPE_CHECKING:  # the CLI reads DEFAULT_DRAWS to build its parser: no torch at import
    from ear3d.ml.model import Ear

RANDOM_INIT = "random_init"
#: separates an ear's name from its draw: ``random_init#2`` is the third random initialisation
DRAW = "#"
#: random initialisations an evaluation averages unless told otherwise (`ear3d eval --random-draws`)
DEFAULT_DRAWS = 3


def random_ears(config: Config, draws: int = DEFAULT_DRAWS) -> dict[str, Ear]:
    """``draws`` ears of ``config``'s preset with random weights, seeded ``model.seed + k``:
    ``{"random_init": ear}`` for one draw, ``{"random_init#k": ear}`` (k = 0 … draws − 1) for
    more, which :func:`merge_draws` folds back into ``random_init`` rows."""
    from ear3d.ml.model import build_ear

    if draws < 1:
        raise ValueError(f"random-weight draws must be at least 1, got {draws}")
    def draw(k: int) -> Ear:
        return build_ear(config.replace({"model": {"weights": "random", "seed": config.model.seed + k}}))

    return {RANDOM_INIT: draw(0)} if draws == 1 else {f"{RANDOM_INIT}{DRAW}{k}": draw(k) for k in range(draws)}


def merge_draws(rows: Sequence[Row]) -> list[Row]:
    """Rows of an ear measured in several draws (cases ``<ear>#<k>`` or ``<ear>#<k>/<layer>``,
    k = 0 … K − 1: the same network with K random initialisations) → one ear ``<ear>``.

    Every metric becomes its mean over the draws, except ``chosen_layer_<task>``, which stays
    per draw (``<ear>#<k>/best``, beside that draw's accuracy): each draw chooses its own layer,
    so ``<ear>/best`` is the mean test accuracy of the draws' own choices — the expected score of
    "draw random weights, choose a layer by cross-validation, test it". Each averaged accuracy
    (``probe_accuracy_<task>``, ``contrastive_accuracy``) also gets the draws' range as
    ``lowest_draw_<metric>`` and ``highest_draw_<metric>``, and the ear a ``draws`` row. Rows of
    other ears pass through unchanged, in order; an ear drawn once is simply named ``<ear>``."""
    merged: dict[tuple[str, str, str], list[float]] = {}  # (case, metric, unit) → one value per draw
    order: list[Row | tuple[str, str, str]] = []  # rows passed through, and where each mean goes
    draws: dict[str, set[str]] = {}
    for r in rows:
        ear, slash, rest = r.case.partition("/")
        base, sep, k = ear.rpartition(DRAW)
        if not sep or not k.isdigit():
            order.append(r)
            continue
        draws.setdefault(base, set()).add(k)
        if not r.metric.startswith("chosen_layer_"):
            key = (f"{base}{slash}{rest}", r.metric, r.unit)
            if key not in merged:
                merged[key] = []
                order.append(key)
            merged[key].append(r.value)
        if r.metric.startswith("chosen_layer_") or (rest == "best" and r.metric.startswith("probe_accuracy_")):
            order.append(r)  # each draw's own choice, kept after the mean
    final: list[Row] = []
    for item in order:
        if isinstance(item, Row):
            final.append(item)
            continue
        case, metric, unit = item
        values = merged[item]
        final.append(Row(case, metric, float(np.mean(values)), unit))
        if "accuracy" in metric and not metric.startswith("cv_"):
            final += [Row(case, f"lowest_draw_{metric}", float(np.min(values)), unit),
                      Row(case, f"highest_draw_{metric}", float(np.max(values)), unit)]
    final += [Row(base, "draws", len(ks), "random initialisations") for base, ks in draws.items()]
    return final
