"""A live session without its window or speakers: the worker, the neuron table, the scene.

The live window (app.py) and the headless renderer (render.py) both drive one of these, so
what a video shows is what the window shows.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping

import moderngl
import numpy as np

from ear3d.activity import activity_table
from ear3d.clips import origin_clip
from ear3d.config import Config
from ear3d.control.sonify import start_commands
from ear3d.gfx.scene import Scene
from ear3d.graph import NeuronTable, table_from_activations
from ear3d.layout.file import LayoutMismatch, load_layout, weights_mismatch
from ear3d.layout.grid import grid_positions
from ear3d.messages import ActivationFrame, Clip, Command
from ear3d.ml.worker import Worker
from ear3d.model_folder import layout_file
from ear3d.palette import load_palette

log = logging.getLogger(__name__)

#: How long to wait for the worker's first activations (model build + one forward).
FIRST_FRAME_TIMEOUT_S = 300.0


def placement(
    config: Config, table: NeuronTable, edge_weights: Callable[[], np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Key-frame positions (K, N, 3) float32, edges (E, 2) uint32 and weights (E,) float32.

    ``layout.kind = "force"`` reads models/<name>/layout.npz (made by `ear3d layout`); when it
    is missing or belongs to another network, ear3d says why once and uses the grid, without
    edges. ``edge_weights`` gives the running network's edge weights ((E,) float, see
    ``ear3d.layout.network``); a layout made from other weights is shown with a warning that
    names both fingerprints and the command that remakes it.
    """
    if config.layout.kind == "force":
        path = layout_file(config)
        try:
            layout = load_layout(path, table)
        except (FileNotFoundError, LayoutMismatch) as e:
            log.warning("%s; showing the neurons on a grid instead", e)
        else:
            stale = weights_mismatch(layout, edge_weights()) if edge_weights is not None else None
            if stale:
                log.warning("%s: %s; remake it with `ear3d layout --model %s` (plus this run's other "
                            "--config/--set options)", path, stale, config.model.name)
            return layout.positions, layout.edges, layout.weights
    return grid_positions(table, config.layout)[None], None, None


def running_edge_weights(worker: Worker, config: Config) -> np.ndarray:
    """(E,) float32 edge weights of the network the worker runs (its weights are fixed:
    sonification changes the clip, never the ear, so reading them from here is safe)."""
    from ear3d.layout.network import ear_graph

    return ear_graph(worker.sonifier.ear, config.cqt.n_bins).weight


class Session:
    """Starts the worker on ``clip``, waits for its first activations and builds the scene."""

    def __init__(self, config: Config, ctx: moderngl.Context, clip: Clip | None = None):
        self.config = config
        self.clip = clip if clip is not None else origin_clip(config)
        self.worker = Worker(config).start()
        try:
            self.worker.send(Command("clip", self.clip))
            self._frame_version, frame = self.worker.frames.wait_newer(0, FIRST_FRAME_TIMEOUT_S)
            if frame is None:
                _, error = self.worker.errors.peek()
                raise RuntimeError(f"the worker produced no activations: {error or 'timed out'}")
            self.table: NeuronTable = table_from_activations(frame.layers)
            self.steps = max(a.shape[2] for a in frame.layers.values())
            running = functools.partial(running_edge_weights, self.worker, config)
            self.positions, edges, weights = placement(config, self.table, running)
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
        self.scene.set_activity(activity_table(frame.layers, self.table, self.steps))
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
