// A neuron drawn as a lit sphere impostor, shared by the two ways of putting it on screen
// (include after network.glsl):
// camera-facing quads (shaders/neurons.glsl) and point sprites (shaders/neuron_sprites.glsl).
// Size, brightness and emission follow the neuron's activity at the loop position heard.

// Radius in world units of a neuron with `activity` (0-1); `selected` > 0.5 for targets.
// Keep NeuronPass.MAX_RADIUS_FACTOR (ear3d/gfx/neurons.py) equal to this at activity 1.
float sphere_radius(float idle_radius, float activity, float selected) {
    float r = idle_radius * (0.5 + 1.5 * sqrt(activity));
    if (selected > 0.5) r = max(r * 1.25, idle_radius * 1.2);  // targets stay visible when quiet
    return r;
}

#if defined VERTEX_SHADER

// What the fragment stage needs of the neuron's sphere.
out vec3 v_center;             // sphere centre in view space
out float v_radius;
out vec3 v_color;
out float v_activity;
out float v_selected;
out float v_fade;

// Sets the varyings of `neuron` (a row of current/style, network.glsl) seen through `view`;
// returns its centre in view space (xyz) and its radius in world units (w).
vec4 neuron_sphere(int neuron, mat4 view, float idle_radius) {
    vec4 state = current[neuron];
    vec4 look = style[neuron];
    float r = sphere_radius(idle_radius, state.w, look.a);
    vec4 center = view * vec4(state.xyz, 1.0);
    v_center = center.xyz;
    v_radius = r;
    v_color = look.rgb;
    v_activity = state.w;
    v_selected = look.a;
    v_fade = depth_fade(-center.z);
    return vec4(center.xyz, r);
}

#elif defined FRAGMENT_SHADER

in vec3 v_center;
in float v_radius;
in vec3 v_color;
in float v_activity;
in float v_selected;
in float v_fade;

uniform mat4 u_projection;
uniform float u_exposure;
uniform vec3 u_highlight;      // colour of selected neurons

// The light of the sphere of the varyings at `corner` ([-1, 1]^2 across its silhouette;
// fragments outside the unit disc are discarded), with its true depth written. rgb: HDR light
// before tone mapping; a: coverage, so that the background shows through neurons faded by
// depth (the composite pass mixes it in).
vec4 shade_sphere(vec2 corner) {
    vec3 center = v_center, color = v_color;
    float radius = v_radius, activity = v_activity, selected = v_selected, fade = v_fade;
    float d2 = dot(corner, corner);
    if (d2 > 1.0) discard;
    vec3 n = vec3(corner, sqrt(1.0 - d2));
    vec3 p = center + n * radius;
    vec4 clip = u_projection * vec4(p, 1.0);
    gl_FragDepth = 0.5 * clip.z / clip.w + 0.5;

    vec3 light = normalize(vec3(0.4, 0.7, 0.6));
    float diffuse = max(dot(n, light), 0.0);
    float specular = pow(max(reflect(-light, n).z, 0.0), 24.0);
    float rim = pow(1.0 - n.z, 3.0);
    vec3 base = color * (0.2 + 0.8 * activity);        // silent neurons stay dim
    vec3 lit = base * (0.3 + 0.7 * diffuse)
             + specular * (0.1 + 0.4 * activity)
             + color * activity * activity * 1.2       // emission of busy neurons (feeds the bloom)
             + color * rim * 0.25 * (0.3 + activity);   // a soft rim so spheres read as round
    if (selected > 0.5) {
        float ring = pow(1.0 - n.z, 2.0);
        lit = mix(lit, u_highlight * (0.9 + activity), 0.45 + 0.55 * ring);
    }
    return vec4(lit * u_exposure * fade, fade);
}

#endif
