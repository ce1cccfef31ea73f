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

out float v_coverage;          // share of its one pixel a sphere smaller than a pixel covers

void main() {
    vec4 sphere = neuron_sphere(gl_VertexID, u_view, u_radius);
    // As the quad: the square's centre pushed towards the camera by r, and its side the
    // sphere's diameter projected at that depth.
    gl_Position = u_projection * vec4(sphere.xyz + vec3(0.0, 0.0, sphere.w), 1.0);
    float size = u_projection[1][1] * sphere.w * u_viewport_height / max(gl_Position.w, 1e-6);
    // A point is at least one pixel: below that, its light is the disc's share of the pixel,
    // as many sub-pixel quads would light on average (each lights a whole pixel or none).
    gl_PointSize = max(size, 1.0);
    v_coverage = size < 1.0 ? 0.785398 * size * size : 1.0;
}

#elif defined FRAGMENT_SHADER

in float v_coverage;
out vec4 f_color;

void main() {
    // gl_PointCoord runs down the square; the quad's corner runs up.
    f_color = v_coverage * shade_sphere(vec2(2.0 * gl_PointCoord.x - 1.0, 1.0 - 2.0 * gl_PointCoord.y));
    // A sphere covering less than half its pixel hides nothing behind it (edges meeting it
    // keep their light), as a quad that misses the pixel's centre would; the far plane's
    // depth would fail the depth test against the cleared buffer, so just short of it.
    if (v_coverage < 0.5) gl_FragDepth = 1.0 - 1.0e-6;
}

#endif
