"""ear3d as an installed package: the wheel carries shaders/, assets/ and models/default/, a fresh
venv with only that wheel renders from anywhere, and what ear3d writes goes to the user's folders."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from ear3d import clips, paths

REPO = Path(__file__).resolve().parent.parent
#: what a source distribution holds: enough to build the wheel (see MANIFEST.in)
SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "ear3d", "shaders", "assets", "models/default"]
SIZE = (160, 96)


def _copy_sources(dest: Path) -> Path:
    """The buildable sources, copied so that building leaves the checkout untouched."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "_resources", "train_state.safetensors", "readme")
    dest.mkdir()
    for name in SOURCES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=skip)
        else:
            shutil.copy2(src, dest / name)
    return dest


def _user_env(home: Path) -> dict[str, str]:
    """The environment of a user who has nothing but the wheel: no EAR3D_HOME, no PYTHONPATH,
    their data, config and cache folders under ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ("EAR3D_HOME", "PYTHONPATH")}
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        env[var] = str(home / sub)
    env["OMP_NUM_THREADS"] = "1"
    return env


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_renders(tmp_path):
    # build: offline, with the setuptools of this environment
    src = _copy_sources(tmp_path / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True, text=True)
    (wheel,) = (tmp_path / "dist").glob("ear3d-*.whl")

    # a fresh venv; ear3d's dependencies come from this environment's site-packages through a .pth
    # (a path line there is not scanned for .pth files, so this environment's editable ear3d stays out)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "ear3d_test_deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, text=True)
    package = site / "ear3d"
    for shipped in ("_resources/shaders/frame.glsl", "_resources/assets/clips/origin.wav",
                    "_resources/models/default/model.safetensors", "_resources/models/default/layout.npz"):
        assert (package / shipped).is_file(), f"the wheel lacks {shipped}"
    installed = _files(package)

    # run from a folder outside the checkout, as a user would
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = _user_env(tmp_path / "user")
    where = subprocess.run([python, "-c", ("import ear3d, ear3d.paths as p; print(ear3d.__file__); print(p.root()); "
                                           "print(p.model_output_dir('default'))")],
                           cwd=run_dir, env=env, check=True, capture_output=True, text=True).stdout.split("\n")
    assert Path(where[0]).is_relative_to(package), f"ear3d was imported from {where[0]}, not the installed wheel"
    assert Path(where[1]) == package / "_resources"
    assert Path(where[2]) == tmp_path / "user" / "data" / "ear3d" / "models" / "default"

    done = subprocess.run([venv / "bin" / "ear3d", "render", "--seconds", "0.5", "--size", "x".join(map(str, SIZE))],
                          check=False, cwd=run_dir, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "grid instead" not in done.stderr, "the shipped layout.npz was not found"
    video = run_dir / "out" / "session.mp4"
    assert video.is_file()

    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    assert tuple(meta["size"]) == SIZE
    frames = [np.frombuffer(f, np.uint8).reshape(SIZE[1], SIZE[0], 3) for f in reader]
    assert len(frames) == 15  # 0.5 s at the default 30 fps
    last = frames[-1].astype(int)
    assert last.max() > 60 and (np.abs(last - np.median(last, axis=(0, 1))).sum(axis=2) > 40).mean() > 0.05, \
        "the rendered frame shows no network"
    assert _files(package) == installed, "ear3d wrote into the installed package"


def test_checkout_reads_and_writes_its_own_model_folders(tmp_path, monkeypatch):
    home = tmp_path / "checkout"
    (home / "models" / "default").mkdir(parents=True)
    monkeypatch.setenv("EAR3D_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert not paths.is_installed()
    # a shipped artefact is regenerated in place; any other model goes to the user's data folder
    assert paths.model_output_dir("default") == home / "models" / "default"
    assert paths.model_output_dir("mine") == tmp_path / "data" / "ear3d" / "models" / "mine"
    assert paths.model_output_dir(tmp_path / "abs") == tmp_path / "abs"
    assert paths.model_dirs(tmp_path / "abs") == [tmp_path / "abs"]


def test_installed_package_writes_to_user_folders_and_reads_shipped_files_after_them(tmp_path, monkeypatch):
    bundled = tmp_path / "site" / "ear3d" / "_resources"
    shipped = bundled / "models" / "default"
    shipped.mkdir(parents=True)
    (shipped / "model.safetensors").write_bytes(b"shipped")
    (shipped / "layout.npz").write_bytes(b"shipped")
    monkeypatch.delenv("EAR3D_HOME", raising=False)
    monkeypatch.setattr(paths, "bundled", lambda: bundled)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert paths.is_installed() and paths.root() == bundled

    user = tmp_path / "data" / "ear3d" / "models" / "default"
    assert paths.model_output_dir("default") == user
    assert paths.model_file("default", "layout.npz") == shipped / "layout.npz"
    (user).mkdir(parents=True)
    (user / "layout.npz").write_bytes(b"the user's")
    assert paths.model_file("default", "layout.npz") == user / "layout.npz"  # the user's layout wins…
    assert paths.model_file("default", "model.safetensors") == shipped / "model.safetensors"  # …weights stay shipped
    assert paths.model_file("default", "stats.npz") == user / "stats.npz"  # missing: where ear3d would write it

    # an origin clip missing from the package is generated into the user's cache, not the package
    written = clips.ensure_origin_clip()
    assert written == tmp_path / "cache" / "ear3d" / "clips" / "origin.wav" and written.is_file()
    assert _files(bundled) == {Path("models/default/model.safetensors"), Path("models/default/layout.npz")}
