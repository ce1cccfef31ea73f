"""Benchmarks and their report format.

Each bench module defines ``HELP``, ``add_arguments(parser)`` and
``run(args, config) -> list[Row]``. Rows compare variants measured in the same run (these
machines are shared and noisy): report ratios, and absolute times only on a GPU.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

from ear3d.atomic import atomic_write

#: name → module; each module is imported only when `ear3d bench` is parsed.
BENCHES: dict[str, str] = {
    "audio": "ear3d.bench.audio",
    "model": "ear3d.bench.model",
    "optimize": "ear3d.bench.optimize",
    "layout": "ear3d.bench.layout",
    "render": "ear3d.bench.render",
    "control": "ear3d.bench.control",
}


@dataclass(frozen=True)
class Row:
    """One measurement: ``case`` (variant), ``metric``, ``value`` in ``unit``."""

    case: str
    metric: str
    value: float
    unit: str


def device_description() -> str:
    """CPU model and core count, plus the GPU when torch sees CUDA (torch imported lazily)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            text += f"; {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return text


def format_table(rows: list[Row]) -> str:
    header = ("case", "metric", "value", "unit")
    cells = [header] + [(r.case, r.metric, f"{r.value:.4g}", r.unit) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(4)) for c in cells)


def report(name: str, rows: list[Row], json_path: Path | None) -> dict:
    """Print the table and, with ``json_path``, write ``{"bench", "device", "rows"}`` atomically."""
    doc = {"bench": name, "device": device_description(), "rows": [asdict(r) for r in rows]}
    print(f"bench {name} on {doc['device']}")
    print(format_table(rows))
    if json_path is not None:
        atomic_write(json_path, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=2)))
        print(f"wrote {json_path}")
    return doc
