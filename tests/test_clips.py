"""Clips on disk: the generated origin clip, reading odd files, atomic writes."""

import numpy as np
import pytest
import soundfile as sf

from ear3d.clips import AudioFileError, make_origin_clip, origin_clip_path, read_audio, write_wav

SR = 44100


def test_origin_clip_is_deterministic_and_musical():
    a, b = make_origin_clip(), make_origin_clip()
    assert a.shape == (4 * SR,) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert 0.69 < np.abs(a).max() <= 0.7
    # a bass line and an arpeggio: energy below 200 Hz and between 200 Hz and 1 kHz
    spec = np.abs(np.fft.rfft(a))
    f = np.fft.rfftfreq(len(a), 1 / SR)
    assert spec[f < 200].sum() > 0.05 * spec.sum() and spec[(f > 200) & (f < 1000)].sum() > 0.05 * spec.sum()


def test_shipped_origin_clip_matches_the_generator():
    shipped = read_audio(origin_clip_path(), SR)
    assert np.abs(shipped - make_origin_clip()).max() < 1e-4  # 16-bit quantisation only


def test_roundtrip_and_resampling(tmp_path):
    t = np.arange(22050 * 3) / 22050
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 220 * t)], axis=1) * 0.5
    path = tmp_path / "a.flac"
    sf.write(path, stereo, 22050)
    x = read_audio(path, SR, seconds=4.0)  # 3 s at 22.05 kHz, stereo → 4 s at 44.1 kHz, mono, looped
    assert x.shape == (4 * SR,) and x.dtype == np.float32
    peak = np.abs(np.fft.rfft(x[: 3 * SR])).argmax() / 3.0
    assert abs(peak - 220) < 1


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "cannot read audio file"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk"), "cannot read audio file"),
        (lambda p: sf.write(p, np.zeros((0, 1)), SR), "is empty"),
        (lambda p: sf.write(p, np.array([0.0, np.nan, 0.1]), SR, subtype="FLOAT"), "NaN"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioFileError, match=message) as err:
        read_audio(path, SR)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(AudioFileError, match="nope.wav"):
        read_audio(tmp_path / "nope.wav", SR)


def test_write_is_atomic_and_leaves_no_temp(tmp_path):
    write_wav(tmp_path / "x.wav", np.zeros(100, np.float32), SR)
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]
    with pytest.raises(RuntimeError):  # libsndfile's error
        write_wav(tmp_path / "y.wav", np.zeros(100, np.float32), -5)  # invalid rate: nothing left behind
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]
