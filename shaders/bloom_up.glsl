#version 430 core
// Bloom, upsampling half: a 3x3 tent filter of the level below, added (blend ONE, ONE)
// onto the level above, from the smallest level up to the first.
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

uniform sampler2D u_source;
uniform vec2 u_texel;     // 1 / size of u_source
uniform float u_spread;   // radius of the tent in source texels

in vec2 v_uv;
out vec4 f_color;

void main() {
    vec2 o = u_texel * u_spread;
    vec3 c = texture(u_source, v_uv).rgb * 4.0;
    c += (texture(u_source, v_uv + vec2(-o.x, 0)).rgb + texture(u_source, v_uv + vec2(o.x, 0)).rgb
        + texture(u_source, v_uv + vec2(0, -o.y)).rgb + texture(u_source, v_uv + vec2(0, o.y)).rgb) * 2.0;
    c += texture(u_source, v_uv + vec2(-o.x, -o.y)).rgb + texture(u_source, v_uv + vec2(o.x, -o.y)).rgb
       + texture(u_source, v_uv + vec2(-o.x, o.y)).rgb + texture(u_source, v_uv + vec2(o.x, o.y)).rgb;
    f_color = vec4(c / 16.0, 1.0);
}

#endif
