// The potential's gradient at a list of points (one invocation each), to check the
// WGSL potentials against the CPU's f64 gradients.
//!include potential_bindings
//!include potential
//!include potential_full

struct GradParams {
    count: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}
// Keep in sync with GradParams in src/gpu/grad_check.rs.

@group(0) @binding(2) var<uniform> params: GradParams;
@group(0) @binding(3) var<storage, read> points: array<f32>;
@group(0) @binding(4) var<storage, read_write> grads: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if i >= params.count {
        return;
    }
    var x: array<f32, DIM>;
    var g: array<f32, DIM>;
    for (var k = 0u; k < DIM; k++) {
        x[k] = points[i * DIM + k];
    }
    potential_grad(&x, &g);
    for (var k = 0u; k < DIM; k++) {
        grads[i * DIM + k] = g[k];
    }
}
