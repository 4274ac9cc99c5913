// The twin of L1Params in src/engine/gpu/params.rs, whose test compares the
// two layouts: the l1 interaction's passes over a group of whole runs.
struct L1Params {
    runs: u32,
    // N, agents per run.
    agents: u32,
    dim: u32,
    // The smallest power of two >= agents: the length of each sorted column.
    pow2: u32,
}
