#version 430 core
// Fisheye domemaster from a cube map: equidistant (angular) projection, the dome's centre
// at the image centre, the image circle filling the smaller side. Each pixel's direction is
// its distance from the centre times half the field of view off the dome's axis (local -z).
// Outside the circle: nothing (the composite draws background there; dome_mask.glsl then
// blacks it out). ear3d.gfx.projection.fisheye_directions is the same mapping in numpy.
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

uniform samplerCube u_cube;   // HDR light and coverage, in the dome frame's local coordinates
uniform float u_half_fov;     // radians from the centre to the rim
uniform vec2 u_size;          // output size in pixels

out vec4 f_color;

void main() {
    vec2 p = (gl_FragCoord.xy - 0.5 * u_size) / (0.5 * min(u_size.x, u_size.y));
    float rho = length(p);
    if (rho > 1.0) {
        f_color = vec4(0.0);
        return;
    }
    float theta = rho * u_half_fov;
    vec2 around = rho > 0.0 ? p / rho : vec2(1.0, 0.0);
    f_color = texture(u_cube, vec3(sin(theta) * around, -cos(theta)));
}

#endif
