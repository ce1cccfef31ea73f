"""`ear3d eval`: how good is the trained ear?

Without ``--data``: contrastive top-1 accuracy on held-out procedural pieces, and linear
probes on frozen features (c = the autoregressive model's output, z = the encoder's) for
held-out labelled tasks of the procedural corpus (instrument family of the melody, key, tempo
band), side by side with two baselines: the same network with random weights, and pooled raw
CQT features.

With ``--data DIR``: the same probes on music on disk (:mod:`ear3d.ml.folder_eval`) — a folder
of class subfolders, a flat folder (a track-ID probe: first 70 % of each file trains, last 30 %
tests), or a corpus built by `ear3d corpus build` (collection, key and piece identity on
held-out pieces). Bad files are skipped with a warning each.

``--layers all`` probes every named layer (pooled over time; or name the layers) and
``--figure`` draws accuracy by depth, trained against random weights. With more than one
layer, ``cpc/best`` and ``random_init/best`` give the test accuracy of each ear's layer whose
probe did best in cross-validation on the training clips.

The random network is drawn ``--random-draws`` times (default 3) and its rows are the mean over
the draws, with their range (``lowest_draw_…``, ``highest_draw_…``) and each draw's own best
layer: one draw of random weights can read several points above or below another
(:mod:`ear3d.ml.baselines`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ear3d.argtypes import positive_int
from ear3d.config import Config
from ear3d.ml.baselines import DEFAULT_DRAWS

HELP = "evaluate the trained ear: contrastive accuracy and linear probes vs two baselines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path,
                        help="probe on this folder of music (class subfolders, a flat folder for track ID, or a "
                             "corpus from `ear3d corpus build`) instead of the procedural corpus")
    parser.add_argument("--layers", default="cz",
                        help="probe c and z only (cz, the default), every named layer (all), or the named layers "
                             "given, comma-separated (e.g. enc0.mid,enc3,ar8); layers joined with + are probed "
                             "together (e.g. enc0.mid,enc1,enc0.mid+enc1); with more than one feature set each "
                             "ear's best is also reported, chosen by cross-validation on the training clips")
    parser.add_argument("--figure", type=Path,
                        help="with --layers all (or a list): write accuracy by depth as PNG here")
    parser.add_argument("--clips-per-file", type=int, default=24,
                        help="with --data: at most this many 4 s clips per file part (default 24)")
    parser.add_argument("--train-clips", type=int, default=600,
                        help="labelled clips to fit each probe on (default 600)")
    parser.add_argument("--test-clips", type=int, default=300,
                        help="held-out labelled clips to score it on (default 300)")
    parser.add_argument("--contrastive-clips", type=int, default=128,
                        help="held-out crops for the contrastive accuracy (default 128)")
    parser.add_argument("--tasks", default=None,
                        help="comma-separated probe tasks: of the procedural corpus instrument, key, tempo; with "
                             "--data and a corpus from `ear3d corpus build` collection, key, piece (default: all "
                             "three)")
    parser.add_argument("--random-draws", type=positive_int, default=DEFAULT_DRAWS,
                        help="random initialisations the random-weights baseline averages (seeds model.seed, "
                             f"model.seed + 1, …; default {DEFAULT_DRAWS}); its rows give the mean and the range")
    parser.add_argument("--json", type=Path, help="also write the table as JSON (the bench format: ear3d.report)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _task_names(text: str | None, known: tuple[str, ...]) -> tuple[str, ...]:
    """--tasks as names, each one of ``known`` (all of them when not given)."""
    from ear3d.argtypes import UsageError

    names = known if text is None else tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in names if t not in known] or ([] if names else [""])
    if unknown:
        raise UsageError(f"--tasks: unknown probe task {unknown[0]!r}; known: {', '.join(known)}")
    return names


def run(args: argparse.Namespace, config: Config) -> int:
    from ear3d.argtypes import UsageError
    from ear3d.ml.baselines import random_ears
    from ear3d.ml.corpus import TASKS
    from ear3d.ml.evaluate import evaluate, procedural_tasks
    from ear3d.ml.model import build_ear
    from ear3d.ml.probes import JOIN, plot_layer_probes, task_rows
    from ear3d.report import Row, report

    if args.figure is not None and args.layers == "cz":
        raise UsageError("--figure draws accuracy by depth: use it with --layers all (or a list of layers)")
    progress = not args.quiet
    ears = {"cpc": build_ear(config.replace({"model": {"weights": "load"}})), **random_ears(config, args.random_draws)}
    names = ears["cpc"].layer_names()
    cz = [[n for n in names if n.startswith("enc") and "." not in n][-1], names[-1]]
    if args.layers == "cz":
        layers = cz
    elif args.layers == "all":
        layers = [n for n in names if n != "scalogram"]
    else:
        layers = [JOIN.join(part.strip() for part in n.split(JOIN)) for n in args.layers.split(",") if n.strip()]
        unknown = [p for n in layers for p in n.split(JOIN) if p not in names or p == "scalogram"]
        if unknown or not layers:
            raise UsageError(f"--layers: unknown layer(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                             f"layers: {', '.join(names[1:])}")
    rows: list[Row] = []
    if args.data is not None:
        from ear3d.ml.folder_eval import CORPUS_TASKS, corpus_tasks, folder_tasks
        from ear3d.ml.music_corpus import MANIFEST

        sr, seconds = config.audio.sample_rate, config.audio.clip_seconds
        if (args.data / MANIFEST).is_file():
            tasks = corpus_tasks(args.data, sr, seconds, tasks=_task_names(args.tasks, CORPUS_TASKS))
        else:
            if args.tasks is not None:
                raise UsageError("--tasks: a folder of music has one task (its classes or its tracks); "
                                 "tasks are named for the procedural corpus or a built corpus")
            task, skipped = folder_tasks(args.data, sr, seconds, args.clips_per_file)
            tasks = [task]
            rows.append(Row("data", "skipped_files", len(skipped), "files"))
        for t in tasks:
            print(f"task {t.name}: {len(t.classes)} classes, {len(t.train_labels)} training and "
                  f"{len(t.test_labels)} test clips of {seconds:g} s; split {t.split}")
        rows += task_rows(ears, tasks, layers, progress)
    else:
        tasks_named = _task_names(args.tasks, tuple(TASKS))
        rows = evaluate(config, tasks=tasks_named, train_clips=args.train_clips, test_clips=args.test_clips,
                        contrastive_clips=args.contrastive_clips, progress=progress,
                        random_draws=args.random_draws)
        if args.layers != "cz":
            tasks = procedural_tasks(config, tasks_named, args.train_clips, args.test_clips)
            # the baselines' raw CQT, chance and number of draws are already in evaluate's rows
            rows += [r for r in task_rows(ears, tasks, layers, progress)
                     if r.case not in ("raw_cqt", "chance") and r.metric != "draws"]
    report("eval", rows, args.json)
    if args.figure is not None:
        title = f"linear probes by layer: {config.model.name} ({config.model.preset})"
        print(f"wrote {plot_layer_probes(rows, layers, args.figure, title)}")
    return 0
