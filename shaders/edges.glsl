#version 430 core
// Edges as GL_LINES pulled from buffers: vertex 2e and 2e + 1 are the ends of edge e.
// No vertex attributes: the edge table is a storage buffer uploaded once, and each neuron's
// clip position and light are computed once per frame (shaders/edge_ends.glsl); per frame
// only the uniforms change. A line's light is |weight x source activity| (the signal
// flowing through it), coloured from its source's layer to its destination's, faded with
// depth; blending is additive, into the resolved single-sample frame.

#if defined VERTEX_SHADER

// edges[3e] = source neuron, edges[3e + 1] = destination, edges[3e + 2] = weight bits
// (float, normalised: the 99th percentile of |weight| is 1; see ear3d/gfx/edges.py).
layout(std430, binding = 4) readonly buffer Edges { uint edges[]; };
struct End {
    vec4 clip;   // clip-space position of the neuron
    vec4 light;  // rgb: light of its edges' ends per unit of signal (gain, fade, exposure in); a: activity
};
layout(std430, binding = 6) readonly buffer Ends { End ends[]; };

uniform vec2 u_viewport;  // half the target's size in pixels (NDC → pixels)
uniform float u_cull;     // edges whose |weight x activity| is below this are not rasterized at all

out vec3 v_light;

// Light per pixel step of a 1-pixel line: a single-sample line lights one pixel per step
// along its major axis, so a diagonal one would be up to sqrt(2) dimmer per unit of length
// than a horizontal one (and than the same line drawn with multisampling, where its light
// covers its area). Scaled by length / major-axis length (1 to sqrt(2)); 1 where an end is
// behind the camera.
float slant(vec4 a, vec4 b) {
    if (a.w <= 0.0 || b.w <= 0.0) return 1.0;
    vec2 d = (a.xy / a.w - b.xy / b.w) * u_viewport;
    float major = max(abs(d.x), abs(d.y));
    return major > 1e-6 ? length(d) / major : 1.0;
}

void main() {
    int e = gl_VertexID >> 1;
    bool at_source = (gl_VertexID & 1) == 0;
    uint src = edges[3 * e];
    uint dst = edges[3 * e + 1];
    float signal = abs(uintBitsToFloat(edges[3 * e + 2])) * ends[src].light.a;
    if (!(signal >= u_cull)) {
        // Both ends of a dark edge land beyond the far plane: the clipper drops the line.
        gl_Position = vec4(0.0, 0.0, 2.0, 1.0);
        v_light = vec3(0.0);
        return;
    }
    uint me = at_source ? src : dst;
    uint other = at_source ? dst : src;
    vec4 clip = ends[me].clip;
    v_light = ends[me].light.rgb * (signal * slant(clip, ends[other].clip));
    gl_Position = clip;
}

#elif defined FRAGMENT_SHADER

in vec3 v_light;
out vec4 f_color;

void main() {
    f_color = vec4(v_light, 0.0);
}

#endif
