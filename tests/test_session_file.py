"""Session files: every parameter, the kept regions, the origin, the camera and the scenes
round-trip; malformed files name the line or the key."""

import pytest

from ear3d.config import Config
from ear3d.control.params import Parameters, live_specs
from ear3d.session_file import (
    CameraPose,
    SessionFileError,
    SessionState,
    Snapshot,
    load_session,
    parse_session,
    save_session,
)

LAYERS = ["enc0", "enc1", "ar1", "ar2"]


@pytest.fixture
def params():
    return Parameters(live_specs(Config(), LAYERS))


def test_round_trip(tmp_path, params):
    params.set("exposure", 2.5)
    params.set("learning_rate", 3e-4)
    params.set("target_layer", 2)
    params.set("parametrization", "raw")
    params.set("minimise", 1)
    camera = CameraPose((0.5, -1.0, 2.0), 4.0, 1.2, 0.3, 50.0)
    kept = [{"layer": "enc1", "channel": (0.2, 0.1), "pitch": (0.5, 0.3), "time": (0.0, 1.0), "mode": "min"}]
    scene = Snapshot({"exposure": 0.5}, CameraPose((0, 0, 0), 2.0, 0.0, 0.1, 45.0), [], "noise")
    state = SessionState(Snapshot(params.snapshot(), camera, kept, "silence"), {3: scene})
    path = save_session(tmp_path / "s.toml", state, params.specs)
    assert 'target_layer = "ar1"' in path.read_text() and 'parametrization = "raw"' in path.read_text()
    back = load_session(path, params.specs, LAYERS)
    assert back.current.params == params.snapshot()
    assert back.current.camera == camera and back.current.kept == kept and back.current.origin == "silence"
    assert back.scenes[3].params == {"exposure": 0.5} and back.scenes[3].origin == "noise"
    assert [p.name for p in tmp_path.iterdir()] == ["s.toml"]  # atomic: no temporary left


@pytest.mark.parametrize("text, expected", [
    ("[params]\nexposure = = 2", "line 2"),
    ("[params]\nexposure = 'bright'", "params.exposure: value of 'exposure' must be a number"),
    ("[params]\nloudness = 1", "params.loudness: unknown parameter"),
    ("[params]\nparametrization = 'wavelet'", "params.parametrization: 'wavelet' is not a choice"),
    ("[params]\ntarget_layer = 'ar9'", "params.target_layer"),
    ("[camera]\ntarget = [0, 0]\ndistance = 1\nyaw = 0\npitch = 0\nfov_y = 45", "camera.target: must be [x, y, z]"),
    ("[camera]\ntarget = [0, 0, 0]\ndistance = -1\nyaw = 0\npitch = 0\nfov_y = 45", "camera.distance"),
    ("[camera]\ntarget = [0, 0, 0]", "camera.distance: missing"),
    ("[[kept]]\nlayer = 'nope'", "kept[0].layer: 'nope' is not a layer"),
    ("[[kept]]\nlayer = 'ar1'\nchannel = [0.5, 2]", "kept[0].channel"),
    ("[scenes.1.params]\nexposure = 'x'", "scenes.1.params.exposure"),
    ("[scenes.zero]\nparams = {}", "scenes.zero"),
    ("colour = 'red'", "colour: unknown key"),
    ("version = 7", "version: format 7"),
])
def test_malformed_files_name_the_line_or_key(params, text, expected):
    with pytest.raises(SessionFileError) as e:
        parse_session(text, params.specs, LAYERS, source="my.toml")
    assert expected in str(e.value) and "my.toml" in str(e.value)


def test_missing_file_is_named(tmp_path, params):
    with pytest.raises(SessionFileError, match="not found"):
        load_session(tmp_path / "none.toml", params.specs)
