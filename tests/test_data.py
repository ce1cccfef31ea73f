"""Training data: the procedural corpus, audio folders with bad files, augmentation, the pool."""

import logging

import numpy as np
import pytest
import soundfile as sf
import torch

from ear3d.clips import AudioFileError
from ear3d.ml.corpus import INSTRUMENTS, TASKS, TEMPO_BANDS, PieceLabels, ProceduralCorpus, render_piece
from ear3d.ml.data import FolderSource, ProceduralSource, ScalogramPool, add_noise, folder_sources, make_sources

SR = 22050


def test_pieces_are_deterministic_labelled_and_distinct():
    a, la = render_piece((0, 1), SR, 2.0)
    b, lb = render_piece((0, 1), SR, 2.0)
    c, _ = render_piece((1, 1), SR, 2.0)
    assert a.dtype == np.float32 and a.shape == (2 * SR,) and np.isfinite(a).all()
    assert np.array_equal(a, b) and la == lb
    assert not np.allclose(a, c)
    assert 0.2 < np.abs(a).max() <= 0.9
    lo, hi = TEMPO_BANDS[la.tempo]
    assert lo <= la.bpm <= hi and 0 <= la.instrument < len(INSTRUMENTS) and 0 <= la.key < 12
    assert set(TASKS) == {"instrument", "key", "tempo"} and la.task("key") == la.key


def test_labels_fix_the_melody_and_keys_differ_in_pitch():
    """The same labels with another key move the spectrum's energy (the key is audible)."""
    def chroma(key: int) -> np.ndarray:  # energy per pitch class, summed over three pieces
        out = np.zeros(12)
        for i in range(3):
            x, _ = render_piece((9, i), SR, 3.0, PieceLabels(instrument=2, key=key, tempo=1, mode=0, bpm=110.0))
            spec = np.abs(np.fft.rfft(x)) ** 2
            f = np.fft.rfftfreq(len(x), 1 / SR)
            ok = (f > 200) & (f < 2000)  # above the kick and the snare's tone
            pc = np.round(12 * np.log2(f[ok] / 440.0)).astype(int) % 12
            out += np.bincount(pc, weights=spec[ok], minlength=12) / spec[ok].sum()
        return out

    c, g = chroma(0), chroma(7)
    best = max(range(12), key=lambda s: float(np.dot(np.roll(c, s), g)))
    assert best == 7  # the pitch-class profile moves with the key


def test_corpus_splits_are_disjoint():
    a, _ = ProceduralCorpus(SR, 1.0, 2).clips(2)
    b, _ = ProceduralCorpus(SR, 1.0, 3).clips(2)
    assert a.shape == (2, SR) and not np.allclose(a, b)


def write(path, data, rate=SR, **kw):
    sf.write(str(path), data, rate, **kw)
    return path


def test_folder_skips_every_kind_of_bad_file_once(tmp_path, caplog):
    rng = np.random.default_rng(0)
    write(tmp_path / "good.wav", 0.1 * rng.standard_normal((3 * SR, 2)).astype(np.float32))
    write(tmp_path / "good44.flac", 0.1 * rng.standard_normal(3 * 44100), 44100)
    write(tmp_path / "short.wav", np.zeros(SR // 10, np.float32))
    write(tmp_path / "empty.wav", np.zeros(0, np.float32))
    nan = np.zeros(3 * SR, np.float32)
    nan[::5000] = np.nan  # found wherever a crop starts
    write(tmp_path / "nan.wav", nan, subtype="FLOAT")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    (tmp_path / "notes.txt").write_text("not audio")
    with caplog.at_level(logging.WARNING):
        train, val = folder_sources(tmp_path, SR, SR)
        crops = [train.crop(np.random.default_rng(i), SR) for i in range(12)] + [val.crop(np.random.default_rng(0), SR)]
    assert all(c.shape == (SR,) and c.dtype == np.float32 and np.isfinite(c).all() for c in crops)
    skipped = {**train.skipped, **val.skipped}
    names = {p.rsplit("/", 1)[-1]: r for p, r in skipped.items()}
    assert set(names) == {"short.wav", "empty.wav", "corrupt.wav", "notes.txt", "nan.wav"}, names
    assert "shorter" in names["short.wav"] and "empty" in names["empty.wav"] and "NaN" in names["nan.wav"]
    for name in names:  # one warning per bad file, naming it
        assert sum(name in r.getMessage() for r in caplog.records) == 1, name


def test_a_folder_without_usable_audio_is_a_clear_error(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(AudioFileError, match="no usable"):
        FolderSource([tmp_path / "a.txt"], SR, SR)
    with pytest.raises(AudioFileError, match="does not exist"):
        make_sources(str(tmp_path / "missing"), SR, SR)


def test_noise_is_low_passed_and_at_the_asked_level():
    x = np.zeros((4, SR), np.float32)
    y = add_noise(x, np.random.default_rng(0), 3e-3, SR)
    rms = np.sqrt((y ** 2).mean(1))
    assert y.dtype == np.float32 and np.all((rms > 1.4e-3) & (rms < 3.1e-3))
    spec = np.abs(np.fft.rfft(y[0])) ** 2
    assert spec[: len(spec) // 8].mean() > 2 * spec[len(spec) // 2 :].mean()  # low-passed: less power up high
    assert add_noise(x, np.random.default_rng(0), 0.0, SR) is x


def test_pool_cuts_crops_of_the_right_size_and_refreshes():
    class Front(torch.nn.Module):  # a cheap stand-in front end: (B, S) → (B, 1, 4, S // 100)
        def forward(self, w):
            return w[:, : w.shape[1] // 100 * 100].reshape(w.shape[0], 1, 1, -1, 100).mean(-1).expand(-1, 1, 4, -1)

    pool = ScalogramPool(ProceduralSource(SR), Front(), 3, SR, 50, 0.0, np.random.default_rng(0), torch.device("cpu"))
    before = pool.items.clone()
    x = pool.sample(np.random.default_rng(1), 5)
    assert x.shape == (5, 1, 4, 50) and x.dtype == torch.float32
    pool.refresh(np.random.default_rng(2), 1)
    assert (pool.items != before).any(dim=(1, 2, 3)).sum() == 1
