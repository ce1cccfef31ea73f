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
