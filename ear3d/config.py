"""The root configuration: one frozen dataclass per subsystem, loaded from TOML and validated.

Every field declares what it accepts through ``field(metadata=...)``: ``range=(lo, hi)``
for numbers (inclusive, with the ``scale`` a live control moves them on and an optional
narrower ``live`` range for sliders) or ``choices=(...)`` for strings. The live parameters
(ear3d.control.params) are built from these definitions. Loading checks unknown keys,
types and ranges and raises :class:`ConfigError` naming the key and what is allowed.
Each subsystem receives only its own section.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""


def _num(default: float | int, lo: float, hi: float, doc: str, scale: str = "linear",
         live: tuple[float, float] | None = None) -> Any:
    """A number in ``lo``–``hi``. ``scale`` ("linear" | "log") is how a live control moves it;
    ``live`` a narrower range for sliders and faders (a configured value outside it widens it)."""
    meta: dict[str, Any] = {"range": (lo, hi), "doc": doc, "scale": scale}
    if live is not None:
        meta["live"] = live
    return field(default=default, metadata=meta)


def _choice(default: str, choices: tuple[str, ...], doc: str) -> Any:
    return field(default=default, metadata={"choices": choices, "doc": doc})


def _free(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class AudioConfig:
    """Playback and clip format."""

    sample_rate: int = _num(44100, 8000, 192000, "samples per second of clips and playback")
    clip_seconds: float = _num(4.0, 0.5, 30.0, "length of the looped clip in seconds")
    buffer_frames: int = _num(1024, 64, 8192, "frames per PortAudio callback")
    crossfade_samples: int = _num(2000, 0, 44100, "linear crossfade at a clip hand-over, in samples")
    volume: float = _num(0.8, 0.0, 1.0, "output gain, linear")
    device: str = _free("", "output device: a name substring, an index, or '' for the default")
    stream_rate: int = _num(0, 0, 192000, "device rate if it differs from sample_rate (0 = same, or the device's "
        "default)")
    record: str = _free("", "WAV file that records everything played ('' = off)")
    save_clips: str = _free("", "folder: without a sound device, each new clip is written there as WAV ('' = off)")
    engine: str = _choice("process", ("process", "thread"),
                          "process: the loop plays in an audio process of its own (never starved by drawing or "
                          "the worker); thread: in the app's process (the fallback and the bench baseline)")


@dataclass(frozen=True)
class CQTConfig:
    """Constant-Q front end (the reference's values: docs/reference.md)."""

    fmin: float = _num(40.0, 10.0, 1000.0, "centre frequency of the lowest bin in Hz")
    bins_per_octave: int = _num(24, 6, 96, "bins per octave")
    n_bins: int = _num(216, 12, 512, "number of bins (the top bin must stay below Nyquist)")
    hop_length: int = _num(512, 64, 4096, "hop between CQT frames in samples")
    filter_scale: float = _num(0.43, 0.1, 2.0, "filter length scale (smaller = shorter filters)")
    time_pool: int = _num(2, 1, 8, "max-pool over time after the transform")
    phase: bool = _free(False, "add a second input channel: frame-to-frame phase advance minus the expected one")


@dataclass(frozen=True)
class ModelConfig:
    """CPC network: encoder, autoregressive model, prediction heads."""

    preset: str = _choice("small", ("tiny", "small", "paper"), "architecture size")
    seed: int = _num(0, 0, 2**31 - 1, "seed of the random initialisation")
    pitch_bias: bool = _free(False, "untied pitch biases: each encoder hidden layer learns a bias per (channel, pitch "
                             "row), so it can tell where on the pitch axis a pattern sits (key, register)")
    name: str = _free("default", "model folder under models/ (weights are loaded from there when present)")
    weights: str = _choice("auto", ("auto", "load", "random"),
                           "auto: load models/<name>/ when it holds this preset; load: it must; random: never")


@dataclass(frozen=True)
class TrainConfig:
    """`ear3d train`: contrastive predictive coding on audio (see ear3d.ml.train)."""

    data: str = _free("procedural", "'procedural' (built-in corpus) or a folder of audio files")
    init: str = _free("", "a model (name or folder) whose weights start a new run, e.g. 'default' to fine-tune the "
                      "shipped ear; '' = random (model.seed); ignored when a run resumes")
    steps: int = _num(2200, 1, 10_000_000, "optimizer steps in all (the cosine schedule ends here)")
    batch_size: int = _num(16, 2, 4096, "clips per step (per process under torchrun)")
    learning_rate: float = _num(5e-4, 1e-6, 1.0, "Adam learning rate after warm-up")
    warmup_steps: int = _num(100, 0, 1_000_000, "linear warm-up steps")
    crop_seconds: float = _num(6.0, 1.0, 60.0, "length of one training crop in seconds")
    noise: float = _num(3e-3, 0.0, 0.1, "augmentation: low-passed white noise of this RMS (0 = off)")
    pool_clips: int = _num(400, 0, 1_000_000, "cache scalograms of this many crops and sample from them (0 = CQT every "
        "step)")
    pool_refresh: float = _num(0.5, 0.0, 1024.0, "pooled crops replaced by fresh ones per step, on average")
    score_over_time: bool = _free(False, "negatives from other time steps of the minibatch too")
    segment_contrast: float = _num(0.0, 0.0, 100.0, "weight of the segment contrast: each crop's first half must "
                                   "match its own second half (time-means of a layer) among the batch's (0 = off)")
    segment_temperature: float = _num(0.1, 0.01, 10.0, "temperature of the segment contrast's cosine scores")
    segment_layers: str = _free("", "comma-separated layers whose time-means the segment contrast compares, averaged "
                                "('' = z, the encoder's last layer)")
    pitch_bias_lr_scale: float = _num(1.0, 0.0, 1000.0, "learning rate of the untied pitch biases (model.pitch_bias) "
                                      "relative to train.learning_rate")
    validate_every: int = _num(100, 1, 1_000_000, "steps between validations")
    checkpoint_every: int = _num(100, 1, 1_000_000, "steps between checkpoints")
    validation_clips: int = _num(96, 2, 100_000, "held-out crops for validation")
    seed: int = _num(0, 0, 2**31 - 1, "seed of data order, augmentation and dropout")
    threads: int = _num(0, 0, 256, "torch intra-op threads (0 = torch's default)")
    device: str = _choice("auto", ("auto", "cpu", "cuda"), "torch device (under torchrun: cuda:LOCAL_RANK)")
    amp: str = _choice("auto", ("auto", "bf16", "fp16", "off"), "autocast on CUDA (auto = bf16 where supported)")


@dataclass(frozen=True)
class OptimizeConfig:
    """The concurrent torch worker."""

    device: str = _choice("auto", ("auto", "cpu", "cuda"), "torch device of the worker")
    threads: int = _num(0, 0, 256, "torch intra-op threads for the worker (0 = torch's default)")
    worker: str = _choice("auto", ("auto", "process", "thread"),
                          "process: the steps run in a worker process of its own (never starved by the drawing "
                          "holding the interpreter lock); thread: in the app's process (needed for CUDA-GL interop); "
                          "auto: thread on CUDA, process otherwise")
    # Sonification (ear3d.ml.optimize); every key below except compile can change while the worker runs.
    batch: int = _num(2, 1, 64, "loop copies per step: item 0 is the clean loop, the others are shifted and masked")
    learning_rate: float = _num(0.01, 1e-6, 100.0, "RMS change of the waveform per step (with grad_norm = 'std')",
                                scale="log", live=(1e-5, 1.0))
    parametrization: str = _choice("spectral", ("spectral", "raw"), "what moves: Fourier coefficients or samples")
    spectral_decay: float = _num(0.5, 0.0, 2.0, "spectral: coefficient weight (f/fmin)^-decay; 0.5 = pink updates")
    input_noise: float = _num(1e-4, 0.0, 0.1, "white noise added to the input each step (silence has no gradient)")
    context_seconds: float = _num(4.75, 0.0, 16.0, "seconds of the loop's past heard before it (ar8 hears 4.7 s)")
    time_jitter: float = _num(0.5, 0.0, 30.0, "largest circular shift of the non-clean batch items, in seconds",
                              live=(0.0, 8.0))
    time_mask: float = _num(0.1, 0.0, 1.0, "fraction of the time axis silenced in each non-clean item")
    pitch_mask: float = _num(0.1, 0.0, 1.0, "fraction of the pitch axis silenced in each non-clean item")
    activity_penalty: float = _num(0.0, 0.0, 100.0, "factor of the total-activity penalty", live=(0.0, 10.0))
    noise_penalty: float = _num(0.0, 0.0, 100.0, "factor of the noise penalty (mean scalogram level)", live=(0.0, 10.0))
    hf_penalty: float = _num(0.0, 0.0, 100.0, "factor of the high-frequency penalty", live=(0.0, 10.0))
    mix_origin: float = _num(0.0, 0.0, 1.0, "fraction of the way back to the origin clip after each step")
    grad_norm: str = _choice("std", ("std", "none"), "divide each waveform update by its standard deviation")
    relu_redirect: str = _choice("on", ("on", "off"), "let gradients wake dead ReLUs (Lucid's redirected ReLU)")
    max_amplitude: float = _num(0.95, 0.01, 1.0, "peak bound of the clip: louder clips are scaled down")
    origin: str = _free("silence", "start clip: silence, noise, a clip name in assets/clips/ or an audio file path")
    start_target: str = _free("ar6", "layer a live or rendered session starts sonifying ('' = only listen)")
    # The start target region along each axis of start_target's (channel, pitch, time) grid, as
    # fractions: where it is centred and how much of the axis it spans (steered live).
    channel_pos: float = _num(0.5, 0.0, 1.0, "target region along channels: centre (fraction of the layer's channels)")
    channel_width: float = _num(0.1, 0.0, 1.0, "target region along channels: width (fraction)")
    pitch_pos: float = _num(0.5, 0.0, 1.0, "target region along pitch: centre (fraction of the pitch axis)")
    pitch_width: float = _num(0.3, 0.0, 1.0, "target region along pitch: width (fraction)")
    time_pos: float = _num(0.0, 0.0, 1.0, "target region along the loop: centre (fraction of the loop)")
    time_width: float = _num(1.0, 0.0, 1.0, "target region along the loop: width (fraction)")
    minimise: bool = _free(False, "minimise the target region's activation instead of maximising it")
    history: int = _num(2000, 10, 1_000_000, "loss values kept in the published history")
    precision: str = _choice("fp32", ("fp32", "bf16"), "network precision (bf16 = autocast; CQT and loss stay fp32)")
    compile: str = _choice("off", ("off", "on"), "torch.compile the network (slow first steps; for CUDA)")
    seed: int = _num(0, 0, 2**31 - 1, "seed of the shifts, masks and input noise")


@dataclass(frozen=True)
class LayoutConfig:
    """Placement of neurons in space."""

    kind: str = _choice("force", ("force", "grid"),
                        "placement: 'force' = models/<name>/layout.npz with its edges (the grid when the model has "
                            "none), 'grid' = layers side by side, no edges")
    layer_gap: float = _num(0.5, 0.1, 100.0, "distance between consecutive layers")
    layer_height: float = _num(2.0, 0.1, 100.0, "extent of a layer along the pitch axis")
    channel_spacing: float = _num(0.03, 0.001, 10.0, "distance between neighbouring channels")
    # The force layout (`ear3d layout`, ear3d.layout.engine).
    dim: int = _num(3, 2, 3, "dimensions of the force layout")
    theta: float = _num(0.8, 0.05, 2.0, "Barnes-Hut opening angle (smaller = more exact, slower)")
    repulsion_exponent: float = _num(4.0, 2.0, 8.0, "α: repulsion q_i q_j d/|d|^α")
    spring_exponent: float = _num(2.0, 1.0, 8.0, "β: an edge pulls with s·|d|^β (1 = linear, 2 = "
        "Fruchterman–Reingold's)")
    gravity: float = _num(0.02, 0.0, 10.0, "pull of every vertex towards the centre")
    charge_floor: float = _num(0.5, 0.01, 1.0, "smallest charge, relative to a layer's mean activation")
    coarsest: int = _num(40, 2, 100000, "the multi-level scheme coarsens down to this many vertices")
    max_steps: int = _num(300, 1, 1000000, "most steps per level")
    min_steps: int = _num(50, 0, 1000000, "fewest steps per level before convergence counts")
    tolerance: float = _num(5e-4, 1e-7, 0.1, "converged: mean step below this fraction of the layout radius")
    key_frames: int = _num(8, 1, 64, "layouts over the loop, each from its time window's activations")
    key_frame_steps: int = _num(40, 0, 100000, "steps relaxing each key frame from the base layout")
    radius: float = _num(2.0, 0.01, 1000.0, "RMS radius of the written layout in world units")
    min_separation: float = _num(0.012, 0.0, 0.5, "no two neurons closer than this × the layout's RMS radius (0.012 = "
        "two idle spheres at the default sizes; 0 = as relaxed)")
    seed: int = _num(0, 0, 2**31 - 1, "seed of the initial positions")
    device: str = _choice("auto", ("auto", "cpu", "cuda"), "torch device of the layout engine")


#: The outputs the renderer composes (ear3d.gfx.display): flat, stereo pairs, fulldome, 360°.
#: How neurons are drawn (ear3d.gfx.neurons): auto, point sprites, or instanced quads.
NEURON_MODES = ("auto", "sprites", "quads")
DISPLAY_MODES = ("flat", "sbs", "sbs-half", "top-bottom", "anaglyph", "anaglyph-dubois", "dome", "equirect",
                 "equirect-stereo")


@dataclass(frozen=True)
class RenderConfig:
    """Renderer and offscreen video."""

    width: int = _num(1280, 16, 8192, "frame width in pixels")
    height: int = _num(720, 16, 8192, "frame height in pixels")
    fps: int = _num(30, 1, 240, "frames per second of rendered video")
    sphere_radius: float = _num(0.012, 0.0005, 1.0, "radius of an idle neuron in world units")
    orbit_speed: float = _num(0.06, -10.0, 10.0, "camera orbit speed in radians per second", live=(-1.0, 1.0))
    background: str = _free("#05070d", "background colour as #rrggbb")
    palette: str = _free("default", "palette name under assets/palettes/")
    samples: int = _num(4, 0, 16, "MSAA samples of offscreen targets (0 = off)")
    neuron_mode: str = _choice("auto", NEURON_MODES,
                               "neurons as point sprites (one vertex each: several times faster on a software "
                               "renderer) or instanced quads (any size; a sphere half out of the frame stays half "
                               "visible); auto: sprites while every sphere fits the driver's largest point and the "
                               "camera is outside the network")
    edge_mode: str = _choice("auto", ("auto", "lines", "compute"),
                             "edge rasterizer: auto (time lines and compute on the first frames, keep the faster), GL "
                                 "lines, or a compute shader")
    edge_budget: int = _num(0, 0, 2**31 - 1, "draw at most this many edges, strongest |weight| first (0 = all, or "
        "software_edge_budget)")
    software_edge_budget: int = _num(200_000, 0, 2**31 - 1, "edge budget when edge_budget is 0 and OpenGL runs in "
        "software (llvmpipe, softpipe); 0 = all")
    edge_gain: float = _num(1.0, 0.0, 1000.0, live=(0.0, 8.0), doc="brightness of the edges (light of a typical strong "
        "edge from a fully active neuron, dimmed above 50k edges)")
    edge_cull: float = _num(0.01, 0.0, 1.0, "edges carrying less than this |weight × activity| (typical strong edge = "
        "1) are skipped")
    edge_chunk: int = _num(0, 0, 2**31 - 1, "edges per GPU buffer (0 = the driver's storage-block limit)")
    edge_resolution: int = _num(1, 1, 4, "compute edge rasterizer: draw edges at 1/N of the frame's resolution "
        "(faster, softer)")
    bloom: float = _num(0.8, 0.0, 10.0, "glow strength (0 = off)")
    bloom_threshold: float = _num(0.6, 0.0, 100.0, "light above which pixels glow")
    fog: float = _num(0.7, 0.0, 1.0, "depth fade: how much of its light the far side of the network loses")
    vignette: float = _num(0.6, 0.0, 1.0, "darkening of the background towards the corners")
    fov: float = _num(45.0, 10.0, 120.0, "vertical field of view in degrees")
    camera_smoothing: float = _num(0.12, 0.0, 5.0, "camera smoothing time constant in seconds (0 = none)")
    exposure: float = _num(1.0, 0.05, 20.0, "brightness multiplier of the rendered image"
        , scale="log", live=(0.25, 4.0))
    sphere_scale: float = _num(1.0, 0.05, 20.0, "multiplier of the neuron sphere radius", scale="log", live=(0.25, 4.0))
    # Immersive outputs (ear3d.gfx.display): stereo pairs, fulldome and 360° video.
    display: str = _choice("flat", DISPLAY_MODES,
                           "output: flat; stereo sbs (full-width eyes side by side), sbs-half (squeezed), top-bottom, "
                           "anaglyph (red-cyan), anaglyph-dubois (colour-preserving); dome (fisheye domemaster); "
                           "equirect (360x180 panorama), equirect-stereo (top-bottom, left eye on top)")
    eye_separation: float = _num(0.03, 0.0, 1.0, "stereo: distance between the eyes, as a fraction of the camera's "
                                 "distance to the target (1/30 is the stereographers' rule of thumb)", live=(0.0, 0.2))
    convergence: float = _num(1.0, 0.05, 20.0, "stereo: distance of the zero-parallax plane (the screen), as a "
                              "multiple of the camera's distance to the target", scale="log", live=(0.25, 4.0))
    dome_fov: float = _num(180.0, 90.0, 360.0, "dome: field of view of the fisheye domemaster in degrees")
    dome_tilt: float = _num(0.0, -90.0, 90.0, "dome: degrees the dome's centre is raised above the view direction "
                            "(0 = the network at the centre; 90 = the zenith at the centre, the view direction at the "
                            "bottom rim)")
    cube_size: int = _num(0, 0, 8192, "dome and equirect: cube-map face size in pixels (0 = match the output's "
                          "resolution)")
    # The live window (ear3d live).
    vsync: bool = _free(True, "live window: wait for the display's refresh (off = as many frames as the machine draws)")
    monitor: int = _num(-1, -1, 64, "live window: open fullscreen on this monitor (0 = first; -1 = windowed)")
    scale: float = _num(1.0, 0.1, 2.0, "live window: draw the scene at this fraction of the window's resolution, then "
        "scale it up")
    adaptive: bool = _free(True, "live window: hold render.target_fps by lowering MSAA, the resolution scale, the edge "
        "budget and bloom (off = always full quality)")
    target_fps: float = _num(30.0, 5.0, 240.0, "live window: frame rate that adaptive quality holds")
    min_scale: float = _num(0.35, 0.1, 1.0, "adaptive quality: lowest resolution scale")
    interop: str = _choice("auto", ("auto", "host", "cuda"),
                           "how activations reach the GPU: auto (CUDA-GL interop when possible), host copy, or cuda "
                               "(required)")


@dataclass(frozen=True)
class ControlConfig:
    """Keyboard, MIDI controllers and OSC."""

    midi_input: tuple[str, ...] = _free(("*",), "MIDI input ports to open: name substrings or glob patterns, a "
                                        "string or a list ('*' = every port, '' = MIDI off)")
    midi_mapping: str = _free("auto", "mapping under assets/midi/ or a .toml path; 'auto' picks one per port by name "
                                      "(else generic)")
    apply_hz: float = _num(120.0, 1.0, 1000.0, "most times a second coalesced controller values are applied "
                                                "(at most once a frame)")
    hot_plug_s: float = _num(1.0, 0.1, 10.0, "seconds between scans for MIDI ports plugged in or out")
    osc: bool = _free(True, "listen for OSC messages (/ear3d/<parameter> value)")
    osc_host: str = _free("127.0.0.1", "interface OSC listens on (anything but loopback is reachable from the network)")
    osc_port: int = _num(9000, 0, 65535, "UDP port OSC listens on (0 = any free port)")


@dataclass(frozen=True)
class Config:
    """The root: one section per subsystem."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    cqt: CQTConfig = field(default_factory=CQTConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    optimize: OptimizeConfig = field(default_factory=OptimizeConfig)
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    control: ControlConfig = field(default_factory=ControlConfig)

    def replace(self, overrides: Mapping[str, Mapping[str, Any]]) -> Config:
        """A copy with ``{section: {key: value}}`` applied and validated."""
        sections = {}
        for f in dataclasses.fields(self):
            current = getattr(self, f.name)
            values = dict(overrides.get(f.name, {}))
            sections[f.name] = _build_section(type(current), f.name, {**_as_dict(current), **values})
        unknown = set(overrides) - set(sections)
        if unknown:
            raise ConfigError(f"unknown config section {sorted(unknown)[0]!r}; allowed: {', '.join(sections)}")
        return Config(**sections)


def _as_dict(section: Any) -> dict[str, Any]:
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(section: str, key: str, tp: Any, value: Any) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted where floats are asked."""
    where = f"{section}.{key}"
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {type(value).__name__} {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{where} must be finite, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {type(value).__name__} {value!r}")
        return value
    if tp == tuple[str, ...]:  # a single string stands for a list of one
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
            raise ConfigError(f"{where} must be a string or a list of strings, got {type(value).__name__} {value!r}")
        return tuple(items)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {type(value).__name__} {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported field type {_type_name(tp)}")  # a bug in this module


def _build_section(cls: type, name: str, values: Mapping[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = [k for k in values if k not in fields]
    if unknown:
        raise ConfigError(f"unknown config key {name}.{unknown[0]}; allowed keys of [{name}]: {', '.join(fields)}")
    checked = {}
    for key, value in values.items():
        tp = hints[key]
        value = _coerce(name, key, tp, value)
        meta = fields[key].metadata
        if "range" in meta:
            lo, hi = meta["range"]
            if not lo <= value <= hi:
                raise ConfigError(f"{name}.{key} = {value!r} is out of range; allowed: {lo} to {hi}")
        if "choices" in meta and value not in meta["choices"]:
            allowed = ", ".join(repr(c) for c in meta["choices"])
            raise ConfigError(f"{name}.{key} = {value!r} is not allowed; choose one of {allowed}")
        checked[key] = value
    section = cls(**checked)
    _check_section(name, section)
    return section


def _check_section(name: str, section: Any) -> None:
    """Constraints that involve more than one field."""
    if isinstance(section, RenderConfig):
        parse_hex_color(section.background, f"{name}.background")


def validate_cross_sections(config: Config) -> None:
    """Constraints between sections, e.g. the top CQT bin must stay below Nyquist."""
    top = config.cqt.fmin * 2 ** ((config.cqt.n_bins - 1) / config.cqt.bins_per_octave)
    nyquist = config.audio.sample_rate / 2
    if top >= nyquist:
        raise ConfigError(
            f"cqt.n_bins = {config.cqt.n_bins} puts the top bin at {top:.0f} Hz, at or above Nyquist "
            f"({nyquist:.0f} Hz for audio.sample_rate = {config.audio.sample_rate}); lower cqt.n_bins or cqt.fmin"
        )


def parse_hex_color(text: str, key: str = "colour") -> tuple[float, float, float]:
    """'#rrggbb' → (r, g, b) floats in 0–1."""
    s = text.strip()
    if len(s) != 7 or s[0] != "#":
        raise ConfigError(f"{key} = {text!r} is not a colour; use #rrggbb")
    try:
        return tuple(int(s[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]
    except ValueError:
        raise ConfigError(f"{key} = {text!r} is not a colour; use #rrggbb") from None


def from_mapping(data: Mapping[str, Any]) -> Config:
    """Build a validated Config from ``{section: {key: value}}``."""
    for section, values in data.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"config section [{section}] must be a table, got {type(values).__name__}")
    config = Config().replace(data)
    validate_cross_sections(config)
    return config


def load(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load a TOML file (or the defaults), then apply ``section.key=value`` overrides."""
    data: dict[str, dict[str, Any]] = {}
    if path is not None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read config file {p}: {e.strerror or e}") from None
        except UnicodeDecodeError as e:
            raise ConfigError(f"config file {p} is not a TOML text file (byte {e.object[e.start]:#04x} at "
                              f"offset {e.start} is not UTF-8)") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {p} is not valid TOML: {e}") from None
    for item in overrides or []:
        section, key, value = parse_override(item)
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            raise ConfigError(f"config section [{section}] must be a table")
        data[section][key] = value
    return from_mapping(data)


def parse_override(item: str) -> tuple[str, str, Any]:
    """'render.width=640' → ('render', 'width', 640). Values are TOML; bare words are strings."""
    name, sep, raw = item.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot or not section or not key:
        raise ConfigError(f"override {item!r} must look like section.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def describe() -> str:
    """Every key with its default and what it accepts, as TOML comments (for `--help`)."""
    lines = []
    for f in dataclasses.fields(Config):
        lines.append(f"[{f.name}]")
        factory = f.default_factory
        assert callable(factory)  # every section is a field(default_factory=...)
        for sf in dataclasses.fields(factory()):
            meta = sf.metadata
            allowed = ""
            if "range" in meta:
                allowed = f" ({meta['range'][0]} to {meta['range'][1]})"
            elif "choices" in meta:
                allowed = f" ({' | '.join(meta['choices'])})"
            lines.append(f"{sf.name} = {sf.default!r}  # {meta.get('doc', '')}{allowed}")
    return "\n".join(lines)
