// What the step kernels' interaction pulls towards, from their `means` binding.
// The kernel declares `params` (StepParams).

@group(0) @binding(5) var<storage, read> means: array<f32>;

// Coordinate k of run r's mean. With params.mean_tiles == 0, `means` holds the
// run means (mean_final's output). With mean_tiles > 0 (SGLD_SWARM_GPU_MEAN;
// by default where a run is one tile), `means` holds mean_partial's per-tile
// sums instead, and the mean is computed here as mean_final computes it: the tiles
// added in tile order from 0.0, then divided by f32(N). The same f32 operations
// in the same order give the same bits (unless a driver contracts the division
// into the caller's X - m, which WGSL allows and tests/gpu/tuning.rs would
// catch), and the second pass's dispatch is saved. params.agents is N here,
// because the host fuses only runs that are not split over ranks.
fn run_mean(r: u32, k: u32) -> f32 {
    let rk = r * params.dim + k;
    if params.mean_tiles == 0u {
        return means[rk];
    }
    var s = 0.0;
    for (var c = 0u; c < params.mean_tiles; c++) {
        s += means[rk * params.mean_tiles + c];
    }
    return s / f32(params.agents);
}
