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
    train, test, _ = time_split(audio, 4, 100)
    assert train.max() < 28 <= test.min()
    assert cut_clips(audio[:3], 4, 5).shape == (0, 4)
    assert len(cut_clips(audio, 4, 3)) == 3
    train, test, first = time_split(audio, 4, 100, hop=1)  # overlapping within a part, never across
    assert len(train) == 25 and len(test) == 9 and train.max() < 28 <= test.min()
    assert np.array_equal(train[:, 0], audio[first])  # the starts name the clips cut
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
    from ear3d.ml.evaluate import cv_splits

    groups = np.repeat(np.arange(10), 3)
    splits = cv_splits(len(groups), 3, np.random.default_rng(0), groups)
    assert sorted(np.concatenate([val for _, val in splits]).tolist()) == list(range(30))
    for fit, val in splits:
        assert sorted([*fit, *val]) == list(range(30)) and not set(groups[fit]) & set(groups[val])
    plain = cv_splits(30, 3, np.random.default_rng(0))  # no groups: clips at random
    assert sorted(np.concatenate([val for _, val in plain]).tolist()) == list(range(30))


def test_folds_in_time_hold_out_a_stretch_of_every_recording_and_fit_on_clips_that_do_not_overlap_it():
    from ear3d.ml.evaluate import cv_splits

    # two recordings of 11 clips 4 s long starting every second (the corpus's piece task),
    # listed out of time order
    starts = np.tile(np.arange(11), 2) * 44_100
    rec = np.repeat([0, 1], 11)
    order = np.random.default_rng(1).permutation(22)
    spans = np.stack([rec, starts, starts + 4 * 44_100], 1)[order]
    splits = cv_splits(22, 3, np.random.default_rng(0), spans=spans)
    assert sorted(np.concatenate([val for _, val in splits]).tolist()) == list(range(22))
    for fit, val in splits:
        for r in (0, 1):
            held = np.sort(spans[val][spans[val][:, 0] == r, 1]) // 44_100
            assert len(held) and np.array_equal(held, np.arange(held[0], held[-1] + 1))  # one stretch
            fitted = spans[fit][spans[fit][:, 0] == r]
            assert len(fitted)  # the fit keeps clips of every recording
            # and none of them shares a sample with a held-out clip of its recording
            assert not ((fitted[:, 1, None] < held[None] * 44_100 + 4 * 44_100)
                        & (held[None] * 44_100 < fitted[:, 2, None])).any()
    assert [len(fit) for fit, _ in splits] == [8, 2, 10]  # clips 7-10, 0, 0-4 of each recording


def test_a_flat_folder_is_a_track_id_probe(tmp_path):
    for i, f in enumerate((220.0, 330.0, 495.0)):
        tone_file(tmp_path / f"track{i}.wav", f, 14.0, i)
    task, skipped = folder_tasks(tmp_path, SR, 4.0, 4)
    assert task.name == "track" and task.classes == ["track0.wav", "track1.wav", "track2.wav"] and not skipped
    assert sorted(set(task.train_labels)) == sorted(set(task.test_labels)) == [0, 1, 2]
    assert task.train_groups is None  # the same files give train and test clips: nothing to group
    # cross-validation holds out stretches in time instead: (recording, first, end sample) per clip
    assert task.train_spans is not None and task.train_spans[:, 0].tolist() == np.repeat([0, 1, 2], 2).tolist()
    assert (task.train_spans[:, 2] - task.train_spans[:, 1] == 4 * SR).all()
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
                 str(tmp_path / "music"), "--layers", "enc0.mid,enc3,ar8, enc0.mid + ar8", "--clips-per-file", "2",
                 "--figure", str(png), "--json", str(out), "--quiet"])
    assert code == 0
    rows = {(r["case"], r["metric"]): r["value"] for r in json.loads(out.read_text())["rows"]}
    names = ["enc0.mid", "enc3", "ar8", "enc0.mid+ar8"]  # the last: two layers probed together
    for case in ["raw_cqt", "chance"] + [f"{e}/{n}" for e in ("cpc", "random_init") for n in names]:
        assert 0.0 <= rows[(case, "probe_accuracy_class")] <= 100.0
    assert rows[("data", "skipped_files")] == 2
    # the best layer, chosen without the test clips, is one of those probed ...
    chosen = int(rows[("cpc/best", "chosen_layer_class")])
    assert rows[("cpc/best", "probe_accuracy_class")] == rows[(f"cpc/{names[chosen]}", "probe_accuracy_class")]
    # ... the first of the layers with the highest cross-validated accuracy, reported with each
    cv = [rows[(f"cpc/{n}", "cv_accuracy_class")] for n in names]
    assert all(0.0 <= v <= 100.0 for v in cv) and chosen == cv.index(max(cv))
    # random weights are drawn three times (the default): each draw chooses its own layer, and
    # the baseline is the mean of those choices, with the draws' range
    assert rows[("random_init", "draws")] == 3
    per_draw = [rows[(f"random_init#{k}/best", "probe_accuracy_class")] for k in range(3)]
    assert all(0 <= rows[(f"random_init#{k}/best", "chosen_layer_class")] < len(names) for k in range(3))
    assert rows[("random_init/best", "probe_accuracy_class")] == pytest.approx(sum(per_draw) / 3)
    for n in names:
        low, mean, high = (rows[(f"random_init/{n}", m)] for m in ("lowest_draw_probe_accuracy_class",
                                                                  "probe_accuracy_class",
                                                                  "highest_draw_probe_accuracy_class"))
        assert low <= mean <= high
    from PIL import Image

    assert Image.open(png).size[0] > 300
    assert "probe_accuracy_class" in capsys.readouterr().out
    # a layer the model does not have: a one-line error
    assert main(["--set", "model.preset=tiny", "--set", f"model.name={model}", "eval", "--data",
                 str(tmp_path / "music"), "--layers", "enc1,nope", "--quiet"]) == 2
    assert "unknown layer(s) 'nope'" in capsys.readouterr().err
    assert main(["--set", "model.preset=tiny", "--set", f"model.name={model}", "eval", "--data",
                 str(tmp_path / "music"), "--layers", "enc1+", "--quiet"]) == 2
    assert "unknown layer(s) ''" in capsys.readouterr().err
    # no draw at all: a usage error naming the option
    with pytest.raises(SystemExit):
        main(["eval", "--data", str(tmp_path / "music"), "--random-draws", "0"])
    err = capsys.readouterr().err
    assert "--random-draws" in err and "must be at least 1" in err


def test_corpus_tasks_fold_collection_by_piece_and_piece_identity_by_stretch(tmp_path):
    from ear3d.ml.folder_eval import corpus_tasks
    from ear3d.ml.music_corpus import write_manifest

    entries = []
    for split, count in (("train", 3), ("eval", 2)):
        for i in range(count):
            entry = {"file": f"{split}/p{i}.wav", "piece": f"{split}/p{i}", "split": split,
                     "collection": "bach" if i % 2 else "palestrina", "tonic": i}
            tone_file(tmp_path / entry["file"], 220.0 * (i + 1), 20.0, i)
            entries.append(entry)
    write_manifest(tmp_path, {"format": 1, "pieces": entries, "failed": []})
    collection, key, piece = corpus_tasks(tmp_path, SR)
    assert collection.train_waves is key.train_waves  # one clip array, one pass of the ears
    assert collection.train_groups.tolist() == np.repeat([0, 1, 2], 4).tolist() and collection.train_spans is None
    # the piece task: 20 s pieces, 14 s train parts, 4 s clips a second apart; 6 s test parts
    assert piece.classes == ["eval/p0", "eval/p1"] and piece.train_groups is None
    assert len(piece.train_waves) == 2 * 11 and len(piece.test_waves) == 2 * 3
    assert piece.train_spans[:, 0].tolist() == np.repeat([0, 1], 11).tolist()
    assert piece.train_spans[:11, 1].tolist() == [s * SR for s in range(11)]


def test_a_joined_feature_set_is_its_layers_features_side_by_side():
    from ear3d.ml.probes import RAW, layer_features

    ear = build_ear(load(None, ["model.preset=tiny", "model.weights=random"]))
    waves = np.random.default_rng(0).standard_normal((3, SR * 2)).astype(np.float32) * 0.1
    f = layer_features({"e": ear}, waves, ["enc1", "ar8", "ar8+enc1"])
    assert set(f) == {RAW, "e/enc1", "e/ar8", "e/ar8+enc1"}
    np.testing.assert_array_equal(f["e/ar8+enc1"], np.concatenate([f["e/ar8"], f["e/enc1"]], 1))
