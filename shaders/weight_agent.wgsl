// The costs alpha Phi(X_i) of a part's agents at the start of a step, for the
// weighted mean (docs/DESIGN.md section 2.7), into the group's costs at the
// part's offset. alpha comes with the step's parameters, so that a schedule of
// alpha reaches it per step.
//!include step_params
//!include potential_bindings
//!include potential
//!include potential_full
//!include potential_value_full

@group(0) @binding(2) var<uniform> params: StepParams;
@group(0) @binding(3) var<storage, read> xs_buf: array<f32>;
@group(0) @binding(4) var<storage, read_write> costs: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = gid.x + gid.y * nwg.x * 64u;
    if g >= params.part_agents {
        return;
    }
    var x: array<f32, DIM>;
    for (var k = 0u; k < DIM; k++) {
        x[k] = xs_buf[g * DIM + k];
    }
    costs[params.group_offset + g] = params.alpha * potential_value(&x);
}
