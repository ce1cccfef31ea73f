"""Benchmarks: each compares variants measured side by side in one run.

Each bench module defines ``HELP``, ``add_arguments(parser)`` and
``run(args, config) -> list[Row]``. Rows compare variants measured in the same run (these
machines are shared and noisy): report ratios, and absolute times only on a GPU. The report
format itself (``Row``, ``report``) lives in ``ear3d.report``, below every layer that
measures something; it is re-exported here for the bench modules.
"""

from __future__ import annotations

from ear3d.report import Row, device_description, format_table, report

__all__ = ["BENCHES", "Row", "device_description", "format_table", "report"]

#: name → module; each module is imported only when `ear3d bench` is parsed.
BENCHES: dict[str, str] = {
    "audio": "ear3d.bench.audio",
    "model": "ear3d.bench.model",
    "optimize": "ear3d.bench.optimize",
    "layout": "ear3d.bench.layout",
    "render": "ear3d.bench.render",
    "control": "ear3d.bench.control",
    "live": "ear3d.bench.live",
    "soak": "ear3d.bench.soak",
    "leaks": "ear3d.bench.leaks",
}
