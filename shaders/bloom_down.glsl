#version 430 core
// Bloom, downsampling half: one level of the bloom chain from the level above (13 taps,
// Jimenez 2014). The first level also keeps only the light above a soft threshold, with
// a Karis average against fireflies (a single very bright pixel would flicker).
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

uniform sampler2D u_source;
uniform vec2 u_texel;        // 1 / size of u_source
uniform bool u_first;        // reading the frame itself: apply the threshold
uniform float u_threshold;   // light below this does not glow
uniform float u_knee;        // width of the soft transition around the threshold

in vec2 v_uv;
out vec4 f_color;

vec3 tap(vec2 offset) {
    return texture(u_source, v_uv + offset * u_texel).rgb;
}

vec3 bright(vec3 c) {
    float m = max(c.r, max(c.g, c.b));
    float soft = clamp(m - u_threshold + u_knee, 0.0, 2.0 * u_knee);
    soft = soft * soft / (4.0 * u_knee + 1e-5);
    float keep = max(soft, m - u_threshold) / max(m, 1e-5);
    return c * keep;
}

float karis(vec3 c) {
    return 1.0 / (1.0 + max(c.r, max(c.g, c.b)));
}

void main() {
    vec3 a = tap(vec2(-2, 2)), b = tap(vec2(0, 2)), c = tap(vec2(2, 2));
    vec3 d = tap(vec2(-2, 0)), e = tap(vec2(0, 0)), f = tap(vec2(2, 0));
    vec3 g = tap(vec2(-2, -2)), h = tap(vec2(0, -2)), i = tap(vec2(2, -2));
    vec3 j = tap(vec2(-1, 1)), k = tap(vec2(1, 1)), l = tap(vec2(-1, -1)), m = tap(vec2(1, -1));
    vec3 g0 = (a + b + d + e) * 0.25, g1 = (b + c + e + f) * 0.25;
    vec3 g2 = (d + e + g + h) * 0.25, g3 = (e + f + h + i) * 0.25;
    vec3 g4 = (j + k + l + m) * 0.25;
    vec3 color;
    if (u_first) {
        g0 = bright(g0); g1 = bright(g1); g2 = bright(g2); g3 = bright(g3); g4 = bright(g4);
        float w0 = karis(g0), w1 = karis(g1), w2 = karis(g2), w3 = karis(g3), w4 = karis(g4);
        color = (0.125 * (w0 * g0 + w1 * g1 + w2 * g2 + w3 * g3) + 0.5 * w4 * g4)
              / (0.125 * (w0 + w1 + w2 + w3) + 0.5 * w4);
    } else {
        color = 0.125 * (g0 + g1 + g2 + g3) + 0.5 * g4;
    }
    f_color = vec4(max(color, 0.0), 1.0);
}

#endif
