// First pass of the weighted means m_alpha (docs/DESIGN.md section 2.7), over
// the tiles of mean_partial: workgroup w takes one tile of 256 agents of one
// run for 64 consecutive coordinates. It finds the tile's least cost c_t
// (exact in any order), weighs each agent by exp(c_t - c_i) (at most 1, and 1
// for the tile's best), and writes the weighted sums of X and, once per tile,
// (c_t, sum of weights). Deterministic: fixed additions in a fixed order, no
// atomics, and nothing depends on how the positions are split into parts.
//!include mean_params

@group(0) @binding(0) var<uniform> mp: MeanParams;
@group(0) @binding(1) var<storage, read> xs_buf: array<f32>;
@group(0) @binding(2) var<storage, read> costs: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(4) var<storage, read_write> tile_stats: array<f32>;

var<workgroup> rows: array<f32, 256>;
var<workgroup> least: array<f32, 256>;
var<workgroup> weights: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = wid.x + wid.y * nwg.x;
    let kgroups = (mp.dim + 63u) / 64u;
    let tiles = (mp.part_agents + 255u) / 256u;
    let kg = w % kgroups;
    let rt = w / kgroups;
    let t = rt % tiles;
    let r = rt / tiles;
    let col = lid % 64u;
    let row = lid / 64u;
    let k = kg * 64u + col;
    let end = min(t * 256u + 256u, mp.part_agents);
    // This invocation's agent of the tile, for the least cost and the weights.
    let a = t * 256u + lid;
    let has_agent = r < mp.runs && a < end;
    // The agent's index among the group's costs.
    let ca = r * mp.agents + mp.tile_base * 256u + a;
    let inf = bitcast<f32>(0x7f800000u);
    var c = inf;
    if has_agent {
        c = costs[ca];
    }
    least[lid] = c;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride = stride / 2u) {
        if lid < stride {
            least[lid] = min(least[lid], least[lid + stride]);
        }
        workgroupBarrier();
    }
    let c_t = least[0];
    // An agent whose cost overflowed weighs 0 (as exp(c_min - inf) does on the
    // CPU), also in a tile where every cost did (c_t = inf: no inf - inf).
    var wt = 0.0;
    if has_agent && c < inf {
        wt = exp(c_t - c);
    }
    weights[lid] = wt;
    workgroupBarrier();
    let live = r < mp.runs && k < mp.dim;
    var s = 0.0;
    if live {
        for (var i = t * 256u + row; i < end; i += 4u) {
            s += weights[i - t * 256u] * xs_buf[(r * mp.part_agents + i) * mp.dim + k];
        }
    }
    rows[lid] = s;
    workgroupBarrier();
    if live && row == 0u {
        partial[(r * mp.dim + k) * mp.chunks + mp.tile_base + t] =
            ((rows[col] + rows[64u + col]) + rows[128u + col]) + rows[192u + col];
    }
    if r < mp.runs && kg == 0u && lid == 0u {
        var total = 0.0;
        for (var i = 0u; i < 256u; i++) {
            total += weights[i];
        }
        let at = (r * mp.chunks + mp.tile_base + t) * 2u;
        tile_stats[at] = c_t;
        tile_stats[at + 1u] = total;
    }
}
