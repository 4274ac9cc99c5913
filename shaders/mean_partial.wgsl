// First pass of the run means m_r: workgroup w sums one chunk of 256 agents of one
// (run, coordinate) with a tree in workgroup memory. Deterministic: the same
// additions in the same order on every dispatch, no atomics.
//!include mean_params

@group(0) @binding(0) var<uniform> mp: MeanParams;
@group(0) @binding(1) var<storage, read> xs_buf: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

var<workgroup> tile: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = wid.x + wid.y * nwg.x;
    let in_range = w < mp.runs * mp.dim * mp.chunks;
    let rk = w / mp.chunks;
    let chunk = w % mp.chunks;
    let r = rk / mp.dim;
    let k = rk % mp.dim;
    let agent = chunk * 256u + lid;
    var v = 0.0;
    if in_range && agent < mp.agents {
        v = xs_buf[(r * mp.agents + agent) * mp.dim + k];
    }
    tile[lid] = v;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half >> 1u) {
        if lid < half {
            tile[lid] = tile[lid] + tile[lid + half];
        }
        workgroupBarrier();
    }
    if in_range && lid == 0u {
        partial[rk * mp.chunks + chunk] = tile[0];
    }
}
