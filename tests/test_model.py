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
    assert names[0] == "scalogram" and names[1:9] == [f"enc{i}" for i in range(8)] and names[-1] == "ar8"
    acts = listen(ear, Clip(make_origin_clip(), SR), torch.device("cpu"))
    assert list(acts) == names
    for name, a in acts.items():
        assert a.ndim == 3 and a.dtype == np.float32 and np.isfinite(a).all(), name
    assert acts["enc7"].shape[1] == 1  # pitch collapsed: z is one vector per step
    assert all(acts[f"ar{i}"].shape[1] == 1 for i in range(9))
    assert acts["enc0"].shape[0] == PRESETS["tiny"].enc_channels[0]
    assert (acts["enc3"] >= 0).all()  # after ReLU


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
