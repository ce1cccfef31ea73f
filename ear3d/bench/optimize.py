"""Sonification: does gradient ascent make the chosen neurons fire, and how fast does it step?

Selectivity: in an early, a middle and a late layer (``--layers``), the target is one
neuron row: the middle pitch row of the channel that music drives furthest above where the
start clip leaves it (by the model's statistics: data mean − silence level, minus the start
clip's level where that is above silence), over the whole loop — a neuron that can be woken, as a person aiming at a
quiet neuron would choose. After ``--steps`` steps from silence and from noise (the worker's
defaults otherwise), the rows give, in normalised units (0 = silence, 1 = one typical
neuron's spread over data):

* ``target start`` / ``target end``: the target region's mean activation;
* ``target rise``: end ÷ max(start, 1) — the start is floored at one unit because silence
  sits at 0 by construction (criterion without a dataset: ≥ 10);
* ``target gain`` and ``non-target gain``: end − start of the target, and of the mean of the
  layer's other neurons;
* ``data p99``: the 99th percentile of the same target region over held-out real music
  (``--dataset``; default the real-music corpus's held-out pieces when `ear3d corpus build`
  has run): the "dataset examples" of feature visualization, each clip heard as a loop the
  way the optimizer hears its own;
* ``end ÷ data p99`` (criterion: > 1) and ``gain ÷ layer gain``: the target's gain over the
  mean gain of the layer's other neurons (criterion: ≥ 3; infinite when the rest of the layer
  does not gain);
* ``pass``: 1 when the gain ratio holds and, with a dataset, the end beats its 99th percentile;
  without one, the rise stands in for it.

Speed: steps per second for each preset (``--presets``) at each batch (``--batches``),
the engine (:class:`~ear3d.ml.optimize.Sonifier`: octave-grouped CQT, frozen weights) next
to a straightforward eager fp32 loop (nnAudio's CQT, weights left trainable, torch.roll
shifts, in-place masks), timed alternately in the same run; on CUDA also the engine under
bf16 autocast and bf16 + torch.compile (CUDA graphs). Both loops do the same work per
step: B items of context + window, masks, normalised objective, backward, update.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ear3d.bench import Row
from ear3d.config import Config

if TYPE_CHECKING:
    from ear3d.ml.optimize import StepResult

HELP = "sonification: target selectivity per layer (from silence and noise) and steps/s vs an eager loop"

ORIGINS = ("silence", "noise")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layers", default="enc1,enc5,ar6", help="early, middle, late layer (default enc1,enc5,ar6)")
    parser.add_argument("--steps", type=int, default=200, help="selectivity: steps per run (default 200)")
    parser.add_argument("--presets", default="", help="speed: presets (default: the configured one, and paper)")
    parser.add_argument("--batches", default="1,8", help="speed: batch sizes (default 1,8)")
    parser.add_argument("--speed-steps", type=int, default=3, help="speed: timed steps per variant (default 3)")
    parser.add_argument("--skip", choices=("selectivity", "speed"), action="append", default=[],
                        help="leave out a part (repeatable)")
    parser.add_argument("--out", type=Path, help="also write PNGs (target over steps, scalograms) and WAVs here")
    parser.add_argument("--dataset", type=Path,
                        help="held-out music for each target's 99th percentile: a folder of audio files or a corpus "
                             "(default: the real-music corpus's held-out pieces, when built)")
    parser.add_argument("--dataset-clips", type=int, default=96,
                        help="clips of the held-out music to measure (default 96)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads on the CPU (default 1: shared machines slow down badly with more)")


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    import torch

    from ear3d.ml.device import choose_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(config.optimize.device)
    rows: list[Row] = []
    if "selectivity" not in args.skip:
        layers = [s.strip() for s in args.layers.split(",") if s.strip()]
        clips, described = dataset_clips(args.dataset, config, args.dataset_clips)
        if clips is None:
            print(f"bench optimize: {described}: no 99th percentile of held-out music")
        rows += selectivity(config, layers, args.steps, device, args.out, clips)
    if "speed" not in args.skip:
        presets = [p.strip() for p in args.presets.split(",") if p.strip()] or list(
            dict.fromkeys([config.model.preset, "paper"]))
        batches = [int(b) for b in args.batches.split(",") if b.strip()]
        rows += speed(config, presets, batches, args.speed_steps, device)
    return rows


# -- selectivity ----------------------------------------------------------------------------


def target_selection(stats, layer: str, shape: tuple[int, int, int], start: np.ndarray | None = None):
    """The middle pitch row of the channel of ``layer`` that music drives furthest above the
    start clip's level, over the whole loop.

    stats: the model's Stats; shape: (C, F, T) of the layer; start: (C, F, T) normalised
    activations of the start clip (None = silence, 0 everywhere).
    """
    from ear3d.ml.objectives import Selection, index_region

    s = stats.layers[layer]
    row = shape[1] // 2
    headroom = (s.mean[:, row] - s.silence[:, row]) / s.scale  # (C,) data level above silence
    if start is not None:  # what the start clip already drives is not woken by the steps
        headroom = headroom - np.maximum(start[:, row].mean(axis=-1), 0.0)
    channel = index_region(int(np.argmax(headroom)), shape[0])
    return Selection.parse({"layer": layer, "channel": channel, "pitch": index_region(row, shape[1])})


#: at least this many times the mean gain of the layer's other neurons (the goal)
GAIN_RATIO_GOAL = 3.0
#: end ÷ max(start, 1), the bar when no dataset gives one
RISE_GOAL = 10.0
DATA_PERCENTILE = 99.0


def dataset_clips(folder: Path | None, config: Config, count: int) -> tuple[np.ndarray | None, str]:
    """Up to ``count`` loop-length clips (N, S) float32 of held-out music, spread evenly over the
    files, and where they came from. ``folder``: a corpus (its held-out pieces) or any folder of
    audio (every file); None: the default corpus's held-out pieces. (None, why) without music."""
    from ear3d.argtypes import UsageError
    from ear3d.clips import AudioFileError, read_audio
    from ear3d.ml.data import list_audio_files
    from ear3d.ml.folder_eval import cut_clips
    from ear3d.ml.music_corpus import MANIFEST, default_folder, read_manifest

    source = Path(folder).expanduser() if folder is not None else default_folder()
    if folder is not None and not source.is_dir():
        raise UsageError(f"--dataset {folder}: not a folder of audio files or a corpus")
    if (source / MANIFEST).is_file():
        files = [source / e["file"] for e in read_manifest(source)["pieces"] if e["split"] == "eval"]
        described = f"the held-out pieces of the corpus in {source}"
    elif folder is not None:
        files = list_audio_files(source)
        described = f"the audio files in {source}"
    else:
        return None, f"no real-music corpus in {source} (`make corpus` builds it; or pass --dataset DIR)"
    sr = config.audio.sample_rate
    n = round(config.audio.clip_seconds * sr)
    per_file = max(1, -(-count // max(len(files), 1)))
    clips = []
    for path in files:
        try:
            clips.append(cut_clips(read_audio(path, sr), n, per_file))
        except AudioFileError as e:
            print(f"bench optimize: skipping {e}")
    found = np.concatenate(clips) if clips else np.zeros((0, n), np.float32)
    if not len(found):
        return None, f"{described}: no file long enough for a {config.audio.clip_seconds:g} s clip"
    keep = np.unique(np.linspace(0, len(found) - 1, min(count, len(found))).round().astype(int))
    return found[keep], f"{described} ({len(keep)} clips)"


def dataset_levels(son, layers: list[str], clips: np.ndarray) -> dict[str, np.ndarray]:
    """Normalised activations of ``layers`` for each clip heard as the loop:
    layer → (N, C, F, T) float32. Leaves the Sonifier on the last clip (set a new origin after)."""
    from tqdm import tqdm

    out: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    for clip in tqdm(clips, desc="held-out music", unit="clip", leave=False):
        son.set_origin(clip)
        acts = son.normalized()
        for layer in layers:
            out[layer].append(acts[layer].float().cpu().numpy())
    return {layer: np.stack(a) for layer, a in out.items()}


def data_percentile(levels: np.ndarray, sel, percentile: float = DATA_PERCENTILE) -> float:
    """The ``percentile`` over clips of the target region's mean: levels (N, C, F, T)."""
    from ear3d.ml.objectives import selected_mask

    mask = selected_mask((sel,), {sel.layer: levels.shape[1:]})[sel.layer]
    return float(np.percentile(levels[:, mask].mean(axis=1), percentile))


def gain_ratio(gain: float, rest_gain: float) -> float:
    """The target's gain over the mean gain of the layer's other neurons (inf when those do not gain)."""
    return gain / rest_gain if rest_gain > 0 else math.inf


def measure(son, sel) -> tuple[float, float]:
    """(target mean, non-target mean) of the current loop's normalised activations in sel.layer."""
    from ear3d.ml.objectives import selected_mask

    a = son.normalized()[sel.layer].float().cpu().numpy()
    mask = selected_mask((sel,), {sel.layer: a.shape})[sel.layer]
    return float(a[mask].mean()), float(a[~mask].mean()) if (~mask).any() else math.nan


def selectivity(config: Config, layers: list[str], steps: int, device, out: Path | None,
                dataset: np.ndarray | None = None) -> list[Row]:
    """Rows of the module doc for each layer and origin; ``dataset``: held-out clips (N, S)
    float32 for the 99th percentile (None leaves those rows and criteria out)."""
    from ear3d.argtypes import UsageError
    from ear3d.clips import write_wav
    from ear3d.ml.loop import LoopedEar
    from ear3d.ml.model import build_ear
    from ear3d.ml.objectives import combine
    from ear3d.ml.optimize import Sonifier, origin_samples
    from ear3d.ml.pictures import curves_png, scalograms_png
    from ear3d.ml.stats import stats_for
    from ear3d.model_folder import stats_folder

    ear = build_ear(config).to(device)
    looped = LoopedEar(ear, round(config.audio.clip_seconds * config.audio.sample_rate),
                       config.optimize.context_seconds).to(device)
    son = Sonifier(ear, config, stats_for(looped, stats_folder(config), progress=True), device)
    rows: list[Row] = []
    curves: dict[str, list[float]] = {}
    for layer in layers:
        if layer not in son.shapes:
            raise UsageError(f"--layers: unknown layer {layer!r}; layers: {', '.join(son.shapes)}")
    levels = dataset_levels(son, layers, dataset) if dataset is not None and len(dataset) else {}
    for layer in layers:
        for origin in ORIGINS:
            son.set_origin(origin_samples(origin, son.sample_rate, son.n_samples, seed=config.optimize.seed))
            sel = target_selection(son.stats, layer, son.shapes[layer],
                                   son.normalized()[layer].float().cpu().numpy())
            son.set_objective(combine([sel]))
            t0, n0 = measure(son, sel)
            before = son.listen().scalogram.cpu().numpy()
            history: list[float] = [t0]
            son.run(steps, progress=True, on_step=partial(_append_target, history))
            t1, n1 = measure(son, sel)
            history.append(t1)
            rise = t1 / max(t0, 1.0)
            ratio = gain_ratio(t1 - t0, n1 - n0)
            case = f"{layer} from {origin}"
            rows += [
                Row(case, "target start", t0, "σ"),
                Row(case, "target end", t1, "σ"),
                Row(case, "target rise", rise, "×"),
                Row(case, "target gain", t1 - t0, "σ"),
                Row(case, "non-target gain", n1 - n0, "σ"),
                Row(case, "gain ÷ layer gain", ratio, "×"),
            ]
            passed = ratio >= GAIN_RATIO_GOAL
            if layer in levels:  # beyond what music does: the dataset's bar replaces the fixed rise
                p99 = data_percentile(levels[layer], sel)
                rows += [Row(case, "data p99", p99, "σ"),
                         Row(case, "end ÷ data p99", t1 / p99 if p99 > 0 else math.inf, "×")]
                passed = passed and t1 > p99
            else:
                passed = passed and rise >= RISE_GOAL
            rows.append(Row(case, "pass", float(passed), "1 = yes"))
            curves[case] = history
            if out is not None:
                after = son.listen()
                name = f"{layer}_{origin}"
                scalograms_png(out / f"scalogram_{name}.png",
                               {"before": before, "after": after.scalogram.cpu().numpy()})
                write_wav(out / f"sonified_{name}.wav", after.waveform.cpu().numpy(), son.sample_rate)
    if out is not None:
        for origin in ORIGINS:
            curves_png(out / f"target_from_{origin}.png", {k: v for k, v in curves.items() if k.endswith(origin)},
                       f"target region from {origin} ({config.model.preset})", "normalised activation")
    return rows


# -- speed ----------------------------------------------------------------------------------


def unit_stats(shapes: dict[str, tuple[int, int, int]]):
    """Statistics that leave activations as they are (silence 0, scale 1): timing needs no real ones."""
    from ear3d.ml.stats import LayerStats, Stats

    layers = {n: LayerStats(np.zeros(s[:2], np.float32), np.zeros(s[:2], np.float32), np.ones(s[:2], np.float32), 1.0)
              for n, s in shapes.items()}
    return Stats(layers, "unit")


def _append_target(history: list[float], result: StepResult) -> None:
    history.append(result.target)


def eager_loop(ear, son) -> Callable[[], None]:
    """One step of a straightforward eager fp32 implementation of the same update (see module doc)."""
    import torch

    from ear3d.ml.regularizers import normalize

    s = son.settings
    looped = son.looped
    n = son.n_samples
    context = looped.context_frames * looped.frame_samples
    stat_tensors = son.stats.tensors(son.device)
    generator = torch.Generator().manual_seed(0)
    state = {"x": (torch.rand(n, generator=generator) * 0.2 - 0.1).to(son.device)}

    def step() -> None:
        x = state["x"].detach().requires_grad_(True)
        tiled = x.repeat(math.ceil(context / n) + 1)[-(context + n):]  # the loop's end, then the loop
        jitter = round(s.time_jitter * son.sample_rate)
        items = [tiled] + [torch.roll(tiled, int(torch.randint(-jitter, jitter + 1, (1,), generator=generator)))
                           for _ in range(s.batch - 1)]
        scal = ear.scalogram(torch.stack(items)).clone()
        f, t = scal.shape[2], scal.shape[3]
        for b in range(1, s.batch):
            f0 = int(torch.randint(0, f - round(s.pitch_mask * f) + 1, (1,), generator=generator))
            t0 = int(torch.randint(0, t - round(s.time_mask * t) + 1, (1,), generator=generator))
            scal[b, :, f0 : f0 + round(s.pitch_mask * f)] = 0
            scal[b, :, :, t0 : t0 + round(s.time_mask * t)] = 0
        acts = ear.model(scal)
        window = {k: a[..., -looped.window_steps[k]:] for k, a in acts.items()}
        loss = -son.objective(normalize(window, stat_tensors)).mean()
        loss.backward()
        g = x.grad
        assert g is not None  # x requires grad and the loss depends on it
        state["x"] = (x - s.learning_rate * g / g.std().clamp_min(1e-30)).detach().clamp(-1, 1)
        float(loss.detach())  # wait for the device, as the engine does once per step

    return step


def speed(config: Config, presets: list[str], batches: list[int], steps: int, device) -> list[Row]:
    import torch
    from tqdm import tqdm

    from ear3d.ml.model import build_ear
    from ear3d.ml.objectives import region
    from ear3d.ml.optimize import Sonifier

    rows: list[Row] = []
    for preset in presets:
        cfg = config.replace({"model": {"preset": preset}})
        engine_ear = build_ear(cfg).to(device)
        stats = _stats_placeholder(engine_ear, cfg, device)
        eager_ear = build_ear(cfg).to(device)  # weights left trainable, as a plain loop would
        objective = region("enc5", pitch=(0.5, 0.5))
        for batch in batches:
            variants: dict[str, Callable[[], object]] = {}
            sons = {"engine fp32": replace(cfg.optimize, batch=batch)}
            if device.type == "cuda":
                sons["engine bf16"] = replace(cfg.optimize, batch=batch, precision="bf16")
                sons["engine bf16 + compile"] = replace(cfg.optimize, batch=batch, precision="bf16", compile="on")
            reference = None
            for name, settings in sons.items():
                son = Sonifier(engine_ear, replace(cfg, optimize=settings), stats, device)
                son.set_origin((np.random.default_rng(0).uniform(-0.1, 0.1, son.n_samples)).astype(np.float32))
                son.set_objective(objective)
                variants[name] = son.step
                if reference is None:
                    reference = son
            variants = {"eager fp32 (straightforward)": eager_loop(eager_ear, reference), **variants}
            warmups = {name: (3 if "compile" in name else 1) for name in variants}
            for name, fn in variants.items():
                for _ in range(warmups[name]):
                    fn()
            spent = dict.fromkeys(variants, 0.0)
            for _ in tqdm(range(steps), desc=f"speed {preset} batch {batch}", unit="round"):
                for name, fn in variants.items():  # alternate: the machine's noise hits all alike
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    t = time.perf_counter()
                    fn()
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    spent[name] += time.perf_counter() - t
            rate = {name: steps / max(spent[name], 1e-9) for name in variants}
            for name, r in rate.items():
                rows.append(Row(f"{preset} batch {batch} · {name}", "steps/s", r, "1/s"))
            base = rate["eager fp32 (straightforward)"]
            for name, r in rate.items():
                if name.startswith("engine"):
                    rows.append(Row(f"{preset} batch {batch} · {name}", "vs eager", r / base, "×"))
    return rows


def _stats_placeholder(ear, cfg: Config, device):
    """Unit statistics for ``ear`` without measuring anything (shapes from one silent pass)."""
    import torch

    from ear3d.ml.loop import LoopedEar

    n = round(cfg.audio.clip_seconds * cfg.audio.sample_rate)
    looped = LoopedEar(ear, n, cfg.optimize.context_seconds).to(device)
    with torch.inference_mode():
        acts = looped(torch.zeros(1, n, device=device))
    return unit_stats({k: tuple(a.shape[1:]) for k, a in acts.items()})
