"""Where the project's resources live: shaders/, assets/, models/ at the repository root.

``EAR3D_HOME`` overrides the root (for an installed, non-editable package).
"""

from __future__ import annotations

import os
from pathlib import Path


def root() -> Path:
    """The folder holding shaders/, assets/ and models/."""
    env = os.environ.get("EAR3D_HOME")
    return Path(env) if env else Path(__file__).resolve().parent.parent


def shaders() -> Path:
    return root() / "shaders"


def assets() -> Path:
    return root() / "assets"


def models() -> Path:
    return root() / "models"


def clips() -> Path:
    return assets() / "clips"
