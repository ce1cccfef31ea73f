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
``peer_status()`` says whether it can run; ``run_peer`` starts the child and returns its
per-size frame times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def run_peer(graph: dict[str, np.ndarray], cameras: dict[tuple[int, int], np.ndarray], frames: int,
             timeout_s: float = 3600.0) -> dict[tuple[int, int], float] | str:
    """Time vispy's frame in a child process. graph: ``positions`` (N, 3) float32, ``colors``
    (N, 3) float32 0–1, ``edges`` (E, 2) uint32, ``weights`` (E,) float32 (normalised as
    ear3d's), ``activity`` (N, S) float32, ``gain`` () float32 (ear3d's per-edge light),
    ``radius`` () float32 (marker diameter in pixels at 720p); cameras: (w, h) → (4, 4)
    float32 view-projection (column vectors). Returns (w, h) → median seconds per frame, or
    a one-line reason why there is no row."""
    ok, reason = peer_status()
    if not ok:
        return reason
    with tempfile.TemporaryDirectory(prefix="ear3d-peer-") as tmp:
        data = Path(tmp) / "graph.npz"
        np.savez(data, **graph, **{f"camera_{w}x{h}": m for (w, h), m in cameras.items()})
        out = Path(tmp) / "times.json"
        env = dict(os.environ, EGL_PLATFORM="surfaceless")  # EGL without a display
        cmd = [sys.executable, "-m", "ear3d.bench.render_peer", str(data), str(out), "--frames", str(frames)]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return f"vispy did not finish within {timeout_s:.0f} s"
        if proc.returncode != 0 or not out.exists():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return f"vispy failed: {last}"
        times = json.loads(out.read_text())
    return {tuple(int(v) for v in k.split("x")): float(t) for k, t in times.items()}  # type: ignore[misc]


# -- the child process ----------------------------------------------------------------------


def _activity_at(activity: np.ndarray, phase: float) -> np.ndarray:
    """(N,) activity at loop position ``phase``: linear between steps, wrapping (as ear3d)."""
    steps = activity.shape[1]
    s = phase * steps
    t0 = int(np.floor(s)) % steps
    f = np.float32(s - np.floor(s))
    a = activity[:, t0] * (1 - f) + activity[:, (t0 + 1) % steps] * f
    return np.clip(np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)


def _child(data_path: str, out_path: str, frames: int) -> None:
    import vispy

    vispy.use(app="egl")
    from vispy import gloo, scene
    from vispy.visuals.transforms import MatrixTransform

    d = np.load(data_path)
    pos, colors, edges, weights = d["positions"], d["colors"], d["edges"], d["weights"]
    activity, gain, radius = d["activity"], float(d["gain"]), float(d["radius"])
    src = edges[:, 0]
    seg_pos = np.ascontiguousarray(pos[edges.reshape(-1)])  # (2E, 3): both ends of every edge
    end_colors = colors[edges.reshape(-1)].reshape(-1, 2, 3)  # each end's layer colour
    rgba = np.ones((len(edges), 2, 4), np.float32)
    neuron_rgba = np.ones((len(pos), 4), np.float32)
    times = {}
    for key in sorted(k for k in d.files if k.startswith("camera_")):
        size = key.removeprefix("camera_")
        w, h = (int(v) for v in size.split("x"))
        vp = d[key]
        # NDC → canvas pixels (y down), so that vispy's own pixels → NDC undoes it exactly
        to_pixels = np.array([[w / 2, 0, 0, w / 2], [0, -h / 2, 0, h / 2], [0, 0, 1, 0], [0, 0, 0, 1]], np.float32)
        transform = MatrixTransform((to_pixels @ vp).T)  # vispy multiplies row vectors
        canvas = scene.SceneCanvas(size=(w, h), show=False, bgcolor="black")
        markers = scene.visuals.Markers(parent=canvas.scene, spherical=True)
        lines = scene.visuals.Line(pos=seg_pos, color=rgba.reshape(-1, 4), connect="segments", method="gl",
                                   antialias=False, parent=canvas.scene)
        for v in (markers, lines):
            v.transform = transform
        # one offscreen target per size (canvas.render() makes a new one per call, and its
        # third frame comes back black on this EGL)
        target = gloo.FrameBuffer(color=gloo.RenderBuffer((h, w)), depth=gloo.RenderBuffer((h, w)))
        markers.set_gl_state("opaque", depth_test=True)
        lines.set_gl_state(blend=True, blend_func=("one", "one"), depth_test=True, depth_mask=False)
        samples = []
        for i in range(frames + 1):  # the first is a warm-up
            t0 = time.perf_counter()
            a = _activity_at(activity, (i + 0.5) / max(frames, 1))
            np.minimum(colors * (0.2 + 0.8 * a[:, None]), 1.0, out=neuron_rgba[:, :3])
            markers.set_data(pos, face_color=neuron_rgba, size=radius * h / 720 * (0.5 + 1.5 * np.sqrt(a)),
                             edge_width=0)
            light = edge_light(weights, a[src], gain)
            np.minimum(end_colors * light[:, None, None], 1.0, out=rgba[:, :, :3])  # vispy refuses colours > 1
            lines.set_data(color=rgba.reshape(-1, 4))
            canvas.push_fbo(target, (0, 0), (w, h))
            try:
                canvas.on_draw(None)
                image = target.read()[..., :3]  # the read-back waits for the frame
            finally:
                canvas.pop_fbo()
            if i:
                samples.append(time.perf_counter() - t0)
        times[size] = float(np.median(samples))
        if os.environ.get("EAR3D_PEER_IMAGE"):  # a look at the peer's frame (debugging the bench)
            from PIL import Image

            Image.fromarray(image).save(f"{os.environ['EAR3D_PEER_IMAGE']}_{size}.png")
        canvas.close()
    Path(out_path).write_text(json.dumps(times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="vispy peer of ear3d bench render (child process)")
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--frames", type=int, default=2)
    args = parser.parse_args(argv)
    _child(args.data, args.out, args.frames)


if __name__ == "__main__":
    main()
