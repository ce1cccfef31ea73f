"""The real-music corpus: a score performed through a General MIDI SoundFont sounds its notes,
its labels survive into the manifest, the split holds pieces and a font out, builds resume."""

import contextlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from ear3d.config import load
from ear3d.ml.cqt import Scalogram, bin_frequencies
from ear3d.ml.music_corpus import (
    BuildSettings,
    build_corpus,
    corpus_files,
    find_soundfonts,
    is_eval_piece,
    plan_order,
    split_fonts,
)
from ear3d.ml.perform import Performance, perform
from ear3d.ml.scores import Note, Score

SR = 44100
needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None or len(find_soundfonts()) < 2,
                                      reason="needs fluidsynth and two GM SoundFonts (`make corpus`)")


def flat_performance(n_parts: int, program: int) -> Performance:
    return Performance(programs=(program,) * n_parts, bpm=120.0, transpose=0, levels=(100.0,) * n_parts,
                       swell_period=10.0, swell_depth=0.0, jitter=0.001, legato=1.0, start=0.0, room_seconds=0.3,
                       room_wet=0.1, peak=0.5)


@needs_fluidsynth
@pytest.mark.parametrize("program", [0, 73])  # piano, flute
def test_a_tiny_score_sounds_its_notes_in_the_scalogram(program):
    # A4 (440 Hz) for two beats, then E5 (659 Hz) for two beats, at 120 bpm: 1 s each.
    score = Score("test/tiny", "test", ((Note(0.0, 2.0, 69), Note(2.0, 2.0, 76)),), tonic=9, mode="minor",
                  metre="4/4", marked_bpm=120.0)
    audio = perform(score, flat_performance(1, program), find_soundfonts()[0], SR, 2.5, np.random.default_rng(0))
    assert audio.dtype == np.float32 and audio.shape == (int(2.5 * SR),)
    assert np.abs(audio).max() == pytest.approx(0.5, rel=1e-3)
    config = load(None, [])
    front = Scalogram(config.cqt, SR)
    freqs = bin_frequencies(config.cqt).numpy()
    with torch.no_grad():
        s = front(torch.from_numpy(audio)[None])[0, 0].numpy()  # (F, T)
    t = s.shape[1]
    for expected, other, (lo, hi) in ((440.0, 659.3, (0.2, 0.8)), (659.3, 440.0, (1.2, 1.8))):
        profile = s[:, int(lo / 2.5 * t) : int(hi / 2.5 * t)].mean(1)  # (F,) mean log power
        f0 = int(np.abs(np.log2(freqs / expected)).argmin())
        # the note's fundamental is a peak standing 1.5 semitones clear of its neighbours …
        assert profile[f0 - 1 : f0 + 2].max() > max(profile[f0 - 3], profile[f0 + 3]), (program, expected)
        # … the strongest bin is one of its harmonics, and the other note is not sounding
        ratio = freqs[int(profile.argmax())] / expected
        assert abs(ratio - round(ratio)) < 0.04 and round(ratio) >= 1, (program, expected, ratio)
        g0 = int(np.abs(np.log2(freqs / other)).argmin())
        assert profile[g0 - 1 : g0 + 2].max() < profile[f0 - 1 : f0 + 2].max()


def test_the_plan_interleaves_collections_and_extends_stably():
    pieces = {"a": [f"a/{i}" for i in range(5)], "b": [f"b/{i}" for i in range(2)], "c": ["c/0"]}
    order = plan_order(pieces, seed=3)
    assert sorted(order) == sorted(sum(pieces.values(), []))
    assert {p.split("/")[0] for p in order[:3]} == {"a", "b", "c"}  # every collection early
    assert plan_order(pieces, seed=3) == order and plan_order(pieces, seed=4) != order
    held = [p for p in (f"x/{i}" for i in range(2000)) if is_eval_piece(p, 20.0)]
    assert 300 < len(held) < 500


def test_one_font_is_held_out_for_evaluation(tmp_path):
    fonts = [tmp_path / "FluidR3_GM.sf2", tmp_path / "TimGM6mb.sf2", tmp_path / "MuseScore_General_Lite.sf3"]
    train, held = split_fonts(fonts)
    assert held == [fonts[2]] and train == fonts[:2]
    with pytest.raises(ValueError, match="at least two SoundFonts"):
        split_fonts(fonts[:1])


@needs_fluidsynth
def test_a_build_keeps_labels_holds_pieces_out_and_resumes(tmp_path):
    pytest.importorskip("music21")
    settings = BuildSettings(seed=1, sample_rate=SR, seconds=3.0, eval_percent=50.0)
    m = build_corpus(tmp_path, 3, settings, progress=False, collections=("bach",))
    assert len(m["pieces"]) == 3
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc == m
    for e in m["pieces"]:
        assert e["collection"] == "bach" and e["piece"].startswith("bach/")
        assert 0 <= e["tonic"] < 12 and e["mode"] in ("major", "minor") and e["key"].endswith(e["mode"])
        assert e["metre"] and 40 <= e["bpm"] <= 220 and len(e["instruments"]) == e["voices"] >= 1
        data, rate = sf.read(tmp_path / e["file"])
        assert rate == SR and data.ndim == 1 and len(data) / SR == pytest.approx(e["seconds"], abs=1e-3)
        assert np.abs(data).max() > 0.01
        assert (e["split"] == "eval") == is_eval_piece(e["piece"], 50.0)
        assert (e["soundfont"] in m["soundfonts"]["eval"]) == (e["split"] == "eval")
    assert not set(m["soundfonts"]["train"]) & set(m["soundfonts"]["eval"])
    first = {e["file"]: (tmp_path / e["file"]).stat().st_mtime_ns for e in m["pieces"]}
    m2 = build_corpus(tmp_path, 4, settings, progress=False, collections=("bach",))  # resume and extend
    assert len(m2["pieces"]) == 4 and m2["pieces"][:3] == m["pieces"]
    assert all((tmp_path / f).stat().st_mtime_ns == t for f, t in first.items())  # not rendered again
    assert set(corpus_files(tmp_path, "train")) | set(corpus_files(tmp_path, "eval")) == {
        tmp_path / e["file"] for e in m2["pieces"]}
    with pytest.raises(ValueError, match="other settings"):
        build_corpus(tmp_path, 4, BuildSettings(seed=2, sample_rate=SR, seconds=3.0), progress=False)


@needs_fluidsynth
def test_worker_processes_build_the_same_corpus_and_other_fonts_do_not_resume_it(tmp_path):
    pytest.importorskip("music21")
    settings = BuildSettings(seed=1, sample_rate=SR, seconds=2.0, eval_percent=50.0)
    one = build_corpus(tmp_path / "one", 4, settings, progress=False, collections=("bach",))
    two = build_corpus(tmp_path / "two", 4, settings, progress=False, collections=("bach",), jobs=2)
    assert two == one  # the same pieces in the same order, labels and performances
    for e in one["pieces"]:
        assert np.array_equal(sf.read(tmp_path / "one" / e["file"])[0], sf.read(tmp_path / "two" / e["file"])[0])
    # the same settings with the fonts chosen by hand, in another order: the manifest says which
    fonts = find_soundfonts()
    chosen = BuildSettings(seed=1, sample_rate=SR, seconds=2.0, eval_percent=50.0,
                           fonts=tuple(str(f) for f in fonts[::-1]))
    with pytest.raises(ValueError, match="other settings"):
        build_corpus(tmp_path / "one", 5, chosen, progress=False, collections=("bach",))
    (tmp_path / "one" / "manifest.json").write_text(
        (tmp_path / "one" / "manifest.json").read_text().replace(fonts[0].name, "Another_GM.sf2"))
    with pytest.raises(ValueError, match="SoundFonts"):  # a font installed or removed since the build
        build_corpus(tmp_path / "one", 5, settings, progress=False, collections=("bach",))
    with pytest.raises(FileNotFoundError, match="SoundFont not found: /no/such.sf2"):
        BuildSettings(fonts=("/no/such.sf2",)).soundfonts()


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    kids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids |= {int(k) for k in (task / "children").read_text().split()}
    return kids


@needs_fluidsynth
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_a_killed_parallel_build_takes_its_worker_processes_with_it(tmp_path):
    pytest.importorskip("music21")
    import signal
    import subprocess
    import sys
    import time

    build = subprocess.Popen([sys.executable, "-m", "ear3d", "corpus", "build", "--out", str(tmp_path), "--pieces",
                              "500", "--jobs", "2", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "manifest.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = _children(build.pid)
        assert len(workers) >= 2  # two renderers (and multiprocessing's resource tracker)
        build.send_signal(signal.SIGTERM)  # dies at once, no clean-up of its own
        build.wait(30)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if Path(f"/proc/{w}").exists()]
    finally:
        build.kill()


@pytest.mark.parametrize(("args", "says"), [
    (["--fonts", "/no/such.sf2"], "SoundFont not found: /no/such.sf2"),
    (["--pieces", "0"], "--pieces must be ≥ 1"),
    (["--jobs", "-1"], "--jobs ≥ 0"),
])
def test_corpus_build_names_a_bad_value_in_one_line(tmp_path, capsys, args, says):
    from ear3d.cli import main

    assert main(["corpus", "build", "--out", str(tmp_path / "c"), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ear3d: error: ") and says in err and "\n" not in err
    assert not (tmp_path / "c").exists()  # nothing written


def test_training_on_a_corpus_folder_never_reads_its_held_out_pieces(tmp_path):
    from ear3d.ml.data import make_sources, training_files
    from ear3d.ml.music_corpus import write_manifest

    entries = []
    for split in ("train", "eval"):
        for i in range(3):
            path = tmp_path / split / "bach" / f"p{i}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, np.full(3 * SR, 0.1 if split == "train" else 0.9, np.float32), SR, format="FLAC")
            entries.append({"file": f"{split}/bach/p{i}.flac", "piece": f"bach/p{i}", "split": split})
    write_manifest(tmp_path, {"format": 1, "pieces": entries, "failed": []})
    assert training_files(tmp_path) == sorted(tmp_path / "train" / "bach" / f"p{i}.flac" for i in range(3))
    train, val = make_sources(f"procedural+{tmp_path}", SR, SR)
    rng = np.random.default_rng(0)
    crops = [train.crop(rng, SR) for _ in range(20)]
    assert not any(np.allclose(c, 0.9, atol=1e-3) for c in crops)  # never an eval piece
    from_corpus = [np.allclose(c, 0.1, atol=1e-3) for c in crops]
    assert any(from_corpus) and not all(from_corpus)  # both sources
    assert val.describe()["kind"] == "folder"
