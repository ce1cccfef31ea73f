#version 430 core
// Black outside the domemaster's image circle (after the composite has drawn background,
// bloom and vignette everywhere): a projector must not light the dome's surroundings.
#include "fullscreen.glsl"

#if defined FRAGMENT_SHADER

uniform vec2 u_size;   // output size in pixels

out vec4 f_color;

void main() {
    vec2 p = (gl_FragCoord.xy - 0.5 * u_size) / (0.5 * min(u_size.x, u_size.y));
    if (dot(p, p) <= 1.0) discard;
    f_color = vec4(0.0, 0.0, 0.0, 1.0);
}

#endif
