// The parameters of one dispatch of a step kernel (step_agent, step_block) or of
// the network's update (net_update). The twin of StepParams in
// src/engine/gpu/params.rs, whose test compares the two layouts (120 bytes; each
// dispatch's copy at a 256-byte stride).

struct StepParams {
    key: vec2<u32>,
    // First outer step, and how many this dispatch runs (1 with interaction).
    n0: u32,
    n_steps: u32,
    agents: u32,
    dim: u32,
    blocks: u32,
    // Invocations with work: agents x blocks (block kernel) or agents (agent kernel).
    jobs: u32,
    grad_step: f32,
    noise: f32,
    lambda_dt: f32,
    y_pull: f32,
    dt_over_gamma: f32,
    inv_m: f32,
    inner_len: u32,
    burn_in: u32,
    homogenized: u32,
    // 0 none, 1 coordinate, 2 norm.
    taming: u32,
    // The interaction: 0 none, 1 towards the run's point in `means` (mean or
    // weighted mean), 2 l1 (`means` holds each agent's sign sums).
    interacting: u32,
    // Global index of the dispatch's first agent: the stream's agent index is
    // agent_base + the local one.
    agent_base: u32,
    // Smoothed schemes: perturbed gradients per step (0: not smoothed), the
    // perturbation's scale sqrt(h_n) at this dispatch's steps, and 1 / samples.
    samples: u32,
    sqrt_variance: f32,
    inv_s: f32,
    // The network's update, which runs an outer step as several dispatches
    // (homogenized: inner step `phase` of Y for phase < inner_len, then the X
    // update at phase == inner_len); 0 elsewhere.
    phase: u32,
    // The weighted mean's alpha at this dispatch's step (weight_agent).
    alpha: f32,
    // CBO: 0 not CBO, 1 anisotropic, 2 isotropic noise (then `noise` is
    // sigma sqrt(dt)).
    cbo: u32,
    // The part's first agent within its group, and its agents (weight_agent).
    group_offset: u32,
    part_agents: u32,
    // The plain mean's tiles per run when the step kernel adds them itself
    // (step_means.wgsl, SGLD_SWARM_GPU_MEAN); 0: `means` holds the means.
    mean_tiles: u32,
    _pad0: u32,
}

const DIVERGENCE_LIMIT: f32 = 1e20;

fn is_bad(v: f32) -> bool {
    // Written so that NaN (which compares false) is bad.
    return !(abs(v) <= DIVERGENCE_LIMIT);
}

fn tame_coordinate(h: f32, g: f32, taming: u32) -> f32 {
    let hg = h * g;
    return select(hg, hg / (1.0 + abs(hg)), taming == 1u);
}
