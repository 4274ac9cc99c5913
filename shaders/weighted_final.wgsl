// Second pass of the weighted means: one invocation per (run, coordinate)
// takes the run's least cost c over its tiles and adds the tiles' sums in tile
// order, each rescaled by exp(c - c_t) <= 1 (a log-sum-exp merge): m_alpha =
// sum_t f_t S_t / sum_t f_t W_t, whose denominator is at least 1. A tile whose
// costs all overflowed has f_t = 0 and S_t = W_t = 0; a run whose costs all
// did gives NaN, a divergence, as on the CPU.
//!include mean_params

@group(0) @binding(0) var<uniform> mp: MeanParams;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> tile_stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> means: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let rk = gid.x + gid.y * nwg.x * 64u;
    if rk >= mp.runs * mp.dim {
        return;
    }
    let r = rk / mp.dim;
    var c = tile_stats[r * mp.chunks * 2u];
    for (var t = 1u; t < mp.chunks; t++) {
        c = min(c, tile_stats[(r * mp.chunks + t) * 2u]);
    }
    var num = 0.0;
    var den = 0.0;
    for (var t = 0u; t < mp.chunks; t++) {
        let f = exp(c - tile_stats[(r * mp.chunks + t) * 2u]);
        num += f * partial[rk * mp.chunks + t];
        den += f * tile_stats[(r * mp.chunks + t) * 2u + 1u];
    }
    means[rk] = num / den;
}
