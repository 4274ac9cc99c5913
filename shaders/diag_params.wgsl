// The twin of DiagParams in src/engine/gpu/records.rs, whose test compares the
// two layouts.
struct DiagParams {
    // Runs of the group, and N.
    runs: u32,
    agents: u32,
    // The smallest power of two >= agents (the sort's length).
    pow2: u32,
    ref_count: u32,
    // Where this record's runs start in the records buffer (in runs).
    record_base: u32,
    // The positions diag_agent reads: their first agent within the group, and
    // how many agents they hold.
    agent_offset: u32,
    part_agents: u32,
    _pad: u32,
}
