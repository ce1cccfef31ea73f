"""``ear3d bench render``'s peer: vispy drawing the same graph, run in a child process.

What a vispy user would write for live activity: the neurons as ``Markers`` (disc markers,
sized and coloured by activity), every edge as a segment of one ``Line`` visual
(``connect="segments"``, GL lines, additive, depth-tested against the markers), and every
frame each neuron's and each edge's colour recomputed on the host from the activity at the
loop position and uploaded. Same camera (the bench passes ear3d's view-projection), same
size, same activity table; the positions stay at the first key frame (vispy gets no key-frame
interpolation to do, which only favours it).

vispy is an optional dependency (``pip install ear3d[bench]``). It runs in its own process
(its EGL context stays apart from moderngl's), offscreen on EGL's surfaceless platform.
``peer_status()`` says whether it can run; :class:`PeerProcess` starts the child and asks
it for one frame at a time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Self

import numpy as np

PEER = "vispy"


def peer_status() -> tuple[bool, str]:
    """(True, version) when vispy imports, else (False, why)."""
    try:
        import vispy
    except ImportError as e:
        return False, f"vispy is not installed ({e}); pip install 'ear3d[bench]'"
    return True, str(getattr(vispy, "__version__", "?"))


def edge_light(weights: np.ndarray, source_activity: np.ndarray, gain: float) -> np.ndarray:
    """(E,) float32 light of each edge: |weight| × its source's activity × gain (as ear3d draws it)."""
    return np.abs(weights) * source_activity * np.float32(gain)


class PeerProcess:
    """vispy in a child process, drawing one frame per request so that the bench can
    alternate its frames with ear3d's. Use as a context manager; ``frame`` returns seconds.

    graph: ``positions`` (N, 3) float32, ``colors`` (N, 3) float32 0–1, ``edges`` (E, 2)
    uint32, ``weights`` (E,) float32 (normalised as ear3d's), ``activity`` (N, S) float32,
    ``gain`` () float32 (ear3d's per-edge light), ``radius`` () float32 (marker diameter in
    pixels at 720p); cameras: (w, h) → (4, 4) float32 view-projection (column vectors)."""

    def __init__(self, graph: dict[str, np.ndarray], cameras: dict[tuple[int, int], np.ndarray],
                 timeout_s: float = 1800.0):
        self._tmp = tempfile.TemporaryDirectory(prefix="ear3d-peer-")
        data = Path(self._tmp.name) / "graph.npz"
        arrays: dict[str, Any] = {**graph, **{f"camera_{w}x{h}": m for (w, h), m in cameras.items()}}
        np.savez(data, **arrays)
        env = dict(os.environ, EGL_PLATFORM="surfaceless")  # EGL without a display
        self.timeout_s = timeout_s
        self._proc = subprocess.Popen([sys.executable, "-m", "ear3d.bench.render_peer", str(data)], env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reply()  # "ready" once the graph is loaded

    def _reply(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.startswith("ok"):
            self._proc.wait(timeout=self.timeout_s)
            err = (self._proc.stderr.read() if self._proc.stderr else "").strip().splitlines()
            raise RuntimeError(f"vispy failed: {err[-1] if err else line or 'no output'}")
        return line[2:].strip()

    def frame(self, size: tuple[int, int], phase: float) -> tuple[float, float]:
        """(wall, CPU) seconds vispy took for one frame of ``size`` at loop position
        ``phase``: colours computed and uploaded, drawn, read back. CPU time counts every
        thread of the child (a software rasterizer's work), and is what a shared machine's
        load disturbs least."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"{size[0]}x{size[1]} {phase!r}\n")
        self._proc.stdin.flush()
        wall, cpu = self._reply().split()
        return float(wall), float(cpu)

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the child process ----------------------------------------------------------------------


def _activity_at(activity: np.ndarray, phase: float) -> np.ndarray:
    """(N,) activity at loop position ``phase``: linear between steps, wrapping (as ear3d)."""
    steps = activity.shape[1]
    s = phase * steps
    t0 = int(np.floor(s)) % steps
    f = np.float32(s - np.floor(s))
    a = activity[:, t0] * (1 - f) + activity[:, (t0 + 1) % steps] * f
    return np.clip(np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)


class _VispyFrame:
    """The child's scene at one size: canvas, markers, lines and an offscreen target."""

    def __init__(self, d: Any, size: tuple[int, int]):
        from vispy import gloo, scene
        from vispy.visuals.transforms import MatrixTransform

        w, h = size
        self.size = size
        self.d = d
        vp = d[f"camera_{w}x{h}"]
        # NDC → canvas pixels (y down), so that vispy's own pixels → NDC undoes it exactly
        to_pixels = np.array([[w / 2, 0, 0, w / 2], [0, -h / 2, 0, h / 2], [0, 0, 1, 0], [0, 0, 0, 1]], np.float32)
        transform = MatrixTransform((to_pixels @ vp).T)  # vispy multiplies row vectors
        self.canvas = scene.SceneCanvas(size=(w, h), show=False, bgcolor="black")
        self.markers = scene.visuals.Markers(parent=self.canvas.scene, spherical=True)
        self.lines = scene.visuals.Line(pos=d["segments"], color=d["rgba"].reshape(-1, 4), connect="segments",
                                        method="gl", antialias=False, parent=self.canvas.scene)
        for v in (self.markers, self.lines):
            v.transform = transform
        # one offscreen target (canvas.render() makes a new one per call, and its third frame
        # comes back black on this EGL)
        self.canvas.set_current()  # gloo objects belong to the current canvas's context
        self.target = gloo.FrameBuffer(color=gloo.RenderBuffer((h, w)), depth=gloo.RenderBuffer((h, w)))
        self.markers.set_gl_state("opaque", depth_test=True)
        self.lines.set_gl_state(blend=True, blend_func=("one", "one"), depth_test=True, depth_mask=False)

    def draw(self, phase: float) -> np.ndarray:
        """One frame at loop position ``phase``: colours from the activity, uploaded, drawn;
        returns the (h, w, 3) uint8 picture (reading it back waits for the frame)."""
        d = self.d
        a = _activity_at(d["activity"], phase)
        colors = d["colors"]
        neuron_rgba = np.ones((len(colors), 4), np.float32)
        np.minimum(colors * (0.2 + 0.8 * a[:, None]), 1.0, out=neuron_rgba[:, :3])  # vispy refuses colours > 1
        self.markers.set_data(d["positions"], face_color=neuron_rgba, edge_width=0,
                              size=d["radius"] * self.size[1] / 720 * (0.5 + 1.5 * np.sqrt(a)))
        light = edge_light(d["weights"], a[d["edges"][:, 0]], d["gain"])
        rgba = d["rgba"]
        np.minimum(d["end_colors"] * light[:, None, None], 1.0, out=rgba[:, :, :3])
        self.lines.set_data(color=rgba.reshape(-1, 4))
        self.canvas.set_current()
        self.canvas.push_fbo(self.target, (0, 0), self.size)
        try:
            self.canvas.on_draw(None)
            return self.target.read()[..., :3]
        finally:
            self.canvas.pop_fbo()

    def close(self) -> None:
        self.canvas.close()


def _child(data_path: str) -> None:
    """Serve frames: read "WxH PHASE" lines from stdin, answer "ok SECONDS" on stdout."""
    import vispy

    vispy.use(app="egl")
    raw = np.load(data_path)
    d: dict[str, Any] = {k: raw[k] for k in raw.files}
    d["gain"], d["radius"] = float(d["gain"]), float(d["radius"])
    ends = d["edges"].reshape(-1)
    d["segments"] = np.ascontiguousarray(d["positions"][ends])  # (2E, 3): both ends of every edge
    d["end_colors"] = d["colors"][ends].reshape(-1, 2, 3)  # each end's layer colour
    d["rgba"] = np.ones((len(d["edges"]), 2, 4), np.float32)
    frames: dict[tuple[int, int], _VispyFrame] = {}
    print("ok ready", flush=True)
    for line in sys.stdin:
        size_text, phase_text = line.split()
        w, h = (int(v) for v in size_text.split("x"))
        size = (w, h)
        t0, c0 = time.perf_counter(), time.process_time()
        if size not in frames:
            frames[size] = _VispyFrame(d, size)
        image = frames[size].draw(float(phase_text))
        print(f"ok {time.perf_counter() - t0!r} {time.process_time() - c0!r}", flush=True)
        if os.environ.get("EAR3D_PEER_IMAGE"):  # a look at the peer's frame (debugging the bench)
            from PIL import Image

            Image.fromarray(image).save(f"{os.environ['EAR3D_PEER_IMAGE']}_{size_text}.png")
    for f in frames.values():
        f.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="vispy peer of ear3d bench render (child process)")
    parser.add_argument("data", help="the graph and cameras (.npz, written by PeerProcess)")
    _child(parser.parse_args(argv).data)


if __name__ == "__main__":
    main()
