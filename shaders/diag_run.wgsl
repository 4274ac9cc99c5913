// Per-run statistics at a recorded step, one workgroup per run: best and worst
// distance, best Phi and spread, written to the run's slot of the record; the
// run's distances are copied to a scratch buffer padded to a power of two with
// +inf, which sort_stage sorts and diag_median reads. Mirrors run_stats in
// src/diagnostics.rs.
//!include diag_params

@group(0) @binding(0) var<uniform> diag: DiagParams;
@group(0) @binding(1) var<storage, read> per_agent: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(3) var<storage, read_write> records: array<f32>;

const WG: u32 = 256u;
var<workgroup> lo_d: array<f32, 256>;
var<workgroup> hi_d: array<f32, 256>;
var<workgroup> lo_phi: array<f32, 256>;
var<workgroup> hi_dev: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = wid.x + wid.y * nwg.x;
    let in_range = r < diag.runs;
    let base = r * diag.pow2;
    var a = 3.0e38;
    var b = -3.0e38;
    var c = 3.0e38;
    var e = 0.0;
    for (var i = lid; i < diag.pow2; i += WG) {
        if in_range {
            var v = 3.0e38;
            if i < diag.agents {
                let s = per_agent[r * diag.agents + i];
                v = s.x;
                a = min(a, s.x);
                b = max(b, s.x);
                c = min(c, s.y);
                e = max(e, s.z);
            }
            scratch[base + i] = v;
        }
    }
    lo_d[lid] = a;
    hi_d[lid] = b;
    lo_phi[lid] = c;
    hi_dev[lid] = e;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half = half >> 1u) {
        if lid < half {
            lo_d[lid] = min(lo_d[lid], lo_d[lid + half]);
            hi_d[lid] = max(hi_d[lid], hi_d[lid + half]);
            lo_phi[lid] = min(lo_phi[lid], lo_phi[lid + half]);
            hi_dev[lid] = max(hi_dev[lid], hi_dev[lid + half]);
        }
        workgroupBarrier();
    }
    storageBarrier();
    if in_range && lid == 0u {
        let at = (diag.record_base + r) * 5u;
        records[at] = lo_d[0];
        records[at + 1u] = hi_d[0];
        records[at + 3u] = lo_phi[0];
        records[at + 4u] = hi_dev[0];
    }
}
