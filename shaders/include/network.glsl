// Shared by the passes that read the network at the loop position being drawn.
//
// current[i] = (world position xyz, activity in 0-1) of neuron i, written once per frame by
//              shaders/frame.glsl (key frames interpolated, activity read at the heard step)
// style[i]   = (layer colour rgb in 0-1, 1 if the neuron is an optimization target)
layout(std430, binding = 1) readonly buffer Current { vec4 current[]; };
layout(std430, binding = 2) readonly buffer Style { vec4 style[]; };

// Depth fade: (start, end, strength) in view-space distance along the view axis; beyond
// `end` a fragment keeps 1 - strength of its light (it fades into the background).
uniform vec3 u_fog;

float depth_fade(float view_depth) {
    return 1.0 - u_fog.z * smoothstep(u_fog.x, u_fog.y, view_depth);
}
