// Keep in sync with DiagParams in src/gpu/engine.rs.
struct DiagParams {
    runs: u32,
    agents: u32,
    // The smallest power of two >= agents (the sort's length).
    pow2: u32,
    ref_count: u32,
    // Where this record's runs start in the records buffer (in runs).
    record_base: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}
