// Which parts of the block kernel run, read from the step's parameters at run
// time (SGLD_SWARM_GPU_SPECIALIZE=0), so that one compiled kernel serves every
// scheme. Where the setting is 1 the host composes these four functions as
// constants instead (src/gpu/shader.rs, `SchemeFlags`), and the driver drops
// the branches that the engine's scheme never takes. The kernel declares
// `params` (StepParams).

fn scheme_homogenized() -> bool {
    return params.homogenized != 0u;
}

fn scheme_smoothed() -> bool {
    return params.samples != 0u;
}

// 0 none, 1 towards the run's point in `means`, 2 l1.
fn scheme_interacting() -> u32 {
    return params.interacting;
}

fn scheme_coordinate_taming() -> bool {
    return params.taming == 1u;
}
