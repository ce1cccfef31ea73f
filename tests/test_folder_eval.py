"""`ear3d eval --data`: probes on a user's folder of music, bad files skipped, and probes on
every layer drawn by depth."""

import json

import numpy as np
import pytest
import soundfile as sf

from ear3d.config import load
from ear3d.ml.folder_eval import cut_clips, folder_tasks, time_split
from ear3d.ml.model import build_ear
from ear3d.ml.probes import task_rows

SR = 44100


def tone_file(path, freq, seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * freq * (1 + 0.01 * rng.standard_normal()) * t) + 0.01 * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), SR)


def two_class_folder(root):
    for i in range(3):
        tone_file(root / "low" / f"l{i}.wav", 110.0 * (1 + i * 0.1), 9.0, i)
        tone_file(root / "high" / f"h{i}.wav", 1760.0 * (1 + i * 0.1), 9.0, 10 + i)
    (root / "high" / "broken.wav").write_bytes(b"RIFF not really a wave file")
    tone_file(root / "low" / "short.wav", 110.0, 1.0, 5)


def test_clips_never_cross_the_70_30_boundary():
    audio = np.arange(10 * 4, dtype=np.float32)
    train, test = time_split(audio, 4, 100)
    assert train.max() < 28 <= test.min()
    assert cut_clips(audio[:3], 4, 5).shape == (0, 4)
    assert len(cut_clips(audio, 4, 3)) == 3
    train, test = time_split(audio, 4, 100, hop=1)  # overlapping within a part, never across
    assert len(train) == 25 and len(test) == 9 and train.max() < 28 <= test.min()
    assert np.array_equal(cut_clips(audio, 4, 100, hop=1)[1], audio[1:5])


def test_class_subfolders_separate_two_obvious_classes_and_skip_bad_files(tmp_path, caplog):
    two_class_folder(tmp_path)
    task, skipped = folder_tasks(tmp_path, SR, 4.0, 4)
    assert task.classes == ["high", "low"] and "by file" in task.split
    assert {str(tmp_path / "high" / "broken.wav"), str(tmp_path / "low" / "short.wav")} == set(skipped)
    assert "broken.wav" in caplog.text and "short.wav" in caplog.text
    config = load(None, ["model.preset=tiny", "model.weights=random"])
    ears = {"random_init": build_ear(config)}
    rows = {(r.case, r.metric): r.value for r in task_rows(ears, [task], ["enc7", "ar8"], progress=False)}
    assert rows[("raw_cqt", "probe_accuracy_class")] == 100.0
    assert rows[("random_init/enc7", "probe_accuracy_class")] >= 75.0
    assert rows[("data/class", "probe_train_clips")] == 8  # two 9 s files per class: 2 clips each
    assert rows[("data/class", "probe_test_clips")] == 4  # one file per class held out
    # cross-validation holds out whole training files, as the test does (2 clips per file)
    assert task.train_groups is not None and np.bincount(task.train_groups).tolist() == [2, 2, 2, 2]


def test_grouped_folds_never_split_a_recording():
    from ear3d.ml.evaluate import cv_folds

    groups = np.repeat(np.arange(10), 3)
    parts = cv_folds(len(groups), 3, np.random.default_rng(0), groups)
    assert sorted(np.concatenate(parts).tolist()) == list(range(30))
    assert all(len(set(groups[p]) & set(groups[q])) == 0 for i, p in enumerate(parts) for q in parts[i + 1:])
    plain = cv_folds(30, 3, np.random.default_rng(0))  # no groups: clips at random
    assert sorted(np.concatenate(plain).tolist()) == list(range(30))


def test_a_flat_folder_is_a_track_id_probe(tmp_path):
    for i, f in enumerate((220.0, 330.0, 495.0)):
        tone_file(tmp_path / f"track{i}.wav", f, 14.0, i)
    task, skipped = folder_tasks(tmp_path, SR, 4.0, 4)
    assert task.name == "track" and task.classes == ["track0.wav", "track1.wav", "track2.wav"] and not skipped
    assert sorted(set(task.train_labels)) == sorted(set(task.test_labels)) == [0, 1, 2]
    assert task.train_groups is None  # the same files give train and test clips: nothing to group
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="fewer than two classes"):
        folder_tasks(tmp_path / "nothing", SR)


def test_eval_data_command_reports_baselines_and_draws_layers(tmp_path, capsys):
    from ear3d.cli import main
    from ear3d.ml.train import train

    two_class_folder(tmp_path / "music")
    model = tmp_path / "m"
    train(load(None, ["model.preset=tiny", f"model.name={model}", "train.batch_size=3", "train.crop_seconds=3",
                      "train.validation_clips=3", "train.steps=1", "train.threads=1", "train.pool_clips=0"]),
          progress=False, stats=False)
    out, png = tmp_path / "eval.json", tmp_path / "layers.png"
    code = main(["--set", "model.preset=tiny", "--set", f"model.name={model}", "eval", "--data",
                 str(tmp_path / "music"), "--layers", "enc0.mid,enc3,ar8", "--clips-per-file", "2",
                 "--figure", str(png), "--json", str(out), "--quiet"])
    assert code == 0
    rows = {(r["case"], r["metric"]): r["value"] for r in json.loads(out.read_text())["rows"]}
    names = ["enc0.mid", "enc3", "ar8"]
    for case in ["raw_cqt", "chance"] + [f"{e}/{n}" for e in ("cpc", "random_init") for n in names]:
        assert 0.0 <= rows[(case, "probe_accuracy_class")] <= 100.0
    assert rows[("data", "skipped_files")] == 2
    for ear in ("cpc", "random_init"):  # the best layer, chosen without the test clips, is one of those probed
        chosen = int(rows[(f"{ear}/best", "chosen_layer_class")])
        assert rows[(f"{ear}/best", "probe_accuracy_class")] == rows[(f"{ear}/{names[chosen]}", "probe_accuracy_class")]
    from PIL import Image

    assert Image.open(png).size[0] > 300
    assert "probe_accuracy_class" in capsys.readouterr().out
    # a layer the model does not have: a one-line error
    assert main(["--set", "model.preset=tiny", "--set", f"model.name={model}", "eval", "--data",
                 str(tmp_path / "music"), "--layers", "enc1,nope", "--quiet"]) == 2
    assert "unknown layer(s) nope" in capsys.readouterr().err
