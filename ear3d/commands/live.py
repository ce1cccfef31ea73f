"""`ear3d live`: the live window; a headless render where there is no display."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ear3d.config import DISPLAY_MODES, Config

HELP = "the live window (default); renders headless when there is no display"
#: Length of the headless session rendered when there is no display.
HEADLESS_FALLBACK_SECONDS = 8.0


def has_display() -> bool:
    """True where a window can be opened (X11 or Wayland on Linux; always elsewhere)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", default=None,
                        help="window backend: pyglet, glfw, sdl2 (default: the first installed)")
    parser.add_argument("--fullscreen", action="store_true", help="open fullscreen")
    parser.add_argument("--monitor", type=int, default=None, metavar="N",
                        help="open fullscreen on monitor N (0 = first; config key render.monitor)")
    parser.add_argument("--display", choices=DISPLAY_MODES, default=None, metavar="MODE",
                        help=f"output: {', '.join(DISPLAY_MODES)} (config key render.display; F3 switches live)")
    parser.add_argument("--session", type=Path, default=None, metavar="FILE",
                        help="session file (TOML): loaded when it exists; Ctrl+S saves there")
    parser.add_argument("--save-at-exit", action="store_true", help="write the session file when the window closes")
    parser.add_argument("--frames", type=int, default=None, metavar="N",
                        help="quit after N frames of the network (counted once the model is loaded)")
    parser.add_argument("--quit-after", type=float, default=None, metavar="SECONDS",
                        help="quit after this many seconds of the network (counted once the model is loaded)")
    parser.add_argument("--screenshot", type=Path, default=None, metavar="FILE",
                        help="save the last frame as PNG when quitting (with --frames or --quit-after)")
    parser.add_argument("--out", type=Path, default=Path("out"),
                        help="folder for screenshots, recordings and the headless fallback (default out/)")


def config_overrides(args: argparse.Namespace) -> list[str]:
    out = [f"render.monitor={args.monitor}"] if args.monitor is not None else []
    if getattr(args, "display", None):
        out.append(f'render.display="{args.display}"')
    return out


def _check_arguments(args: argparse.Namespace, config: Config) -> None:
    from ear3d.control.params import live_specs
    from ear3d.session_file import load_session

    for name in ("frames", "quit_after"):
        value = getattr(args, name, None)
        if value is not None and not value > 0:
            raise SystemExit(f"ear3d: error: --{name.replace('_', '-')} must be positive, got {value}")
    session = getattr(args, "session", None)
    if session is not None and session.exists():  # a malformed file fails here, before any window
        load_session(session, {s.name: s for s in live_specs(config)})


def run(args: argparse.Namespace, config: Config) -> int:
    window = getattr(args, "window", None)
    out = getattr(args, "out", Path("out"))
    if window != "headless" and not has_display():
        from ear3d.commands.render import render_and_report

        print(f"No display found (DISPLAY and WAYLAND_DISPLAY are unset): rendering a {HEADLESS_FALLBACK_SECONDS:g} s "
              f"live session headless into {out}/ instead.", flush=True)
        return render_and_report(config, HEADLESS_FALLBACK_SECONDS, out)
    _check_arguments(args, config)
    from ear3d.live_window import run_live

    return run_live(config, window=window, fullscreen=getattr(args, "fullscreen", False),
                    monitor=config.render.monitor, session=getattr(args, "session", None), out_dir=out,
                    frames=getattr(args, "frames", None), seconds=getattr(args, "quit_after", None),
                    screenshot=getattr(args, "screenshot", None), save_session=getattr(args, "save_at_exit", False))
