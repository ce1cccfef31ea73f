"""The command line: parse, build the config, hand over. Nothing else lives here."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from ear3d import __version__
from ear3d.commands import COMMANDS
from ear3d.config import ConfigError, describe, load
from ear3d.errors import user_errors

DEFAULT_COMMAND = "live"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ear3d",
        description="See and hear how an artificial ear listens to music.",
        epilog="Config keys (--set section.key=value):\n" + describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ear3d {__version__}")
    parser.add_argument("--config", type=Path, help="TOML file with [audio], [cqt], [model], … sections")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one config value (repeatable), e.g. --set render.fps=60")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_path in COMMANDS.items():
        module = importlib.import_module(module_path)
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.__doc__))
    return parser


def run(args: argparse.Namespace) -> int:
    name = args.command or DEFAULT_COMMAND
    module = importlib.import_module(COMMANDS[name])
    overrides = list(args.overrides)
    if hasattr(module, "config_overrides") and args.command:
        overrides += module.config_overrides(args)
    return module.run(args, load(args.config, overrides))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except ConfigError as e:
        print(f"ear3d: config error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if isinstance(e, user_errors()):
            print(f"ear3d: error: {e}", file=sys.stderr)
            return 2
        raise
