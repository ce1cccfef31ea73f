#version 430 core
// A stereo pair composed into the output: side by side, top-bottom or anaglyph. The eyes
// are finished pictures (bloom and tone mapping done), display-encoded (sRGB-like) 0-1.
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

uniform sampler2D u_left;
uniform sampler2D u_right;
// 0: side by side (left eye in the left half), 1: top-bottom (left eye on top),
// 2: red-cyan anaglyph (red from the left eye, green and blue from the right),
// 3: Dubois least-squares red-cyan anaglyph (colour-preserving)
uniform int u_layout;

in vec2 v_uv;
out vec4 f_color;

// Eric Dubois, "A projection method to generate anaglyph stereo images" (ICASSP 2001): the
// red-cyan matrices for typical glasses, applied to linear light (columns are GLSL's).
const mat3 DUBOIS_LEFT = mat3(0.456, -0.040, -0.015,  0.500, -0.038, -0.021,  0.176, -0.016, -0.005);
const mat3 DUBOIS_RIGHT = mat3(-0.043, 0.378, -0.072,  -0.088, 0.734, -0.113,  -0.002, -0.018, 1.226);

vec3 to_linear(vec3 c) { return pow(max(c, 0.0), vec3(2.2)); }
vec3 to_display(vec3 c) { return pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2)); }

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec3 color;
    if (u_layout == 0) {
        int w = textureSize(u_left, 0).x;
        color = p.x < w ? texelFetch(u_left, p, 0).rgb : texelFetch(u_right, ivec2(p.x - w, p.y), 0).rgb;
    } else if (u_layout == 1) {
        int h = textureSize(u_right, 0).y;
        color = p.y >= h ? texelFetch(u_left, ivec2(p.x, min(p.y - h, h - 1)), 0).rgb : texelFetch(u_right, p, 0).rgb;
    } else {
        vec3 l = texelFetch(u_left, p, 0).rgb;
        vec3 r = texelFetch(u_right, p, 0).rgb;
        if (u_layout == 2) {
            color = vec3(l.r, r.g, r.b);
        } else {
            color = to_display(DUBOIS_LEFT * to_linear(l) + DUBOIS_RIGHT * to_linear(r));
        }
    }
    f_color = vec4(color, 1.0);
}

#endif
