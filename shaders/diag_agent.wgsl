// Per-agent diagnostics at a recorded step: distance to the nearest reference
// point, Phi, and distance to the run's mean. Mirrors run_stats in
// src/diagnostics.rs (in f32 here, f64 there).
//!include potential_bindings
//!include diag_params
//!include potential
//!include potential_full
//!include potential_value_full
//!include distance

@group(0) @binding(2) var<uniform> diag: DiagParams;
@group(0) @binding(3) var<storage, read> xs_buf: array<f32>;
@group(0) @binding(4) var<storage, read> means: array<f32>;
@group(0) @binding(5) var<storage, read> refs: array<f32>;
@group(0) @binding(6) var<storage, read_write> per_agent: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = gid.x + gid.y * nwg.x * 64u;
    if g >= diag.part_agents {
        return;
    }
    let ga = diag.agent_offset + g;
    let r = ga / diag.agents;
    var x: array<f32, DIM>;
    var dev = 0.0;
    for (var k = 0u; k < DIM; k++) {
        x[k] = xs_buf[g * DIM + k];
        let e = x[k] - means[r * DIM + k];
        dev += e * e;
    }
    per_agent[ga] = vec4<f32>(potential_distance(&x), potential_value(&x), sqrt(dev), 0.0);
}
