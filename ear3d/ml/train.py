"""Training the ear with contrastive predictive coding.

One function, :func:`train`, runs the same way on a laptop CPU and on a GPU node: under
``torchrun --nproc_per_node N`` each process takes one GPU (DistributedDataParallel, NCCL;
gloo on CPUs), draws its own data and averages gradients; rank 0 validates and writes
checkpoints. On CUDA the network runs under bf16 (or fp16 with loss scaling) autocast; the
CQT and the loss stay float32.

Reproducibility: step s of rank r draws its data and dropout from seeds derived from
(train.seed, s, r), so a CPU run with the same config gives the same weights, and a run
resumed from ``train_state.safetensors`` continues exactly (with ``train.pool_clips = 0``;
a resumed pooled run rebuilds its pool from a fresh seed). A kill loses at most the steps
since the last checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ear3d import paths
from ear3d.config import Config
from ear3d.ml import checkpoint as ckpt
from ear3d.ml.data import ScalogramPool, Source, crop_batch, make_sources, scalograms
from ear3d.ml.loss import ContrastiveObjective, cpc_loss, segment_contrast
from ear3d.ml.model import CPCModel, Ear, is_pitch_bias
from ear3d.model_folder import MODEL_FILE, STATE_FILE, STATS_FILE, model_dir

log = logging.getLogger(__name__)

CURVES_FILE = "training_curves.png"
#: seconds of the clips the activation statistics are measured on (the live loop's length)
LOG_EVERY = 10


@dataclass
class Dist:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def setup_distributed(device_spec: str) -> Dist:
    """Read torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK), join the process group and
    choose this process's device: cuda:LOCAL_RANK when CUDA is used, else the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_spec == "cuda" or (device_spec == "auto" and torch.cuda.is_available())
    if device_spec == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device = 'cuda' but torch sees no CUDA device")
    device = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Dist(rank, world, local, device)


def amp_dtype(spec: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``train.amp`` on ``device`` (None: full float32)."""
    if device.type != "cuda" or spec == "off":
        return None
    if spec == "fp16":
        return torch.float16
    if spec == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def parameter_groups(model: nn.Module, pitch_bias_lr_scale: float) -> list[dict[str, Any]]:
    """Adam's parameter groups: every parameter at the base rate; untied pitch biases, when the
    model has them, in a group of their own at ``pitch_bias_lr_scale`` times it (each sees the
    gradient of one pitch row, so at the base rate they barely leave zero). ``lr_scale`` is read
    by the training loop's schedule."""
    named = list(model.named_parameters())
    biases = [p for n, p in named if is_pitch_bias(n)]
    rest = [p for n, p in named if not is_pitch_bias(n)]
    groups = [{"params": rest, "lr_scale": 1.0}]
    return groups + [{"params": biases, "lr_scale": pitch_bias_lr_scale}] if biases else groups


def learning_rate(step: int, base: float, warmup: int, total: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total`` (step is 0-based)."""
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * 0.5 * (1 + math.cos(math.pi * progress))


def step_seed(seed: int, step: int, rank: int) -> np.random.Generator:
    return np.random.default_rng([seed, step, rank])


# -- checkpoints -----------------------------------------------------------------------------------


def save_train_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, step: int,
                     meta: dict[str, Any]) -> None:
    """Weights, Adam moments and the step in one safetensors file (consistent by construction)."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    for i, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            tensors[f"optim.{i}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    ckpt.save_tensors(path, tensors, {"step": str(step), "meta": json.dumps(meta)})


def load_train_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, dict[str, Any]]:
    """Restore what :func:`save_train_state` wrote; returns (step, meta)."""
    tensors, metadata = ckpt.load_tensors(path)
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    ckpt.check_state(model, weights, path)
    model.load_state_dict(weights)
    state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, i, name = k.split(".", 2)
            state.setdefault(int(i), {})[name] = v
    device = next(model.parameters()).device
    opt_state = optimizer.state_dict()
    opt_state["state"] = {i: {n: (t if n == "step" else t.to(device)) for n, t in s.items()} for i, s in state.items()}
    optimizer.load_state_dict(opt_state)
    return int(metadata.get("step", 0)), json.loads(metadata.get("meta", "{}"))


# -- validation ------------------------------------------------------------------------------------


def validate(model: CPCModel, data: torch.Tensor, batch: int, over_time: bool,
             dtype: torch.dtype | None, segment: ContrastiveObjective | None = None) -> dict[str, float]:
    """Mean contrastive loss and top-1 accuracy over ``data`` (N, C, F, T) in batches of
    ``batch`` (the negatives are the other items of each batch, at every time step too with
    ``over_time``), in eval mode; ``val_negatives``: negatives per prediction (the last k's).
    With ``segment`` (an objective whose segment contrast is on) that term's loss and accuracy too
    (``val_segment_…``)."""
    was_training = model.training
    model.eval()
    total, correct, count, negatives = 0.0, 0.0, 0, 0
    seg_loss, seg_correct, seg_batches = 0.0, 0.0, 0
    batch = min(batch, len(data))
    with torch.no_grad():
        for i in range(0, len(data) - batch + 1, batch):
            with torch.autocast(data.device.type, dtype=dtype, enabled=dtype is not None):
                acts = model(data[i : i + batch])
            z, c = model.split(acts)
            r = cpc_loss(model, z, c, over_time)
            total += float(r.loss) * r.count
            correct += float(r.accuracy) * r.count
            count += r.count
            negatives = r.negatives
            if segment is not None:
                s = segment_contrast(acts, segment.segment_layers, segment.segment_temperature)
                seg_loss += float(s.loss)
                seg_correct += float(s.accuracy)
                seg_batches += 1
    model.train(was_training)
    out = {"val_loss": total / max(count, 1), "val_accuracy": correct / max(count, 1), "val_negatives": negatives}
    if segment is not None:
        out |= {"val_segment_loss": seg_loss / max(seg_batches, 1),
                "val_segment_accuracy": seg_correct / max(seg_batches, 1)}
    return out


# -- the loop --------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    directory: Path
    step: int
    seconds: float
    history: list[dict[str, float]]
    skipped_files: int
    model: nn.Module | None = None  # the trained CPCModel (on the CPU after training)

    @property
    def last(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for h in self.history:
            out.update({k: v for k, v in h.items() if v is not None})
        return out


def build_model(config: Config) -> Ear:
    """A freshly initialised ear for training (seeded by model.seed; never loads weights)."""
    state = torch.random.get_rng_state()
    torch.manual_seed(config.model.seed)
    try:
        return Ear(config)
    finally:
        torch.random.set_rng_state(state)


def train(config: Config, directory: Path | None = None, *, resume: bool = True, progress: bool = True,
          max_minutes: float | None = None, stats: bool = True) -> TrainResult:
    """Train ``config.model.preset`` on ``config.train.data``; checkpoints go to ``directory``
    (default ``models/<model.name>``). With ``resume`` an existing train_state there is
    continued. ``max_minutes`` stops early (after a checkpoint); the schedule still aims at
    ``train.steps``. Returns the run's summary (rank 0's; other ranks return theirs too)."""
    from tqdm import tqdm

    tc = config.train
    if tc.threads:
        torch.set_num_threads(tc.threads)
    dist = setup_distributed(tc.device)
    directory = Path(directory) if directory is not None else model_dir(config)
    dtype = amp_dtype(tc.amp, dist.device)
    sr = config.audio.sample_rate
    ear = build_model(config).to(dist.device)
    front_end, model = ear.scalogram, ear.model
    crop_samples = int(round(tc.crop_seconds * sr))
    crop_frames = front_end.frames(crop_samples)
    z_steps, c_steps = crop_frames // model.z_stride, crop_frames // model.z_stride // model.c_stride
    if cpc_probe_terms(model, z_steps, c_steps) == 0:
        raise ValueError(f"train.crop_seconds = {tc.crop_seconds} is too short for {model.arch.prediction_steps} "
                         f"prediction steps after a gap of {model.arch.prediction_gap}")

    optimizer = torch.optim.Adam(parameter_groups(model, tc.pitch_bias_lr_scale), lr=tc.learning_rate)
    start, history, elapsed_before = 0, [], 0.0
    state_path = directory / STATE_FILE
    resuming = resume and state_path.is_file()
    if tc.init and not resuming:
        init_path = paths.model_file(tc.init, MODEL_FILE)
        if not init_path.is_file():
            raise ckpt.CheckpointError(f"train.init = {tc.init!r}: {init_path} does not exist")
        # Pitch biases start at zero, so an ear trained without them is the same function with them.
        new_biases = [k for k in model.state_dict() if is_pitch_bias(k)]
        ckpt.load_model_state(model, init_path, fresh=new_biases)  # CheckpointError if the architecture differs
        if dist.main:
            log.warning("starting from the weights of %s", init_path)
    if resuming:
        start, meta = load_train_state(state_path, model, optimizer)
        if meta.get("preset") != config.model.preset:
            raise ckpt.CheckpointError(f"{state_path} is a {meta.get('preset')!r} run; "
                                       f"the config asks for {config.model.preset!r}")
        history, elapsed_before = meta.get("history", []), float(meta.get("seconds", 0.0))
        if dist.main:
            log.warning("resuming %s at step %d", directory, start)
    contrastive = ContrastiveObjective.from_config(model, tc)
    objective: nn.Module = contrastive
    if dist.world > 1:
        objective = nn.parallel.DistributedDataParallel(
            objective, device_ids=[dist.device.index] if dist.device.type == "cuda" else None)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)

    train_source, val_source = make_sources(tc.data, sr, crop_samples)
    pool = None
    if tc.pool_clips > 0:
        pool = ScalogramPool(train_source, front_end, tc.pool_clips, crop_samples + sr, crop_frames, tc.noise,
                             step_seed(tc.seed, 10**9 + start, dist.rank), dist.device, progress and dist.main)
    val_data = None
    if dist.main:
        val_rng = np.random.default_rng([tc.seed, 2**31])
        val_waves = crop_batch(val_source, val_rng, tc.validation_clips, crop_samples, 0.0)
        val_data = scalograms(front_end, val_waves, dist.device)

    stop = {"flag": False}
    old_handler = None
    if hasattr(signal, "SIGTERM"):  # torchrun forwards SIGTERM to every rank
        try:
            old_handler = signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("flag", True))
        except ValueError:  # not the main thread
            old_handler = None

    def checkpoint(step: int, seconds: float) -> None:
        if not dist.main:
            return
        last: dict[str, float] = {}
        for h in history:
            last.update({k: v for k, v in h.items() if v is not None and k != "step"})
        skipped = len(getattr(train_source, "skipped", {})) + (len(getattr(val_source, "skipped", {}))
                                                              if val_source is not train_source else 0)
        extra = {
            "training": {"step": step, "steps": tc.steps, "batch_size": tc.batch_size, "world_size": dist.world,
                         "learning_rate": tc.learning_rate, "warmup_steps": tc.warmup_steps,
                         "crop_seconds": tc.crop_seconds, "noise": tc.noise, "pool_clips": tc.pool_clips,
                         "pool_refresh": tc.pool_refresh, "init": tc.init,
                         "score_over_time": tc.score_over_time, "segment_contrast": tc.segment_contrast,
                         "segment_temperature": tc.segment_temperature,
                         "segment_layers": list(contrastive.segment_layers),
                         "pitch_bias_lr_scale": tc.pitch_bias_lr_scale,
                         "seed": tc.seed, "device": str(dist.device),
                         "amp": str(dtype).replace("torch.", "") if dtype else "off", "seconds": round(seconds, 1),
                         "torch": torch.__version__},
            "data": {**train_source.describe(), "skipped_files": skipped, "spec": tc.data},
            "metrics": last,
            "history": history,
        }
        ckpt.save_model(directory, model, config, extra)
        save_train_state(state_path, model, optimizer, step,
                         {"preset": config.model.preset, "history": history, "seconds": seconds})
        from ear3d.ml.curves import plot_curves

        data = tc.data.replace(str(Path.home()), "~")  # the picture may be shared: no user's home in it
        start_from = f", from {tc.init}" if tc.init else ""
        plot_curves(history, directory / CURVES_FILE,
                    f"{config.model.preset} preset{start_from}, {data}, batch {tc.batch_size} x {dist.world} "
                    f"process(es), step {step}")

    model.train()
    t0 = time.perf_counter()
    window: list[tuple[float, float, float | None]] = []
    step = start
    bar = tqdm(total=tc.steps, initial=start, desc="train", unit="step", disable=not (progress and dist.main),
               dynamic_ncols=True)
    try:
        while step < tc.steps and not stop["flag"]:
            rng = step_seed(tc.seed, step, dist.rank)
            torch.manual_seed(int(rng.integers(2**62)))
            lr = learning_rate(step, tc.learning_rate, tc.warmup_steps, tc.steps)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_scale"]
            if pool is not None:
                pool.refresh(rng, int(math.floor((step + 1) * tc.pool_refresh) - math.floor(step * tc.pool_refresh)))
                x = pool.sample(rng, tc.batch_size)
            else:
                waves = torch.from_numpy(crop_batch(train_source, rng, tc.batch_size, crop_samples, tc.noise))
                with torch.no_grad():
                    x = front_end(waves.to(dist.device))
            with torch.autocast(dist.device.type, dtype=dtype, enabled=dtype is not None):
                out = objective(x)
                loss = out.loss
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            scaler.step(optimizer)
            scaler.update()
            step += 1
            total_value = float(loss.detach())
            if not math.isfinite(total_value):
                raise FloatingPointError(f"the loss became {total_value} at step {step}; lower train.learning_rate")
            loss_value, acc_value = float(out.cpc_loss.detach()), float(out.accuracy.detach())
            segment_acc = None if out.segment_accuracy is None else float(out.segment_accuracy.detach())
            window.append((loss_value, acc_value, segment_acc))
            bar.update(1)
            entry: dict[str, float] | None = None
            if step % LOG_EVERY == 0 or step == tc.steps:
                entry = {"step": step, "train_loss": float(np.mean([w[0] for w in window])),
                         "train_accuracy": float(np.mean([w[1] for w in window])), "lr": lr}
                if contrastive.segment_on:
                    entry["train_segment_accuracy"] = float(np.mean([w[2] for w in window]))
                window.clear()
            # only the main rank holds validation data
            if val_data is not None and (step % tc.validate_every == 0 or step == tc.steps):
                metrics = validate(model, val_data, tc.batch_size, tc.score_over_time, dtype,
                                   contrastive if contrastive.segment_on else None)
                entry = {**(entry or {"step": step}), **metrics}
                bar.set_postfix(loss=f"{loss_value:.3f}", val_loss=f"{entry['val_loss']:.3f}",
                                val_acc=f"{entry['val_accuracy']:.3f}")
            if entry is not None:
                entry["seconds"] = round(elapsed_before + time.perf_counter() - t0, 1)
                history.append(entry)
            if max_minutes is not None and (time.perf_counter() - t0) / 60 >= max_minutes:
                stop["flag"] = True
            if dist.world > 1:  # every rank stops after the same step, or the others would hang
                flag = torch.tensor([float(stop["flag"])], device=dist.device)
                torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
                stop["flag"] = bool(flag.item() > 0)
            if step % tc.checkpoint_every == 0 or step == tc.steps or stop["flag"]:
                checkpoint(step, elapsed_before + time.perf_counter() - t0)
                dist.barrier()
    except KeyboardInterrupt:
        checkpoint(step, elapsed_before + time.perf_counter() - t0)
        raise
    finally:
        bar.close()
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
    seconds = elapsed_before + time.perf_counter() - t0
    if dist.main and stats and step > start:
        save_activation_stats(ear, config, directory, val_source)
    skipped = len(getattr(train_source, "skipped", {}))
    if val_source is not train_source:
        skipped += len(getattr(val_source, "skipped", {}))
    if dist.main and skipped:
        log.warning("%d bad audio files were skipped", skipped)
    dist.barrier()
    return TrainResult(directory, step, seconds, history, skipped, model.cpu())


def cpc_probe_terms(model: CPCModel, z_steps: int, c_steps: int) -> int:
    """How many (j, k) prediction terms a crop of ``z_steps`` / ``c_steps`` offers."""
    from ear3d.ml.loss import valid_steps

    return sum(valid_steps(model, k, z_steps, c_steps) for k in range(model.arch.prediction_steps))


def save_activation_stats(ear: Ear, config: Config, directory: Path, held_out: Source, clips: int = 24) -> Path:
    """Measure per-layer activation statistics of the trained ear (silence and ``clips`` crops
    of the live loop's length from ``held_out``, the source training validates on: procedural
    pieces, or a folder's held-out files; loop-aware) and save them as ``stats.npz``.
    The optimizer's normalised units are then "a typical neuron's spread over the music this
    ear was trained on"."""
    from ear3d.ml.loop import LoopedEar
    from ear3d.ml.stats import compute_stats, save_stats

    ear = ear.eval().cpu()
    seconds = config.audio.clip_seconds
    n = int(round(seconds * config.audio.sample_rate))
    waves = crop_batch(held_out, np.random.default_rng([config.train.seed, 4]), clips, n, 0.0)
    looped = LoopedEar(ear, n, context_seconds=seconds)
    return save_stats(directory / STATS_FILE, compute_stats(looped, waves))
