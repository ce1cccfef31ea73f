"""One key-frame interpolation: the renderer's compute pass (shaders/frame.glsl) and the
host function every Python caller uses (ear3d.layout.interpolate) give the same positions."""

import numpy as np
import pytest

from ear3d.layout.interpolate import periodic_catmull_rom


@pytest.mark.parametrize("frames", [1, 2, 5])
def test_gpu_pass_matches_the_host_interpolation(gl_context, frames):
    from ear3d.gfx.network import NetworkBuffers

    rng = np.random.default_rng(frames)
    key_frames = rng.uniform(-1, 1, (frames, 70, 3)).astype(np.float32)  # 70: more than one work group
    net = NetworkBuffers(gl_context, key_frames, np.full((70, 3), 0.5, np.float32))
    try:
        for phase in (0.0, 0.13, 0.5, 0.77, 0.999):
            net.update(phase)
            current = np.frombuffer(net.current_buffer.read(), np.float32).reshape(70, 4)
            assert np.allclose(current[:, :3], periodic_catmull_rom(key_frames, phase), atol=1e-5), phase
    finally:
        net.release()


def test_passes_through_each_key_frame_and_wraps():
    frames = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2) ** 1.5
    for k in range(4):
        assert np.allclose(periodic_catmull_rom(frames, k / 4), frames[k])
    assert np.allclose(periodic_catmull_rom(frames, 1.25), periodic_catmull_rom(frames, 0.25))
    assert periodic_catmull_rom(frames, 0.3).dtype == np.float32
