#version 430 core
// The straightforward edge pass, the render benchmark's baseline (ear3d/bench/render_baseline.py;
// the product never draws with it): plain GL_LINES from a vertex buffer (two vertices per edge,
// every edge drawn, no culling), reading a `current` table that the CPU computes and uploads
// every frame. Same picture as shaders/edges.glsl.
#include "network.glsl"

#if defined VERTEX_SHADER

in uint in_neuron;   // the neuron at this end of the line
in uint in_source;   // the edge's source neuron (its activity drives the line)
in uint in_other;    // the neuron at the line's other end
in float in_weight;  // the edge's weight, normalised as in shaders/edges.glsl

uniform mat4 u_view;
uniform mat4 u_projection;
uniform float u_gain;
uniform vec2 u_viewport;  // half the target's size in pixels

out vec3 v_light;

// Light per pixel step scaled by length / major-axis length, as shaders/edges.glsl does.
float slant(vec4 a, vec4 b) {
    if (a.w <= 0.0 || b.w <= 0.0) return 1.0;
    vec2 d = (a.xy / a.w - b.xy / b.w) * u_viewport;
    float major = max(abs(d.x), abs(d.y));
    return major > 1e-6 ? length(d) / major : 1.0;
}

void main() {
    float signal = abs(in_weight) * current[in_source].w * u_gain;
    vec4 view = u_view * vec4(current[in_neuron].xyz, 1.0);
    vec4 clip = u_projection * view;
    vec4 other = u_projection * (u_view * vec4(current[in_other].xyz, 1.0));
    v_light = style[in_neuron].rgb * (signal * depth_fade(-view.z) * slant(clip, other));
    gl_Position = clip;
}

#elif defined FRAGMENT_SHADER

in vec3 v_light;
uniform float u_exposure;
out vec4 f_color;

void main() {
    f_color = vec4(v_light * u_exposure, 0.0);
}

#endif
