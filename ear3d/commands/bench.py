"""`ear3d bench NAME [--json FILE]`: benchmarks that compare a fast path with a
straightforward one side by side in one run (see ear3d.bench)."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from ear3d.config import Config

HELP = "run a benchmark: fast path vs straightforward path, side by side"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ear3d.bench import BENCHES

    sub = parser.add_subparsers(dest="bench", metavar="NAME", required=True)
    for name, module_path in BENCHES.items():
        module = importlib.import_module(module_path)
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        p.add_argument("--json", type=Path, help="also write the rows as JSON (format: ear3d.report)")
        module.add_arguments(p)


def run(args: argparse.Namespace, config: Config) -> int:
    from ear3d.bench import BENCHES, report

    module = importlib.import_module(BENCHES[args.bench])
    rows = module.run(args, config)
    report(args.bench, rows, args.json)
    return 0
