"""Activations into the GL activity buffer: from a CUDA tensor without a host round trip
(CUDA–OpenGL interop through cuda-python), or by one host copy.

The CUDA path is chosen automatically when all of these hold: the table is CUDA-resident
(it has ``__cuda_array_interface__``, as torch CUDA tensors do — so no torch import is
needed here), ``cuda.bindings`` (cuda-python) imports, the GL context runs on an NVIDIA
GPU, and that GPU (``cudaGLGetDevices``) is the one holding the tensor
(``cudaPointerGetAttributes``). Otherwise the table is copied to the host and written with
``glBufferSubData``. Why the CUDA path is not used is logged once and kept in
``ActivityUploader.reason``.

cuda-python is imported lazily, only when a CUDA-resident table arrives (or
:func:`cuda_gl_status` is asked), so nothing here costs anything on a machine without it.
"""

from __future__ import annotations

import logging
from typing import Any

import moderngl
import numpy as np

log = logging.getLogger(__name__)

MODES = ("auto", "host", "cuda")


class InteropUnavailable(RuntimeError):
    """CUDA–GL interop was asked for (``render.interop = "cuda"``) but cannot work here."""


def to_host(table: Any) -> np.ndarray:
    """Any (N, S) table — numpy, a CPU tensor, a CUDA tensor — as a C-contiguous float32
    numpy array with NaN and inf replaced by 0 (drawn as silence)."""
    if isinstance(table, np.ndarray):
        host = table
    elif hasattr(table, "detach") and hasattr(table, "cpu"):  # torch, duck-typed
        host = table.detach().cpu().numpy()
    else:
        host = np.asarray(table)
    host = np.ascontiguousarray(host, dtype=np.float32)
    if not np.isfinite(host).all():
        host = np.nan_to_num(host, nan=0.0, posinf=0.0, neginf=0.0)
    return host


class CudaGLBridge:
    """Copies device memory into registered GL buffers on the GPU the GL context runs on.

    Raises :class:`InteropUnavailable` (with the reason) when that is impossible here.
    Call it on the thread where the GL context is current (the render thread).
    UNTESTED on this project's CI machines (no NVIDIA GPU): written against cuda-python's
    ``cuda.bindings.runtime`` (12.x and 13.x share these calls).
    """

    def __init__(self, ctx: moderngl.Context):
        renderer = str(ctx.info.get("GL_RENDERER", ""))
        vendor = str(ctx.info.get("GL_VENDOR", ""))
        if "nvidia" not in (renderer + vendor).lower():
            raise InteropUnavailable(f"the GL context runs on {renderer or 'an unknown renderer'}, not an NVIDIA GPU")
        try:
            from cuda.bindings import runtime as cudart  # lazy: optional dependency
        except ImportError as e:
            raise InteropUnavailable(f"cuda-python is not installed ({e}); `pip install cuda-python`") from None
        self.ctx = ctx
        self.rt = cudart
        # cudaGLGetDevices asks about the *current* GL context: this runs on the render
        # thread, where ``ctx`` is current (as every call of this class must).
        err, count, devices = cudart.cudaGLGetDevices(4, cudart.cudaGLDeviceList.cudaGLDeviceListAll)
        if err != cudart.cudaError_t.cudaSuccess or count == 0:
            raise InteropUnavailable(f"CUDA sees no device behind this GL context ({err.name})")
        self.gl_devices = [int(d) for d in list(devices)[: int(count)]]
        self._resources: dict[int, tuple[Any, int]] = {}  # GL buffer name → (resource, bytes)

    def _check(self, result: Any, what: str) -> Any:
        err, *rest = result if isinstance(result, tuple) else (result,)
        if err != self.rt.cudaError_t.cudaSuccess:
            raise InteropUnavailable(f"{what} failed: {getattr(err, 'name', err)}")
        return rest[0] if len(rest) == 1 else rest

    def device_of(self, pointer: int) -> int | None:
        """The CUDA device holding ``pointer``, or None when it is not device memory."""
        err, attrs = self.rt.cudaPointerGetAttributes(pointer)
        if err != self.rt.cudaError_t.cudaSuccess or attrs.type != self.rt.cudaMemoryType.cudaMemoryTypeDevice:
            return None
        return int(attrs.device)

    def copy(self, pointer: int, nbytes: int, buffer: moderngl.Buffer, stream: int = 0) -> None:
        """Copy ``nbytes`` from device ``pointer`` into ``buffer`` (same GPU), ordered after
        the work already queued on ``stream`` and finished when this returns."""
        rt = self.rt
        if nbytes > buffer.size:
            raise ValueError(f"{nbytes} bytes do not fit a GL buffer of {buffer.size}")
        device = self.device_of(pointer)
        if device not in self.gl_devices:
            raise InteropUnavailable(f"the tensor is on CUDA device {device}, the GL context on {self.gl_devices}")
        self._check(rt.cudaSetDevice(device), "cudaSetDevice")
        resource = self._register(buffer)
        # Mapping orders the copy after GL's use of the buffer; unmapping orders GL's next
        # use after the copy.
        self._check(rt.cudaGraphicsMapResources(1, resource, stream), "cudaGraphicsMapResources")
        try:
            dst, size = self._check(rt.cudaGraphicsResourceGetMappedPointer(resource), "GetMappedPointer")
            if size < nbytes:
                raise InteropUnavailable(f"mapped GL buffer holds {size} bytes, {nbytes} needed")
            self._check(
                rt.cudaMemcpyAsync(dst, pointer, nbytes, rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream),
                "cudaMemcpyAsync",
            )
        finally:
            self._check(rt.cudaGraphicsUnmapResources(1, resource, stream), "cudaGraphicsUnmapResources")
        # The caller may free the tensor right away: finish the copy before returning.
        self._check(rt.cudaStreamSynchronize(stream), "cudaStreamSynchronize")

    def _register(self, buffer: moderngl.Buffer) -> Any:
        entry = self._resources.get(buffer.glo)
        if entry is not None and entry[1] == buffer.size:
            return entry[0]
        self.forget(buffer)
        flags = self.rt.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsWriteDiscard
        resource = self._check(self.rt.cudaGraphicsGLRegisterBuffer(buffer.glo, flags), "cudaGraphicsGLRegisterBuffer")
        self._resources[buffer.glo] = (resource, buffer.size)
        return resource

    def forget(self, buffer: moderngl.Buffer) -> None:
        """Unregister ``buffer`` (before it is reallocated or released)."""
        entry = self._resources.pop(buffer.glo, None)
        if entry is not None:
            self.rt.cudaGraphicsUnregisterResource(entry[0])

    def release(self) -> None:
        for resource, _ in self._resources.values():
            self.rt.cudaGraphicsUnregisterResource(resource)
        self._resources.clear()


def cuda_gl_status(ctx: moderngl.Context) -> tuple[bool, str]:
    """(True, "") when CUDA–GL interop can work with ``ctx``, else (False, the reason)."""
    try:
        CudaGLBridge(ctx).release()
    except InteropUnavailable as e:
        return False, str(e)
    except Exception as e:  # a broken CUDA install must not break the renderer
        return False, f"CUDA–GL interop failed to start: {type(e).__name__}: {e}"
    return True, ""


def cuda_interop_problem(ctx: moderngl.Context, tensor_device: str) -> str:
    """Why activations on ``tensor_device`` (a torch device as text: "cpu", "cuda", "cuda:1")
    cannot reach ``ctx``'s buffers through CUDA–GL interop, in one line; "" when they can.
    Call it where ``ctx`` is current."""
    kind, _, index = tensor_device.partition(":")
    if kind != "cuda":
        return f"the activations are computed on the {kind.upper()}, not on a CUDA device"
    try:
        bridge = CudaGLBridge(ctx)
    except InteropUnavailable as e:
        return str(e)
    except Exception as e:  # a broken CUDA install
        return f"CUDA–GL interop failed to start: {type(e).__name__}: {e}"
    try:
        device = int(index) if index else int(bridge._check(bridge.rt.cudaGetDevice(), "cudaGetDevice"))
        if device not in bridge.gl_devices:
            return f"the activations are on CUDA device {device}, the GL context on {bridge.gl_devices}"
    except InteropUnavailable as e:
        return str(e)
    finally:
        bridge.release()
    return ""


def _cuda_source(table: Any) -> tuple[Any, dict] | None:
    """(table, its __cuda_array_interface__) as C-contiguous float32, or None if not on CUDA."""
    cai = getattr(table, "__cuda_array_interface__", None)
    if cai is None:
        return None
    contiguous = cai.get("strides") is None or tuple(cai["strides"]) == (4 * cai["shape"][1], 4)
    if (cai.get("typestr") != "<f4" or not contiguous) and hasattr(table, "contiguous") and hasattr(table, "float"):
        table = table.float().contiguous()  # stays on the GPU
        cai = table.__cuda_array_interface__
        contiguous = cai.get("strides") is None or tuple(cai["strides"]) == (4 * cai["shape"][1], 4)
    if cai.get("typestr") != "<f4" or not contiguous:
        return None
    return table, cai


class ActivityUploader:
    """Writes activity tables into a GL buffer by the best path available (see module doc).

    mode: ``"auto"`` (CUDA when possible, else host), ``"host"`` (always copy through the
    host), ``"cuda"`` (CUDA or an :class:`InteropUnavailable` error — for benchmarks).
    """

    def __init__(self, ctx: moderngl.Context, mode: str = "auto"):
        if mode not in MODES:
            raise ValueError(f"interop mode {mode!r} is not one of {', '.join(MODES)}")
        self.ctx = ctx
        self.mode = mode
        self.reason = ""  # why the CUDA path is not used, once known
        self.last_path = ""
        self._bridge: CudaGLBridge | None = None
        self._bridge_failed = False

    def _get_bridge(self) -> CudaGLBridge | None:
        if self._bridge is None and not self._bridge_failed:
            try:
                self._bridge = CudaGLBridge(self.ctx)
            except Exception as e:  # InteropUnavailable, or a broken CUDA install
                self._bridge_failed = True
                self.reason = str(e)
                if self.mode == "cuda":
                    raise InteropUnavailable(self.reason) from None
                log.info("activations go through the host: %s", self.reason)
        return self._bridge

    def upload(self, table: Any, buffer: moderngl.Buffer) -> str:
        """Write ``table`` ((N, S), its bytes exactly ``buffer.size``) into ``buffer``;
        returns ``"cuda"`` or ``"host"``."""
        source = _cuda_source(table) if self.mode != "host" else None
        if source is not None:
            table, cai = source
            bridge = self._get_bridge()
            if bridge is not None:
                pointer = int(cai["data"][0])
                nbytes = 4 * int(cai["shape"][0]) * int(cai["shape"][1])
                stream = cai.get("stream") or 0
                try:
                    bridge.copy(pointer, nbytes, buffer, stream)
                    self.last_path = "cuda"
                    return "cuda"
                except InteropUnavailable as e:
                    if self.mode == "cuda":
                        raise
                    self.reason = str(e)
                    log.info("activations go through the host: %s", e)
        elif self.mode == "cuda":
            raise InteropUnavailable("render.interop = 'cuda' needs a CUDA-resident float32 table")
        host = to_host(table)
        if host.nbytes != buffer.size:
            raise ValueError(f"activity table has {host.nbytes} bytes, its buffer {buffer.size}")
        buffer.write(host)  # the one host copy: numpy's memory straight into GL
        self.last_path = "host"
        return "host"

    def forget(self, buffer: moderngl.Buffer) -> None:
        """Call before ``buffer`` is reallocated (orphan) or released."""
        if self._bridge is not None:
            self._bridge.forget(buffer)

    def release(self) -> None:
        if self._bridge is not None:
            self._bridge.release()
            self._bridge = None
