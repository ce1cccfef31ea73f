#version 430 core
// Neurons as instanced sphere impostors: one camera-facing quad per neuron, shaded as a
// lit sphere in the fragment stage. Size, brightness and emission follow the neuron's
// activity at the loop position being heard; position and activity come from `current`
// (shaders/frame.glsl), colour and selection from `style`.
#include "network.glsl"

#if defined VERTEX_SHADER

in vec2 in_corner;      // quad corner in [-1, 1]^2 (per vertex; one quad per instance)

uniform mat4 u_view;
uniform mat4 u_projection;
uniform float u_radius;        // idle radius in world units
uniform float u_sphere_scale;

out vec2 v_corner;
out vec3 v_center;             // sphere centre in view space
out float v_radius;
out vec3 v_color;
out float v_activity;
out float v_selected;
out float v_fade;

void main() {
    vec4 state = current[gl_InstanceID];
    vec4 look = style[gl_InstanceID];
    float a = state.w;
    float r = u_radius * u_sphere_scale * (0.5 + 1.5 * sqrt(a));
    if (look.a > 0.5) r = max(r * 1.25, u_radius * u_sphere_scale * 1.2);  // targets stay visible when quiet
    vec4 center = u_view * vec4(state.xyz, 1.0);
    v_corner = in_corner;
    v_center = center.xyz;
    v_radius = r;
    v_color = look.rgb;
    v_activity = a;
    v_selected = look.a;
    v_fade = depth_fade(-center.z);
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
in float v_fade;

uniform mat4 u_projection;
uniform float u_exposure;
uniform vec3 u_highlight;      // colour of selected neurons

// rgb: light (HDR, before tone mapping); a: coverage, so that the background shows
// through neurons faded by depth (the composite pass mixes it in).
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
    float rim = pow(1.0 - n.z, 3.0);
    vec3 base = v_color * (0.2 + 0.8 * v_activity);        // silent neurons stay dim
    vec3 color = base * (0.3 + 0.7 * diffuse)
               + specular * (0.1 + 0.4 * v_activity)
               + v_color * v_activity * v_activity * 1.2   // emission of busy neurons (feeds the bloom)
               + v_color * rim * 0.25 * (0.3 + v_activity); // a soft rim so spheres read as round
    if (v_selected > 0.5) {
        float ring = pow(1.0 - n.z, 2.0);
        color = mix(color, u_highlight * (0.9 + v_activity), 0.45 + 0.55 * ring);
    }
    f_color = vec4(color * u_exposure * v_fade, v_fade);
}

#endif
