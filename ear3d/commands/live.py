"""`ear3d live`: the live window; a headless render where there is no display."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ear3d.config import Config

HELP = "the live window (default); renders headless when there is no display"
#: Length of the headless session rendered when there is no display.
HEADLESS_FALLBACK_SECONDS = 8.0


def has_display() -> bool:
    """True where a window can be opened (X11 or Wayland on Linux; always elsewhere)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", default=None, help="moderngl-window backend: pyglet, glfw, sdl2, headless, …")
    parser.add_argument("--fullscreen", action="store_true", help="open fullscreen")
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the headless fallback (default out/)")


def run(args: argparse.Namespace, config: Config) -> int:
    window = getattr(args, "window", None)
    if window != "headless" and not has_display():
        from ear3d.commands.render import render_and_report

        out = getattr(args, "out", Path("out"))
        print(f"No display found (DISPLAY and WAYLAND_DISPLAY are unset): rendering a {HEADLESS_FALLBACK_SECONDS:g} s "
              f"live session headless into {out}/ instead.", flush=True)
        return render_and_report(config, HEADLESS_FALLBACK_SECONDS, out)
    from ear3d.app import run_live

    return run_live(config, window=window, fullscreen=getattr(args, "fullscreen", False))
