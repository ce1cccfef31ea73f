#version 430 core
// Copies one rendered view (the scene's HDR light and coverage) into a face of the cube map
// that the dome and equirectangular passes resample (moderngl cannot attach a cube face to a
// framebuffer, so the face is stored texel by texel).

#if defined COMPUTE_SHADER

layout(local_size_x = 16, local_size_y = 16) in;

layout(rgba16f, binding = 0) uniform writeonly imageCube u_cube;
uniform sampler2D u_face;    // the resolved view: rgb light, a coverage
uniform int u_face_index;    // 0-5: +X -X +Y -Y +Z -Z

void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    ivec2 size = textureSize(u_face, 0);
    if (p.x >= size.x || p.y >= size.y) return;
    imageStore(u_cube, ivec3(p, u_face_index), texelFetch(u_face, p, 0));
}

#endif
