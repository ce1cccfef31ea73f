#version 430 core
// The edge pass rasterized in a compute shader instead of the fixed-function line unit
// (weak on data-centre GPUs): one invocation per edge projects its ends, clips the line
// to the near plane and the viewport, and walks it one pixel per step along its major
// axis, spreading each step's light over the two nearest pixels across the line (Wu),
// adding it in fixed point into `accum` with atomics. Same picture as shaders/edges.glsl:
// additive, depth-tested against the neurons, faded with depth.
// shaders/edges_resolve.glsl then adds `accum` into the frame.
#include "network.glsl"

#if defined COMPUTE_SHADER

layout(local_size_x = 128) in;

// edges[3e] = source, edges[3e + 1] = destination, edges[3e + 2] = weight bits (float).
layout(std430, binding = 4) readonly buffer Edges { uint edges[]; };
// accum[(y * width + x) * 3 + channel]: light in units of 1 / u_scale.
layout(std430, binding = 5) buffer Accum { uint accum[]; };

uniform sampler2D u_depth;   // the neurons' window-space depth (1 = nothing), full resolution
uniform mat4 u_view;
uniform mat4 u_projection;
uniform ivec2 u_size;        // accumulator size in pixels: the frame's size / u_divisor
uniform int u_divisor;       // 1 = full resolution; 2 = half (4x fewer pixels, lines softer)
uniform int u_count;         // edges in this buffer
uniform float u_gain;
uniform float u_cull;        // edges whose |weight x activity| is below this are skipped
uniform float u_scale;       // fixed-point units per unit of light
uniform int u_max_steps;     // longest walk, in pixels

void plot(int x, int y, float z, vec3 light) {
    ivec2 full = ivec2(x, y) * u_divisor + u_divisor / 2;  // the block's centre in the frame
    if (texelFetch(u_depth, full, 0).r <= z) return;  // behind a neuron
    uvec3 v = uvec3(light * u_scale + 0.5);
    int i = (y * u_size.x + x) * 3;
    if (v.r > 0u) atomicAdd(accum[i], v.r);
    if (v.g > 0u) atomicAdd(accum[i + 1], v.g);
    if (v.b > 0u) atomicAdd(accum[i + 2], v.b);
}

void main() {
    uint groups = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    int e = int(groups * gl_WorkGroupSize.x + gl_LocalInvocationID.x);
    if (e >= u_count) return;
    uint src = edges[3 * e];
    uint dst = edges[3 * e + 1];
    float signal = abs(uintBitsToFloat(edges[3 * e + 2])) * current[src].w;
    if (!(signal >= u_cull)) return;

    vec4 v0 = u_view * vec4(current[src].xyz, 1.0);
    vec4 v1 = u_view * vec4(current[dst].xyz, 1.0);
    vec3 l0 = style[src].rgb * (signal * u_gain * depth_fade(-v0.z));
    vec3 l1 = style[dst].rgb * (signal * u_gain * depth_fade(-v1.z));
    vec4 c0 = u_projection * v0;
    vec4 c1 = u_projection * v1;

    // Near plane (z >= -w in clip space).
    float d0 = c0.z + c0.w, d1 = c1.z + c1.w;
    if (d0 < 0.0 && d1 < 0.0) return;
    if (d0 < 0.0) { float t = d0 / (d0 - d1); c0 = mix(c0, c1, t); l0 = mix(l0, l1, t); }
    if (d1 < 0.0) { float t = d1 / (d1 - d0); c1 = mix(c1, c0, t); l1 = mix(l1, l0, t); }

    // Window coordinates (pixel centres at +0.5) and depth, which is affine on screen.
    vec2 size = vec2(u_size);
    vec3 n0 = c0.xyz / c0.w, n1 = c1.xyz / c1.w;
    vec2 s0 = (n0.xy * 0.5 + 0.5) * size, s1 = (n1.xy * 0.5 + 0.5) * size;
    float z0 = n0.z * 0.5 + 0.5, z1 = n1.z * 0.5 + 0.5;

    // Liang-Barsky against the viewport: t in [t_in, t_out] is on screen.
    vec2 d = s1 - s0;
    float t_in = 0.0, t_out = 1.0;
    for (int axis = 0; axis < 2; ++axis) {
        float p = d[axis];
        float lo = -s0[axis], hi = size[axis] - s0[axis];
        if (abs(p) < 1e-9) {
            if (lo > 0.0 || hi < 0.0) return;
        } else {
            float ta = lo / p, tb = hi / p;
            t_in = max(t_in, min(ta, tb));
            t_out = min(t_out, max(ta, tb));
        }
    }
    if (t_in > t_out) return;

    float major = max(abs(d.x), abs(d.y));
    float span = major * (t_out - t_in);
    // one pixel lit per step along the major axis: scale by length / major-axis length so
    // that light per unit of length does not depend on the line's direction (see edges.glsl)
    float slant = major > 1e-6 ? length(d) / major : 1.0;
    int steps = clamp(int(ceil(span)), 1, u_max_steps);
    bool x_major = abs(d.x) >= abs(d.y);
    for (int k = 0; k < steps; ++k) {
        float t = mix(t_in, t_out, (float(k) + 0.5) / float(steps));
        vec2 s = s0 + d * t;
        float z = mix(z0, z1, t);
        // light per unit of length; at 1/d resolution each pixel is spread over d x d frame
        // pixels of which a line covers d, so its light is divided by d
        vec3 light = mix(l0, l1, t) * (slant * span / float(steps) / float(u_divisor));
        if (x_major) {
            int x = clamp(int(s.x), 0, u_size.x - 1);
            float y = s.y - 0.5;
            int y0 = int(floor(y));
            float f = y - float(y0);
            if (y0 >= 0) plot(x, y0, z, light * (1.0 - f));
            if (y0 + 1 < u_size.y) plot(x, y0 + 1, z, light * f);
        } else {
            int y = clamp(int(s.y), 0, u_size.y - 1);
            float x = s.x - 0.5;
            int x0 = int(floor(x));
            float f = x - float(x0);
            if (x0 >= 0) plot(x0, y, z, light * (1.0 - f));
            if (x0 + 1 < u_size.x) plot(x0 + 1, y, z, light * f);
        }
    }
}

#endif
