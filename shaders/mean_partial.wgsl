// First pass of the run means m_r: workgroup w sums one tile of 256 agents of one
// run for 64 consecutive coordinates. Invocation (row, col) adds agents
// row, row + 4, ... of the tile for coordinate col, so that neighbouring
// invocations read neighbouring floats; the four rows are then added in order.
// Deterministic: the same additions in the same order on every dispatch, no
// atomics, and a tile's sum does not depend on how the positions are split into
// parts.
//!include mean_params

@group(0) @binding(0) var<uniform> mp: MeanParams;
@group(0) @binding(1) var<storage, read> xs_buf: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

var<workgroup> rows: array<f32, 256>;

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
    let live = r < mp.runs && k < mp.dim;
    var s = 0.0;
    if live {
        let end = min(t * 256u + 256u, mp.part_agents);
        for (var a = t * 256u + row; a < end; a += 4u) {
            s += xs_buf[(r * mp.part_agents + a) * mp.dim + k];
        }
    }
    rows[lid] = s;
    workgroupBarrier();
    if live && row == 0u {
        partial[(r * mp.dim + k) * mp.chunks + mp.tile_base + t] =
            ((rows[col] + rows[64u + col]) + rows[128u + col]) + rows[192u + col];
    }
}
