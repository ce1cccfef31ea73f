"""Adaptive quality with synthetic frame times: it drops to hold the target, climbs back with
headroom, and does not oscillate around the threshold."""

from ear3d.adaptive import LEVELS, WINDOW, AdaptiveQuality


def feed(aq: AdaptiveQuality, seconds: float, frames: int):
    state = aq.state
    for _ in range(frames):
        state = aq.update(seconds)
    return state


def test_slow_frames_lower_scale_and_edges_until_the_bottom():
    aq = AdaptiveQuality(30.0, max_scale=1.0, min_scale=0.4)
    state = feed(aq, 1 / 10, WINDOW * 3)
    assert state.level == 3 and state.scale < 1.0 and state.edge_fraction < 1.0 and state.fps == 10.0
    state = feed(aq, 1 / 10, WINDOW * 20)
    assert state.level == LEVELS and abs(state.scale - 0.4) < 1e-9  # never below min_scale


def test_fast_frames_climb_back_and_a_frame_rate_in_the_band_holds():
    aq = AdaptiveQuality(30.0)
    feed(aq, 1 / 10, WINDOW * 4)
    assert aq.level == 4
    feed(aq, 1 / 60, WINDOW * 40)
    assert aq.level == 0 and aq.state.scale == 1.0
    changes = aq.changes
    feed(aq, 1 / 33, WINDOW * 20)  # within the band (above 92 %, below 135 % of the target): nothing moves
    assert aq.changes == changes


def test_hysteresis_backs_off_when_a_rise_does_not_hold():
    aq = AdaptiveQuality(30.0)
    feed(aq, 1 / 20, WINDOW)  # one step down
    assert aq.level == 1
    # A load where level 1 runs at 45 fps but level 0 at 25 fps: each rise is taken back.
    levels = []
    for _ in range(40):
        aq.update(1 / 45 if aq.level >= 1 else 1 / 25)
        levels.append(aq.level)
    ups = sum(1 for a, b in zip(levels, levels[1:]) if b < a)
    assert ups <= 2  # 40 frames = 2 judgements: at most one failed rise, then it waits
    changes_before = aq.changes
    for _ in range(WINDOW * 6):
        aq.update(1 / 45 if aq.level >= 1 else 1 / 25)
    assert aq.changes - changes_before <= 4  # waits twice as long after every failed rise


def test_disabled_is_full_quality():
    aq = AdaptiveQuality(30.0, enabled=False)
    state = feed(aq, 1.0, WINDOW * 5)
    assert state.level == 0 and state.scale == 1.0 and not state.enabled
