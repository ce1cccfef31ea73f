"""Sonification: the loop-aware ear, objectives, regularisers, parametrizations, statistics
and the optimisation step, each on a small case with the tiny preset."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from ear3d.clips import AudioFileError, make_origin_clip, write_wav
from ear3d.config import load
from ear3d.ml.loop import LoopedEar, RedirectedReLU
from ear3d.ml.model import build_ear
from ear3d.ml.objectives import (
    Objective,
    Region,
    Selection,
    SelectionError,
    combine,
    index_region,
    region,
    selected_mask,
)
from ear3d.ml.optimize import Raw, Sonifier, Spectral, origin_samples
from ear3d.ml.regularizers import high_frequency_penalty
from ear3d.ml.stats import Stats, compute_stats, fingerprint, load_stats, save_stats, stats_for
from ear3d.ml.transforms import apply_masks, sample_masks, sample_shifts
from ear3d.ml.update import bound_amplitude, mix_towards, normalize_gradient

SR = 44100
SECONDS = 1.5  # short clips keep these tests fast; the engine is the same at 4 s
S = round(SR * SECONDS)


def tiny_config(*extra):
    return load(None, ["model.preset=tiny", "model.weights=random", f"audio.clip_seconds={SECONDS}",
                       "optimize.context_seconds=0.75", *extra])


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine, two OpenMP threads can be 30× slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ear():
    return build_ear(tiny_config()).requires_grad_(False)


@pytest.fixture(scope="module")
def looped(ear):
    return LoopedEar(ear, S, 0.75)


@pytest.fixture(scope="module")
def stats(looped):
    return compute_stats(looped, batch=4)


def live_channel(stats, layer):
    """Position/width selecting the channel of ``layer`` that varies most over data."""
    std = stats.layers[layer].std.mean(1)
    c, n = int(std.argmax()), len(std)
    return ((c / (n - 1)) if n > 1 else 0.5, 1.0 / n)


# -- the loop-aware ear ----------------------------------------------------------------------


def test_loop_scalogram_matches_nnaudio_and_wraps_around(ear, looped):
    x = torch.from_numpy(make_origin_clip(SR, SECONDS))
    zero = torch.zeros(1, dtype=torch.long)
    reference = ear.scalogram(x[None])  # nnAudio, reflected edges
    ours = looped.scalogram(looped.play(x, zero))[..., looped.context_frames:]
    assert ours.shape == reference.shape
    inner = slice(12, -12)  # the 40 Hz kernels reach 8 frames: away from the edges both agree
    diff = (ours[..., inner] - reference[..., inner]).abs()
    assert float(diff.max()) < 1e-3 and float(diff.median()) < 1e-6  # (float rounding, in log power)
    # circular: delaying the loop by whole frames rolls the scalogram, the wrapped edge included
    k = 5
    rolled = looped.scalogram(looped.play(torch.roll(x, k * looped.frame_samples), zero))[..., looped.context_frames:]
    assert torch.allclose(rolled[..., k:], ours[..., :-k], atol=1e-5)


def test_jitter_is_circular_and_aligned_back(ear, looped):
    torch.manual_seed(0)
    x = torch.randn(S) * 0.1
    idx0 = looped.sample_index(torch.tensor([0]))
    for shift in (1, 777, S - 3):
        played = looped.play(x, torch.tensor([shift]))
        assert torch.equal(played, looped.play(torch.roll(x, shift), torch.tensor([0])))  # a circular delay
    assert torch.equal(looped.sample_index(torch.tensor([S])), idx0)  # a whole loop is no shift
    shifts = sample_shifts(6, SR // 4, S, torch.Generator().manual_seed(1), torch.device("cpu"))
    assert shifts[0] == 0 and ((shifts >= 0) & (shifts < S)).all() and len(set(shifts.tolist())) > 1
    # a delay by k slowest steps: after alignment, every layer's steps t < T − k match the clean
    # loop (with a context as long as the receptive field, 4.7 s, the history is the same too)
    looped = LoopedEar(ear, S, 4.75)
    unit = looped.frame_samples * max(looped.strides.values())
    shifts = torch.tensor([0, unit])
    with torch.inference_mode():
        acts = looped.crop(looped.activations(looped.scalogram(looped.play(x, shifts))), shifts)
    for name, a in acts.items():
        k = max(looped.strides.values()) // looped.strides[name]
        assert torch.allclose(a[1, ..., : a.shape[-1] - k], a[0, ..., : a.shape[-1] - k], atol=1e-4), name


def test_masked_region_gets_no_gradient(ear, looped):
    b, f, t = 3, 216, looped.context_frames + looped.window_frames
    masks = sample_masks(b, f, t, (looped.context_frames, looped.window_frames), 0.25, 0.2,
                         torch.Generator().manual_seed(0), torch.device("cpu"))
    assert masks.shape == (b, 1, f, t) and bool((masks[0] == 1).all())
    for i in (1, 2):
        rows = (masks[i, 0] == 0).all(dim=1).sum()  # pitch block: masked at every time
        cols = (masks[i, 0] == 0).all(dim=0).sum()  # time block: masked at every pitch
        assert rows == round(0.2 * f) and cols == round(0.25 * looped.window_frames)
    scal = torch.rand(b, 1, f, t, requires_grad=True)
    acts = looped.activations(apply_masks(scal, masks))
    sum(a.mean() for a in acts.values()).backward()
    grad = scal.grad
    assert bool((grad[masks == 0] == 0).all())
    assert float(grad[masks == 1].abs().max()) > 0
    assert float(grad[0].abs().sum()) > 0


def test_redirected_relu_wakes_dead_units_only_when_nothing_passes():
    x = torch.tensor([[-1.0, -2.0], [3.0, -1.0]], requires_grad=True)
    y = RedirectedReLU.apply(x)
    assert torch.equal(y, x.clamp_min(0))
    y.backward(torch.tensor([[-1.0, 1.0], [-1.0, -1.0]]))
    # item 0: nothing alive → the push upward (−1) passes, the push downward (+1) does not;
    # item 1: one unit alive → the ordinary ReLU gradient
    assert x.grad.tolist() == [[-1.0, 0.0], [-1.0, 0.0]]


# -- objectives ------------------------------------------------------------------------------


def test_region_bounds_follow_position_and_width():
    assert Region(0.0, 0.25).bounds(8) == (0, 2)
    assert Region(1.0, 0.25).bounds(8) == (6, 8)
    assert Region(0.5, 0.5).bounds(8) == (2, 6)  # start = pos·(1 − width)·N
    assert Region(0.3, 0.0).bounds(10) == (3, 4)  # never empty
    assert Region(0.7, 1.0).bounds(5) == (0, 5)
    assert all(Region(*index_region(i, 7)).bounds(7) == (i, i + 1) for i in range(7))  # one exact channel
    for bad in (-0.1, 1.5, math.nan, "x"):
        with pytest.raises(SelectionError):
            Region(bad, 0.5)
    with pytest.raises(SelectionError, match="0 to 1"):
        Selection.parse({"layer": "enc1", "time": (0.5, 2.0)})
    with pytest.raises(SelectionError, match="unknown selection key"):
        Selection.parse({"layer": "enc1", "colour": 1})


def test_objectives_add_and_scale():
    torch.manual_seed(0)
    acts = {"a": torch.randn(2, 4, 3, 5), "b": torch.randn(2, 6, 1, 5)}
    one, two = region("a", channel=(0.0, 0.5)), region("b", time=(1.0, 0.4))
    both = 2 * one - two / 4 + 1.0
    assert torch.allclose(both(acts), 2 * acts["a"][:, :2].mean((1, 2, 3)) - acts["b"][..., 3:].mean((1, 2, 3)) / 4 + 1)
    assert [s.layer for s in both.selections] == ["a", "b"]
    minimised = combine([Selection("a", mode="min", weight=3.0)])
    assert torch.allclose(minimised(acts), -3 * acts["a"].mean((1, 2, 3)))
    with pytest.raises(SelectionError, match="unknown layer 'c'"):
        (one + region("c")).check({"a": (4, 3, 5), "b": (6, 1, 5)})
    mask = selected_mask(both.selections, {"a": (4, 3, 5), "b": (6, 1, 5)})
    assert mask["a"].sum() == 2 * 3 * 5 and mask["b"][..., 3:].all() and not mask["b"][..., :3].any()


# -- regularisers and the update -------------------------------------------------------------


def test_high_frequency_penalty_grows_with_high_frequency_energy(looped):
    t = np.arange(S) / SR
    zero = torch.zeros(1, dtype=torch.long)
    values = []
    for freq in (110.0, 880.0, 7040.0):
        x = torch.tensor(0.3 * np.sin(2 * np.pi * freq * t), dtype=torch.float32)
        values.append(float(high_frequency_penalty(looped.scalogram(looped.play(x, zero)))))
    assert values[0] < values[1] < values[2]
    low = torch.tensor(0.3 * np.sin(2 * np.pi * 110 * t), dtype=torch.float32)
    hiss = low + torch.tensor(0.1 * np.diff(np.random.default_rng(0).standard_normal(S + 1)), dtype=torch.float32)
    with_hiss = float(high_frequency_penalty(looped.scalogram(looped.play(hiss, zero))))
    assert with_hiss > values[0]


def test_update_helpers():
    g = torch.randn(1000) * 1e-7
    assert abs(float(normalize_gradient(g).std()) - 1) < 1e-5
    assert torch.equal(normalize_gradient(torch.zeros(5)), torch.zeros(5))
    x = torch.tensor([0.5, -2.0, 1.0])
    assert torch.allclose(bound_amplitude(x, 0.9), x * 0.45)
    assert torch.equal(bound_amplitude(x * 0.1, 0.9), x * 0.1)
    assert torch.allclose(mix_towards(x, torch.zeros(3), 0.25), 0.75 * x)


def test_parametrizations_round_trip_and_spectral_updates_are_pink():
    x = torch.randn(S) * 0.1
    spectral = Spectral(S, SR, 40.0, 0.5, torch.device("cpu"))
    assert torch.allclose(spectral.decode(spectral.encode(x)), x, atol=1e-6)
    assert torch.equal(Raw().decode(Raw().encode(x)), x)
    # the same white gradient, mapped to a waveform update: the spectral one has less treble
    grad_x = torch.randn(S)
    p = spectral.encode(torch.zeros(S)).requires_grad_(True)
    (spectral.decode(p) * grad_x).sum().backward()
    update = spectral.decode(p.grad)
    power = torch.fft.rfft(update).abs() ** 2
    freqs = torch.fft.rfftfreq(S, 1 / SR)
    white = torch.fft.rfft(grad_x).abs() ** 2
    share = lambda pw: float(pw[freqs > 2000].sum() / pw.sum())  # noqa: E731
    assert share(power) < 0.3 * share(white)


# -- statistics ------------------------------------------------------------------------------


def test_stats_round_trip_and_stale_files_are_ignored(looped, stats, tmp_path):
    assert stats.fingerprint == fingerprint(looped.ear)
    for name, s in stats.layers.items():
        assert s.silence.shape == s.std.shape and s.scale > 0, name
    path = save_stats(tmp_path / "stats.npz", stats)
    back = load_stats(path)
    assert back.fingerprint == stats.fingerprint and list(back.layers) == list(stats.layers)
    assert np.array_equal(back.layers["enc3"].silence, stats.layers["enc3"].silence)
    assert stats_for(looped, tmp_path).layers["enc2"].scale == stats.layers["enc2"].scale
    save_stats(tmp_path / "stats.npz", Stats(stats.layers, "0" * 16))  # another model's: measured afresh
    assert stats_for(looped, tmp_path).fingerprint == stats.fingerprint
    (tmp_path / "stats.npz").write_bytes(b"not an npz")
    assert stats_for(looped, tmp_path).fingerprint == stats.fingerprint


# -- origins ---------------------------------------------------------------------------------


def test_user_origin_file_of_another_rate_and_length(tmp_path):
    t = np.arange(int(0.6 * 22050)) / 22050
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)], 1)
    path = write_wav(tmp_path / "user.wav", stereo, 22050)
    samples = origin_samples(str(path), SR, S)
    assert samples.shape == (S,) and samples.dtype == np.float32
    assert 0.4 < np.abs(samples).max() < 0.6
    period = round(0.6 * SR)  # looped: the second pass repeats the first
    assert np.allclose(samples[1000:2000], samples[period + 1000 : period + 2000], atol=0.02)
    assert not origin_samples("silence", SR, S).any()
    assert 0.05 < np.abs(origin_samples("noise", SR, S)).max() <= 0.1
    with pytest.raises(AudioFileError, match="nope.wav"):
        origin_samples(str(tmp_path / "nope.wav"), SR, S)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....")
    with pytest.raises(AudioFileError):
        origin_samples(str(tmp_path / "broken.wav"), SR, S)


# -- the step --------------------------------------------------------------------------------


@pytest.fixture()
def sonifier(ear, stats):
    son = Sonifier(ear, tiny_config("optimize.batch=2", "optimize.learning_rate=0.003"), stats)
    son.set_origin(origin_samples("noise", SR, S))
    return son


@pytest.mark.parametrize("mode", ["max", "min"])
def test_steps_raise_a_maximised_target_and_lower_a_minimised_one(sonifier, stats, mode):
    sel = Selection.parse({"layer": "enc5", "channel": live_channel(stats, "enc5"), "pitch": (0.5, 0.5),
                           "mode": mode})
    sonifier.set_objective(combine([sel]))
    region_mean = lambda: float(Selection(sel.layer, sel.channel, sel.pitch).value(  # noqa: E731
        {n: a[None] for n, a in sonifier.normalized().items()}))
    start, target_start = region_mean(), sonifier.listen().target
    results = sonifier.run(6)
    end, target_end = region_mean(), sonifier.listen().target
    assert all(r.ok for r in results) and sonifier.steps == 6
    assert target_end > target_start + 0.3  # the objective rises in both modes …
    if mode == "max":  # … by raising the region's activation, or by lowering it (normalised units)
        assert end > start + 0.3
    else:
        assert end < start - 0.3
    r = results[-1]
    assert r.scalogram.shape == r.scalogram_grad.shape == (216, sonifier.looped.window_frames)
    assert float(r.scalogram_grad.abs().sum()) > 0 and len(sonifier.target_history) == 6
    assert float(sonifier.x.abs().max()) <= sonifier.settings.max_amplitude + 1e-6


def test_non_finite_steps_go_back_to_the_last_good_clip(sonifier, stats):
    calls = {"n": 0}
    good = region("enc5", channel=live_channel(stats, "enc5"))

    def flaky(acts):
        calls["n"] += 1
        value = good(acts)
        return value * math.nan if calls["n"] in (3, 5, 6, 7) else value

    sonifier.set_objective(Objective(flaky, "flaky", uses=("enc5",)))
    first, second = sonifier.step(), sonifier.step()
    assert first.ok and second.ok
    third = sonifier.step()  # NaN: rejected
    assert not third.ok and sonifier.recoveries == 1
    assert torch.equal(sonifier.x, second.waveform)  # the last clip that evaluated cleanly
    assert sonifier.step().ok and torch.isfinite(sonifier.x).all()
    for _ in range(3):  # three failures in a row: back to the origin
        assert not sonifier.step().ok
    assert sonifier.recoveries == 4 and torch.equal(sonifier.x, sonifier.origin)
    assert sonifier.step().ok


def test_a_scripted_objective_may_carry_penalties_and_steps_report_each_term(sonifier, stats):
    from ear3d.ml.regularizers import brightness

    target = region("enc5", channel=live_channel(stats, "enc5"))
    sonifier.set_objective(target - 0.5 * brightness())  # the sound is among what objectives may read
    assert math.isfinite(sonifier.listen().target)
    sonifier.update_settings(dataclasses.replace(sonifier.settings, noise_penalty=0.2))
    r = sonifier.step()
    assert r.ok and list(r.terms) == ["objective", "noise"]
    assert r.loss == pytest.approx(-r.terms["objective"] + 0.2 * r.terms["noise"], rel=1e-5, abs=1e-6)


def test_a_new_target_on_a_paused_loop_does_not_run_the_ear_again(sonifier, stats, monkeypatch):
    heard = []
    hear = sonifier.hear
    monkeypatch.setattr(sonifier, "hear", lambda *a, **k: heard.append(1) or hear(*a, **k))
    first = sonifier.listen()
    sonifier.set_objective(region("enc5", channel=live_channel(stats, "enc5")))
    again = sonifier.listen()  # the same loop: the ear's answer is reused, the target is new
    assert len(heard) == 1 and math.isnan(first.target) and math.isfinite(again.target)
    for name, a in first.acts.items():
        assert torch.equal(a, again.acts[name])
    fresh = sonifier.hear(sonifier.x)  # what running the ear again gives: the same target
    assert again.target == pytest.approx(float(sonifier.objective(fresh.evaluated)[0]))
    heard.clear()
    sonifier.step()  # the loop changed: the next listen runs the ear
    sonifier.listen()
    assert len(heard) == 2  # the step's and the listen's
    other = "off" if sonifier.settings.relu_redirect == "on" else "on"
    sonifier.update_settings(dataclasses.replace(sonifier.settings, relu_redirect=other))
    sonifier.listen()  # the same loop, but the ear changed: heard again
    assert len(heard) == 3
