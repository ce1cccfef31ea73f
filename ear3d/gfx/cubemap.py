"""Cube-map outputs: the scene drawn into the faces of a cube map (90° views from one
point), then resampled into a fisheye domemaster (shaders/dome.glsl) or an
equirectangular 360° × 180° panorama (shaders/equirect.glsl), then bloom and composite
once on the resampled picture (no seams at the cube's edges).

Cost: each face is a full scene pass (neurons and edges) at ``cube_size``². A face the
output never samples is not drawn (a 180°–260° dome skips the face behind it: 5 of 6).
Edges off a face are rejected early by the edge passes themselves (the compute rasterizer
clips each edge to the face's near plane and viewport before walking a pixel; GL lines are
clipped by the hardware), so the pixel work over all faces is about that of one panorama;
what repeats per face is the per-edge projection (see ``ear3d bench render --modes``).

Stereo panoramas (``equirect-stereo``) use an omni-directional stereo (ODS) approximation
with four column strips: each horizontal face (front, right, back, left) is drawn per eye
from eyes half the separation to either side *across that face's direction*, so the
stereo is correct looking any way around (a single per-eye cube map would have the full
baseline ahead, none to the sides and inverted stereo behind). The baseline is exact at
each face's centre and cos 45° ≈ 0.71 of it at the face seams; the top and bottom faces are
drawn once, mono — the disparity tapers to zero toward the poles, where no stereo pair
can be right for every head rotation. 10 face passes instead of 12 for two cube maps.
"""

from __future__ import annotations

import math

import moderngl
from pyglm import glm

from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.display import DisplaySettings, ScenePasses
from ear3d.gfx.post import FrameTargets
from ear3d.gfx.projection import (
    SIDE_FACES,
    Frame,
    camera_frame,
    cube_face_eye,
    dome_faces,
    level_frame,
    ods_offset,
    tilted_frame,
)
from ear3d.gfx.shaders import load_compute_shader, load_program, set_uniforms

_STORE_GROUP = 16  # local_size of shaders/cube_store.glsl
#: glEnable(GL_TEXTURE_CUBE_MAP_SEAMLESS): bilinear filtering reads across face edges.
_GL_TEXTURE_CUBE_MAP_SEAMLESS = 0x884F


def auto_cube_size(mode: str, size: tuple[int, int], dome_fov: float, limit: int) -> int:
    """The face size whose pixels at a face's centre match the output's at its centre: a
    fisheye of F radians over D pixels has D / F pixels per radian, a face of S pixels S / 2;
    an equirect W wide has W / 2π. Rounded up to a multiple of 16, at most ``limit``."""
    w, h = size
    if mode == "dome":
        s = 2 * min(w, h) / math.radians(dome_fov)
    else:
        s = w / math.pi
    return int(min(max(16, math.ceil(s / 16) * 16), limit))


class CubeMaps:
    """``count`` HDR cube maps (RGBA16F: light and coverage) of ``size``² faces and the
    targets each face is drawn into. Release with ``release()``."""

    def __init__(self, ctx: moderngl.Context, size: int, samples: int, count: int = 1):
        self.ctx = ctx
        self.size = size
        self.samples = samples
        self.cubes: list[moderngl.TextureCube] = []
        self.targets: FrameTargets | None = None
        self.store = load_compute_shader(ctx, "cube_store")
        try:
            for _ in range(count):
                cube = ctx.texture_cube((size, size), 4, dtype="f2")
                cube.filter = (moderngl.LINEAR, moderngl.LINEAR)
                self.cubes.append(cube)
            self.targets = FrameTargets(ctx, (size, size), samples)
        except BaseException:
            self.release()
            raise

    def draw_face(self, passes: ScenePasses, frame: Frame, face: int, camera: OrbitCamera,
                  into: tuple[int, ...] = (0,), offset: glm.vec3 | None = None) -> None:
        """Draw face ``face`` of the scene around ``frame`` (from its position + ``offset``,
        local) and store it in the cube maps ``into``."""
        assert self.targets is not None
        passes.light(self.targets, cube_face_eye(frame, face, camera.near, camera.far, offset))
        self.targets.color.use(location=0)
        set_uniforms(self.store, u_face=0, u_face_index=face)
        groups = math.ceil(self.size / _STORE_GROUP)
        for i in into:
            self.cubes[i].bind_to_image(0, read=False, write=True)
            self.store.run(groups, groups)
        self.ctx.memory_barrier()

    def clear_face(self, face: int) -> None:
        """Nothing on ``face`` (the output never samples it; kept defined all the same)."""
        for cube in self.cubes:
            cube.write(face, bytes(self.size * self.size * 8))

    def use(self, first_location: int = 0) -> None:
        for i, cube in enumerate(self.cubes):
            cube.use(location=first_location + i)

    def release(self) -> None:
        if self.targets is not None:
            self.targets.release()
            self.targets = None
        for cube in self.cubes:
            cube.release()
        self.cubes = []
        self.store.release()


class _CubeDisplay:
    """Shared by the dome and equirect displays: the cube maps, the output's HDR targets,
    the resampling program."""

    mode = ""
    _program_name = ""
    _cube_count = 1

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        ctx.enable_direct(_GL_TEXTURE_CUBE_MAP_SEAMLESS)
        self.program = load_program(ctx, self._program_name)
        self.vao = ctx.vertex_array(self.program, [])
        self.cubes: CubeMaps | None = None
        self._out: FrameTargets | None = None
        self._cleared: set[int] = set()

    def _prepare(self, size: tuple[int, int], settings: DisplaySettings) -> tuple[CubeMaps, FrameTargets]:
        limit = min(8192, int(self.ctx.info.get("GL_MAX_CUBE_MAP_TEXTURE_SIZE", 8192) or 8192))
        face = settings.cube_size or auto_cube_size(self.mode, size, settings.dome_fov, limit)
        face = min(face, limit)
        if self.cubes is None or self.cubes.size != face or self.cubes.samples != settings.samples:
            if self.cubes is not None:
                self.cubes.release()
            self.cubes = None
            self.cubes = CubeMaps(self.ctx, face, settings.samples, self._cube_count)
            self._cleared = set()
        if self._out is None or self._out.size != size:
            if self._out is not None:
                self._out.release()
            self._out = None
            self._out = FrameTargets(self.ctx, size, 0)
        return self.cubes, self._out

    def _resample(self, out: FrameTargets, **uniforms: object) -> None:
        out.resolved.use()
        self.ctx.viewport = (0, 0, *out.size)
        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND)
        assert self.cubes is not None
        self.cubes.use(0)
        set_uniforms(self.program, **uniforms)
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        for part in ("cubes", "_out"):
            obj = getattr(self, part)
            if obj is not None:
                obj.release()
                setattr(self, part, None)
        self.vao.release()
        self.program.release()


class DomeDisplay(_CubeDisplay):
    """Fisheye domemaster (equidistant): the image circle fills the smaller side of the
    output (square for a dome: e.g. 2048², 4096²); black outside it. Its centre looks along
    the view direction raised by ``dome_tilt`` degrees; ``dome_fov`` spans the circle."""

    mode = "dome"
    _program_name = "dome"

    def __init__(self, ctx: moderngl.Context):
        super().__init__(ctx)
        self.mask = load_program(ctx, "dome_mask")
        self.mask_vao = ctx.vertex_array(self.mask, [])

    def draw(self, passes: ScenePasses, camera: OrbitCamera, fbo: moderngl.Framebuffer,
             settings: DisplaySettings) -> None:
        cubes, out = self._prepare(fbo.size, settings)
        frame = tilted_frame(camera_frame(camera), settings.dome_tilt)
        seen = dome_faces(settings.dome_fov)
        for face in range(6):
            if face in seen:
                cubes.draw_face(passes, frame, face, camera)
                self._cleared.discard(face)
            elif face not in self._cleared:
                cubes.clear_face(face)
                self._cleared.add(face)
        size = tuple(float(v) for v in fbo.size)
        self._resample(out, u_cube=0, u_half_fov=math.radians(settings.dome_fov) / 2, u_size=size)
        passes.post(out, fbo)
        fbo.use()
        self.ctx.viewport = (0, 0, *fbo.size)
        set_uniforms(self.mask, u_size=size)
        self.mask_vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        super().release()
        self.mask_vao.release()
        self.mask.release()


class EquirectDisplay(_CubeDisplay):
    """Equirectangular 360° × 180° (2:1), the horizon level (world up) and the view
    direction at the centre; ``stereo``: top-bottom, left eye on top (1:1 in all), by the
    ODS approximation described in the module doc."""

    _program_name = "equirect"

    def __init__(self, ctx: moderngl.Context, stereo: bool = False):
        self.stereo = stereo
        self.mode = "equirect-stereo" if stereo else "equirect"
        self._cube_count = 2 if stereo else 1
        super().__init__(ctx)

    def draw(self, passes: ScenePasses, camera: OrbitCamera, fbo: moderngl.Framebuffer,
             settings: DisplaySettings) -> None:
        cubes, out = self._prepare(fbo.size, settings)
        frame = level_frame(camera)
        separation = settings.eye_separation * camera.distance
        for face in range(6):
            if not self.stereo:
                cubes.draw_face(passes, frame, face, camera)
            elif face in SIDE_FACES:
                cubes.draw_face(passes, frame, face, camera, (0,), ods_offset(face, separation, left=True))
                cubes.draw_face(passes, frame, face, camera, (1,), ods_offset(face, separation, left=False))
            else:
                cubes.draw_face(passes, frame, face, camera, (0, 1))
        self._resample(out, u_left=0, u_right=1 if self.stereo else 0, u_stereo=self.stereo)
        passes.post(out, fbo, vignette=0.0)  # all directions are equal: no corners to darken
