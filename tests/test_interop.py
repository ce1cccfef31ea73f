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
