// The median of each run's sorted distances (the mean of the two middle ones for
// an even count), into the run's slot of the record.
//!include diag_params

@group(0) @binding(0) var<uniform> diag: DiagParams;
@group(0) @binding(1) var<storage, read> scratch: array<f32>;
@group(0) @binding(2) var<storage, read_write> records: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    if r >= diag.runs {
        return;
    }
    let base = r * diag.pow2;
    let n = diag.agents;
    var median = scratch[base + n / 2u];
    if n % 2u == 0u {
        median = 0.5 * (scratch[base + n / 2u - 1u] + median);
    }
    records[(diag.record_base + r) * 5u + 2u] = median;
}
