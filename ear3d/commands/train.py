"""`ear3d train`: train the ear with contrastive predictive coding.

Data is the built-in procedural corpus (default) or a folder of audio files (WAV, FLAC, OGG,
MP3 …; bad files are skipped with a warning each). Checkpoints, the training curves and the
activation statistics go to models/<model.name>/ (or --out); an interrupted run resumes
from there. On a GPU node the same command scales out:
``torchrun --nproc_per_node 8 -m ear3d train --data DIR``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ear3d.config import Config

HELP = "train the ear (CPC) on the procedural corpus or a folder of audio files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="'procedural' or a folder of audio files (train.data)")
    parser.add_argument("--steps", type=int, help="optimizer steps in all (train.steps)")
    parser.add_argument("--batch-size", type=int, help="clips per step and process (train.batch_size)")
    parser.add_argument("--preset", choices=("tiny", "small", "paper"), help="architecture (model.preset)")
    parser.add_argument("--name", help="model folder under models/ (model.name)")
    parser.add_argument("--out", type=Path, help="checkpoint folder (default models/<model.name>/)")
    parser.add_argument("--minutes", type=float, help="stop after this much wall time (after a checkpoint)")
    parser.add_argument("--fresh", action="store_true", help="start over instead of resuming a checkpoint")
    parser.add_argument("--no-stats", action="store_true", help="skip the activation statistics at the end")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def config_overrides(args: argparse.Namespace) -> list[str]:
    out = []
    for flag, key in (("data", "train.data"), ("steps", "train.steps"), ("batch_size", "train.batch_size"),
                      ("preset", "model.preset"), ("name", "model.name")):
        value = getattr(args, flag)
        if value is not None:
            out.append(f"{key}={json.dumps(value)}" if isinstance(value, str) else f"{key}={value}")
    return out


def run(args: argparse.Namespace, config: Config) -> int:
    from ear3d.ml.train import train

    result = train(config, args.out, resume=not args.fresh, progress=not args.quiet, max_minutes=args.minutes,
                   stats=not args.no_stats)
    last = result.last
    summary = f"trained {config.model.preset} to step {result.step} in {result.seconds / 60:.1f} min"
    if "val_loss" in last:
        summary += (f"; validation loss {last['val_loss']:.4f}, contrastive top-1 accuracy "
                    f"{100 * last['val_accuracy']:.1f} % (batch {config.train.batch_size}, "
                    f"{last.get('val_negatives', config.train.batch_size - 1)} negatives)")
    if "val_segment_accuracy" in last:
        summary += (f"; segment contrast top-1 {100 * last['val_segment_accuracy']:.1f} % "
                    f"({config.train.batch_size - 1} negatives)")
    print(summary)
    if result.skipped_files:
        print(f"{result.skipped_files} bad audio files were skipped (see the warnings above)")
    print(f"model: {result.directory.resolve()}")
    return 0
