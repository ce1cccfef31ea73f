#version 430 core
// Once per frame before the line edge pass: each neuron's clip-space position and the
// light its edges carry per unit of signal (layer colour x gain x depth fade x exposure),
// so that each of the millions of line vertices (shaders/edges.glsl) reads its end instead
// of transforming and fading it again. N invocations instead of 2 per edge.
#include "network.glsl"

#if defined COMPUTE_SHADER

layout(local_size_x = 64) in;

struct End {
    vec4 clip;   // clip-space position of the neuron
    vec4 light;  // rgb: light of its edges' ends per unit of |weight x activity|; a: its activity
};
layout(std430, binding = 6) writeonly buffer Ends { End ends[]; };

uniform mat4 u_view;
uniform mat4 u_projection;
uniform float u_gain;      // light of an edge with |weight| = 1 and a fully active source
uniform float u_exposure;
uniform int u_count;       // neurons N

void main() {
    int i = int(gl_GlobalInvocationID.x);
    if (i >= u_count) return;
    vec4 view = u_view * vec4(current[i].xyz, 1.0);
    ends[i].clip = u_projection * view;
    ends[i].light = vec4(style[i].rgb * (u_gain * u_exposure * depth_fade(-view.z)), current[i].w);
}

#endif
