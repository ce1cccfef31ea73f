"""GLSL programs from files in shaders/: one file per program, stages behind
``#if defined VERTEX_SHADER`` / ``FRAGMENT_SHADER`` / ``GEOMETRY_SHADER`` / ``COMPUTE_SHADER``.

Shared code lives in ``shaders/include/NAME.glsl`` and is pulled in with
``#include "NAME.glsl"`` (one level, no nesting, before the first ``#if``). Errors name the file and the line: the
loader keeps each file's line numbers with ``#line LINE SOURCE`` and maps the source
number back to the file (0 = the program file, 1… = its includes in order).
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
_LINE = re.compile(r"^\s*(\d+)[:(](\d+)\)?(?:\(\d+\))?\s*:\s*(.*)$")
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_.\-]+)"\s*$')


class ShaderError(RuntimeError):
    """A shader file is missing or does not compile; the message names file and line."""


def shader_path(name: str) -> Path:
    path = paths.shaders() / (name if name.endswith(".glsl") else f"{name}.glsl")
    if not path.exists():
        raise ShaderError(f"shader file {path} not found")
    return path


def _expand_includes(path: Path, body: str, first_line: int) -> tuple[str, list[Path]]:
    """Replace ``#include "X"`` lines of ``body`` (which starts at line ``first_line`` of
    ``path``) with shaders/include/X, each wrapped in ``#line`` directives.
    Returns the text and the included files (source string k + 1 = files[k])."""
    files: list[Path] = []
    out = []
    in_conditional = False
    for i, line in enumerate(body.split("\n")):
        m = _INCLUDE.match(line)
        if not m:
            in_conditional = in_conditional or bool(re.match(r"\s*#\s*if", line))
            out.append(line)
            continue
        if in_conditional:
            # Inside an inactive #if group the #line directives would be skipped and the
            # line numbers after it would drift: keep includes at the top of the file.
            raise ShaderError(f"{path}:{first_line + i}: #include must come before the first #if")
        inc = paths.shaders() / "include" / m.group(1)
        if not inc.exists():
            raise ShaderError(f"{path}:{first_line + i}: included file {inc} not found")
        text = inc.read_text(encoding="utf-8")
        if any(_INCLUDE.match(x) for x in text.split("\n")):
            raise ShaderError(f"{inc}: nested #include is not supported")
        if inc not in files:
            files.append(inc)
        out += [f"#line 1 {files.index(inc) + 1}", text, f"#line {first_line + i + 1} 0"]
    return "\n".join(out), files


def stage_sources(path: Path) -> dict[str, str]:
    """moderngl keyword → source text for each stage the file defines."""
    sources, _ = _stage_sources(path)
    return sources


def _stage_sources(path: Path) -> tuple[dict[str, str], list[Path]]:
    text = path.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    if not first.startswith("#version"):
        raise ShaderError(f"{path}:1: the first line must be a #version directive")
    body, files = _expand_includes(path, rest, 2)
    sources = {}
    for keyword, macro in STAGES.items():
        if re.search(rf"defined\s*\(?\s*{macro}\b", body):
            sources[keyword] = f"{first}\n#define {macro} 1\n#line 2 0\n{body}"
    if not sources:
        raise ShaderError(f"{path}: defines no stage (#if defined VERTEX_SHADER …)")
    return sources, files


def _explain(path: Path, includes: list[Path], error: Exception) -> str:
    lines = []
    for raw in str(error).splitlines():
        m = _LINE.match(raw)
        if m:
            source = int(m.group(1))
            where = includes[source - 1] if 0 < source <= len(includes) else path
            lines.append(f"{where}:{m.group(2)}: {m.group(3)}")
    return "\n".join(lines) if lines else f"{path}: {error}"


def load_program(ctx: moderngl.Context, name: str) -> moderngl.Program | moderngl.ComputeShader:
    """Compile and link shaders/NAME.glsl (a compute shader when the file defines one)."""
    path = shader_path(name)
    sources, includes = _stage_sources(path)
    try:
        if "compute_shader" in sources:
            return ctx.compute_shader(sources["compute_shader"])
        return ctx.program(vertex_shader=sources.get("vertex_shader"), geometry_shader=sources.get("geometry_shader"),
                           fragment_shader=sources.get("fragment_shader"))
    except moderngl.Error as e:
        raise ShaderError(_explain(path, includes, e)) from None


def load_draw_program(ctx: moderngl.Context, name: str) -> moderngl.Program:
    """:func:`load_program` for a file that must define drawing stages, not a compute shader."""
    program = load_program(ctx, name)
    if not isinstance(program, moderngl.Program):
        program.release()
        raise ShaderError(f"{shader_path(name)}: a compute shader where a drawing program is needed")
    return program


def load_compute_shader(ctx: moderngl.Context, name: str) -> moderngl.ComputeShader:
    """:func:`load_program` for a file that must define a compute shader."""
    program = load_program(ctx, name)
    if not isinstance(program, moderngl.ComputeShader):
        program.release()
        raise ShaderError(f"{shader_path(name)}: drawing stages where a compute shader is needed")
    return program


def set_uniforms(program: moderngl.Program | moderngl.ComputeShader, **values: object) -> None:
    """Set uniforms by name: numbers and tuples by value, anything else (pyglm matrices and
    vectors) through the buffer protocol. Names the compiler optimised away (unused in this
    program) are skipped."""
    for name, value in values.items():
        member = program.get(name, None)
        if member is None:
            continue
        if isinstance(value, (bool, int, float, tuple, list)) and isinstance(
                member, (moderngl.Uniform, moderngl.UniformBlock)):
            member.value = value
        elif isinstance(member, moderngl.Uniform):
            member.write(value)  # pyglm matrices and vectors support the buffer protocol
        else:
            raise TypeError(f"{name!r} is a {type(member).__name__}, not a uniform that takes a {type(value).__name__}")


def all_shader_names() -> list[str]:
    """Every program file (shaders/*.glsl; shaders/include/ holds shared code, not programs)."""
    return sorted(p.stem for p in paths.shaders().glob("*.glsl"))
