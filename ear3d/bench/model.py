"""The ear's cost: forward and forward + backward (gradient w.r.t. the waveform, what every
sonification step computes) for a 4 s clip at batch 1 and 8, for the small and paper
presets; one CPC training step per preset (``train.batch_size`` crops of
``train.crop_seconds``, loss + backward + Adam, the network's share of a step of `ear3d train`);
and the constant-Q transform alone, nnAudio's CQT1992v2 and CQT2010v2 next to the
octave-grouped kernels of the loop-aware ear. Median of ``--repeats`` runs after one warm-up.
On CUDA the network also runs under bf16 autocast. Peak memory: CUDA's allocator peak per
case, or on the CPU the process's peak resident size so far (monotonic)."""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from functools import partial

from ear3d.bench import Row
from ear3d.config import Config

HELP = "forward / backward time and memory of the ear (both presets) and of the CQT variants"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--presets", default="small,paper", help="comma-separated presets (default small,paper)")
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes (default 1,8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (default 3)")
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length in seconds (default 4)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="torch device")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")


def _time(fn: Callable[[], object], repeats: int, device) -> float:
    import torch

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _peak_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _forward(ear, x, device_type: str, dtype) -> None:
    """The ear on ``x`` (B, S) without gradients, under autocast to ``dtype`` unless it is None."""
    import torch

    with torch.no_grad(), torch.autocast(device_type, dtype=dtype, enabled=dtype is not None):
        ear(x)


def _forward_backward(ear, x, device_type: str, dtype) -> None:
    """The ear on ``x`` (B, S), then the gradient of its summed mean-square activations w.r.t. ``x``."""
    import torch

    xg = x.clone().requires_grad_(True)
    with torch.autocast(device_type, dtype=dtype, enabled=dtype is not None):
        acts = ear(xg)
    sum(a.float().square().mean() for a in acts.values()).backward()


def _cqt_forward(fn: Callable, x) -> None:
    import torch

    with torch.no_grad():
        fn(x)


def _cqt_forward_backward(fn: Callable, x) -> None:
    fn(x.clone().requires_grad_(True)).mean().backward()


def _train_step(objective, optimizer, scalograms) -> None:
    """One CPC training step on precomputed scalograms (B, C, F, T): loss, backward, Adam."""
    loss = objective(scalograms)[0]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def _reset_peak(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    import torch
    from nnAudio.features import CQT1992v2, CQT2010v2

    from ear3d.ml.loop import LoopedEar
    from ear3d.ml.loss import ContrastiveObjective
    from ear3d.ml.model import Ear, parameter_count

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    sr = config.audio.sample_rate
    n = int(round(args.seconds * sr))
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    rows: list[Row] = []
    modes = [("fp32", None)] + ([("bf16", torch.bfloat16)] if device.type == "cuda" else [])
    for preset in [p.strip() for p in args.presets.split(",") if p.strip()]:
        cfg = config.replace({"model": {"preset": preset, "weights": "random"}})
        ear = Ear(cfg).to(device).eval()
        rows.append(Row(preset, "parameters", parameter_count(ear) / 1e6, "M"))
        for b in batches:
            for mode, dtype in modes:
                case = f"{preset}/b{b}/{mode}"
                x = torch.randn(b, n, device=device) * 0.1
                _reset_peak(device)
                fwd = _time(partial(_forward, ear, x, device.type, dtype), args.repeats, device)
                bwd = _time(partial(_forward_backward, ear, x, device.type, dtype), args.repeats, device)
                rows += [Row(case, "forward", fwd * 1e3, "ms"), Row(case, "forward_backward", bwd * 1e3, "ms"),
                         Row(case, "forward_backward_per_clip", bwd * 1e3 / b, "ms"),
                         Row(case, "peak_memory", _peak_mb(device), "MiB")]
        # What `ear3d train` pays per step for the network (the data pipeline comes on top):
        # train.batch_size crops of train.crop_seconds, scalograms already computed.
        tc = config.train
        crops = ear.scalogram(torch.randn(tc.batch_size, round(tc.crop_seconds * sr), device=device) * 0.1)
        model = ear.model.train()
        step = partial(_train_step, ContrastiveObjective.from_config(model, tc),
                       torch.optim.Adam(model.parameters(), lr=tc.learning_rate), crops.detach())
        rows.append(Row(f"{preset}/train b{tc.batch_size}", "train_step", _time(step, args.repeats, device), "s"))
    # The CQT alone, three ways, batch 1.
    cq = config.cqt
    common = dict(sr=sr, hop_length=cq.hop_length, fmin=cq.fmin, n_bins=cq.n_bins, bins_per_octave=cq.bins_per_octave,
                  filter_scale=cq.filter_scale, output_format="Complex", verbose=False)
    variants: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
    v1992 = CQT1992v2(**common).to(device)
    variants["cqt1992v2"] = lambda w: v1992(w).square().sum(-1)
    v2010 = CQT2010v2(**{k: v for k, v in common.items() if k != "output_format"}, output_format="Magnitude").to(device)
    variants["cqt2010v2"] = lambda w: (v2010(w) + 1e-9).square()
    ear = Ear(config.replace({"model": {"weights": "random"}})).to(device)
    looped = LoopedEar(ear, n, 0.0).to(device)
    no_shift = torch.zeros(1, dtype=torch.long, device=device)
    variants["octave_grouped"] = lambda w: looped.scalogram(looped.play(w, no_shift))
    times = {}
    for name, fn in variants.items():
        x = torch.randn(1, n, device=device) * 0.1
        _reset_peak(device)
        times[name] = (_time(partial(_cqt_forward, fn, x), args.repeats, device),
                       _time(partial(_cqt_forward_backward, fn, x), args.repeats, device))
        rows += [Row(f"cqt/{name}", "forward", times[name][0] * 1e3, "ms"),
                 Row(f"cqt/{name}", "forward_backward", times[name][1] * 1e3, "ms"),
                 Row(f"cqt/{name}", "peak_memory", _peak_mb(device), "MiB")]
    base = times["cqt1992v2"]
    for name in ("cqt2010v2", "octave_grouped"):
        rows.append(Row(f"cqt/{name}", "speedup_vs_cqt1992v2_forward_backward", base[1] / times[name][1], "x"))
    return rows
