#version 430 core
// Equirectangular 360 x 180 panorama from cube maps: longitude across (the centre looks
// forward, the left and right edges straight behind), latitude up. Stereo: top-bottom,
// the left eye's panorama on top (Spherical Video V2 stereo_mode 1).
// ear3d.gfx.projection.equirect_directions is the same mapping in numpy.
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

uniform samplerCube u_left;   // mono: the only cube map
uniform samplerCube u_right;
uniform bool u_stereo;

in vec2 v_uv;
out vec4 f_color;

const float PI = 3.14159265358979;

void main() {
    vec2 uv = v_uv;
    bool right_eye = false;
    if (u_stereo) {
        right_eye = uv.y < 0.5;
        uv.y = right_eye ? uv.y * 2.0 : uv.y * 2.0 - 1.0;
    }
    float lon = (uv.x - 0.5) * 2.0 * PI;
    float lat = (uv.y - 0.5) * PI;
    vec3 d = vec3(cos(lat) * sin(lon), sin(lat), -cos(lat) * cos(lon));
    f_color = right_eye ? texture(u_right, d) : texture(u_left, d);
}

#endif
