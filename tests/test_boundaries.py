"""Module boundaries (docs/architecture.md, "Layers"): the import contracts in pyproject.toml
hold over the whole import graph, and the light commands load neither torch nor GL."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    """Every contract in [tool.importlinter]: layers point one way, torch stays out of the
    renderer, GL out of the model code, PortAudio behind ear3d.audio. Imports inside
    functions count (grimp reads every import statement), so a lazy upward import breaks
    a contract too. lint-imports prints the broken chains; pytest shows them on failure.

    It runs in its own interpreter: import-linter configures logging with dictConfig, which
    disables every logger that already exists (ear3d's included) for the rest of a process."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, no_cache=True))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; which of torch, moderngl, moderngl_window it loaded."""
    heavy = ("torch", "moderngl", "moderngl_window")
    probe = f"{code}\nimport sys; print('loaded:', *[m for m in {heavy!r} if m in sys.modules])"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()[-1].split()[1:]


def test_import_does_no_work():
    assert loaded_after("import ear3d, ear3d.config, ear3d.cli, ear3d.errors") == []


def test_help_loads_neither_torch_nor_gl():
    code = "from ear3d.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert loaded_after(code) == []


def test_audio_list_loads_neither_torch_nor_gl():
    """`ear3d audio --list` answers whether or not PortAudio finds a device."""
    code = "from ear3d.cli import main\nmain(['audio', '--list'])"
    assert loaded_after(code) == []


def test_user_errors_are_named_correctly():
    """Every (module, class) in ear3d.errors names an existing exception class."""
    from ear3d.errors import USER_ERROR_NAMES, user_errors

    classes = user_errors(loaded_only=False)
    assert len(classes) == len(USER_ERROR_NAMES)
    assert all(issubclass(c, Exception) for c in classes)
