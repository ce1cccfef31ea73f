"""Adaptive quality with synthetic frame times: it converges to the best level that holds the
target, climbs back with headroom, recovers fast from a slow start, and does not oscillate."""

import random
from itertools import pairwise

from ear3d.adaptive import LADDER, LEVELS, WINDOW, AdaptiveQuality


def feed(aq: AdaptiveQuality, seconds: float, frames: int):
    state = aq.state
    for _ in range(frames):
        state = aq.update(seconds)
    return state


def run_load(aq: AdaptiveQuality, fps_at, frames: int, jitter: float = 0.0, seed: int = 0) -> list[int]:
    """Draw ``frames`` frames whose rate depends on the level drawn at (``fps_at(level)``),
    with ±``jitter`` relative noise; returns the level of every frame."""
    rng = random.Random(seed)
    levels = []
    for _ in range(frames):
        fps = fps_at(aq.level) * (1 + rng.uniform(-jitter, jitter))
        aq.update(1.0 / fps)
        levels.append(aq.level)
    return levels


def test_slow_frames_lower_scale_and_edges_until_the_bottom():
    aq = AdaptiveQuality(30.0, max_scale=1.0, min_scale=0.4)
    state = feed(aq, 1 / 25, WINDOW)  # a bit slow: one level (multisampling off first)
    assert state.level == 1 and not state.msaa and state.scale == 1.0 and state.fps == 25.0
    state = feed(aq, 1 / 10, 12)  # a second of frames at a third of the target: several levels at once
    assert 1 < state.level < LEVELS and state.scale < 1.0 and state.edge_fraction < 1.0
    state = feed(aq, 1 / 10, WINDOW * 20)
    assert state.level == LEVELS and abs(state.scale - 0.4) < 1e-9  # never below min_scale
    assert state.edge_fraction == LADDER[-1].edge_fraction and not state.bloom


def test_converges_to_the_best_level_that_holds_the_target_and_stays():
    """Each level 1.45× faster than the one above; 8 fps at full quality, target 20: level 3
    (24 fps) holds it without the headroom to try level 2 (17 fps, too slow), so it settles on
    3 and stays, despite ±10 % noise on every frame."""
    aq = AdaptiveQuality(20.0)
    levels = run_load(aq, lambda level: 8.0 * 1.45 ** level, 600, jitter=0.1)
    assert levels[-1] == 3
    tail = levels[200:]
    assert set(tail) == {3}  # converged within 200 frames, then never moved
    assert aq.state.fps >= 20.0 * 0.92


def test_a_slow_start_recovers_within_seconds():
    """At 2 frames/s it must not take WINDOW frames per level (minutes): decisions come after
    about a second of frames, several levels at a time."""
    aq = AdaptiveQuality(20.0)
    levels = run_load(aq, lambda level: 2.0 * 1.7 ** level, 15)
    assert levels[-1] >= 5


def test_fast_frames_climb_back_and_a_frame_rate_in_the_band_holds():
    aq = AdaptiveQuality(30.0)
    feed(aq, 1 / 10, WINDOW * 4)
    assert aq.level >= 4
    feed(aq, 1 / 60, WINDOW * 40)
    assert aq.level == 0 and aq.state.scale == 1.0 and aq.state.msaa and aq.state.bloom
    changes = aq.changes
    feed(aq, 1 / 33, WINDOW * 20)  # within the band (above 92 %, below 135 % of the target): nothing moves
    assert aq.changes == changes


def test_hysteresis_backs_off_when_a_rise_does_not_hold():
    """Level 1 runs at 45 fps (enough headroom to try level 0), level 0 at 25 (too slow):
    every rise is taken back, and each failed rise doubles the wait before the next."""
    aq = AdaptiveQuality(30.0)
    feed(aq, 1 / 25, WINDOW)  # one step down
    assert aq.level == 1
    levels = run_load(aq, lambda level: 45.0 if level >= 1 else 25.0, WINDOW * 200)
    rises = [i for i, (a, b) in enumerate(pairwise(levels)) if b < a]
    assert len(rises) <= 10  # with a fixed wait it would rise every other decision (~100 times)
    gaps = [b - a for a, b in pairwise(rises)]
    assert gaps == sorted(gaps) and gaps[-1] >= 4 * gaps[0]  # the waits grow
    assert sum(1 for level in levels if level == 1) > 0.9 * len(levels)  # it spends its time on the level that holds


def test_disabled_is_full_quality():
    aq = AdaptiveQuality(30.0, enabled=False)
    state = feed(aq, 1.0, WINDOW * 5)
    assert state.level == 0 and state.scale == 1.0 and not state.enabled and state.msaa and state.bloom
    assert state.describe().startswith("adaptive off")


def test_status_line_names_the_levers():
    aq = AdaptiveQuality(20.0)
    feed(aq, 1 / 2, WINDOW * 3)
    text = aq.state.describe(edges=5000)
    assert f"{LEVELS}/{LEVELS}" in text and "5,000 edges" in text and "no MSAA" in text and "no bloom" in text
    assert "target 20" in text
