"""`ear3d corpus build`: render the real-music corpus (music21's scores through General MIDI
SoundFonts with FluidSynth; see :mod:`ear3d.ml.music_corpus`). Resumable: run it again to
finish or extend a build. `make corpus` installs FluidSynth, the SoundFonts and music21."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ear3d.argtypes import UsageError
from ear3d.config import Config

HELP = "build the real-music corpus (music21 scores rendered with FluidSynth), resumable"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="render pieces into the corpus folder (skips those already there)")
    build.add_argument("--out", type=Path, help="corpus folder (default: ear3d's cache folder /corpus)")
    build.add_argument("--pieces", type=int, default=300, help="pieces to render in all (default 300)")
    build.add_argument("--seconds", type=float, default=20.0, help="at most this much audio per piece (default 20)")
    build.add_argument("--seed", type=int, default=0, help="seed of the plan and every performance (default 0)")
    build.add_argument("--eval-percent", type=float, default=20.0,
                       help="pieces held out for evaluation, in %% (default 20)")
    build.add_argument("--eval-font", default="MuseScore_General_Lite",
                       help="the SoundFont (name substring) held out for evaluation")
    build.add_argument("--fonts", help="comma-separated SoundFont files to play through, the --eval-font one held "
                       "out (default: the installed ones of fluid-soundfont-gm, timgm6mb-soundfont and "
                       "musescore-general-soundfont-small)")
    build.add_argument("--jobs", type=int, default=0,
                       help="pieces rendered at once, in worker processes (default: one per CPU core); "
                       "the corpus is the same for any number")
    build.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, config: Config) -> int:
    from collections import Counter

    from ear3d.ml.music_corpus import BuildSettings, build_corpus, default_folder

    if args.pieces < 1 or args.seconds <= 0 or not 0 < args.eval_percent < 100 or args.jobs < 0:
        raise UsageError("--pieces must be ≥ 1, --seconds > 0, --eval-percent between 0 and 100 and --jobs ≥ 0")
    folder = args.out or default_folder()
    fonts = tuple(str(Path(f.strip()).expanduser()) for f in args.fonts.split(",") if f.strip()) if args.fonts else ()
    settings = BuildSettings(seed=args.seed, sample_rate=config.audio.sample_rate, seconds=args.seconds,
                             eval_percent=args.eval_percent, eval_font=args.eval_font, fonts=fonts)
    jobs = args.jobs or os.cpu_count() or 1
    try:
        manifest = build_corpus(folder, args.pieces, settings, progress=not args.quiet, jobs=jobs)
    except (FileNotFoundError, ValueError) as e:  # a missing font, a folder built otherwise: the user's to fix
        raise UsageError(str(e)) from e
    pieces = manifest["pieces"]
    for split in ("train", "eval"):
        part = [e for e in pieces if e["split"] == split]
        hours = sum(e["seconds"] for e in part) / 3600
        counts = ", ".join(f"{k} {v}" for k, v in sorted(Counter(e["collection"] for e in part).items()))
        print(f"{split}: {len(part)} pieces, {hours:.2f} h, fonts {', '.join(manifest['soundfonts'][split])}"
              f" ({counts})")
    if manifest["failed"]:
        print(f"{len(manifest['failed'])} scores could not be rendered (see manifest.json 'failed')")
    print(f"corpus: {Path(folder).resolve()}")
    return 0
