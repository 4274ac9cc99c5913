// The l1 interaction, first pass: each (run, coordinate) column of the group's
// positions into its own segment of pow2 floats of the scratch buffer, padded
// with +infinity (which sorts last and is never counted), for sort_stage.
//!include l1_params

@group(0) @binding(0) var<uniform> lp: L1Params;
@group(0) @binding(1) var<storage, read> xs_buf: array<f32>;
@group(0) @binding(2) var<storage, read_write> scratch: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 64u;
    if j >= lp.runs * lp.dim * lp.pow2 {
        return;
    }
    let seg = j / lp.pow2;
    let i = j % lp.pow2;
    let r = seg / lp.dim;
    let k = seg % lp.dim;
    var v = bitcast<f32>(0x7f800000u);
    if i < lp.agents {
        v = xs_buf[(r * lp.agents + i) * lp.dim + k];
    }
    scratch[j] = v;
}
