// The l1 interaction, last pass: for each agent and coordinate, the counts of
// its run's values below and above its own (binary searches in the sorted
// column; ties count in neither, sign(0) = 0) and the sign sum
// s = (f32(below) - f32(above)) / f32(N), exact counts below 2^24, as the CPU
// engine computes it (docs/DESIGN.md section 2.7).
//!include l1_params

@group(0) @binding(0) var<uniform> lp: L1Params;
@group(0) @binding(1) var<storage, read> xs_buf: array<f32>;
@group(0) @binding(2) var<storage, read> scratch: array<f32>;
@group(0) @binding(3) var<storage, read_write> signs: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 64u;
    if j >= lp.runs * lp.agents * lp.dim {
        return;
    }
    let g = j / lp.dim;
    let k = j % lp.dim;
    let r = g / lp.agents;
    let base = (r * lp.dim + k) * lp.pow2;
    let v = xs_buf[j];
    // below: the first index whose value is >= v; not_above: the first > v.
    var lo = 0u;
    var hi = lp.agents;
    while lo < hi {
        let mid = (lo + hi) / 2u;
        if scratch[base + mid] < v {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    let below = lo;
    hi = lp.agents;
    while lo < hi {
        let mid = (lo + hi) / 2u;
        if scratch[base + mid] <= v {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    let above = lp.agents - lo;
    signs[j] = (f32(below) - f32(above)) / f32(lp.agents);
}
