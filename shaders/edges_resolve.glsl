#version 430 core
// Adds the compute-rasterized edge light (shaders/edges_raster.glsl) into the frame:
// drawn as a fullscreen triangle with additive blending.
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

layout(std430, binding = 5) readonly buffer Accum { uint accum[]; };

uniform ivec2 u_size;      // accumulator size: the frame's size / u_divisor
uniform int u_divisor;     // 1 = full resolution; > 1: upsampled bilinearly
uniform float u_scale;     // fixed-point units per unit of light
uniform float u_exposure;

in vec2 v_uv;
out vec4 f_color;

vec3 texel(ivec2 p) {
    p = clamp(p, ivec2(0), u_size - 1);
    int i = (p.y * u_size.x + p.x) * 3;
    return vec3(accum[i], accum[i + 1], accum[i + 2]);
}

void main() {
    vec3 light;
    if (u_divisor == 1) {
        light = texel(ivec2(gl_FragCoord.xy));
    } else {
        vec2 q = gl_FragCoord.xy / float(u_divisor) - 0.5;
        ivec2 b = ivec2(floor(q));
        vec2 f = q - floor(q);
        light = mix(mix(texel(b), texel(b + ivec2(1, 0)), f.x),
                    mix(texel(b + ivec2(0, 1)), texel(b + ivec2(1, 1)), f.x), f.y);
    }
    f_color = vec4(light / u_scale * u_exposure, 0.0);
}

#endif
