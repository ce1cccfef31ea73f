"""Shared fixtures. Audio tests play through a JACK dummy server: ALSA's default device is
routed to JACK, which must be set before PortAudio first initialises in this process."""

import os
import pathlib

os.environ.setdefault(
    "ALSA_CONFIG_PATH", str(pathlib.Path(__file__).resolve().parent.parent / "assets" / "alsa" / "jack.conf")
)
os.environ.setdefault("JACK_NO_START_SERVER", "1")

import pytest  # noqa: E402

from jack_server import jack_server  # noqa: E402,F401  (fixture)


@pytest.fixture(scope="session")
def gl_context():
    """One headless EGL context for the whole test session."""
    from ear3d.gfx.context import headless_context

    ctx = headless_context()
    yield ctx
    ctx.release()


@pytest.fixture(scope="session")
def tiny_config():
    """The tiny preset at a small frame size: fast on a 2-core CPU and llvmpipe."""
    from ear3d.config import load

    return load(None, ["model.preset=tiny", "render.adaptive=false", "render.width=320", "render.height=180",
                       "render.fps=12"])
