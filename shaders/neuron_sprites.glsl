#version 430 core
// Neurons as point sprites: one vertex per neuron, the rasterizer's square of
// gl_PointSize pixels shaded as the same lit sphere as the quads of neurons.glsl
// (include/sphere.glsl). A software rasterizer (Mesa llvmpipe) pays per vertex and per
// instance in its single-threaded vertex stage, so one vertex instead of an instanced quad
// is several times faster there. Limits, handled by NeuronPass: the driver's largest point
// size, and a point is clipped whole once its centre leaves the frame.
#include "network.glsl"
#include "sphere.glsl"

#if defined VERTEX_SHADER

uniform mat4 u_view;
uniform mat4 u_projection;
uniform float u_radius;        // idle radius in world units (sphere scale included)
uniform float u_viewport_height;  // pixels

out vec3 v_center;             // sphere centre in view space
out float v_radius;
out vec3 v_color;
out float v_activity;
out float v_selected;
out float v_fade;

void main() {
    vec4 state = current[gl_VertexID];
    vec4 look = style[gl_VertexID];
    float r = sphere_radius(u_radius, state.w, look.a);
    vec4 center = u_view * vec4(state.xyz, 1.0);
    v_center = center.xyz;
    v_radius = r;
    v_color = look.rgb;
    v_activity = state.w;
    v_selected = look.a;
    v_fade = depth_fade(-center.z);
    // As the quad: the square's centre pushed towards the camera by r, and its side the
    // sphere's diameter projected at that depth.
    gl_Position = u_projection * vec4(center.xyz + vec3(0.0, 0.0, r), 1.0);
    gl_PointSize = u_projection[1][1] * r * u_viewport_height / max(gl_Position.w, 1e-6);
}

#elif defined FRAGMENT_SHADER

in vec3 v_center;
in float v_radius;
in vec3 v_color;
in float v_activity;
in float v_selected;
in float v_fade;

out vec4 f_color;

void main() {
    // gl_PointCoord runs down the square; the quad's corner runs up.
    vec2 corner = vec2(2.0 * gl_PointCoord.x - 1.0, 1.0 - 2.0 * gl_PointCoord.y);
    f_color = shade_sphere(corner, v_center, v_radius, v_color, v_activity, v_selected, v_fade);
}

#endif
