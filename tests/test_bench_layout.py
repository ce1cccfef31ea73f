"""`ear3d bench layout`'s peers run in child processes that a timeout can stop."""

from types import SimpleNamespace

import numpy as np

from ear3d.bench.layout import _peers


def ring(n: int) -> SimpleNamespace:
    src = np.arange(n, dtype=np.int64)
    return SimpleNamespace(src=src, dst=(src + 1) % n, table=SimpleNamespace(size=n))


def test_peers_lay_out_a_small_graph():
    results = dict((name, (pos, seconds)) for name, pos, seconds in _peers(ring(40), 3, 0.1, timeout=120))
    assert set(results) == {"igraph-drl", "igraph-fr"}
    for pos, seconds in results.values():
        assert pos.shape == (40, 3) and np.isfinite(pos).all() and seconds > 0


def test_a_peer_past_its_timeout_is_stopped_and_reported():
    results = _peers(ring(3000), 2, 1.0, timeout=0.05)
    assert [(name, pos) for name, pos, _ in results] == [("igraph-drl", None), ("igraph-fr", None)]


def test_comparison_picture_shows_every_variant(tmp_path):
    from PIL import Image

    from ear3d.bench.layout import comparison_png
    from ear3d.config import Config

    g = ring(30)
    g.weight = np.ones(30, np.float32)
    g.table.layer = np.arange(30) % 3
    g.table.layers = [SimpleNamespace(name=n) for n in ("scalogram", "enc0", "ar0")]
    angle = np.linspace(0, 2 * np.pi, 30, endpoint=False)
    circle = np.stack([np.cos(angle), np.sin(angle), np.zeros(30)], 1)
    q = {"stress": 0.1, "trustworthiness": 0.9, "edge_cv": 0.2, "seconds": 1.0}
    path = tmp_path / "layout.png"
    comparison_png(path, g, [("a", circle, q), ("b", circle[:, :2] * 2, q), ("c", circle, q)], Config(), (160, 100))
    img = np.asarray(Image.open(path))
    assert img.shape == (200, 320, 3)
    assert img[100:, 160:].max() < 40 and img[:100, :160, :].max() > 100  # a 2×2 grid, one tile left dark
