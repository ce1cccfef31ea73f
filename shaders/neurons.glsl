#version 430 core
// Neurons as instanced sphere impostors: one camera-facing quad per neuron, shaded as a lit
// sphere in the fragment stage (include/sphere.glsl). Any size, clipped like geometry; the
// point-sprite variant (neuron_sprites.glsl) is cheaper where its limits allow.
#include "network.glsl"
#include "sphere.glsl"

#if defined VERTEX_SHADER

in vec2 in_corner;      // quad corner in [-1, 1]^2 (per vertex; one quad per instance)

uniform mat4 u_view;
uniform mat4 u_projection;
uniform float u_radius;        // idle radius in world units (sphere scale included)

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
    float r = sphere_radius(u_radius, state.w, look.a);
    vec4 center = u_view * vec4(state.xyz, 1.0);
    v_corner = in_corner;
    v_center = center.xyz;
    v_radius = r;
    v_color = look.rgb;
    v_activity = state.w;
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

out vec4 f_color;

void main() {
    f_color = shade_sphere(v_corner, v_center, v_radius, v_color, v_activity, v_selected, v_fade);
}

#endif
