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

void main() {
    vec4 sphere = neuron_sphere(gl_InstanceID, u_view, u_radius);
    v_corner = in_corner;
    // Push the quad towards the camera by r so the sphere's front is never clipped by it.
    gl_Position = u_projection * vec4(sphere.xyz + vec3(in_corner * sphere.w, sphere.w), 1.0);
}

#elif defined FRAGMENT_SHADER

in vec2 v_corner;
out vec4 f_color;

void main() {
    f_color = shade_sphere(v_corner);
}

#endif
