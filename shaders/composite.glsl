#version 430 core
// The last pass: background, the rendered light, bloom, tone mapping, into the output.
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

uniform sampler2D u_scene;   // rgb: HDR light; a: coverage by neurons (faded with depth)
uniform sampler2D u_bloom;   // first level of the bloom chain
uniform bool u_has_bloom;
uniform float u_bloom_strength;
uniform vec3 u_background;   // display colour 0-1
uniform float u_vignette;    // 0 = flat background, 1 = strong falloff to the corners

in vec2 v_uv;
out vec4 f_color;

// Identity below the knee, then an exponential shoulder towards 1: colours stay exact in
// the normal range, bright additive pile-ups of edges saturate smoothly instead of clipping.
vec3 tonemap(vec3 c) {
    const float k = 0.7;
    vec3 over = max(c - k, 0.0);
    return min(c, vec3(k)) + (1.0 - k) * (1.0 - exp(-over / (1.0 - k)));
}

void main() {
    vec4 scene = texture(u_scene, v_uv);
    vec2 q = v_uv * 2.0 - 1.0;
    vec3 background = u_background * (1.0 + 0.6 * u_vignette * (0.5 - dot(q, q) * 0.5));
    vec3 color = background * (1.0 - clamp(scene.a, 0.0, 1.0)) + max(scene.rgb, 0.0);
    if (u_has_bloom) color += texture(u_bloom, v_uv).rgb * u_bloom_strength;
    f_color = vec4(tonemap(color), 1.0);
}

#endif
