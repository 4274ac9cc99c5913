// The twin of MeanParams in src/engine/gpu/params.rs, whose test compares the
// two layouts.
struct MeanParams {
    // Runs of the group (whole runs that share means and diagnostics).
    runs: u32,
    // N, agents per run.
    agents: u32,
    dim: u32,
    // Tiles of 256 agents per run: ceil(agents / 256).
    chunks: u32,
    // The part of the positions a mean_partial dispatch reads: its first tile
    // within the run, and its agents per run (agents, or fewer when runs are
    // split into parts of whole tiles).
    tile_base: u32,
    part_agents: u32,
    _pad0: u32,
    _pad1: u32,
}
