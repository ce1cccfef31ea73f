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
    """``models/<model.name>`` (``model.name`` may also be an absolute path)."""
    name = Path(config.model.name)
    return name if name.is_absolute() else paths.models() / name


def layout_file(config: Config) -> Path:
    """The model's layout file, ``models/<model.name>/layout.npz``."""
    return model_dir(config) / LAYOUT_FILE
