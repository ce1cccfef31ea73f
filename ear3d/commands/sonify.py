"""`ear3d sonify`: start the sonification worker on the configured model, aim it at a region
of neurons, run N steps, write the resulting loop as a WAV, and show how far the target rose.

Writes into --out: ``sonified.wav`` (the loop after N steps), ``origin.wav``, ``target.png``
(the target's normalised activation over the steps), ``scalogram.png`` (before / after) and
``gradient.png`` (the loss's gradient with respect to the scalogram at the last step).
Regions are position and width in 0–1 per axis, as the controllers drive them.
``--save-stats`` stores the per-layer normalisation statistics next to the model
(``models/<name>/stats.npz``) so the worker loads them instead of measuring at start.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ear3d.config import Config

HELP = "make chosen neurons fire: optimise a loop toward them and write it as a WAV"


def region(text: str) -> tuple[float, float]:
    """'0.3,0.1' or '0.3:0.1' → (position, width), both in 0–1."""
    parts = text.replace(":", ",").split(",")
    try:
        pos, width = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"region {text!r} must be POSITION,WIDTH, e.g. 0.3,0.1") from None
    if not (0 <= pos <= 1 and 0 <= width <= 1):
        raise argparse.ArgumentTypeError(f"region {text!r}: position and width must be from 0 to 1")
    return pos, width


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layer", default="enc5",
                        help="layer to aim at: scalogram, enc0…enc7, ar0…ar8 (default enc5)")
    parser.add_argument("--channel", type=region, help="channel region POSITION,WIDTH (default: the one channel "
                                                        "that sound drives furthest above silence)")
    parser.add_argument("--pitch", type=region, default=(0.5, 1 / 3), help="pitch region (default 0.5,0.333)")
    parser.add_argument("--time", type=region, default=(0.5, 1.0), help="time region (default 0.5,1: the whole loop)")
    parser.add_argument("--min", action="store_true", help="minimise the region instead of maximising it")
    parser.add_argument("--steps", type=int, default=100, help="optimisation steps (default 100)")
    parser.add_argument("--origin", help="start clip: silence, noise, a clip in assets/clips/ or an audio file "
                                         "(default: optimize.origin)")
    parser.add_argument("--out", type=Path, default=Path("out/sonify"), help="output folder (default out/sonify)")
    parser.add_argument("--save-stats", action="store_true",
                        help="also write the model's activation statistics to models/<model.name>/stats.npz")


def run(args: argparse.Namespace, config: Config) -> int:
    from tqdm import tqdm

    from ear3d.clips import write_wav
    from ear3d.messages import Command
    from ear3d.ml.objectives import index_region
    from ear3d.ml.pictures import curves_png, scalograms_png
    from ear3d.ml.worker import Worker

    if args.steps < 1:
        raise SystemExit("ear3d sonify: --steps must be at least 1")
    with Worker(config) as worker:
        if args.save_stats:
            from ear3d.ml.stats import save_stats
            from ear3d.model_folder import STATS_FILE, model_dir

            path = save_stats(model_dir(config) / STATS_FILE, worker.sonifier.stats)
            print(f"wrote {path.resolve()} (fingerprint of these weights: {worker.sonifier.stats.fingerprint})")
        if args.layer not in worker.shapes:
            raise SystemExit(f"ear3d sonify: unknown layer {args.layer!r}; layers: {', '.join(worker.shapes)}")
        channel = args.channel or index_region(worker.sonifier.stats.most_driven_channel(args.layer),
                                               worker.shapes[args.layer][0])
        selection = {"layer": args.layer, "channel": channel, "pitch": args.pitch, "time": args.time,
                     "mode": "min" if args.min else "max"}
        errors_seen = worker.errors.peek()[0]
        worker.send(Command("pause"))
        if args.origin is not None:
            worker.send(Command("origin", args.origin))
        worker.send(Command("select", selection))
        version, first = worker.frames.wait_newer(0, 600)  # the origin, listened to
        n_errors, error = worker.errors.peek()
        if n_errors > errors_seen or first is None:
            raise SystemExit(f"ear3d sonify: {error or 'the worker did not answer'}")
        worker.send(Command("step", args.steps))
        worker.send(Command("listen"))  # then the loop after the last update
        frame = last_step = first
        with tqdm(total=args.steps, desc=f"sonify {args.layer}", unit="step") as bar:
            while not (frame.step >= args.steps and math.isnan(frame.loss)):
                version, newer = worker.frames.wait_newer(version, 600)
                assert newer is not None  # the box has held a frame since ``first``
                frame = newer
                bar.update(frame.step - bar.n)
                if not math.isnan(frame.loss):
                    last_step = frame
                    bar.set_postfix(target=f"{frame.target:.3g}")
    if first.scalogram is None or frame.scalogram is None or last_step.scalogram_grad is None:
        raise SystemExit("ear3d sonify: the worker sent no scalograms (did no step succeed?)")
    out = args.out
    write_wav(out / "origin.wav", first.clip.samples, first.clip.sample_rate)
    wav = write_wav(out / "sonified.wav", frame.clip.samples, frame.clip.sample_rate)
    name = f"{selection['mode']} {args.layer} channel {_fmt(channel)}"
    curves_png(out / "target.png", {name: [*frame.target_history, frame.target]},
               f"target over {args.steps} steps ({config.model.preset})",
               "normalised activation (signed: higher = nearer)")
    scalograms_png(out / "scalogram.png", {"before": first.scalogram, "after": frame.scalogram})
    scalograms_png(out / "gradient.png", {"d loss / d scalogram (last step)": last_step.scalogram_grad},
                   symmetric=True)
    start, end = first.target, frame.target
    if args.min:
        print(f"minimised {args.layer} channel {_fmt(channel)} pitch {_fmt(args.pitch)} time {_fmt(args.time)}: "
              f"normalised activation {-start:.3f} → {-end:.3f} after {args.steps} steps")
    else:
        print(f"maximised {args.layer} channel {_fmt(channel)} pitch {_fmt(args.pitch)} time {_fmt(args.time)}: "
              f"normalised activation {start:.3f} → {end:.3f} after {args.steps} steps "
              f"(rise {end / max(start, 1.0):.2f}×, start floored at 1)")
    print(f"non-finite steps undone: {frame.recoveries}")
    print(f"wrote {wav.resolve()} (and origin.wav, target.png, scalogram.png, gradient.png there)")
    return 0


def _fmt(r: tuple[float, float]) -> str:
    return f"{r[0]:.2f}/{r[1]:.2f}"
