"""Command-line argument types shared by `ear3d` commands and benches (argparse ``type=``):
each parses one kind of value and raises ``ArgumentTypeError`` with a one-line reason.
:class:`UsageError` is for what argparse cannot check (a value that needs the model)."""

from __future__ import annotations

import argparse
import dataclasses
import math

from ear3d.config import RenderConfig


class UsageError(ValueError):
    """A command-line value that is wrong in a way only the command can tell (a layer the
    model does not have, options that do not go together): one line, no traceback."""


def _frame_side_range() -> tuple[int, int]:
    """The pixel bounds of ``render.width`` and ``render.height`` (one definition: the config's)."""
    fields = {f.name: f for f in dataclasses.fields(RenderConfig)}
    lo, hi = fields["width"].metadata["range"]
    return int(lo), int(hi)


def frame_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` (or ``1280X720``) → ``(1280, 720)``: width and height in pixels, each
    within the bounds of ``render.width`` / ``render.height``."""
    lo, hi = _frame_side_range()
    w, sep, h = text.strip().lower().partition("x")
    try:
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} must look like 1280x720") from None
    if not sep or not all(lo <= side <= hi for side in size):
        raise argparse.ArgumentTypeError(f"size {text!r} must look like 1280x720, each side {lo} to {hi} pixels")
    return size


def frame_sizes(text: str) -> list[tuple[int, int]]:
    """``"1280x720,1920x1080"`` → ``[(1280, 720), (1920, 1080)]`` (see :func:`frame_size`)."""
    sizes = [frame_size(item) for item in text.split(",") if item.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError(f"no frame size in {text!r}; e.g. 1280x720,1920x1080")
    return sizes


def positive_seconds(text: str) -> float:
    """A duration in seconds: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"seconds must be a finite number above 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value
