"""Which held-out clips does the piece-identity probe miss, whatever the features?

The analysis behind "What the probes miss" in docs/real-music.md. Fits the probe once (L2 1e-4,
the strength the corpus's piece task chooses for these layers) on five feature sets — the raw
CQT, the random network's enc0.mid, the shipped ear's enc0.mid, enc1 and enc4.mid — and prints
each one's test accuracy, how many test clips all five get right or wrong, the best a per-clip
oracle over the five could do, the loudness of the clips they all miss and their pieces.

    .venv/bin/python docs/piece_misses.py [CORPUS]     # default ~/.cache/ear3d/corpus

Needs a built corpus (`make corpus`); about two minutes on two cores.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np


def main(folder: Path) -> None:
    from ear3d.config import load
    from ear3d.ml.evaluate import fit_probe, standardise
    from ear3d.ml.folder_eval import corpus_tasks
    from ear3d.ml.model import build_ear
    from ear3d.ml.probes import layer_features

    config = load(None, [])
    task = next(t for t in corpus_tasks(folder, config.audio.sample_rate) if t.name == "piece")
    ears = {"cpc": build_ear(config.replace({"model": {"weights": "load"}})),
            "random_init": build_ear(config.replace({"model": {"weights": "random"}}))}
    layers = ["enc0.mid", "enc1", "enc4.mid"]
    train, test = layer_features(ears, task.train_waves, layers), layer_features(ears, task.test_waves, layers)
    right = []
    for name in ["raw_cqt", "random_init/enc0.mid", "cpc/enc0.mid", "cpc/enc1", "cpc/enc4.mid"]:
        a, b = standardise(train[name], test[name])
        w, bias = fit_probe(a, task.train_labels, len(task.classes), 1e-4)
        right.append((b @ w + bias).argmax(1) == task.test_labels)
        print(f"{name}: {100 * right[-1].mean():.1f} %")
    hits = np.stack(right)
    none, every = ~hits.any(0), hits.all(0)
    print(f"{len(task.test_labels)} test clips: right for all five {every.sum()}, wrong for all five {none.sum()}, "
          f"per-clip oracle {100 * hits.any(0).mean():.1f} %")
    loudness = 10 * np.log10((task.test_waves.astype(np.float64) ** 2).mean(1) + 1e-12)
    print(f"RMS of the clips all miss: {loudness[none].min():.0f} to {loudness[none].max():.0f} dB; "
          f"median of the clips all get right {np.median(loudness[every]):.1f} dB")
    pieces = sorted({task.classes[i] for i in task.test_labels[none]})
    print(f"{len(pieces)} pieces:", dict(Counter(p.split("/")[0] for p in pieces)))


if __name__ == "__main__":
    main(Path(sys.argv[1]).expanduser() if len(sys.argv) > 1 else Path.home() / ".cache/ear3d/corpus")
