// The bindings every potential reads: per-coordinate constants (shift, and a
// curvature for the quadratic) and scalar parameters (1 / delta for rough).
// Keep in sync with src/gpu/potential.rs.

@group(0) @binding(0) var<uniform> potential_params: vec4<f32>;
@group(0) @binding(1) var<storage, read> coord_consts: array<vec2<f32>>;
