"""`ear3d render`: a live session rendered headless to MP4 + WAV."""

from __future__ import annotations

import argparse
from pathlib import Path

from ear3d.argtypes import frame_size, positive_seconds
from ear3d.config import DISPLAY_MODES, Config

HELP = "render a live session headless to MP4 + WAV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=positive_seconds, default=8.0,
                        help="length of the video in seconds (default 8)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default out/)")
    parser.add_argument("--size", type=frame_size, help="frame size WxH (default from render.width/height)")
    parser.add_argument("--fps", type=int, help="frames per second (default from render.fps)")
    parser.add_argument("--display", choices=DISPLAY_MODES, default=None, metavar="MODE",
                        help=f"output: {', '.join(DISPLAY_MODES)} (config key render.display); dome renders the "
                             "image circle in the smaller side (square: e.g. --size 2048x2048), equirect needs 2:1 "
                             "(e.g. 4096x2048) and equirect-stereo 1:1, and carry spherical-video metadata")


def config_overrides(args: argparse.Namespace) -> list[str]:
    """--size and --fps are shorthands for render.width/height/fps."""
    out = []
    if args.size:
        out += [f"render.width={args.size[0]}", f"render.height={args.size[1]}"]
    if args.fps is not None:
        out.append(f"render.fps={args.fps}")
    if getattr(args, "display", None):
        out.append(f'render.display="{args.display}"')
    return out


def render_and_report(config: Config, seconds: float, out: Path) -> int:
    from ear3d.render import render_session

    result = render_session(config, seconds, out)
    print(f"video: {result.video.resolve()}  ({result.frames} frames, {result.seconds:.1f} s, with audio)")
    print(f"last clip: {result.last_clip.resolve()}")
    return 0


def run(args: argparse.Namespace, config: Config) -> int:
    return render_and_report(config, args.seconds, args.out)
