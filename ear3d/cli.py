"""The command line: parse, build the config, hand over. Nothing else lives here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ear3d import __version__
from ear3d.config import Config, ConfigError, describe, load

#: Length of the headless session `ear3d live` renders when there is no display.
HEADLESS_FALLBACK_SECONDS = 8.0


def has_display() -> bool:
    """True where a window can be opened (X11 or Wayland on Linux; always elsewhere)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def parse_size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    try:
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} must look like 1280x720") from None
    if not sep or min(size) < 16:
        raise argparse.ArgumentTypeError(f"size {text!r} must look like 1280x720, each side at least 16")
    return size


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

    live = sub.add_parser("live", help="the live window (default); renders headless when there is no display")
    live.add_argument("--window", default=None, help="moderngl-window backend: pyglet, glfw, sdl2, headless, …")
    live.add_argument("--fullscreen", action="store_true", help="open fullscreen")
    live.add_argument("--out", type=Path, default=Path("out"), help="folder for the headless fallback (default out/)")

    render = sub.add_parser("render", help="render a live session headless to MP4 + WAV")
    render.add_argument("--seconds", type=float, default=8.0, help="length of the video in seconds (default 8)")
    render.add_argument("--out", type=Path, default=Path("out"), help="output folder (default out/)")
    render.add_argument("--size", type=parse_size, help="frame size WxH (default from render.width/height)")
    render.add_argument("--fps", type=int, help="frames per second (default from render.fps)")
    return parser


def _render(config: Config, seconds: float, out: Path) -> int:
    from ear3d.render import render_session

    result = render_session(config, seconds, out)
    print(f"video: {result.video.resolve()}  ({result.frames} frames, {result.seconds:.1f} s, with audio)")
    print(f"last clip: {result.last_clip.resolve()}")
    return 0


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.command == "render":
        if args.size:
            overrides += [f"render.width={args.size[0]}", f"render.height={args.size[1]}"]
        if args.fps is not None:
            overrides.append(f"render.fps={args.fps}")
    config = load(args.config, overrides)
    if args.command == "render":
        return _render(config, args.seconds, args.out)
    # live (the default)
    window = getattr(args, "window", None)
    if window != "headless" and not has_display():
        out = getattr(args, "out", Path("out"))
        print(f"No display found (DISPLAY and WAYLAND_DISPLAY are unset): rendering a {HEADLESS_FALLBACK_SECONDS:g} s "
              f"live session headless into {out}/ instead.")
        return _render(config, HEADLESS_FALLBACK_SECONDS, out)
    from ear3d.app import run_live

    return run_live(config, window=window, fullscreen=getattr(args, "fullscreen", False))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from ear3d.errors import USER_ERRORS

    try:
        return run(args)
    except ConfigError as e:
        print(f"ear3d: config error: {e}", file=sys.stderr)
        return 2
    except USER_ERRORS as e:
        print(f"ear3d: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
