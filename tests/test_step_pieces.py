"""The pieces a sonification step is composed of, each on its own: the transforms, the
penalty objectives and their composition with the target, and the update rule."""

import dataclasses

import pytest
import torch

from ear3d.config import OptimizeConfig
from ear3d.ml.objectives import Objective, region
from ear3d.ml.regularizers import SOUND, brightness, noise_level, penalties, regularized, total_activity
from ear3d.ml.transforms import SILENT_CHANNELS, InputNoise, ScalogramMasks, TimeJitter, augmentations
from ear3d.ml.update import MAX_FAILURES_BEFORE_ORIGIN, LoopUpdate

CPU = torch.device("cpu")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- transforms ------------------------------------------------------------------------------


def test_time_jitter_shifts_every_item_but_the_clean_one_within_the_bound():
    n, bound = 1000, 30
    shifts = TimeJitter(bound, n)(64, gen(), CPU)
    assert shifts.shape == (64,) and shifts.dtype == torch.int64
    assert shifts[0] == 0 and ((shifts >= 0) & (shifts < n)).all()
    signed = torch.where(shifts > n // 2, shifts - n, shifts)  # back to −bound … bound
    assert int(signed.abs().max()) <= bound and len(set(signed.tolist())) > 10
    assert not TimeJitter(0, n)(8, gen(), CPU).any()
    assert torch.equal(TimeJitter(bound, n)(64, gen(3), CPU), TimeJitter(bound, n)(64, gen(3), CPU))  # seeded


def test_input_noise_adds_white_noise_of_the_given_level_to_every_item():
    played = torch.zeros(3, 20000)
    noisy = InputNoise(0.01)(played, gen())
    assert noisy.shape == played.shape and noisy.dtype == torch.float32
    for item in noisy:  # the clean item too: exact silence gets a gradient
        assert abs(float(item.std()) - 0.01) < 5e-4 and abs(float(item.mean())) < 5e-4


def test_scalogram_masks_silence_one_block_per_axis_and_spare_the_clean_item():
    b, f, t, window = 4, 40, 30, (10, 20)
    scal = torch.rand(b, 2, f, t) + 2.0  # nothing is silent before masking
    masked = ScalogramMasks(window, 0.25, 0.1)(scal, gen())
    assert masked.shape == scal.shape and torch.equal(masked[0], scal[0])
    for i in range(1, b):
        silent = (masked[i, 0] == SILENT_CHANNELS[0]) & (masked[i, 1] == SILENT_CHANNELS[1])  # (F, T)
        rows = int(silent.all(dim=1).sum())  # pitch rows silent at every time
        cols = silent.all(dim=0)  # time steps silent at every pitch
        assert rows == round(0.1 * f) and int(cols.sum()) == round(0.25 * window[1])
        assert not cols[: window[0]].any()  # the time block lies in the loop, not in its context
        assert torch.equal(masked[i][:, ~silent], scal[i][:, ~silent])
    one = scal[:1]
    g = gen()
    assert ScalogramMasks(window, 0.25, 0.1)(one, g) is one
    assert torch.equal(g.get_state(), gen().get_state())  # a batch of one draws nothing


def test_augmentations_follow_the_settings():
    s = OptimizeConfig()
    aug = augmentations(dataclasses.replace(s, time_jitter=0.5, input_noise=1e-3, time_mask=0.1, pitch_mask=0.0),
                        1000, 4000, (8, 16))
    assert aug.jitter == TimeJitter(500, 4000)
    assert aug.waveform == (InputNoise(1e-3),) and aug.scalogram == (ScalogramMasks((8, 16), 0.1, 0.0),)
    bare = augmentations(dataclasses.replace(s, input_noise=0.0, time_mask=0.0, pitch_mask=0.0), 1000, 4000, (8, 16))
    x = torch.rand(2, 1, 4, 24)
    assert bare.waveform == () and bare.scalogram == () and bare.heard(x, gen()) is x


# -- penalty objectives ----------------------------------------------------------------------


def evaluated(requires_grad: bool = True, seed: int = 0) -> dict[str, torch.Tensor]:
    """What a step gives objectives: normalised layers and the sound (B=2)."""
    g = gen(seed)
    acts = {
        "scalogram": torch.rand(2, 1, 16, 12, generator=g),
        "enc0": torch.randn(2, 4, 8, 12, generator=g),
        "ar0": torch.randn(2, 6, 1, 3, generator=g),
        SOUND: torch.rand(2, 2, 16, 12, generator=g),
    }
    return {k: v.requires_grad_(requires_grad) for k, v in acts.items()}


def descend(penalty: Objective, acts: dict, step: float = 1e-2) -> tuple[float, float]:
    """(penalty before, after one small step against its gradient) summed over the batch."""
    before = penalty(acts).sum()
    before.backward()
    moved = {k: (v - step * v.grad if v.grad is not None else v).detach() for k, v in acts.items()}
    return float(before.detach()), float(penalty(moved).sum())


def test_total_activity_pulls_every_hidden_activation_towards_zero():
    acts = evaluated()
    before, after = descend(total_activity(), acts)
    assert after < before
    for name in ("enc0", "ar0"):
        grad = acts[name].grad
        assert torch.equal(torch.sign(grad), torch.sign(acts[name].detach()))  # descent shrinks |a|
    assert acts["scalogram"].grad is None and acts[SOUND].grad is None  # the input and the sound are not "activity"


def test_noise_level_lowers_every_level_of_the_sound():
    acts = evaluated()
    before, after = descend(noise_level(), acts)
    assert after < before
    grad = acts[SOUND].grad
    assert (grad[:, 0] > 0).all() and (grad[:, 1] == 0).all()  # log power only, every bin and frame


def test_brightness_moves_energy_from_high_to_low_pitches():
    acts = evaluated()
    flat = torch.full((2, 2, 16, 12), 0.5, requires_grad=True)  # the same level in every bin
    acts[SOUND] = flat
    before, after = descend(brightness(), acts, step=1.0)
    assert after < before
    grad = flat.grad[:, 0]  # (B, F, T): lowering the penalty lowers high bins and raises low ones
    assert (grad[:, :7] < 0).all() and (grad[:, 9:] > 0).all()


def test_penalties_follow_their_factors_and_compose_as_the_sum():
    settings = dataclasses.replace(OptimizeConfig(), activity_penalty=0.5, noise_penalty=0.0, hf_penalty=2.0)
    terms = penalties(settings)
    assert list(terms) == ["activity", "high_frequency"] and [f for f, _ in terms.values()] == [0.5, 2.0]
    target = region("enc0", channel=(0.0, 0.5))
    aim = regularized(target, terms)
    acts = evaluated(requires_grad=False)
    expected = target(acts) - 0.5 * total_activity()(acts) - 2.0 * brightness()(acts)
    assert torch.allclose(aim(acts), expected, atol=1e-6)
    assert aim.selections == target.selections  # the target stays what is highlighted
    with_noise = target - 0.25 * noise_level()  # written by hand, as a script would
    assert torch.allclose(with_noise(acts), target(acts) - 0.25 * acts[SOUND][:, 0].mean((1, 2)), atol=1e-6)
    assert regularized(target, {}) is target


def test_recorded_parts_are_evaluated_once_and_kept():
    calls = []
    counted = Objective(lambda a: calls.append(1) or a["enc0"].mean((1, 2, 3)), "counted", uses=("enc0",))
    parts: dict = {}
    aim = regularized(counted.recorded(parts, "objective"), {"noise": (3.0, noise_level().recorded(parts, "noise"))})
    acts = evaluated(requires_grad=False)
    value = aim(acts)
    assert len(calls) == 1 and list(parts) == ["objective", "noise"]
    assert torch.allclose(value, parts["objective"] - 3.0 * parts["noise"])


# -- the update rule -------------------------------------------------------------------------


def test_update_moves_by_the_learning_rate_then_mixes_and_bounds():
    s = OptimizeConfig()
    update = LoopUpdate(torch.zeros(4000))
    wave = torch.rand(4000, generator=gen()) * 0.1
    direction = torch.randn(4000, generator=gen(1)) * 1e-6  # tiny: normalised away
    plain = dataclasses.replace(s, learning_rate=0.01, grad_norm="std", mix_origin=0.0, max_amplitude=1.0)
    new = update.propose(wave, direction, plain)
    assert abs(float((wave - new).std()) - 0.01) < 1e-5  # the RMS change per sample
    assert float(((wave - new) * direction).sum()) > 0  # against the gradient
    raw = update.propose(wave, direction, dataclasses.replace(plain, grad_norm="none"))
    assert torch.allclose(raw, wave - 0.01 * direction)
    mixed = update.propose(wave, direction, dataclasses.replace(plain, mix_origin=0.5))
    assert torch.allclose(mixed, 0.5 * new, atol=1e-7)  # half way back to the silent origin
    loud = update.propose(wave * 20, direction, dataclasses.replace(plain, max_amplitude=0.5))
    assert abs(float(loud.abs().max()) - 0.5) < 1e-6
    assert torch.equal(update.x, torch.zeros(4000))  # proposing changes nothing


def test_update_accepts_good_steps_and_recovers_from_bad_ones():
    origin = torch.zeros(8)
    update = LoopUpdate(origin)
    first, second = torch.full((8,), 0.1), torch.full((8,), 0.2)
    update.accept(first)
    update.accept(second)
    assert torch.equal(update.x, second) and torch.equal(update.last_good, first)
    update.reject()
    assert torch.equal(update.x, first) and update.recoveries == 1  # the last clip that evaluated cleanly
    for _ in range(MAX_FAILURES_BEFORE_ORIGIN - 1):
        update.reject()
    assert torch.equal(update.x, origin) and torch.equal(update.last_good, origin)  # a streak: back to the origin
    update.restart(torch.ones(8))
    assert torch.equal(update.x, torch.ones(8)) and update.failures == 0
    assert update.recoveries == MAX_FAILURES_BEFORE_ORIGIN  # kept across restarts


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_gradient_never_moves_the_loop_unnoticed(bad):
    update = LoopUpdate(torch.zeros(8))
    direction = torch.ones(8)
    direction[3] = bad
    raw = update.propose(torch.zeros(8), direction, dataclasses.replace(OptimizeConfig(), grad_norm="none"))
    assert not torch.isfinite(raw).all()  # visible to the step's check, which then rejects it
    normalised = update.propose(torch.zeros(8), direction, OptimizeConfig())
    assert torch.equal(normalised, torch.zeros(8))  # no finite scale: no move at all
    assert torch.equal(update.x, torch.zeros(8))
