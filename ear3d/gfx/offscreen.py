"""Offscreen render targets: multisampled colour + depth, resolved and read back as RGB."""

from __future__ import annotations

import os
from pathlib import Path

import moderngl
import numpy as np


class OffscreenTarget:
    """A ``width`` × ``height`` framebuffer with ``samples``-x MSAA (0 = off).

    Release explicitly with ``release()`` (or use as a context manager).
    """

    def __init__(self, ctx: moderngl.Context, width: int, height: int, samples: int = 4):
        if width < 1 or height < 1:
            raise ValueError(f"render target size must be at least 1×1, got {width}×{height}")
        self.ctx = ctx
        self.size = (width, height)
        samples = min(samples, ctx.max_samples) if samples > 1 else 0
        self.fbo = ctx.framebuffer(
            color_attachments=[ctx.renderbuffer(self.size, 4, samples=samples)],
            depth_attachment=ctx.depth_renderbuffer(self.size, samples=samples),
        )
        self.resolved = (
            ctx.framebuffer(color_attachments=[ctx.renderbuffer(self.size, 4)]) if samples else self.fbo
        )

    def read_rgb(self) -> np.ndarray:
        """The last frame as (H, W, 3) uint8, top row first."""
        if self.resolved is not self.fbo:
            self.ctx.copy_framebuffer(self.resolved, self.fbo)
        data = self.resolved.read(components=3, alignment=1)
        w, h = self.size
        return np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1]

    def save_png(self, path: str | Path) -> Path:
        """Write the last frame as an RGB PNG (atomically: temp file + rename)."""
        from PIL import Image

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.partial")
        Image.fromarray(np.ascontiguousarray(self.read_rgb())).save(tmp, format="PNG")
        os.replace(tmp, path)
        return path

    def release(self) -> None:
        for fbo in {id(self.fbo): self.fbo, id(self.resolved): self.resolved}.values():
            for attachment in (*fbo.color_attachments, fbo.depth_attachment):
                if attachment is not None:
                    attachment.release()
            fbo.release()

    def __enter__(self) -> OffscreenTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
