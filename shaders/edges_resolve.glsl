#version 430 core
// Adds the compute-rasterized edge light (shaders/edges_raster.glsl) into the frame:
// drawn as a fullscreen triangle with additive blending.
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

layout(std430, binding = 5) readonly buffer Accum { uint accum[]; };

uniform int u_width;
uniform float u_scale;     // fixed-point units per unit of light
uniform float u_exposure;

in vec2 v_uv;
out vec4 f_color;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int i = (p.y * u_width + p.x) * 3;
    vec3 light = vec3(accum[i], accum[i + 1], accum[i + 2]) / u_scale;
    f_color = vec4(light * u_exposure, 0.0);
}

#endif
