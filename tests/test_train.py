"""`ear3d train` on the tiny preset: checkpoints, reproducibility, resume, folders, DDP."""

import json
import os
import socket

import numpy as np
import pytest
import soundfile as sf
import torch

from ear3d.config import load
from ear3d.ml.checkpoint import load_tensors
from ear3d.ml.model import build_ear
from ear3d.ml.train import learning_rate, train

SR = 44100


def tiny(directory, *extra):
    return load(None, ["model.preset=tiny", f"model.name={directory}", "train.batch_size=3", "train.crop_seconds=3",
                       "train.validation_clips=3", "train.validate_every=2", "train.checkpoint_every=2",
                       "train.warmup_steps=1", "train.threads=1", "train.pool_clips=0", *extra])


def weights(directory):
    return load_tensors(directory / "model.safetensors")[0]


def test_training_writes_a_loadable_checkpoint_and_resumes_exactly(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    result = train(tiny(a, "train.steps=4"), progress=False, stats=False)
    assert result.step == 4 and {"model.safetensors", "config.json", "train_state.safetensors",
                                 "training_curves.png"} <= {p.name for p in a.iterdir()}
    info = json.loads((a / "config.json").read_text())
    assert info["training"]["step"] == 4 and info["model"]["preset"] == "tiny"
    assert 0.0 <= info["metrics"]["val_accuracy"] <= 1.0 and np.isfinite(info["metrics"]["train_loss"])
    from PIL import Image

    from ear3d.ml.curves import VAL_COLOUR

    png = np.asarray(Image.open(a / "training_curves.png").convert("RGB"))
    assert png.shape[1] > 800 and (png == VAL_COLOUR).all(-1).sum() > 20  # the validation curve is drawn
    # a run stopped after 2 steps (as if killed after its checkpoint) and resumed gives the same weights
    train(tiny(b, "train.steps=4"), progress=False, stats=False, max_minutes=0.0)  # stops after step 1
    assert json.loads((b / "config.json").read_text())["training"]["step"] == 1
    result = train(tiny(b, "train.steps=4"), progress=False, stats=False)
    assert result.step == 4
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # … and the trained weights are what build_ear loads
    ear = build_ear(tiny(a))
    assert torch.equal(ear.model.predictors.weight, wa["predictors.weight"])


def test_a_run_can_start_from_another_models_weights(tmp_path):
    from ear3d.ml.checkpoint import CheckpointError

    a, b = tmp_path / "a", tmp_path / "b"
    train(tiny(a, "train.steps=2", "model.seed=1"), progress=False, stats=False)
    fresh = build_ear(tiny(tmp_path / "none", "model.weights=random")).model.state_dict()
    # one step at a vanishing learning rate: b starts where a ended, not at a fresh initialisation
    train(tiny(b, "train.steps=1", f"train.init={a}", "train.learning_rate=1e-6"), progress=False, stats=False)
    wa, wb = weights(a), weights(b)
    params = [k for k in wa if wa[k].is_floating_point() and "running_" not in k]  # not the norms' counters
    assert max(float((wa[k] - wb[k]).abs().max()) for k in params) < 1e-4
    assert max(float((fresh[k] - wb[k]).abs().max()) for k in params) > 1e-2
    assert json.loads((b / "config.json").read_text())["training"]["init"] == str(a)
    # a resumed run continues its own state and ignores init; a missing init is named
    assert train(tiny(b, "train.steps=2", "train.init=no-such-model"), progress=False, stats=False).step == 2
    with pytest.raises(CheckpointError, match="train.init = 'no-such-model'"):
        train(tiny(tmp_path / "c", "train.steps=1", "train.init=no-such-model"), progress=False, stats=False)
    with pytest.raises(CheckpointError, match="does not fit this architecture"):
        train(tiny(tmp_path / "d", "train.steps=1", "model.preset=small", f"train.init={a}"), progress=False,
              stats=False)


def test_an_ear_without_pitch_biases_starts_a_run_with_them(tmp_path):
    from ear3d.ml.checkpoint import CheckpointError

    a, b = tmp_path / "a", tmp_path / "b"
    train(tiny(a, "train.steps=2"), progress=False, stats=False)
    # the new biases start at zero, every other tensor where a ended
    train(tiny(b, "train.steps=1", "model.pitch_bias=true", f"train.init={a}", "train.learning_rate=1e-6"),
          progress=False, stats=False)
    wa, wb = weights(a), weights(b)
    assert {k for k in wb if k not in wa} == {f"encoder.{i}.pitch_bias" for i in range(8)}
    assert all(float(wb[k].abs().max()) < 1e-4 for k in wb if k.endswith("pitch_bias"))
    params = [k for k in wa if wa[k].is_floating_point() and "running_" not in k]
    assert max(float((wa[k] - wb[k]).abs().max()) for k in params) < 1e-4
    assert json.loads((b / "config.json").read_text())["model"]["pitch_bias"] is True
    # the biased ear loads with the key set, and says which setting it needs without it
    assert build_ear(tiny(b, "model.pitch_bias=true", "model.weights=load")).model.encoder[0].pitch_bias is not None
    with pytest.raises(CheckpointError, match="model.pitch_bias = True"):
        build_ear(tiny(b, "model.weights=load"))
    # their own learning rate moves them (and a run with them resumes, biases and optimizer state alike)
    moved = {}
    for scale in (1, 100):
        d = tmp_path / f"scale{scale}"
        train(tiny(d, "train.steps=2", "model.pitch_bias=true", f"train.pitch_bias_lr_scale={scale}"), progress=False,
              stats=False, max_minutes=0.0)
        assert train(tiny(d, "train.steps=2", "model.pitch_bias=true", f"train.pitch_bias_lr_scale={scale}"),
                     progress=False, stats=False).step == 2
        moved[scale] = max(float(v.abs().max()) for k, v in weights(d).items() if k.endswith("pitch_bias"))
    assert moved[100] > 20 * moved[1] > 0
    # the other way round is not an identity: an ear with biases cannot start one without
    with pytest.raises(CheckpointError, match="does not fit this architecture: 8 unexpected"):
        train(tiny(tmp_path / "c", "train.steps=1", f"train.init={b}"), progress=False, stats=False)


def test_a_run_with_the_segment_contrast_reports_it_and_trains_differently(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    train(tiny(a, "train.steps=2"), progress=False, stats=False)
    train(tiny(b, "train.steps=2", "train.segment_contrast=1"), progress=False, stats=False)
    info = json.loads((b / "config.json").read_text())
    assert info["training"]["segment_contrast"] == 1.0
    metrics = info["metrics"]
    assert 0.0 <= metrics["val_segment_accuracy"] <= 1.0 and np.isfinite(metrics["val_segment_loss"])
    assert 0.0 <= metrics["train_segment_accuracy"] <= 1.0
    assert "val_segment_accuracy" not in json.loads((a / "config.json").read_text())["metrics"]
    wa, wb = weights(a), weights(b)
    assert not torch.equal(wa["encoder.0.conv1.weight"], wb["encoder.0.conv1.weight"])


def test_training_on_a_folder_skips_bad_files_and_saves_statistics(tmp_path):
    from ear3d.ml.stats import fingerprint, load_stats

    data = tmp_path / "audio"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        t = np.arange(4 * 22050) / 22050
        tone = 0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t) + 0.01 * rng.standard_normal(len(t))
        sf.write(str(data / f"tone{i}.flac"), tone, 22050)
    (data / "broken.mp3").write_bytes(b"ID3 not really an mp3")
    out = tmp_path / "m"
    result = train(tiny(out, "train.steps=2", f"train.data={json.dumps(str(data))}"), progress=False)
    assert result.skipped_files == 1 and result.step == 2
    assert json.loads((out / "config.json").read_text())["data"]["skipped_files"] == 1
    stats = load_stats(out / "stats.npz")
    assert stats.fingerprint == fingerprint(build_ear(tiny(out)))  # the statistics belong to these weights
    assert list(stats.layers) == build_ear(tiny(out)).layer_names()


def test_learning_rate_warms_up_then_decays_to_zero():
    assert learning_rate(0, 1.0, 10, 100) == pytest.approx(0.1)
    assert learning_rate(9, 1.0, 10, 100) == pytest.approx(1.0)
    assert learning_rate(55, 1.0, 10, 100) == pytest.approx(0.5)
    assert learning_rate(100, 1.0, 10, 100) == pytest.approx(0.0)


def _ddp_worker(rank: int, port: int, directory: str, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    cfg = load(None, ["model.preset=tiny", f"model.name={directory}", "train.batch_size=2", "train.crop_seconds=3",
                      "train.validation_clips=2", "train.steps=2", "train.device=cpu", "train.threads=1",
                      "train.pool_clips=2", "train.pool_refresh=1"])  # the pooled path, each rank its own pool
    result = train(cfg, progress=False, stats=False)
    queue.put((rank, torch.cat([p.detach().flatten() for p in result.model.parameters()]).numpy()))  # by value
    torch.distributed.destroy_process_group()


def test_data_parallel_training_on_cpu_with_gloo(tmp_path):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = torch.multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ddp_worker, args=(r, port, str(tmp_path / "ddp"), queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=240) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    info = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert info["training"]["world_size"] == 2 and info["training"]["step"] == 2
    assert np.array_equal(results[0], results[1])  # each rank drew other data: equal only if gradients were averaged
    saved_ear = build_ear(load(None, ["model.preset=tiny", f"model.name={tmp_path / 'ddp'}"]))
    saved = torch.cat([p.flatten() for p in saved_ear.model.parameters()])
    assert np.array_equal(saved.detach().numpy(), results[0])


def test_eval_reports_probes_and_baselines_side_by_side(tmp_path, capsys):
    from ear3d.cli import main

    train(tiny(tmp_path / "m", "train.steps=1"), progress=False, stats=False)
    out = tmp_path / "eval.json"
    code = main(["--set", "model.preset=tiny", "--set", f"model.name={tmp_path / 'm'}", "--set", "train.batch_size=3",
                 "--set", "train.crop_seconds=3", "eval", "--train-clips", "12", "--test-clips", "6",
                 "--contrastive-clips", "6", "--tasks", "tempo,instrument", "--json", str(out), "--quiet"])
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["bench"] == "eval" and doc["device"]
    rows = {(r["case"], r["metric"]): r["value"] for r in doc["rows"]}
    for case in ("cpc/c", "cpc/z", "random_init/c", "random_init/z", "raw_cqt", "chance"):
        for task in ("tempo", "instrument"):
            assert 0.0 <= rows[(case, f"probe_accuracy_{task}")] <= 100.0
            if case != "chance":  # a probe's cross-validated accuracy comes with it
                assert 0.0 <= rows[(case, f"cv_accuracy_{task}")] <= 100.0
    assert ("cpc/c", "probe_accuracy_key") not in rows
    assert 0.0 <= rows[("cpc", "contrastive_accuracy")] <= 100.0
    # the random network is the mean of three draws (the default), with their range
    assert rows[("random_init", "draws")] == 3
    assert (rows[("random_init", "lowest_draw_contrastive_accuracy")] <= rows[("random_init", "contrastive_accuracy")]
            <= rows[("random_init", "highest_draw_contrastive_accuracy")])
    assert rows[("chance", "contrastive_accuracy")] == pytest.approx(100 / 3)
    assert rows[("data", "probe_train_clips")] == 12 and rows[("data", "probe_test_clips")] == 6
    assert "probe_accuracy_tempo" in capsys.readouterr().out


def test_linear_probe_learns_a_separable_task_and_not_noise():
    from ear3d.ml.evaluate import probe_accuracy

    rng = np.random.default_rng(0)
    y = rng.integers(3, size=150)
    signal = np.eye(3)[y] * 2.0 + 0.5 * rng.standard_normal((150, 3))
    x = np.concatenate([signal, rng.standard_normal((150, 5))], 1)
    acc = probe_accuracy(x[:100], y[:100], x[100:], y[100:], 3).accuracy
    assert acc > 0.9
    noise = rng.standard_normal((150, 8))
    acc = probe_accuracy(noise[:100], y[:100], noise[100:], y[100:], 3).accuracy
    assert acc < 0.6
