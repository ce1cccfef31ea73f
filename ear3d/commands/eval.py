"""`ear3d eval`: how good is the trained ear?

Contrastive top-1 accuracy on held-out procedural pieces, and linear probes on frozen
features (c = the autoregressive model's output, z = the encoder's) for held-out labelled
tasks of the procedural corpus (instrument family of the melody, key, tempo band), side by
side with two baselines: the same network with random weights, and pooled raw CQT features.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ear3d.config import Config

HELP = "evaluate the trained ear: contrastive accuracy and linear probes vs two baselines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train-clips", type=int, default=600,
                        help="labelled clips to fit each probe on (default 600)")
    parser.add_argument("--test-clips", type=int, default=300,
                        help="held-out labelled clips to score it on (default 300)")
    parser.add_argument("--contrastive-clips", type=int, default=128,
                        help="held-out crops for the contrastive accuracy (default 128)")
    parser.add_argument("--tasks", default="instrument,key,tempo", help="comma-separated probe tasks")
    parser.add_argument("--json", type=Path, help="also write the table as JSON (the bench format: ear3d.report)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, config: Config) -> int:
    from ear3d.ml.evaluate import evaluate
    from ear3d.report import report

    tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
    rows = evaluate(config, tasks=tasks, train_clips=args.train_clips, test_clips=args.test_clips,
                    contrastive_clips=args.contrastive_clips, progress=not args.quiet)
    report("eval", rows, args.json)
    return 0
