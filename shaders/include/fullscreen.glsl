// A fullscreen triangle from gl_VertexID alone (draw 3 vertices, no vertex buffer).
// v_uv runs 0-1 across the target, bottom-left origin.
#if defined VERTEX_SHADER
out vec2 v_uv;
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    v_uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
#endif
