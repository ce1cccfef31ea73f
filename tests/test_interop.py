"""Activations into the GL buffer: the host copy always; CUDA–GL interop where CUDA and GL
share a GPU (skipped elsewhere, with the reason)."""

import numpy as np
import pytest

from ear3d.gfx.interop import ActivityUploader, InteropUnavailable, cuda_gl_status, to_host
from ear3d.gfx.network import NetworkBuffers


class FakeCudaTensor:
    """Looks like a CUDA-resident torch tensor to the uploader (it never touches the pointer
    unless a CUDA–GL bridge exists, which it cannot on a non-NVIDIA GL context)."""

    def __init__(self, data: np.ndarray):
        self.data = data
        self.shape = data.shape
        self.__cuda_array_interface__ = {"shape": data.shape, "typestr": "<f4", "data": (0xDEAD0000, False),
                                         "version": 3, "strides": None}

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.data


def read_buffer(buffer, shape):
    return np.frombuffer(buffer.read(), np.float32).reshape(shape)


def test_host_copy_writes_the_table(gl_context):
    net = NetworkBuffers(gl_context, np.zeros((3, 3), np.float32), np.ones((3, 3), np.float32))
    try:
        table = np.arange(12, dtype=np.float32).reshape(3, 4) / 12
        assert net.set_activity(table) == "host"
        assert np.array_equal(read_buffer(net.activity_buffer, (3, 4)), table)
        assert net.steps == 4
        table[1, 2] = np.nan
        net.set_activity(table)
        assert read_buffer(net.activity_buffer, (3, 4))[1, 2] == 0.0  # NaN drawn as silence
    finally:
        net.release()


def test_cuda_table_falls_back_to_the_host_copy_when_interop_cannot_work(gl_context):
    uploader = ActivityUploader(gl_context, "auto")
    buffer = gl_context.buffer(reserve=24)
    try:
        table = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
        assert uploader.upload(FakeCudaTensor(table), buffer) == "host"
        assert np.array_equal(read_buffer(buffer, (2, 3)), table)
        assert uploader.reason  # why, for the log and the bench
        if "NVIDIA" not in gl_context.info["GL_RENDERER"].upper():
            assert "not an NVIDIA GPU" in uploader.reason
    finally:
        uploader.release()
        buffer.release()


def test_required_interop_is_a_clear_error_where_it_cannot_work(gl_context):
    ok, reason = cuda_gl_status(gl_context)
    if ok:
        pytest.skip("CUDA–GL interop works here; the error path cannot be shown")
    uploader = ActivityUploader(gl_context, "cuda")
    buffer = gl_context.buffer(reserve=24)
    try:
        with pytest.raises(InteropUnavailable):
            uploader.upload(FakeCudaTensor(np.zeros((2, 3), np.float32)), buffer)
        with pytest.raises(InteropUnavailable, match="needs a CUDA-resident float32 table"):
            ActivityUploader(gl_context, "cuda").upload(np.zeros((2, 3), np.float32), buffer)
    finally:
        uploader.release()
        buffer.release()


def test_unknown_mode_is_refused(gl_context):
    with pytest.raises(ValueError, match="interop mode 'gpu'"):
        ActivityUploader(gl_context, "gpu")


def test_to_host_accepts_tensor_like_objects():
    out = to_host(FakeCudaTensor(np.array([[1.0, np.inf]], np.float64)))
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.tolist() == [[1.0, 0.0]]


def test_wrong_table_shape_is_a_clear_error(gl_context):
    net = NetworkBuffers(gl_context, np.zeros((3, 3), np.float32), np.ones((3, 3), np.float32))
    try:
        with pytest.raises(ValueError, match=r"activity table must be \(3, S ≥ 1\), got \(3, 0\)"):
            net.set_activity(np.zeros((3, 0), np.float32))
    finally:
        net.release()


def _cuda_gl_or_skip(ctx):
    try:
        import torch
    except ImportError:
        pytest.skip("torch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: CUDA–GL interop needs torch with CUDA and GL on the same NVIDIA GPU")
    ok, reason = cuda_gl_status(ctx)
    if not ok:
        pytest.skip(f"CUDA–GL interop unavailable: {reason}")
    return torch


def test_cuda_tensor_reaches_the_gl_buffer_without_a_host_copy(gl_context):
    torch = _cuda_gl_or_skip(gl_context)
    net = NetworkBuffers(gl_context, np.zeros((64, 3), np.float32), np.ones((64, 3), np.float32), interop="cuda")
    try:
        table = torch.rand(64, 5, device="cuda")
        assert net.set_activity(table) == "cuda"
        assert np.allclose(read_buffer(net.activity_buffer, (64, 5)), table.cpu().numpy())
        # a new size re-registers the buffer
        table = torch.rand(64, 7, device="cuda")
        assert net.set_activity(table) == "cuda"
        assert np.allclose(read_buffer(net.activity_buffer, (64, 7)), table.cpu().numpy())
        # non-contiguous and float64 tensors are made contiguous float32 on the GPU
        table = torch.rand(7, 64, device="cuda", dtype=torch.float64).t()
        assert net.set_activity(table) == "cuda"
        assert np.allclose(read_buffer(net.activity_buffer, (64, 7)), table.float().cpu().numpy())
    finally:
        net.release()


# -- end to end: worker → activity table → GL buffer ------------------------------------------

SR, SECONDS = 44100, 1.5


def session_config(*extra):
    from ear3d.config import load

    return load(None, ["model.preset=tiny", "model.weights=random", f"audio.clip_seconds={SECONDS}",
                       "optimize.context_seconds=0.75", "optimize.threads=1", "optimize.start_target=",
                       "layout.kind=grid", *extra])


def start_session(config, ctx):
    from ear3d.clips import make_origin_clip
    from ear3d.messages import Clip
    from ear3d.session import Session

    return Session(config, ctx, Clip(make_origin_clip(SR, SECONDS), SR))


def test_activity_table_from_tensors_is_built_on_their_device_and_matches_the_host_table():
    import torch

    from ear3d.activity import activity_table
    from ear3d.graph import table_from_activations

    rng = np.random.default_rng(0)
    layers = {"scalogram": rng.random((1, 12, 16)), "enc0": rng.standard_normal((4, 6, 8)) * 3,
              "ar0": rng.standard_normal((5, 1, 2)), "quiet": np.zeros((2, 1, 4))}
    layers["enc0"][1, 2, 3] = np.nan
    layers["ar0"][0, 0, 1] = np.inf
    table = table_from_activations({k: v.astype(np.float32) for k, v in layers.items()})
    host = activity_table({k: v.astype(np.float32) for k, v in layers.items()}, table, 16)
    device = activity_table({k: torch.from_numpy(v) for k, v in layers.items()}, table, 16)  # float64 tensors
    assert isinstance(device, torch.Tensor) and device.dtype == torch.float32 and device.shape == host.shape
    assert np.allclose(device.numpy(), host, atol=1e-6)
    assert host.max() == 1.0 and host.min() == 0.0 and not host[table.layers[3].offset:].any()


def test_cpu_session_takes_the_activations_through_one_host_copy(gl_context):
    from ear3d.activity import activity_table

    session = start_session(session_config("optimize.device=cpu", "render.interop=auto"), gl_context)
    try:
        frame = session.frame
        assert frame.device_layers is None  # nothing kept twice on the CPU
        assert session.activity_path == "host"
        expected = activity_table(frame.layers, session.table, session.steps)
        got = read_buffer(session.scene.network.activity_buffer, expected.shape)
        assert np.array_equal(got, expected) and expected.max() == 1.0
    finally:
        session.release()


def test_required_cuda_interop_where_it_cannot_work_is_a_one_line_error_at_session_start(gl_context):
    import threading

    from ear3d.config import ConfigError
    from ear3d.gfx.interop import cuda_interop_problem

    problem = cuda_interop_problem(gl_context, "cuda")
    if not problem:
        pytest.skip("CUDA–GL interop works here; the error cannot be shown")
    threads = threading.active_count()
    with pytest.raises(ConfigError) as caught:
        start_session(session_config("render.interop=cuda"), gl_context)
    message = str(caught.value)
    assert "render.interop = 'cuda'" in message and "\n" not in message
    assert ("not an NVIDIA GPU" in message or "CUDA" in message) and "'auto' or 'host'" in message
    assert threading.active_count() == threads  # refused before the worker thread started
    cpu = cuda_interop_problem(gl_context, "cpu")
    assert "not on a CUDA device" in cpu


def test_cuda_session_takes_the_activations_through_interop(gl_context):
    _cuda_gl_or_skip(gl_context)
    from ear3d.activity import activity_table

    session = start_session(session_config("optimize.device=cuda", "render.interop=cuda"), gl_context)
    try:
        frame = session.frame
        assert all(a.is_cuda for a in frame.device_layers.values())
        assert session.activity_path == "cuda"
        on_gpu = activity_table(frame.device_layers, session.table, session.steps)
        got = read_buffer(session.scene.network.activity_buffer, tuple(on_gpu.shape))
        assert np.array_equal(got, on_gpu.cpu().numpy())
        assert np.allclose(got, activity_table(frame.layers, session.table, session.steps), atol=1e-5)
    finally:
        session.release()
