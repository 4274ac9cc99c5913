// Keep in sync with MeanParams in src/gpu/engine.rs.
struct MeanParams {
    runs: u32,
    agents: u32,
    dim: u32,
    // ceil(agents / 256).
    chunks: u32,
}
