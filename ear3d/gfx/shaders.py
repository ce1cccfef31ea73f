"""GLSL programs from files in shaders/: one file per program, stages behind
``#if defined VERTEX_SHADER`` / ``FRAGMENT_SHADER`` / ``GEOMETRY_SHADER`` / ``COMPUTE_SHADER``.

Errors name the file and the line: the loader keeps the file's line numbers with ``#line``.
"""

from __future__ import annotations

import re
from pathlib import Path

import moderngl

from ear3d import paths

STAGES = {
    "vertex_shader": "VERTEX_SHADER",
    "geometry_shader": "GEOMETRY_SHADER",
    "fragment_shader": "FRAGMENT_SHADER",
    "compute_shader": "COMPUTE_SHADER",
}
# Mesa: "0:12(5): error: …"; NVIDIA: "0(12) : error C0000: …"
_LINE = re.compile(r"^\s*\d+[:(](\d+)\)?(?:\(\d+\))?\s*:\s*(.*)$")


class ShaderError(RuntimeError):
    """A shader file is missing or does not compile; the message names file and line."""


def shader_path(name: str) -> Path:
    path = paths.shaders() / (name if name.endswith(".glsl") else f"{name}.glsl")
    if not path.exists():
        raise ShaderError(f"shader file {path} not found")
    return path


def stage_sources(path: Path) -> dict[str, str]:
    """moderngl keyword → source text for each stage the file defines."""
    text = path.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    if not first.startswith("#version"):
        raise ShaderError(f"{path}:1: the first line must be a #version directive")
    sources = {}
    for keyword, macro in STAGES.items():
        if re.search(rf"defined\s*\(?\s*{macro}\b", text):
            sources[keyword] = f"{first}\n#define {macro} 1\n#line 2\n{rest}"
    if not sources:
        raise ShaderError(f"{path}: defines no stage (#if defined VERTEX_SHADER …)")
    return sources


def _explain(path: Path, error: Exception) -> str:
    lines = []
    for raw in str(error).splitlines():
        m = _LINE.match(raw)
        if m:
            lines.append(f"{path}:{m.group(1)}: {m.group(2)}")
    return "\n".join(lines) if lines else f"{path}: {error}"


def load_program(ctx: moderngl.Context, name: str) -> moderngl.Program:
    """Compile and link shaders/NAME.glsl."""
    path = shader_path(name)
    sources = stage_sources(path)
    try:
        if "compute_shader" in sources:
            return ctx.compute_shader(sources["compute_shader"])
        return ctx.program(**sources)
    except moderngl.Error as e:
        raise ShaderError(_explain(path, e)) from None


def all_shader_names() -> list[str]:
    return sorted(p.stem for p in paths.shaders().glob("*.glsl"))
