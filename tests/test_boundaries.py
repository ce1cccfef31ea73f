"""Module boundaries of DESIGN.md: torch stays out of the renderer, GL out of the model code,
and importing the package does no work."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ear3d"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def files(*parts: str) -> list[Path]:
    return sorted(PACKAGE.joinpath(*parts).rglob("*.py")) if parts else []


@pytest.mark.parametrize("path", files("gfx"), ids=lambda p: p.name)
def test_renderer_never_imports_torch(path):
    assert "torch" not in imported_modules(path)


@pytest.mark.parametrize("path", files("ml") + files("layout"), ids=lambda p: p.name)
def test_model_code_never_imports_gl(path):
    assert not {"moderngl", "moderngl_window", "glm", "pyglm"} & imported_modules(path)


@pytest.mark.parametrize("name", ["audio.py", "activity.py", "graph.py", "messages.py", "config.py", "video.py"])
def test_plain_modules_stay_plain(name):
    assert not {"torch", "moderngl", "moderngl_window"} & imported_modules(PACKAGE / name)


def test_import_does_no_work():
    code = "import sys, ear3d, ear3d.config, ear3d.cli; print('torch' in sys.modules, 'moderngl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
