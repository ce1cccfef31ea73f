#version 430 core
// Neurons as instanced sphere impostors: one camera-facing quad per neuron, shaded as a
// lit sphere in the fragment stage. Size, brightness and emission follow the neuron's
// activity at the loop position being heard (u_phase, from the audio clock).

#if defined VERTEX_SHADER

in vec2 in_corner;      // quad corner in [-1, 1]^2 (per vertex)
in vec3 in_position;    // world position (per instance)
in vec3 in_color;       // layer colour, display RGB in 0-1 (per instance)
in float in_selected;   // 1 = optimization target (per instance)

// activity[neuron * u_steps + t] in [0, 1]: uploaded once per optimization step.
layout(std430, binding = 0) readonly buffer Activity { float activity[]; };

uniform mat4 u_view;
uniform mat4 u_projection;
uniform float u_phase;         // loop position in [0, 1)
uniform int u_steps;           // time steps per neuron
uniform float u_radius;        // idle radius in world units
uniform float u_sphere_scale;

out vec2 v_corner;
out vec3 v_center;             // sphere centre in view space
out float v_radius;
out vec3 v_color;
out float v_activity;
out float v_selected;

float activity_at(int neuron) {
    // Linear interpolation between time steps; the loop wraps from the last to the first.
    float s = fract(u_phase) * float(u_steps);
    int t0 = int(s) % u_steps;
    int t1 = (t0 + 1) % u_steps;
    int base = neuron * u_steps;
    float a = mix(activity[base + t0], activity[base + t1], fract(s));
    return isnan(a) ? 0.0 : clamp(a, 0.0, 1.0);
}

void main() {
    float a = activity_at(gl_InstanceID);
    float r = u_radius * u_sphere_scale * (0.5 + 1.5 * sqrt(a));
    vec4 center = u_view * vec4(in_position, 1.0);
    v_corner = in_corner;
    v_center = center.xyz;
    v_radius = r;
    v_color = in_color;
    v_activity = a;
    v_selected = in_selected;
    // Push the quad towards the camera by r so the sphere's front is never clipped by it.
    vec3 corner = center.xyz + vec3(in_corner * r, r);
    gl_Position = u_projection * vec4(corner, 1.0);
}

#elif defined FRAGMENT_SHADER

in vec2 v_corner;
in vec3 v_center;
in float v_radius;
in vec3 v_color;
in float v_activity;
in float v_selected;

uniform mat4 u_projection;
uniform float u_exposure;
uniform vec3 u_highlight;      // colour of selected neurons

out vec4 f_color;

void main() {
    float d2 = dot(v_corner, v_corner);
    if (d2 > 1.0) discard;
    vec3 n = vec3(v_corner, sqrt(1.0 - d2));
    vec3 p = v_center + n * v_radius;
    vec4 clip = u_projection * vec4(p, 1.0);
    gl_FragDepth = 0.5 * clip.z / clip.w + 0.5;

    vec3 light = normalize(vec3(0.4, 0.7, 0.6));
    float diffuse = max(dot(n, light), 0.0);
    float specular = pow(max(reflect(-light, n).z, 0.0), 24.0);
    vec3 base = v_color * (0.2 + 0.8 * v_activity);        // silent neurons stay dim
    vec3 color = base * (0.3 + 0.7 * diffuse)
               + specular * (0.1 + 0.4 * v_activity)
               + v_color * v_activity * v_activity * 0.8;  // emission of busy neurons
    if (v_selected > 0.5) {
        float rim = pow(1.0 - n.z, 2.0);
        color = mix(color, u_highlight, 0.4 + 0.6 * rim);
    }
    f_color = vec4(color * u_exposure, 1.0);
}

#endif
