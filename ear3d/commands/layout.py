"""`ear3d layout`: lay out a model's neurons with the multi-level Barnes-Hut force layout.

Builds the model (trained weights from models/<name>/ when present), listens to the origin
clip for activation statistics (charges), extracts the neuron graph, lays it out level by
level (a progress bar per level), relaxes one key frame per time window of the loop and
writes models/<name>/layout.npz atomically (format: ear3d.layout.file).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from ear3d.config import Config

HELP = "lay out the model's neurons (multi-level force layout) into models/<name>/layout.npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder under models/ (default: model.name)")
    parser.add_argument("--dim", type=int, choices=(2, 3), help="2-D or 3-D (default: layout.dim)")
    parser.add_argument("--video", type=Path, help="also record the levels unfolding and the loop's key frames to MP4")
    parser.add_argument("--picture", type=Path, help="also write a PNG of the finished layout")
    parser.add_argument("--out", type=Path, help="layout file to write (default models/<name>/layout.npz)")


def config_overrides(args: argparse.Namespace) -> list[str]:
    """--model and --dim are shorthands for model.name and layout.dim."""
    out = []
    if args.model:
        out.append(f"model.name={json.dumps(args.model)}")
    if args.dim:
        out.append(f"layout.dim={args.dim}")
    return out


def layout_path(config: Config) -> Path:
    """Where `ear3d layout` writes by default (the user's model folder, or the checkout's own)."""
    from ear3d.model_folder import LAYOUT_FILE, model_dir

    return model_dir(config) / LAYOUT_FILE


def run(args: argparse.Namespace, config: Config) -> int:
    import numpy as np
    import torch
    from tqdm import tqdm

    from ear3d.clips import origin_clip
    from ear3d.layout.build import build_layout, model_spread
    from ear3d.layout.file import save_layout
    from ear3d.layout.network import ear_graph
    from ear3d.layout.picture import draw
    from ear3d.ml.device import choose_device
    from ear3d.ml.model import build_ear
    from ear3d.ml.worker import listen
    from ear3d.model_folder import stats_folder
    from ear3d.palette import load_palette

    t_start = time.perf_counter()
    settings = config.layout
    device = choose_device(settings.device, "layout.device")
    palette = load_palette(config.render.palette)
    ear = build_ear(config)
    activations = listen(ear, origin_clip(config), torch.device("cpu"))
    spread = model_spread(ear, stats_folder(config))
    if spread is None:
        print("note: no activation statistics of these weights in the model folder; charges come from the origin clip")
    graph = ear_graph(ear, config.cqt.n_bins)
    print(f"graph: {graph.table.size} neurons in {len(graph.table.layers)} layers, {graph.edge_count} edges")

    layer_names = [i.name for i in graph.table.layers]
    recorder = _Recorder(args.video, config, palette, layer_names) if args.video else None
    bars: dict[str, tqdm] = {}

    def on_level(index, level, max_steps):
        if "level" in bars:
            bars.pop("level").close()
        bars["level"] = tqdm(total=max_steps, desc=f"level {index:2d} ({level.size} vertices)", unit="step",
                             leave=True, dynamic_ncols=True)
        if recorder:
            recorder.level(level)

    def on_step(index, step, pos, disp):
        bars["level"].update(1)
        if step % 10 == 0:
            bars["level"].set_postfix(move=f"{disp:.1e}")
        if recorder:
            recorder.step(pos)

    def on_frame(k, frame):
        if "level" in bars:
            bars.pop("level").close()
        if "frames" not in bars:  # made at the first frame so its clock starts there
            bars["frames"] = tqdm(total=settings.key_frames, desc="key frames", unit="frame", dynamic_ncols=True)
        bars["frames"].update(1)

    try:
        result = build_layout(graph, activations, settings, device, on_level, on_step, on_frame, spread=spread)
    except BaseException:
        if recorder:
            recorder.writer.abort()  # no half-written video left behind
        raise
    finally:
        for bar in bars.values():
            bar.close()
    meta = {
        "model": config.model.name,
        "preset": config.model.preset,
        "n_bins": config.cqt.n_bins,
        "dim": settings.dim,
        "key_frames": settings.key_frames,
        "radius": settings.radius,
        "layout": dataclasses.asdict(settings),
        "levels": [dataclasses.asdict(r) for r in result.levels],
        "seconds": result.seconds,
        "device": str(device),
        "charges": "spread over data (stats.npz), key frames by the origin clip" if spread else "origin clip",
    }
    out = args.out or layout_path(config)
    save_layout(out, graph.table, result.positions, graph.src, graph.dst, graph.weight,
                [list(s) for s in graph.spans], meta)
    size_mb = out.stat().st_size / 1e6
    print(f"layout: {out}  ({settings.dim}-D, {result.positions.shape[0]} key frames, {len(result.levels)} levels, "
          f"{size_mb:.1f} MB, {time.perf_counter() - t_start:.0f} s)")
    colors = palette.layer_colors(graph.table.layer, layer_names)
    if args.picture:
        from PIL import Image

        from ear3d.atomic import atomic_write

        w, h = config.render.width, config.render.height
        img = Image.fromarray(draw(result.positions[0], colors, (w, h), 0.0, np.stack([graph.src, graph.dst], 1),
                                   graph.weight))
        atomic_write(args.picture, lambda tmp: img.save(tmp, format="PNG"))
        print(f"picture: {args.picture}")
    if recorder:
        recorder.loop(result.positions, colors)
        print(f"video: {recorder.close()}  ({recorder.frames} frames)")
    return 0


class _Recorder:
    """Video of the layout unfolding: a frame every few steps of every level, then the key
    frames interpolated around the loop twice while the camera turns."""

    def __init__(self, path: Path, config: Config, palette, layer_names: list[str]) -> None:
        from ear3d.video import VideoWriter

        self.size = (config.render.width - config.render.width % 2, config.render.height - config.render.height % 2)
        self.fps = config.render.fps
        self.writer = VideoWriter(path, *self.size, self.fps)
        self.palette = palette
        self.layer_names = layer_names  # every level keeps the graph's layers, coarsened within each
        self.colors = None
        self.frames = 0
        self.steps = 0

    def _write(self, pos, colors, yaw, axes=None) -> None:
        from ear3d.layout.picture import draw

        self.writer.write(draw(pos, colors, self.size, yaw, axes=axes))
        self.frames += 1

    def level(self, level) -> None:
        from ear3d.layout.picture import level_layers

        self.colors = self.palette.layer_colors(level_layers(level.shapes), self.layer_names)

    def step(self, pos) -> None:
        self.steps += 1
        if self.steps % 4 == 0:  # every 4th step: the unfolding, not every jitter
            self._write(pos.detach().cpu().numpy(), self.colors, 0.6 + 0.002 * self.steps)

    def loop(self, positions, colors) -> None:
        from ear3d.layout.interpolate import periodic_catmull_rom
        from ear3d.layout.picture import principal_axes

        yaw0 = 0.6 + 0.002 * self.steps
        axes = principal_axes(_as3d(positions[0]))  # one camera frame for the whole loop
        count = 2 * 4 * self.fps  # two turns of a 4-second loop
        for i in range(count):
            phase = (i / (4 * self.fps)) % 1.0
            self._write(_as3d(periodic_catmull_rom(positions, phase)), colors, yaw0 + 0.004 * i, axes)

    def close(self) -> Path:
        return self.writer.close()


def _as3d(pos):
    import numpy as np

    return pos if pos.shape[1] == 3 else np.concatenate([pos, np.zeros((len(pos), 1), pos.dtype)], 1)
