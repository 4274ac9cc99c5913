// Second pass of the run means: one invocation per (run, coordinate) adds its
// chunks in order and divides by N.
//!include mean_params

@group(0) @binding(0) var<uniform> mp: MeanParams;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> means: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let rk = gid.x + gid.y * nwg.x * 64u;
    if rk >= mp.runs * mp.dim {
        return;
    }
    var s = 0.0;
    for (var c = 0u; c < mp.chunks; c++) {
        s += partial[rk * mp.chunks + c];
    }
    means[rk] = s / f32(mp.agents);
}
