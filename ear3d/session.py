"""A live session without its window or speakers: the worker, the neuron table, the scene.

The live window (app.py) and the headless renderer (render.py) both drive one of these, so
what a video shows is what the window shows.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import moderngl
import numpy as np

from ear3d.activity import PreparedFrame, TableFeed, activity_table, prepare_frame
from ear3d.clips import origin_clip
from ear3d.config import DISPLAY_MODES, Config, ConfigError
from ear3d.control.params import ParamSpec, live_specs
from ear3d.control.sonify import check_start_target, start_commands
from ear3d.gfx.interop import cuda_interop_problem
from ear3d.gfx.scene import Scene
from ear3d.graph import NeuronTable, table_from_activations
from ear3d.layout.file import LayoutMismatch, load_layout, weights_mismatch
from ear3d.layout.grid import grid_positions
from ear3d.messages import ActivationFrame, Clip, Command
from ear3d.ml.worker import Worker
from ear3d.model_folder import layout_file
from ear3d.palette import load_palette
from ear3d.worker_client import ProcessWorker, new_worker, worker_kind

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


def check_interop(config: Config, ctx: moderngl.Context) -> None:
    """``render.interop = "cuda"`` where the worker's activations (on the device
    ``optimize.device`` chooses) cannot reach ``ctx`` through CUDA–GL interop: a ConfigError
    naming the reason, in one line (also when the worker runs in a process of its own: its
    activations reach this process on the host). Call on the GL thread before the model is
    built, so that a wrong setting fails fast."""
    if config.render.interop != "cuda":
        return
    from ear3d.ml.device import choose_device

    problem = cuda_interop_problem(ctx, str(choose_device(config.optimize.device)))
    if problem:
        reason = " ".join(problem.split())
        raise ConfigError(f"render.interop = 'cuda' cannot work here: {reason}; use 'auto' or 'host'")
    if worker_kind(config) == "process":
        raise ConfigError("render.interop = 'cuda' needs the activations in this process: set optimize.worker = "
                          "'thread' (or 'auto' on CUDA), or render.interop to 'auto' or 'host'")


def running_edge_weights(worker: Worker | ProcessWorker, config: Config) -> np.ndarray:
    """(E,) float32 edge weights of the network the worker runs (its weights are fixed:
    sonification changes the clip, never the ear, so reading them from here is safe)."""
    from ear3d.layout.network import ear_graph

    if isinstance(worker, ProcessWorker):
        return worker.edge_weights()  # computed where the ear is

    return ear_graph(worker.sonifier.ear, config.cqt.n_bins).weight


@dataclass
class Prepared:
    """What a session needs before any GL: the running worker with its first activations, the
    neuron table and the placement (see :func:`prepare`)."""

    worker: Worker | ProcessWorker
    clip: Clip
    frame: ActivationFrame
    frame_version: int
    table: NeuronTable
    steps: int
    positions: np.ndarray
    edges: np.ndarray | None
    weights: np.ndarray | None

    @property
    def layer_names(self) -> list[str]:
        return [info.name for info in self.table.layers]


def prepare(config: Config, clip: Clip | None = None) -> Prepared:
    """Build the model, start the worker on ``clip`` (the origin clip when None), wait for its
    first activations and place the neurons. No GL: safe on a background thread."""
    clip = clip if clip is not None else origin_clip(config)
    worker = new_worker(config).start()
    try:
        worker.send(Command("clip", clip))
        version, frame = worker.frames.wait_newer(0, FIRST_FRAME_TIMEOUT_S)
        if frame is None:
            _, error = worker.errors.peek()
            raise RuntimeError(f"the worker produced no activations: {error or 'timed out'}")
        table = table_from_activations(frame.layers)
        check_start_target(config.optimize.start_target, [info.name for info in table.layers])
        steps = max(a.shape[2] for a in frame.layers.values())
        positions, edges, weights = placement(config, table, functools.partial(running_edge_weights, worker, config))
    except BaseException:
        worker.stop()
        raise
    return Prepared(worker, clip, frame, version, table, steps, positions, edges, weights)


class Preparation:
    """Runs :func:`prepare` on a thread so that a window can draw while the model loads.

    ``result()`` is None while it runs, then the Prepared (once; later calls give None), and
    re-raises what went wrong. ``cancel()`` stops a worker that was built meanwhile.
    """

    def __init__(self, config: Config, clip: Clip | None = None):
        self._lock = threading.Lock()
        self._prepared: Prepared | None = None
        self._error: BaseException | None = None
        self._taken = self._cancelled = False
        self._thread = threading.Thread(target=self._run, args=(config, clip), name="ear3d-prepare", daemon=True)
        self._thread.start()

    def _run(self, config: Config, clip: Clip | None) -> None:
        try:
            prepared = prepare(config, clip)
        except BaseException as e:  # handed to the caller by result()
            with self._lock:
                self._error = e
            return
        with self._lock:
            if self._cancelled:
                prepared.worker.stop()
            else:
                self._prepared = prepared

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> Prepared | None:
        with self._lock:
            if self._error is not None:
                error, self._error = self._error, None
                self._taken = True
                raise error
            if self._prepared is None or self._taken:
                return None
            self._taken = True
            return self._prepared

    def cancel(self, timeout: float = 30.0) -> None:
        """Stop what was built (idempotent); waits up to ``timeout`` s for the thread."""
        with self._lock:
            self._cancelled = True
            prepared, self._prepared = (None if self._taken else self._prepared), None
        if prepared is not None:
            prepared.worker.stop()
        self._thread.join(timeout)


class Session:
    """A worker with its first activations and the scene drawing them.

    ``prepared`` comes from :func:`prepare` (made here when None); ``start_values`` are live
    parameter values the session starts with (the config's, via control.params, for any
    not given): the start target region goes to the worker.
    """

    def __init__(self, config: Config, ctx: moderngl.Context, clip: Clip | None = None,
                 prepared: Prepared | None = None, start_values: Mapping[str, float] | None = None):
        self.config = config
        if prepared is None:
            check_interop(config, ctx)
            prepared = prepare(config, clip)
        self.worker = prepared.worker
        self.clip = prepared.clip
        self._frame_version = prepared.frame_version
        self.table: NeuronTable = prepared.table
        self.steps = prepared.steps
        self.positions = prepared.positions
        try:
            self.scene = Scene(ctx, self.positions, self.table.layer, load_palette(config.render.palette),
                               config.render, prepared.edges, prepared.weights,
                               layer_names=prepared.layer_names)
        except BaseException:
            self.worker.stop()
            raise
        self.frame = prepared.frame
        self.orbit_speed = config.render.orbit_speed
        self.highlight_layer = -1
        self._targets = np.zeros(self.table.size, bool)
        self._shown_selection: np.ndarray | None = None
        self._upload(prepare_frame(prepared.frame, self.table, self.steps))
        #: new worker frames → activity tables, off the frame loop's thread
        self._feed = TableFeed(self.worker.frames, self.table, self.steps, self._frame_version)
        self._feed_version = 0  # the feed's last result uploaded
        self.layer_names = prepared.layer_names
        #: the live parameters sized by this model and seeded from the config
        self.param_specs: tuple[ParamSpec, ...] = live_specs(config, self.layer_names)
        values = {spec.name: spec.default for spec in self.param_specs}
        values.update(start_values or {})
        self.apply(values)
        for command in start_commands(values, self.layer_names):
            self.worker.send(command)

    def _upload(self, prepared: PreparedFrame) -> None:
        frame = prepared.frame
        self.frame = frame
        # On the host the table was built by the TableFeed's thread and is copied once; on CUDA
        # it is built here on the GPU and reaches GL through interop (or one host copy when GL
        # runs elsewhere).
        table = prepared.activity
        if table is None:
            table = activity_table(frame.device_layers, self.table, self.steps)
        #: how the last activity table reached the GL buffer: "cuda" (interop) or "host"
        self.activity_path = self.scene.set_activity(table)
        self._targets = prepared.targets
        self._show_selection()

    def _show_selection(self) -> None:
        """Highlight the optimisation targets and the highlighted layer (uploaded on change only)."""
        mask = self._targets | (self.table.layer == self.highlight_layer)
        if self._shown_selection is None or not np.array_equal(mask, self._shown_selection):
            self.scene.set_selection(mask)
            self._shown_selection = mask

    def poll(self) -> bool:
        """Upload the worker's newest activations if there are any; True when it did."""
        version, prepared = self._feed.ready.peek()
        if version == self._feed_version or prepared is None:
            return False
        self._feed_version = version
        self._upload(prepared)
        return True

    def submit_clip(self, clip: Clip) -> None:
        """Ask the worker to listen to ``clip`` (its activations arrive through poll())."""
        self.worker.send(Command("clip", clip))

    def apply(self, values: Mapping[str, float]) -> None:
        """Apply live parameters (see control.params) that concern the picture."""
        look = self.scene.look
        for name in ("sphere_scale", "exposure", "edge_gain", "bloom", "fog"):
            if name in values:
                setattr(look, name, float(values[name]))
        if "fov" in values:
            self.scene.rig.set_fov(float(values["fov"]))
        if "display" in values:
            self.scene.set_display(DISPLAY_MODES[int(values["display"])])
        for name in ("eye_separation", "convergence"):
            if name in values:
                setattr(self.scene.display_settings, name, float(values[name]))
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
        feed = self.__dict__.pop("_feed", None)
        if feed is not None:
            feed.stop()
        if self.scene is not None:
            self.scene.release()
            self.scene = None  # type: ignore[assignment]
