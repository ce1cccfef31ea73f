"""A live session without its window or speakers: the worker, the neuron table, the scene.

The live window (app.py) and the headless renderer (render.py) both drive one of these, so
what a video shows is what the window shows.
"""

from __future__ import annotations

import logging
from typing import Mapping

import moderngl
import numpy as np

from ear3d import paths
from ear3d.activity import activity_table
from ear3d.clips import ensure_origin_clip, read_audio
from ear3d.config import Config, ConfigError
from ear3d.control.sonify import start_commands
from ear3d.gfx.interop import cuda_interop_problem
from ear3d.gfx.scene import Scene
from ear3d.graph import NeuronTable, table_from_activations
from ear3d.layout.file import LayoutMismatch, load_layout
from ear3d.layout.grid import grid_positions
from ear3d.messages import ActivationFrame, Clip, Command
from ear3d.ml.worker import Worker
from ear3d.palette import load_palette

log = logging.getLogger(__name__)

#: How long to wait for the worker's first activations (model build + one forward).
FIRST_FRAME_TIMEOUT_S = 300.0


def origin_clip(config: Config) -> Clip:
    """The project's origin clip (generated into assets/clips/ on first use), at the configured rate."""
    path = ensure_origin_clip()
    samples = read_audio(path, config.audio.sample_rate, config.audio.clip_seconds)
    return Clip(samples, config.audio.sample_rate)


def placement(config: Config, table: NeuronTable) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Key-frame positions (K, N, 3) float32, edges (E, 2) uint32 and weights (E,) float32.

    ``layout.kind = "force"`` reads models/<name>/layout.npz (made by `ear3d layout`); when it
    is missing or belongs to another network, ear3d says why once and uses the grid, without
    edges.
    """
    if config.layout.kind == "force":
        path = paths.models() / config.model.name / "layout.npz"
        try:
            layout = load_layout(path, table)
            return layout.positions, layout.edges, layout.weights
        except (FileNotFoundError, LayoutMismatch) as e:
            log.warning("%s; showing the neurons on a grid instead", e)
    return grid_positions(table, config.layout)[None], None, None


def check_interop(config: Config, ctx: moderngl.Context, device: object) -> None:
    """``render.interop = "cuda"`` where the worker's activations (on torch ``device``) cannot
    reach ``ctx`` through CUDA–GL interop: a ConfigError naming the reason, in one line."""
    if config.render.interop != "cuda":
        return
    problem = cuda_interop_problem(ctx, str(device))
    if problem:
        reason = " ".join(problem.split())
        raise ConfigError(f"render.interop = 'cuda' cannot work here: {reason}; use 'auto' or 'host'")


class Session:
    """Starts the worker on ``clip``, waits for its first activations and builds the scene."""

    def __init__(self, config: Config, ctx: moderngl.Context, clip: Clip | None = None):
        self.config = config
        self.clip = clip if clip is not None else origin_clip(config)
        worker = Worker(config)
        check_interop(config, ctx, worker.device)  # before the model is built: a wrong setting fails fast
        self.worker = worker.start()
        try:
            self.worker.send(Command("clip", self.clip))
            self._frame_version, frame = self.worker.frames.wait_newer(0, FIRST_FRAME_TIMEOUT_S)
            if frame is None:
                _, error = self.worker.errors.peek()
                raise RuntimeError(f"the worker produced no activations: {error or 'timed out'}")
            self.table: NeuronTable = table_from_activations(frame.layers)
            self.steps = max(a.shape[2] for a in frame.layers.values())
            self.positions, edges, weights = placement(config, self.table)
            self.scene = Scene(ctx, self.positions, self.table.layer, load_palette(config.render.palette),
                               config.render, edges, weights)
        except BaseException:
            self.worker.stop()
            raise
        self.frame = frame
        self.orbit_speed = config.render.orbit_speed
        self.highlight_layer = -1
        self._targets = np.zeros(self.table.size, bool)
        self._shown_selection: np.ndarray | None = None
        self._upload(frame)
        names = [info.name for info in self.table.layers]
        self.sonify_values, commands = start_commands(config.optimize.start_target, names)
        for command in commands:
            self.worker.send(command)

    def _upload(self, frame: ActivationFrame) -> None:
        self.frame = frame
        # On CUDA the table is built on the GPU and reaches GL through interop (or one host copy
        # when GL runs elsewhere); on the CPU it is built from the host arrays and copied once.
        layers = frame.device_layers if frame.device_layers is not None else frame.layers
        #: how the last activity table reached the GL buffer: "cuda" (interop) or "host"
        self.activity_path = self.scene.set_activity(activity_table(layers, self.table, self.steps))
        targets = np.zeros(self.table.size, bool)
        for info in self.table.layers:
            sel = frame.selected.get(info.name)
            if sel is not None:  # (C, F, T) bool: a neuron is a target if it is at any time step
                targets[info.offset : info.offset + info.size] = sel.any(axis=2).reshape(-1)
        self._targets = targets
        self._show_selection()

    def _show_selection(self) -> None:
        """Highlight the optimisation targets and the highlighted layer (uploaded on change only)."""
        mask = self._targets | (self.table.layer == self.highlight_layer)
        if self._shown_selection is None or not np.array_equal(mask, self._shown_selection):
            self.scene.set_selection(mask)
            self._shown_selection = mask

    def poll(self) -> bool:
        """Upload the worker's newest activations if there are any; True when it did."""
        version, frame = self.worker.frames.peek()
        if version == self._frame_version or frame is None:
            return False
        self._frame_version = version
        self._upload(frame)
        return True

    def submit_clip(self, clip: Clip) -> None:
        """Ask the worker to listen to ``clip`` (its activations arrive through poll())."""
        self.worker.send(Command("clip", clip))

    def apply(self, values: Mapping[str, float]) -> None:
        """Apply live parameters (see control.params.LIVE_PARAMS) that concern the picture."""
        look = self.scene.look
        look.sphere_scale = float(values.get("sphere_scale", look.sphere_scale))
        look.exposure = float(values.get("exposure", look.exposure))
        self.orbit_speed = float(values.get("orbit_speed", self.orbit_speed))
        layer = int(values.get("highlight_layer", self.highlight_layer))
        if layer != self.highlight_layer:
            self.highlight_layer = layer
            self._show_selection()

    def advance(self, dt: float) -> None:
        """Move time-driven things (the camera's orbit) by ``dt`` seconds."""
        self.scene.advance(dt, self.orbit_speed)

    def release(self) -> None:
        """Stop the worker and free GL objects (idempotent)."""
        self.worker.stop()
        if self.scene is not None:
            self.scene.release()
            self.scene = None  # type: ignore[assignment]
