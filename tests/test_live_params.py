"""The one parameter registry: built from config.py's fields, seeded from the config, sized by
the model; scales, choices and steps behave."""

import math

import pytest

from ear3d.config import Config, load
from ear3d.control.params import ALL_PARAMS, GROUPS, ControlError, Parameters, live_specs
from ear3d.messages import Command


def by_name(specs):
    return {s.name: s for s in specs}


def test_every_optimizer_parameter_is_live_with_the_config_ranges():
    specs = by_name(ALL_PARAMS)
    for name in ("channel_pos", "channel_width", "pitch_pos", "pitch_width", "time_pos", "time_width", "learning_rate",
                 "mix_origin", "time_jitter", "time_mask", "pitch_mask", "noise_penalty", "activity_penalty",
                 "hf_penalty", "minimise", "batch", "parametrization"):
        assert name in specs, name
        assert specs[name].group in ("target", "origin", "optimizer")
    assert specs["learning_rate"].scale == "log" and specs["learning_rate"].config_key == "optimize.learning_rate"
    assert specs["batch"].integer and specs["parametrization"].choices == ("spectral", "raw")
    assert {s.group for s in ALL_PARAMS} == set(GROUPS)
    assert all(s.doc for s in ALL_PARAMS)


def test_seeded_from_the_config_and_widened_for_values_outside_the_live_range():
    cfg = load(None, ["optimize.time_jitter=20", "optimize.learning_rate=50", "optimize.minimise=true",
                      "render.exposure=2", "optimize.start_target=ar2"])
    specs = by_name(live_specs(cfg, ["enc0", "ar1", "ar2"]))
    assert specs["time_jitter"].default == 20 and specs["time_jitter"].hi == 20  # the user's value survives
    assert specs["learning_rate"].default == 50 and specs["learning_rate"].hi == 50
    assert specs["minimise"].default == 1 and specs["exposure"].default == 2
    assert specs["target_layer"].default == 2 and specs["target_layer"].choices == ("enc0", "ar1", "ar2")
    assert specs["highlight_layer"].lo == -1 and specs["highlight_layer"].hi == 2
    assert specs["sonify"].default == 1
    assert by_name(live_specs(load(None, ["optimize.start_target="])))["sonify"].default == 0


def test_log_scale_steps_and_normalizes_by_ratios():
    p = Parameters(live_specs(Config()))
    spec = p.spec("learning_rate")
    v = p.get("learning_rate")
    up = p.step("learning_rate", 1)
    assert up / v == pytest.approx((spec.hi / spec.lo) ** (1 / 16))
    assert spec.from_normalized(0.5) == pytest.approx(math.sqrt(spec.lo * spec.hi))
    assert spec.to_normalized(spec.from_normalized(0.3)) == pytest.approx(0.3)


def test_choices_toggle_and_names():
    p = Parameters()
    assert p.set("parametrization", "raw") == 1
    with pytest.raises(ControlError, match="spectral, raw"):
        p.set("parametrization", "wavelet")
    assert p.apply(Command("minimise:toggle")) and p.get("minimise") == 1
    assert p.apply(Command("minimise:toggle")) and p.get("minimise") == 0
    assert p.spec("minimise").written(1) == "minimise"


def test_update_specs_resizes_and_clamps():
    p = Parameters()
    p.set("highlight_layer", 40)
    p.update_specs(live_specs(Config(), [f"l{i}" for i in range(10)]))
    assert p.spec("highlight_layer").hi == 9 and p.get("highlight_layer") == 9
    with pytest.raises(ControlError):
        p.update_specs([next(s for s in ALL_PARAMS if s.name == "volume").__class__("nope", 0, 1, 0, "x")])
