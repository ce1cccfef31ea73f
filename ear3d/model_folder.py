"""The model folder ``models/<model.name>/`` and the files ear3d keeps in it (no torch here:
the renderer and the command line find files without loading the network).

=========================  ===============================================  ===================
file                       what                                             written by
=========================  ===============================================  ===================
``model.safetensors``      the network's weights (``ear3d.ml.checkpoint``)  `ear3d train`
``config.json``            architecture, front end, training, metrics       `ear3d train`
``train_state.safetensors``  what a resumed training run needs              `ear3d train`
``stats.npz``              activation statistics (``ear3d.ml.stats``)       `ear3d sonify --save-stats`, `ear3d train`
``layout.npz``             the force layout (docs/layout-format.md)         `ear3d layout`
=========================  ===============================================  ===================
"""

from __future__ import annotations

from pathlib import Path

from ear3d import paths
from ear3d.config import Config

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
STATE_FILE = "train_state.safetensors"
STATS_FILE = "stats.npz"
LAYOUT_FILE = "layout.npz"


def model_dir(config: Config) -> Path:
    """Where ear3d *writes* ``model.name``'s files (``model.name`` may also be an absolute path):
    the checkout's own ``models/<name>`` when it exists there, else the user's data folder
    (see :func:`ear3d.paths.model_output_dir`)."""
    return paths.model_output_dir(config.model.name)


def model_file(config: Config, filename: str) -> Path:
    """Where ear3d *reads* ``filename`` of ``model.name``: the user's copy first, then the shipped
    one (see :func:`ear3d.paths.model_file`); the write location when neither exists."""
    return paths.model_file(config.model.name, filename)


def stats_folder(config: Config) -> Path:
    """The folder holding the model's activation statistics (the user's, else the shipped ones)."""
    return model_file(config, STATS_FILE).parent


def layout_file(config: Config) -> Path:
    """The model's layout file to read, ``layout.npz`` (the user's, else the shipped one)."""
    return model_file(config, LAYOUT_FILE)
