"""Probe tasks from music on disk: a user's folder, or the real-music corpus.

A user's folder (:func:`folder_tasks`) is either

- a folder of class subfolders (genre, composer, anything; each subfolder's files one class):
  when every class has at least two usable files, about 30 % of each class's files (at least
  one) are test files and the rest training files; otherwise every file is cut in time as below;
- a flat folder of files: a track-ID probe, each file its own class, the first 70 % of each
  file for training and the last 30 % for testing (no clip crosses the boundary).

Clips are ``clip_seconds`` long, cut without overlap from each file's part, evenly spread and
at most ``max_clips`` per part. A file that cannot be read, or is too short for a clip in each
part, is skipped with a warning naming it and the reason.

The corpus (:func:`corpus_tasks`, a folder written by `ear3d corpus build`) gives three tasks:
``collection`` and ``key`` (probe trained on clips of training pieces, tested on the held-out
pieces in the held-out SoundFont) and ``piece`` (held-out pieces, first 70 % / last 30 %, clips
starting every second within each part, so they overlap there but never across the boundary).

Each task says how cross-validation on its training clips (which chooses the L2 strength and
the best layer) must split them to mirror its test: whole recordings (``train_groups``) when
the test holds out recordings, stretches of every recording (``train_spans``) when the test is
each recording's last 30 % (see ear3d.ml.evaluate.cv_splits).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ear3d.clips import AudioFileError, read_audio
from ear3d.ml.data import list_audio_files
from ear3d.ml.probes import ProbeTask

log = logging.getLogger(__name__)

TRAIN_FRACTION = 0.7


def clip_starts(length: int, n: int, max_clips: int, hop: int | None = None) -> np.ndarray:
    """(K,) int64 first samples of the clips :func:`cut_clips` cuts from ``length`` samples."""
    hop = n if hop is None else hop
    if length < n:
        return np.zeros(0, np.int64)
    count = (length - n) // hop + 1
    return np.unique(np.linspace(0, count - 1, min(count, max_clips)).round().astype(np.int64)) * hop


def cut_clips(audio: np.ndarray, n: int, max_clips: int, hop: int | None = None) -> np.ndarray:
    """Clips of ``n`` samples from (S,) audio starting every ``hop`` samples (default ``n``: no
    overlap), at most ``max_clips`` spread evenly over it: (K, n) float32, K = 0 when the audio
    is shorter than one clip."""
    starts = clip_starts(len(audio), n, max_clips, hop)
    if not len(starts):
        return np.zeros((0, n), np.float32)
    return np.stack([audio[i : i + n] for i in starts]).astype(np.float32)


def time_split(audio: np.ndarray, n: int, max_clips: int, hop: int | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train clips, test clips, the training clips' first samples (K,) int64) from the first
    TRAIN_FRACTION and the rest of ``audio``; no clip crosses the boundary (clips overlap only
    within a part, when ``hop`` < ``n``)."""
    cut = int(len(audio) * TRAIN_FRACTION)
    return (cut_clips(audio[:cut], n, max_clips, hop), cut_clips(audio[cut:], n, max(1, max_clips // 2), hop),
            clip_starts(cut, n, max_clips, hop))


def _read(path: Path, sample_rate: int, skipped: dict[str, str]) -> np.ndarray | None:
    try:
        return read_audio(path, sample_rate)
    except AudioFileError as e:
        skipped[str(path)] = str(e)
        log.warning("skipping audio file %s: %s", path, e)
        return None


def _too_short(path: Path, skipped: dict[str, str], seconds: float) -> None:
    why = f"too short for a {seconds:g} s clip in both its training and its test part"
    skipped[str(path)] = why
    log.warning("skipping audio file %s: %s", path, why)


def recording_ids(clips: list[np.ndarray]) -> np.ndarray:
    """(sum K_i,) int64: for each recording's (K_i, n) clips, stacked in order, its index."""
    return np.repeat(np.arange(len(clips), dtype=np.int64), [len(c) for c in clips])


def _task(name: str, classes: list[str], train: list[tuple[np.ndarray, int]], test: list[tuple[np.ndarray, int]],
          split: str, n: int, grouped: bool = False, starts: list[np.ndarray] | None = None) -> ProbeTask:
    """Stack (clips, class) items; with ``grouped`` each training item is a recording whose
    clips cross-validation keeps together (ProbeTask.train_groups); ``starts``, each training
    item's clip starts in samples, when the test is a later stretch of the same recordings
    (cross-validation then holds out stretches, ProbeTask.train_spans)."""
    def stack(items: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
        waves = [w for w, _ in items]
        labels = [np.full(len(w), y, np.int64) for w, y in items]
        return (np.concatenate(waves) if waves else np.zeros((0, n), np.float32),
                np.concatenate(labels) if labels else np.zeros(0, np.int64))

    tr_w, tr_y = stack(train)
    te_w, te_y = stack(test)
    recording = recording_ids([w for w, _ in train])
    spans = None
    if starts is not None:
        first = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        spans = np.stack([recording, first, first + n], 1)
    return ProbeTask(name, classes, tr_w, tr_y, te_w, te_y, split, recording if grouped else None, spans)


def folder_tasks(folder: Path, sample_rate: int, clip_seconds: float = 4.0, max_clips: int = 24
                 ) -> tuple[ProbeTask, dict[str, str]]:
    """The probe task of a user's folder (see the module doc) and the skipped files (path → reason).

    Raises AudioFileError when fewer than two classes are left with clips in both parts."""
    folder = Path(folder).expanduser()
    files = list_audio_files(folder)
    n = int(round(clip_seconds * sample_rate))
    skipped: dict[str, str] = {}
    subdirs = sorted({p.relative_to(folder).parts[0] for p in files if len(p.relative_to(folder).parts) > 1})
    train: list[tuple[np.ndarray, int]] = []
    test: list[tuple[np.ndarray, int]] = []
    starts: list[np.ndarray] = []  # training clips' first samples, for the parts cut in time
    if subdirs:
        loose = [p for p in files if len(p.relative_to(folder).parts) == 1]
        for p in loose:
            log.warning("ignoring %s: with class subfolders, files directly in %s have no class", p, folder)
        audio: dict[str, list[tuple[Path, np.ndarray]]] = {}
        for cls in subdirs:
            for p in (q for q in files if q.relative_to(folder).parts[0] == cls):
                a = _read(p, sample_rate, skipped)
                if a is not None and len(a) >= n:
                    audio.setdefault(cls, []).append((p, a))
                elif a is not None:
                    _too_short(p, skipped, clip_seconds)
        classes = sorted(audio)
        by_file = all(len(audio[c]) >= 2 for c in classes)
        for y, cls in enumerate(classes):
            items = audio[cls]
            held = max(1, int(round(len(items) * (1 - TRAIN_FRACTION)))) if by_file else 0
            # test files spread over the sorted list, from its end (one file: the last)
            test_files = set(np.linspace(len(items) - 1, 0, held).round().astype(int).tolist()) if by_file else set()
            for i, (p, a) in enumerate(items):
                if by_file:
                    (test if i in test_files else train).append((cut_clips(a, n, max_clips), y))
                else:
                    tr, te, first = time_split(a, n, max_clips)
                    if len(tr) == 0 or len(te) == 0:
                        _too_short(p, skipped, clip_seconds)
                        continue
                    train.append((tr, y))
                    test.append((te, y))
                    starts.append(first)
        split = ("by file: the last ~30 % of each class's files are test files" if by_file else
                 "by time: the first 70 % of each file trains, the last 30 % tests")
        task = _task("class", classes, train, test, split, n, grouped=by_file, starts=None if by_file else starts)
    else:
        classes = []
        for p in files:
            a = _read(p, sample_rate, skipped)
            if a is None:
                continue
            tr, te, first = time_split(a, n, max_clips)
            if len(tr) == 0 or len(te) == 0:
                _too_short(p, skipped, clip_seconds)
                continue
            train.append((tr, len(classes)))
            test.append((te, len(classes)))
            starts.append(first)
            classes.append(p.relative_to(folder).as_posix())
        task = _task("track", classes, train, test, "by time: the first 70 % of each file trains, the last 30 % tests",
                     n, starts=starts)
    present = set(task.train_labels.tolist()) & set(task.test_labels.tolist())
    if len(present) < 2:
        raise AudioFileError(f"{folder}: fewer than two classes with usable audio ({len(skipped)} files skipped)")
    return task, skipped


#: The probe tasks of a corpus built by `ear3d corpus build`.
CORPUS_TASKS = ("collection", "key", "piece")


def corpus_tasks(folder: Path, sample_rate: int, clip_seconds: float = 4.0, max_clips: int = 4,
                 tasks: tuple[str, ...] = CORPUS_TASKS) -> list[ProbeTask]:
    """Probe tasks of a corpus built by `ear3d corpus build` in ``folder`` (see the module doc).
    Raises ValueError naming an unknown task before any audio is read."""
    from ear3d.ml.music_corpus import read_manifest
    from ear3d.ml.scores import PITCH_CLASSES

    unknown = [t for t in tasks if t not in CORPUS_TASKS]
    if unknown:
        raise ValueError(f"unknown corpus probe task {unknown[0]!r}; known: {', '.join(CORPUS_TASKS)}")

    manifest = read_manifest(folder)
    n = int(round(clip_seconds * sample_rate))
    entries: dict[str, list[dict]] = {"train": [], "eval": []}
    for e in manifest["pieces"]:
        entries[e["split"]].append(e)
    if not entries["eval"]:
        raise ValueError(f"the corpus in {folder} has no held-out pieces yet: build more pieces")
    skipped: dict[str, str] = {}
    audio = {}
    for e in entries["train"] + entries["eval"]:
        a = _read(Path(folder) / e["file"], sample_rate, skipped)
        if a is not None:
            audio[e["file"]] = a
    # collection and key label the same clips: cut once, and the tasks share the arrays (so
    # the probes run the ears over them once, see ear3d.ml.probes.task_rows)
    split_clips: dict[str, tuple[np.ndarray, list[str], np.ndarray]] = {}
    for split in ("train", "eval"):
        cut = [(e["file"], cut_clips(audio[e["file"]], n, max_clips)) for e in entries[split] if e["file"] in audio]
        waves = np.concatenate([c for _, c in cut]) if cut else np.zeros((0, n), np.float32)
        split_clips[split] = (waves, [f for f, c in cut for _ in range(len(c))], recording_ids([c for _, c in cut]))
    out = []
    for task in tasks:
        classes: list[str]
        if task == "piece":
            classes = []
            train: list[tuple[np.ndarray, int]] = []
            test: list[tuple[np.ndarray, int]] = []
            starts: list[np.ndarray] = []
            for e in entries["eval"]:
                if e["file"] not in audio:
                    continue
                # the held-out pieces are short (~20 s): clips 1 s apart give each piece's last
                # 30 % several test clips instead of one (104 test clips would leave ±4 points of noise)
                tr, te, first = time_split(audio[e["file"]], n, max_clips * 3, hop=sample_rate)
                if len(tr) and len(te):
                    train.append((tr, len(classes)))
                    test.append((te, len(classes)))
                    starts.append(first)
                    classes.append(e["piece"])
            out.append(_task("piece", classes, train, test, "held-out pieces: first 70 % trains, last 30 % tests", n,
                             starts=starts))
            continue
        if task == "collection":
            classes = sorted({e["collection"] for e in manifest["pieces"]})
            labels = {e["file"]: classes.index(e["collection"]) for e in manifest["pieces"]}
        elif task == "key":
            classes = list(PITCH_CLASSES)
            labels = {e["file"]: int(e["tonic"]) for e in manifest["pieces"]}
        else:  # checked above
            raise AssertionError(task)
        (tr_w, tr_files, tr_groups), (te_w, te_files, _) = split_clips["train"], split_clips["eval"]
        out.append(ProbeTask(task, classes, tr_w, np.array([labels[f] for f in tr_files], np.int64), te_w,
                             np.array([labels[f] for f in te_files], np.int64),
                             "training pieces and fonts → held-out pieces in the held-out font", tr_groups))
    return out
