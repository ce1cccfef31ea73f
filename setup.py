"""Build hook: the wheel carries the repository's top-level resource folders inside the package.

``shaders/``, ``assets/`` and ``models/default/`` stay at the repository root (where the project's
layout puts them); building a wheel copies them to ``ear3d/_resources/`` in the build tree, where
``ear3d.paths`` finds them once installed. Editable installs copy nothing: they read the checkout.
Everything else about the package is declared in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: repository folder → folder under ear3d/_resources/ in the wheel
RESOURCES = {"shaders": "shaders", "assets": "assets", "models/default": "models/default"}
#: not needed at run time: README pictures, a run's optimizer state, caches
LEFT_OUT = shutil.ignore_patterns("readme", "train_state.safetensors", "__pycache__", ".*")


class BuildPyWithResources(build_py):
    """``build_py`` that also copies the resource folders into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads shaders/, assets/, models/ from the checkout
            return
        for source, target in RESOURCES.items():
            src = HERE / source
            if not src.is_dir():
                raise FileNotFoundError(f"cannot build ear3d: resource folder {src} is missing")
            dst = Path(self.build_lib) / "ear3d" / "_resources" / target
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst, ignore=LEFT_OUT)


setup(cmdclass={"build_py": BuildPyWithResources})
