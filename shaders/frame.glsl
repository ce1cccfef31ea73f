#version 430 core
// Once per frame: every neuron's position (key frames interpolated over the loop) and
// activity (the activity table read at the heard time step) into `current`, which the
// neuron and edge passes then read. N invocations instead of one per drawn vertex.

#if defined COMPUTE_SHADER

layout(local_size_x = 64) in;

// activity[neuron * u_steps + t] in 0-1 (NaN tolerated): uploaded once per optimization step.
layout(std430, binding = 0) readonly buffer Activity { float activity[]; };
layout(std430, binding = 1) writeonly buffer Current { vec4 current[]; };
// keyframes[(k * u_count + neuron) * 3 + axis]: K key frames of world positions, uploaded once.
layout(std430, binding = 3) readonly buffer KeyFrames { float keyframes[]; };

uniform int u_count;    // neurons N
uniform int u_frames;   // key frames K >= 1, evenly spaced over the loop, periodic
uniform int u_steps;    // activity time steps S >= 1 over the loop
uniform float u_phase;  // loop position in [0, 1)

vec3 key(int k, int i) {
    int b = (k * u_count + i) * 3;
    return vec3(keyframes[b], keyframes[b + 1], keyframes[b + 2]);
}

vec3 position_at(int i) {
    if (u_frames == 1) return key(0, i);
    // Periodic uniform Catmull-Rom through the key frames: passes through each key frame
    // at phase k / K, velocity continuous across frames and across the loop's seam.
    float s = u_phase * float(u_frames);
    int k1 = int(floor(s)) % u_frames;
    float t = s - floor(s);
    int k0 = (k1 + u_frames - 1) % u_frames;
    int k2 = (k1 + 1) % u_frames;
    int k3 = (k1 + 2) % u_frames;
    vec3 p0 = key(k0, i), p1 = key(k1, i), p2 = key(k2, i), p3 = key(k3, i);
    float t2 = t * t, t3 = t2 * t;
    return 0.5 * (2.0 * p1 + (p2 - p0) * t + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * t2
                  + (3.0 * p1 - p0 - 3.0 * p2 + p3) * t3);
}

float activity_at(int i) {
    // Linear interpolation between time steps; the loop wraps from the last to the first.
    float s = u_phase * float(u_steps);
    int t0 = int(floor(s)) % u_steps;
    int t1 = (t0 + 1) % u_steps;
    int base = i * u_steps;
    float a = mix(activity[base + t0], activity[base + t1], s - floor(s));
    return (isnan(a) || isinf(a)) ? 0.0 : clamp(a, 0.0, 1.0);
}

void main() {
    int i = int(gl_GlobalInvocationID.x);
    if (i >= u_count) return;
    current[i] = vec4(position_at(i), activity_at(i));
}

#endif
