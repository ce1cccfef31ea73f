#version 430 core
// Edges as GL_LINES pulled from buffers: vertex 2e and 2e + 1 are the ends of edge e.
// No vertex attributes: the edge table, the network's current state and its colours are
// storage buffers uploaded once; per frame only the uniforms change. A line's light is
// |weight x source activity| (the signal flowing through it), coloured from its source's
// layer to its destination's, faded with depth; blending is additive.
#include "network.glsl"

#if defined VERTEX_SHADER

// edges[3e] = source neuron, edges[3e + 1] = destination, edges[3e + 2] = weight bits
// (float, normalised: the 99th percentile of |weight| is 1; see ear3d/gfx/edges.py).
layout(std430, binding = 4) readonly buffer Edges { uint edges[]; };

uniform mat4 u_view;
uniform mat4 u_projection;
uniform float u_gain;     // light of an edge with |weight| = 1 and a fully active source
uniform float u_cull;     // edges whose |weight x activity| is below this are not rasterized at all

out vec3 v_light;

void main() {
    int e = gl_VertexID >> 1;
    bool at_source = (gl_VertexID & 1) == 0;
    uint src = edges[3 * e];
    uint dst = edges[3 * e + 1];
    float signal = abs(uintBitsToFloat(edges[3 * e + 2])) * current[src].w;
    if (!(signal >= u_cull)) {
        // Both ends of a dark edge land beyond the far plane: the clipper drops the line.
        gl_Position = vec4(0.0, 0.0, 2.0, 1.0);
        v_light = vec3(0.0);
        return;
    }
    uint me = at_source ? src : dst;
    vec4 view = u_view * vec4(current[me].xyz, 1.0);
    v_light = style[me].rgb * (signal * u_gain * depth_fade(-view.z));
    gl_Position = u_projection * view;
}

#elif defined FRAGMENT_SHADER

in vec3 v_light;
uniform float u_exposure;
out vec4 f_color;

void main() {
    f_color = vec4(v_light * u_exposure, 0.0);
}

#endif
