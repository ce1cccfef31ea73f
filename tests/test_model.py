"""The randomly initialised ear of the skeleton: CQT, named layers, shapes, causality."""

import numpy as np
import pytest
import torch

from ear3d.clips import make_origin_clip
from ear3d.config import load
from ear3d.messages import Clip
from ear3d.ml.cqt import Scalogram
from ear3d.ml.model import PRESETS, CPCModel, build_ear
from ear3d.ml.worker import Worker, listen

SR = 44100


@pytest.fixture(scope="module")
def tiny():
    cfg = load(None, ["model.preset=tiny"])
    return cfg, build_ear(cfg)


def test_pure_tone_peaks_in_its_bin():
    cfg = load()
    t = np.arange(SR) / SR
    tone = torch.tensor(0.5 * np.sin(2 * np.pi * 440.0 * t), dtype=torch.float32)[None]
    s = Scalogram(cfg.cqt, SR)(tone)
    expected = round(cfg.cqt.bins_per_octave * np.log2(440.0 / cfg.cqt.fmin))
    assert s.shape[:3] == (1, 1, cfg.cqt.n_bins)
    assert int(s[0, 0, :, s.shape[3] // 2].argmax()) == expected
    assert 0.0 <= float(s.min()) and float(s.max()) <= 1.2


def test_gradient_is_finite_from_silence():
    cfg = load()
    x = torch.zeros(1, SR, requires_grad=True)
    Scalogram(cfg.cqt, SR)(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_named_layers_and_shapes(tiny):
    cfg, ear = tiny
    names = ear.layer_names()
    encoder = [n for i in range(8) for n in (f"enc{i}.mid", f"enc{i}")]
    assert names == ["scalogram", *encoder, *(f"ar{i}" for i in range(9))]
    acts = listen(ear, Clip(make_origin_clip(), SR), torch.device("cpu"))
    assert list(acts) == names
    for name, a in acts.items():
        assert a.ndim == 3 and a.dtype == np.float32 and np.isfinite(a).all(), name
    assert acts["enc7"].shape[1] == 1  # pitch collapsed: z is one vector per step
    assert all(acts[f"ar{i}"].shape[1] == 1 for i in range(9))
    assert acts["enc0"].shape[0] == PRESETS["tiny"].enc_channels[0]
    assert (acts["enc3"] >= 0).all() and (acts["enc3.mid"] >= 0).all()  # after ReLU
    assert acts["enc0.mid"].shape[1:] == (107, acts["enc0"].shape[2])  # pooled pitch and time, like its block
    assert acts["enc1.mid"].shape[1] == 83 - 2  # conv1 is valid along pitch


def test_encoder_and_ar_are_causal(tiny):
    _, ear = tiny
    model: CPCModel = ear.model
    torch.manual_seed(0)
    x = torch.rand(1, 1, 216, 64)
    y = x.clone()
    y[..., 40:] = torch.rand(1, 1, 216, 24)  # change only the future of step 40
    with torch.no_grad():
        a, b = model(x), model(y)
    for name in ("enc7", "ar8"):
        ta = a[name].shape[-1]
        cut = (40 * ta) // 64  # steps of this layer that see only inputs before 40
        assert torch.allclose(a[name][..., :cut], b[name][..., :cut]), name
        assert not torch.allclose(a[name], b[name]), name


def test_too_few_bins_is_a_clear_error():
    with pytest.raises(ValueError, match="too few"):
        CPCModel(PRESETS["tiny"], n_bins=40)


def test_worker_publishes_and_survives_bad_commands(tiny):
    from ear3d.messages import Command

    cfg, _ = tiny
    with Worker(cfg) as worker:
        worker.send(Command("nonsense"))
        worker.send(Command("clip", "not a clip"))
        worker.send(Command("clip", Clip(np.full(SR, np.nan, np.float32), SR)))
        worker.send(Command("clip", Clip(np.zeros(SR, np.float32), 22050)))
        worker.send(Command("clip", Clip(make_origin_clip(), SR)))
        version, frame = worker.frames.wait_newer(0, timeout=60)
        assert frame is not None and list(frame.layers) == worker.layer_names
        _, error = worker.errors.peek()
        assert "22050" in error  # the last bad command's reason, named


# -- issue 3: front end, presets, weights on disk ------------------------------------------------


def direct_cqt_power(x: np.ndarray, sr: int, cqt, frame: int, bins: list[int]) -> np.ndarray:
    """|X_k|² of frame ``frame`` by the constant-Q definition, in numpy: a periodic-Hann-windowed
    complex exponential of length ceil(Q·sr/f_k), Q = filter_scale / (2^(1/bpo) − 1), centred on
    the frame's sample, normalised to unit L1 norm and scaled by √length (librosa's scaling)."""
    q = cqt.filter_scale / (2 ** (1 / cqt.bins_per_octave) - 1)
    out = []
    for k in bins:
        f = cqt.fmin * 2 ** (k / cqt.bins_per_octave)
        n = int(np.ceil(q * sr / f))
        m = np.arange(-(n // 2) - (n % 2), n // 2 + (0 if n % 2 else 0))[:n]  # n taps, centred like nnAudio
        w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
        kernel = w * np.exp(2j * np.pi * f * m / sr)
        kernel /= np.abs(kernel).sum()
        seg = x[frame * cqt.hop_length + m]
        out.append(abs(np.dot(seg, kernel)) ** 2 * n)
    return np.array(out)


def test_a_few_bins_agree_with_a_direct_constant_q_computation():
    cfg = load()
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    x = 0.1 * rng.standard_normal(2 * SR) + sum(0.3 * np.sin(2 * np.pi * f * t) for f in (55.0, 440.0, 3520.0))
    s = Scalogram(cfg.cqt, SR)
    spec = s.transform(torch.tensor(x, dtype=torch.float32)[None])  # (1, F, T, 2)
    frame, bins = 86, [0, 24, 72, 131, 150, 215]
    got = (spec[0, bins, frame] ** 2).sum(-1).numpy()
    want = direct_cqt_power(x, SR, cfg.cqt, frame, bins)
    np.testing.assert_allclose(got, want, rtol=2e-3)
    logp = s(torch.tensor(x, dtype=torch.float32)[None])[0, 0]  # log power, max-pooled over 2 frames
    power = (spec[0] ** 2).sum(-1)
    pooled = torch.maximum(power[:, 0::2][:, : logp.shape[1]], power[:, 1::2][:, : logp.shape[1]])
    np.testing.assert_allclose(logp.numpy(), ((torch.log(pooled + 1e-9) - np.log(1e-9)) / 28.0).numpy(), atol=1e-5)


def test_phase_channel_is_neutral_for_a_steady_tone_and_finite_from_silence():
    cfg = load(None, ["cqt.phase=true"])
    s = Scalogram(cfg.cqt, SR)
    k = 100
    f = cfg.cqt.fmin * 2 ** (k / cfg.cqt.bins_per_octave)
    t = np.arange(SR) / SR
    out = s(torch.tensor(0.5 * np.sin(2 * np.pi * f * t), dtype=torch.float32)[None])
    assert out.shape[1] == 2
    middle = out[0, 1, k, 5:-5]
    assert torch.allclose(middle, torch.full_like(middle, 0.5), atol=0.02)  # advance as expected
    x = torch.zeros(1, SR, requires_grad=True)
    s(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    ear = build_ear(load(None, ["cqt.phase=true", "model.preset=tiny", "model.weights=random"]))
    assert ear.model.encoder[0].conv1.in_channels == 2


def test_paper_preset_has_the_references_parameter_counts():
    from ear3d.ml.model import parameter_count

    m = CPCModel(PRESETS["paper"], 216)
    assert parameter_count(m.encoder) == pytest.approx(4.9e6, rel=0.01)
    assert parameter_count(m.autoregressive) == pytest.approx(4.72e6, rel=0.01)
    assert parameter_count(m.predictors) == pytest.approx(2.1e6, rel=0.01)
    assert parameter_count(m) == pytest.approx(11.7e6, rel=0.01)
    small = CPCModel(PRESETS["small"], 216)
    assert 0.3e6 < parameter_count(small) < 1.5e6


def test_pitch_shrinks_to_one_with_the_references_kernels():
    m = CPCModel(PRESETS["paper"], 216)
    assert [b.pitch_kernel for b in m.encoder] == list(PRESETS["paper"].enc_pitch_kernels)
    assert [b.f_out for b in m.encoder] == [83, 79, 63, 59, 15, 11, 5, 1]
    with torch.no_grad():
        acts = CPCModel(PRESETS["tiny"], 216).eval()(torch.rand(1, 1, 216, 64))
    assert [acts[f"enc{i}"].shape[2] for i in range(8)] == [83, 79, 63, 59, 15, 11, 5, 1]
    other = CPCModel(PRESETS["tiny"], 240)  # another bin count: the last kernel adapts
    assert other.encoder[-1].f_out == 1


def test_weights_are_saved_and_loaded_without_pickle(tmp_path):
    from ear3d.ml.checkpoint import CheckpointError, save_model

    cfg = load(None, ["model.preset=tiny", f"model.name={tmp_path / 'm'}"])
    trained = build_ear(cfg)
    with torch.no_grad():
        for p in trained.model.parameters():
            p.add_(0.01)
    save_model(tmp_path / "m", trained.model, cfg, {"metrics": {}})
    assert (tmp_path / "m" / "model.safetensors").read_bytes()[:8] != b"\x80\x02\x8a\n"  # not a pickle
    loaded = build_ear(cfg)
    pairs = zip(loaded.model.state_dict().values(), trained.model.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert not loaded.training
    fresh = build_ear(cfg.replace({"model": {"weights": "random"}}))
    assert not torch.equal(fresh.model.predictors.weight, loaded.model.predictors.weight)
    # another preset in the folder: skipped under 'auto', an error under 'load'
    other = load(None, ["model.preset=small", f"model.name={tmp_path / 'm'}"])
    assert build_ear(other) is not None
    with pytest.raises(CheckpointError, match="'tiny' model"):
        build_ear(other.replace({"model": {"weights": "load"}}))
    # the same preset but tensors of other shapes: a clear error naming the tensor
    import json

    from ear3d.ml.checkpoint import save_tensors

    bad = {k: v for k, v in trained.model.state_dict().items()}
    bad["predictors.weight"] = torch.zeros(3, 3)
    save_tensors(tmp_path / "m" / "model.safetensors", bad)
    with pytest.raises(CheckpointError, match="predictors.weight"):
        build_ear(cfg)
    (tmp_path / "m" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot read"):
        build_ear(cfg)
    info = json.loads((tmp_path / "m" / "config.json").read_text())
    assert info["model"]["preset"] == "tiny" and info["architecture"]["z_dim"] == 32


def test_untied_pitch_biases_start_at_zero_and_shift_only_their_own_row():
    import dataclasses

    from ear3d.layout.network import cpc_graph

    plain_arch = PRESETS["tiny"]
    biased_arch = dataclasses.replace(plain_arch, pitch_bias=True)
    torch.manual_seed(0)
    plain = CPCModel(plain_arch, 216).eval()
    torch.manual_seed(0)
    biased = CPCModel(biased_arch, 216).eval()
    extra = set(biased.state_dict()) - set(plain.state_dict())
    assert extra == {f"encoder.{i}.pitch_bias" for i in range(8)}
    biased.load_state_dict(plain.state_dict(), strict=False)
    x = torch.rand(1, 1, 216, 32)
    with torch.no_grad():
        a, b = plain(x), biased(x)
        assert all(torch.equal(a[n], b[n]) for n in a)  # zero biases: the same network
        hidden = b["enc0.mid"]
        assert biased.encoder[0].pitch_bias.shape == (hidden.shape[1], hidden.shape[2], 1)
        biased.encoder[0].pitch_bias[:, 40] = 5.0  # one pitch row of the first hidden layer
        moved = biased(x)["enc0.mid"]
    changed = (moved != hidden).any(dim=(0, 1, 3))
    assert changed.nonzero().flatten().tolist() == [40]
    # a bias is no connection: the neuron graph is the plain model's
    assert cpc_graph(biased, 216).src.shape == cpc_graph(plain, 216).src.shape
