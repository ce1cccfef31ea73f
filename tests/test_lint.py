"""The code is lint-clean (ruff: pyflakes, pycodestyle, import order, pyupgrade, bugbear over ear3d/ and
tests/) and type-clean (mypy over ear3d/); both read their settings from pyproject.toml."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    exe = BIN / tool
    if not exe.exists():
        pytest.fail(f"{exe} is missing: install the test extra (pip install -e '.[test]')")
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_finds_nothing():
    out = _run("ruff", "check", "--output-format", "concise", "ear3d", "tests")
    assert out.returncode == 0, f"ruff check ear3d tests:\n{out.stdout}{out.stderr}"


def test_mypy_finds_nothing():
    out = _run("mypy")  # its cache (.mypy_cache/) makes a rerun take seconds instead of a minute
    assert out.returncode == 0, f"mypy (files from pyproject.toml):\n{out.stdout}{out.stderr}"
