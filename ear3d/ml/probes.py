"""Linear probes on labelled clips, on any named layer of an ear, against the same baselines.

A :class:`ProbeTask` is a set of labelled clips already split into probe-training and test
clips. :func:`layer_features` runs every ear once over the clips and keeps, per named layer,
the mean and standard deviation over time of each (channel, pitch row) — pitch rows averaged
into at most ``MAX_UNITS`` // C groups only for layers too wide to probe whole. The limit is
high enough that every layer of the shipped preset keeps its semitone rows: averaging rows
into groups of two to four semitones erases the pitch classes a key is read from (on the
corpus's key task enc1 fell from 30.5 % to 17.5 % when grouped 512 units
wide, against 35.6 % for the raw CQT). A feature set may also join several
layers (``enc0.mid+enc1+enc3``): their features side by side, one probe over all of them, which
shows whether the layers know different things (a trained ear's do; a random network's deeper
layers only add noise to its first). :func:`probe_rows` fits the probe of
:func:`ear3d.ml.evaluate.probe_accuracy` on each feature set and returns bench rows;
:func:`plot_layer_probes` draws accuracy by depth, one panel per task.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ear3d.ml.baselines import merge_draws
from ear3d.ml.evaluate import probe_accuracy, probe_rows_of
from ear3d.ml.model import Ear
from ear3d.report import Row

log = logging.getLogger(__name__)

#: (channel, pitch row) units per layer before pooling over time (features are twice this).
MAX_UNITS = 2048
RAW = "raw_cqt"
#: joins layer names into one feature set: ``enc0.mid+enc1`` probes both layers' features together
JOIN = "+"


@dataclass
class ProbeTask:
    """One probe: clips (N, S) float32 with class indices (N,) int64, split into train and test."""

    name: str
    classes: list[str]
    train_waves: np.ndarray
    train_labels: np.ndarray
    test_waves: np.ndarray
    test_labels: np.ndarray
    split: str = ""  #: how train and test were separated, in words
    #: (N,) int: the recording each training clip was cut from, when the label belongs to the
    #: recording (collection, key, a class folder's files): cross-validation then holds out whole
    #: recordings, as the test does, instead of scoring clips of pieces it was fitted on
    train_groups: np.ndarray | None = None
    #: (N, 3) int64: (recording, first sample, end sample) of each training clip, when the test
    #: clips are a later stretch of the same recordings (a piece's or a track's last 30 %):
    #: cross-validation then holds out a stretch of every recording and fits on the clips that
    #: do not overlap it, instead of scoring clips a second away from the ones it was fitted on
    train_spans: np.ndarray | None = None


def pooled_layer(a: torch.Tensor, max_units: int = MAX_UNITS) -> torch.Tensor:
    """(B, C, F, T) activations → (B, 2·C·F') float32: mean and std over time, with pitch rows
    averaged to F' = min(F, max(1, max_units // C)) groups."""
    a = a.float()
    b, c, f, t = a.shape
    rows = min(f, max(1, max_units // c))
    if rows < f:
        a = F.adaptive_avg_pool2d(a, (rows, t))
    flat = a.flatten(1, 2)
    return torch.cat([flat.mean(-1), flat.std(-1, unbiased=False)], 1)


def layer_features(ears: dict[str, Ear], waves: np.ndarray, layers: Sequence[str] | None = None, batch: int = 16,
                   progress: bool = False) -> dict[str, np.ndarray]:
    """Features of clips (N, S) float32: ``raw_cqt`` (log-power bins, mean and std over time) and
    ``<ear>/<layer>`` for each ear and each layer in ``layers`` (default: every named layer but
    the scalogram); a name that joins layers with ``+`` gets its layers' features side by side,
    in the order named. Returns name → (N, D) float32."""
    from tqdm import tqdm

    first = next(iter(ears.values()))
    names = [n for n in first.layer_names() if n != "scalogram"] if layers is None else list(layers)
    out: dict[str, list[torch.Tensor]] = {}
    with torch.no_grad():
        for i in tqdm(range(0, len(waves), batch), desc="features", unit="batch", disable=not progress, leave=False):
            x = first.scalogram(torch.from_numpy(np.ascontiguousarray(waves[i : i + batch])))
            out.setdefault(RAW, []).append(pooled_layer(x[:, :1], max_units=10**9))
            for ear_name, ear in ears.items():
                acts = ear.model(x)
                # each layer pooled once, however many feature sets name it
                pooled = {layer: pooled_layer(acts[layer]) for layer in dict.fromkeys(
                    layer for name in names for layer in name.split(JOIN))}
                for name in names:
                    out.setdefault(f"{ear_name}/{name}", []).append(torch.cat([pooled[p] for p in name.split(JOIN)], 1))
    return {k: torch.cat(v).numpy() for k, v in out.items()}


def probe_rows(task: ProbeTask, train_f: dict[str, np.ndarray], test_f: dict[str, np.ndarray],
               progress: bool = False) -> list[Row]:
    """Test accuracy of a probe on every feature set, plus the majority-class chance, as rows
    ``(<feature set>, probe_accuracy_<task>, %, …)``, each with its cross-validated accuracy
    (``cv_accuracy_<task>``, the score that chooses the layer); and for each ear probed on more than one
    layer, ``<ear>/best``: the test accuracy of the layer whose probe did best in
    cross-validation on the training clips (the test clips do not choose it), with a
    ``chosen_layer_<task>`` row whose unit names that layer."""
    from tqdm import tqdm

    k = len(task.classes)
    majority = np.bincount(task.train_labels, minlength=k).argmax()
    rows = [Row("chance", f"probe_accuracy_{task.name}", 100 * float((task.test_labels == majority).mean()), "%")]
    best: dict[str, tuple[float, float, str, int]] = {}  # ear → (cv, test, layer, depth)
    depths: dict[str, int] = {}  # ear → layers probed so far
    for feat in tqdm(train_f, desc=f"probes ({task.name})", unit="probe", disable=not progress, leave=False):
        fit = probe_accuracy(train_f[feat], task.train_labels, test_f[feat], task.test_labels, k,
                             groups=task.train_groups, spans=task.train_spans)
        rows += probe_rows_of(feat, task.name, fit)
        if "/" in feat:
            ear, layer = feat.split("/", 1)
            depth = depths[ear] = depths.get(ear, -1) + 1
            if ear not in best or fit.cv_accuracy > best[ear][0]:
                best[ear] = (fit.cv_accuracy, fit.accuracy, layer, depth)
    for ear in sorted(e for e, d in depths.items() if d > 0):
        _, accuracy, layer, depth = best[ear]
        rows += [Row(f"{ear}/best", f"probe_accuracy_{task.name}", 100 * accuracy, "%"),
                 Row(f"{ear}/best", f"chosen_layer_{task.name}", depth, f"layer {depth} probed: {layer}")]
    return rows


def task_rows(ears: dict[str, Ear], tasks: Sequence[ProbeTask], layers: Sequence[str] | None,
              progress: bool = True) -> list[Row]:
    """Features and probes for every task; rows as :func:`probe_rows`, plus clip counts."""
    rows: list[Row] = []
    done: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []

    def features(waves: np.ndarray) -> dict[str, np.ndarray]:
        # tasks that share their clip array (the corpus's collection and key, the procedural
        # corpus's tasks) share one pass of the ears
        for seen, f in done:
            if seen is waves:
                return f
        f = layer_features(ears, waves, layers, progress=progress)
        done.append((waves, f))
        return f

    for task in tasks:
        train_f, test_f = features(task.train_waves), features(task.test_waves)
        rows += probe_rows(task, train_f, test_f, progress)
        rows += [Row(f"data/{task.name}", "classes", len(task.classes), "classes"),
                 Row(f"data/{task.name}", "probe_train_clips", len(task.train_labels), "clips"),
                 Row(f"data/{task.name}", "probe_test_clips", len(task.test_labels), "clips")]
    return merge_draws(rows)


def plot_layer_probes(rows: Sequence[Row], layers: Sequence[str], path: Path, title: str = "") -> Path:
    """Accuracy by depth: one panel per task, a line per ear (``cpc``, ``random_init``) over
    ``layers`` — for an ear drawn several times (:func:`merge_draws`) the mean, with the draws'
    range shaded —, the raw CQT and chance as horizontal lines. Saved as PNG at ``path``."""
    from ear3d.figures import new_figure, save_png

    tasks = sorted({r.metric.removeprefix("probe_accuracy_") for r in rows if r.metric.startswith("probe_accuracy_")})
    value = {(r.case, r.metric.removeprefix("probe_accuracy_")): r.value for r in rows}
    ears = sorted({r.case.split("/", 1)[0] for r in rows if "/" in r.case and r.case.split("/", 1)[1] in layers})
    draws = {r.case: int(r.value) for r in rows if r.metric == "draws"}
    fig = new_figure((420 * len(tasks) + 80, 420))
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    x = np.arange(len(layers))
    colours = {"cpc": "#1f77b4", "random_init": "#ff7f0e"}
    for ax, task in zip(axes, tasks, strict=True):
        for ear in ears:
            ys = [value.get((f"{ear}/{layer}", task), np.nan) for layer in layers]
            label = f"{ear} (mean of {draws[ear]} draws)" if ear in draws else ear
            ax.plot(x, ys, marker="o", ms=3, label=label, color=colours.get(ear))
            if ear in draws:
                lo, hi = ([value.get((f"{ear}/{layer}", f"{end}_draw_probe_accuracy_{task}"), np.nan)
                           for layer in layers] for end in ("lowest", "highest"))
                ax.fill_between(x, lo, hi, color=colours.get(ear), alpha=0.2, lw=0)
        for case, style in ((RAW, "--"), ("chance", ":")):
            if (case, task) in value:
                ax.axhline(value[(case, task)], ls=style, color="grey", label=case.replace("_", " "))
        ax.set_title(task)
        ax.set_xticks(x, layers, rotation=90, fontsize=7)
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower left")  # the lines start high on the left
    if title:
        fig.suptitle(title)
    return save_png(fig, path)
