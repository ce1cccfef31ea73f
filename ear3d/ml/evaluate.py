"""Evaluation of a trained ear, with two baselines measured in the same run.

1. Contrastive top-1 accuracy (and loss) on held-out procedural crops (a corpus split that
   neither training nor its validation saw), negatives = the other items of a batch of
   ``train.batch_size``; for the trained network and the same network with random weights.
2. Linear probes on frozen features for held-out labelled tasks of the procedural corpus
   (instrument family of the melody: 6 classes, key: 12 tonic pitch classes, tempo band:
   3 classes). Features of a 4 s clip are the mean and standard deviation over time of
   c (``ar8``) or z (``enc7``) of the trained network (``cpc``) and of the random one
   (``random_init``), and of the raw log-CQT (``raw_cqt``, 2 × 216). The probe is multinomial
   logistic regression on standardised features, fitted by L-BFGS; its L2 strength is chosen
   from a fixed grid by 3-fold cross-validation on the probe's training clips only — the same
   procedure for every feature set. Training and test clips are disjoint corpus splits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch.nn import functional as F

from ear3d.config import Config
from ear3d.ml.baselines import DEFAULT_DRAWS, merge_draws, random_ears
from ear3d.ml.corpus import TASKS, ProceduralCorpus
from ear3d.ml.data import ProceduralSource, crop_batch, scalograms
from ear3d.ml.loss import cpc_loss
from ear3d.ml.model import Ear, build_ear
from ear3d.report import Row

log = logging.getLogger(__name__)

#: held-out corpus splits used only here (training uses 0, its validation 1)
PROBE_TRAIN_SPLIT, PROBE_TEST_SPLIT, CONTRASTIVE_SPLIT = 2, 3, 5
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


def pooled(a: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) activations → (B, 2·C·F) float32: mean and standard deviation over time."""
    flat = a.float().flatten(1, 2)
    return torch.cat([flat.mean(-1), flat.std(-1, unbiased=False)], 1)


def clip_features(ears: dict[str, Ear], waves: np.ndarray, batch: int = 16,
                  progress: bool = False) -> dict[str, np.ndarray]:
    """Features of clips (N, S) float32: name → (N, D) float32 for ``raw_cqt`` and each ear's
    ``<name>/c`` and ``<name>/z``. All ears must share the front end's settings."""
    from tqdm import tqdm

    out: dict[str, list[torch.Tensor]] = {}
    first = next(iter(ears.values()))
    with torch.no_grad():
        for i in tqdm(range(0, len(waves), batch), desc="features", unit="batch", disable=not progress, leave=False):
            x = first.scalogram(torch.from_numpy(np.ascontiguousarray(waves[i : i + batch])))
            out.setdefault("raw_cqt", []).append(pooled(x[:, :1]))
            for name, ear in ears.items():
                acts = ear.model(x)
                names = ear.layer_names()
                z_name = [n for n in names if n.startswith("enc")][-1]
                out.setdefault(f"{name}/c", []).append(pooled(acts[names[-1]]))
                out.setdefault(f"{name}/z", []).append(pooled(acts[z_name]))
    return {k: torch.cat(v).numpy() for k, v in out.items()}


def fit_probe(x: np.ndarray, y: np.ndarray, classes: int, l2: float,
              iterations: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: features (N, D) float, labels (N,) int → (W (D, K), b (K,)).

    Minimises mean cross-entropy + l2·|W|² with L-BFGS in float32 (deterministic on one thread;
    4–6× faster than float64 on 2k clips × 4k features at the same test accuracy, which is what a
    probe reports)."""
    x = np.asarray(x, dtype=np.float32)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    w = torch.zeros(xt.shape[1], classes, dtype=torch.float32, requires_grad=True)
    b = torch.zeros(classes, dtype=torch.float32, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=iterations, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(xt @ w + b, yt) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), b.detach().numpy()


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every column by the training set's mean and std (std floor 1e-6)."""
    mean, std = train.mean(0), train.std(0) + 1e-6
    return [(a - mean) / std for a in (train, *others)]


class ProbeResult(NamedTuple):
    """A fitted probe: held-out test accuracy, the chosen L2 strength and the cross-validated
    accuracy on the training clips that chose it (fractions, not %)."""

    accuracy: float
    l2: float
    cv_accuracy: float


def cv_splits(n: int, folds: int, rng: np.random.Generator, groups: np.ndarray | None = None,
              spans: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, validation) index arrays of ``folds``-fold cross-validation over ``n`` training
    clips, split the way the test split is:

    - ``groups`` (N,) int, the recording of each clip, when the label belongs to the recording
      (the test holds out other recordings): whole recordings are held out, at random;
    - ``spans`` (N, 3) int64, (recording, first sample, end sample) of each clip, when the test
      holds out a later stretch of the same recordings: fold f holds out the f-th of ``folds``
      consecutive runs of every recording's clips (in time order), and its fit leaves out the
      clips that overlap a held-out clip of the same recording (clips cut with a hop shorter
      than their length would otherwise be scored on near copies of what the probe was fitted on);
    - neither: clips at random.
    """
    if spans is not None and len(spans) == n and n:
        recording, start, end = (np.asarray(spans)[:, k] for k in range(3))
        run = np.zeros(n, np.int64)  # each clip's run within its recording
        purged = np.zeros((folds, n), bool)  # clips fold f leaves out of its fit
        for r in np.unique(recording):
            members = np.flatnonzero(recording == r)
            order = members[np.argsort(start[members], kind="stable")]
            run[order] = np.arange(len(order)) * folds // len(order)
            # [start, end) of every pair of this recording's clips intersect
            overlap = (start[order][:, None] < end[order][None, :]) & (start[order][None, :] < end[order][:, None])
            for f in range(folds):
                held = run[order] == f
                purged[f, order] = ~held & overlap[:, held].any(1)
        return [(np.flatnonzero((run != f) & ~purged[f]), np.flatnonzero(run == f)) for f in range(folds)]
    if groups is None or len(np.unique(groups)) < folds:
        parts = np.array_split(rng.permutation(n), folds)
    else:
        names = rng.permutation(np.unique(groups))
        parts = [np.flatnonzero(np.isin(groups, part)) for part in np.array_split(names, folds)]
    return [(np.setdiff1d(np.arange(n), val), val) for val in parts]


def probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                   classes: int, folds: int = 3, seed: int = 0, groups: np.ndarray | None = None,
                   spans: np.ndarray | None = None) -> ProbeResult:
    """Held-out accuracy of a linear probe, L2 chosen by ``folds``-fold CV on the training
    set from L2_GRID (folds split as the test split is: whole ``groups``, or held-out
    stretches of each recording's ``spans``; see :func:`cv_splits`). The CV accuracy never
    looks at the test clips, so it may also choose between feature sets (the best layer)
    without flattering the winner."""
    rng = np.random.default_rng(seed)
    splits = [(fit, val) for fit, val in cv_splits(len(train_x), folds, rng, groups, spans) if len(fit) and len(val)]
    scores = []
    for l2 in L2_GRID:
        acc = []
        for fit, val in splits:
            a, b = standardise(train_x[fit], train_x[val])
            w, bias = fit_probe(a, train_y[fit], classes, l2)
            acc.append(float(((b @ w + bias).argmax(1) == train_y[val]).mean()))
        scores.append(float(np.mean(acc)) if acc else 0.0)
    best = int(np.argmax(scores))
    a, b = standardise(train_x, test_x)
    w, bias = fit_probe(a, train_y, classes, L2_GRID[best])
    return ProbeResult(float(((b @ w + bias).argmax(1) == test_y).mean()), L2_GRID[best], scores[best])


def probe_rows_of(feature_set: str, task: str, fit: ProbeResult) -> list[Row]:
    """A fitted probe as bench rows: its test accuracy (``probe_accuracy_<task>``) and the
    cross-validated accuracy on the training clips that chose its L2 (``cv_accuracy_<task>``), in %."""
    log.info("probe %s on %s: %.1f %% (l2 %g, cv %.1f %%)", task, feature_set, 100 * fit.accuracy, fit.l2,
             100 * fit.cv_accuracy)
    return [Row(feature_set, f"probe_accuracy_{task}", 100 * fit.accuracy, "%"),
            Row(feature_set, f"cv_accuracy_{task}", 100 * fit.cv_accuracy, "%")]


def contrastive_metrics(ear: Ear, data: torch.Tensor, batch: int, over_time: bool) -> tuple[float, float]:
    """(loss, top-1 accuracy) of ``ear`` on scalograms (N, C, F, T) in batches of ``batch``."""
    total, correct, count = 0.0, 0.0, 0
    with torch.no_grad():
        for i in range(0, len(data) - batch + 1, batch):
            z, c = ear.model.encode(data[i : i + batch])
            r = cpc_loss(ear.model, z, c, over_time)
            total += float(r.loss) * r.count
            correct += float(r.accuracy) * r.count
            count += r.count
    return total / max(count, 1), correct / max(count, 1)


def evaluate(config: Config, tasks: Sequence[str] = tuple(TASKS), train_clips: int = 600, test_clips: int = 300,
             contrastive_clips: int = 128, progress: bool = True, random_draws: int = DEFAULT_DRAWS) -> list[Row]:
    """Measure the trained ear of ``config`` (its weights must exist) against the baselines.

    Returns bench rows: cases ``cpc``, ``random_init`` (contrastive), ``cpc/c``, ``cpc/z``,
    ``random_init/c``, ``random_init/z``, ``raw_cqt``, ``chance`` (probes), ``data`` (sizes).
    With ``random_draws`` > 1 the random network's rows are means over that many
    initialisations (:func:`ear3d.ml.baselines.merge_draws`).
    """
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"unknown probe task {t!r}; known: {', '.join(TASKS)}")
    sr = config.audio.sample_rate
    trained = build_ear(config.replace({"model": {"weights": "load"}}))
    ears = {"cpc": trained, **random_ears(config, random_draws)}
    rows: list[Row] = []

    # 1. contrastive accuracy on held-out crops
    tc = config.train
    n = int(round(tc.crop_seconds * sr))
    waves = crop_batch(ProceduralSource(sr, CONTRASTIVE_SPLIT), np.random.default_rng([tc.seed, 7]),
                       contrastive_clips, n, 0.0)
    data = scalograms(trained.scalogram, waves, torch.device("cpu"))
    for name, ear in ears.items():
        loss, acc = contrastive_metrics(ear, data, tc.batch_size, tc.score_over_time)
        rows += [Row(name, "contrastive_accuracy", 100 * acc, "%"), Row(name, "contrastive_loss", loss, "nats")]
    if not tc.score_over_time:  # over time the number of candidates depends on the prediction step
        rows.append(Row("chance", "contrastive_accuracy", 100 / tc.batch_size, "%"))

    # 2. linear probes
    seconds = config.audio.clip_seconds
    tr_w, tr_lab = ProceduralCorpus(sr, seconds, PROBE_TRAIN_SPLIT).clips(train_clips)
    te_w, te_lab = ProceduralCorpus(sr, seconds, PROBE_TEST_SPLIT).clips(test_clips)
    tr_f = clip_features(ears, tr_w, progress=progress)
    te_f = clip_features(ears, te_w, progress=progress)
    for task in tasks:
        ytr = np.array([lab.task(task) for lab in tr_lab])
        yte = np.array([lab.task(task) for lab in te_lab])
        majority = np.bincount(ytr, minlength=TASKS[task]).argmax()
        rows.append(Row("chance", f"probe_accuracy_{task}", 100 * float((yte == majority).mean()), "%"))
        for feat in [f"{ear}/{layer}" for ear in ears for layer in ("c", "z")] + ["raw_cqt"]:
            rows += probe_rows_of(feat, task, probe_accuracy(tr_f[feat], ytr, te_f[feat], yte, TASKS[task]))
    rows += [Row("data", "probe_train_clips", train_clips, "clips"),
             Row("data", "probe_test_clips", test_clips, "clips"),
             Row("data", "contrastive_clips", contrastive_clips, "clips"),
             Row("data", "clip_seconds", seconds, "s")]
    return merge_draws(rows)



def procedural_tasks(config: Config, tasks: Sequence[str] = tuple(TASKS), train_clips: int = 600,
                     test_clips: int = 300) -> list:
    """The procedural corpus's probe tasks as :class:`ear3d.ml.probes.ProbeTask` (the same
    clips and splits as :func:`evaluate`'s probes)."""
    from ear3d.ml.corpus import INSTRUMENTS, KEY_NAMES, TEMPO_NAMES
    from ear3d.ml.probes import ProbeTask

    sr, seconds = config.audio.sample_rate, config.audio.clip_seconds
    tr_w, tr_lab = ProceduralCorpus(sr, seconds, PROBE_TRAIN_SPLIT).clips(train_clips)
    te_w, te_lab = ProceduralCorpus(sr, seconds, PROBE_TEST_SPLIT).clips(test_clips)
    names = {"instrument": list(INSTRUMENTS), "key": list(KEY_NAMES), "tempo": list(TEMPO_NAMES)}
    return [ProbeTask(t, names[t], tr_w, np.array([lab.task(t) for lab in tr_lab]), te_w,
                      np.array([lab.task(t) for lab in te_lab]), "procedural corpus splits 2 → 3") for t in tasks]
