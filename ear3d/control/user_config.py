"""The user's own configuration folder (platformdirs), where learned MIDI mappings live.

``EAR3D_CONFIG_DIR`` overrides the folder (tests, portable installs).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from ear3d.atomic import atomic_write


def user_config_dir() -> Path:
    """The per-user configuration folder, e.g. ~/.config/ear3d on Linux (not created here)."""
    env = os.environ.get("EAR3D_CONFIG_DIR")
    return Path(env) if env else platformdirs.user_config_path("ear3d")


def learned_mapping_path(port: str) -> Path:
    """The mapping file that holds what was learned on the controller called ``port``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", port).strip("-.") or "controller"
    return user_config_dir() / "midi" / f"{slug}.toml"


def write_toml(path: Path, data: dict[str, Any], header: str = "") -> Path:
    """Write ``data`` as TOML atomically (the file appears complete or not at all)."""
    text = (f"# {header}\n" if header else "") + tomli_w.dumps(data)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
