import pytest

from ear3d.config import Config, ConfigError, describe, load, parse_override


def write(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_defaults_are_valid():
    cfg = load()
    assert cfg == Config()
    assert cfg.audio.sample_rate == 44100 and cfg.cqt.n_bins == 216


def test_good_file_and_overrides(tmp_path):
    p = write(tmp_path, '[render]\nwidth = 640\nheight = 360\nbackground = "#102030"\n[model]\npreset = "tiny"\n')
    cfg = load(p, ["render.fps=60", "audio.volume=0.5"])
    assert (cfg.render.width, cfg.render.height, cfg.render.fps) == (640, 360, 60)
    assert cfg.model.preset == "tiny" and cfg.audio.volume == 0.5
    assert cfg.cqt == Config().cqt  # untouched sections keep defaults


def test_int_accepted_for_float():
    assert load(None, ["audio.clip_seconds=3"]).audio.clip_seconds == 3.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[render]\nwidht = 640\n", "unknown config key render.widht"),
        ("[rendr]\nwidth = 640\n", "unknown config section 'rendr'"),
        ('[render]\nwidth = "wide"\n', "render.width must be an integer"),
        ("[render]\nwidth = 64.5\n", "render.width must be an integer"),
        ("[audio]\nvolume = true\n", "audio.volume must be a number"),
        ("[render]\nwidth = 99999\n", "render.width = 99999 is out of range; allowed: 16 to 8192"),
        ("[audio]\nvolume = -0.1\n", "audio.volume = -0.1 is out of range"),
        ("[audio]\nvolume = nan\n", "audio.volume must be finite"),
        ('[model]\npreset = "huge"\n', "model.preset = 'huge' is not allowed; choose one of 'tiny', 'small', 'paper'"),
        ('[render]\nbackground = "red"\n', "render.background = 'red' is not a colour"),
        ("render = 3\n", "config section [render] must be a table"),
        ("[cqt]\nn_bins = 300\n", "above Nyquist"),
        ("[render\nwidth = 1\n", "is not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=None) as err:
        load(write(tmp_path, text))
    assert expected in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load(tmp_path / "nope.toml")


@pytest.mark.parametrize("bad", ["render.width", "width=3", ".x=1", "render.=1"])
def test_malformed_override(bad):
    with pytest.raises(ConfigError, match="section.key=value"):
        load(None, [bad])


def test_override_values_are_toml():
    assert parse_override("render.background=#000000") == ("render", "background", "#000000")
    assert parse_override("audio.volume = 0.25") == ("audio", "volume", 0.25)
    assert parse_override('audio.device="USB"') == ("audio", "device", "USB")


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().render.width = 3  # type: ignore[misc]


def test_describe_lists_every_section():
    text = describe()
    for section in ("audio", "cqt", "model", "optimize", "layout", "render", "control"):
        assert f"[{section}]" in text
    assert "sample_rate = 44100" in text
