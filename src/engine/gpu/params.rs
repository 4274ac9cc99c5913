//! The parameter blocks that the GPU engines share with their kernels: the step
//! (`StepParams`, one struct for the general engine and the network's), the
//! run means (`MeanParams`) and the l1 interaction (`L1Params`). Each is the twin of a WGSL struct; a test below
//! compares their layouts field by field through naga, so that a field added on
//! one side only fails it.

use crate::config::Taming;
use crate::engine::StepConstants;

/// Parameter blocks sit at this stride (the largest uniform offset alignment).
pub(crate) const PARAMS_STRIDE: u64 = 256;

/// The twin of `StepParams` in shaders/step_params.wgsl: one dispatch of a step
/// kernel (`step_agent`, `step_block`) or of the network's update
/// (`net_update`).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct StepParams {
    pub key: [u32; 2],
    pub n0: u32,
    pub n_steps: u32,
    pub agents: u32,
    pub dim: u32,
    pub blocks: u32,
    pub jobs: u32,
    pub grad_step: f32,
    pub noise: f32,
    pub lambda_dt: f32,
    pub y_pull: f32,
    pub dt_over_gamma: f32,
    pub inv_m: f32,
    pub inner_len: u32,
    pub burn_in: u32,
    pub homogenized: u32,
    pub taming: u32,
    pub interacting: u32,
    pub agent_base: u32,
    pub samples: u32,
    pub sqrt_variance: f32,
    pub inv_s: f32,
    pub phase: u32,
    pub alpha: f32,
    pub cbo: u32,
    pub group_offset: u32,
    pub part_agents: u32,
    /// The plain mean's tiles per run when the step kernels add them
    /// themselves (`SGLD_SWARM_GPU_MEAN`, `step::fuses_mean`); 0: `means` holds
    /// the means.
    pub mean_tiles: u32,
    pub _pad: u32,
}
const _: () = assert!(std::mem::size_of::<StepParams>() == 120);
const _: () = assert!(std::mem::size_of::<StepParams>() as u64 <= PARAMS_STRIDE);

/// The taming's code in `StepParams::taming`, the one encoding every kernel reads.
pub(crate) fn taming_code(t: Taming) -> u32 {
    match t {
        Taming::None => 0,
        Taming::Coordinate => 1,
        Taming::Norm => 2,
    }
}

impl StepParams {
    /// The method's constants for outer steps `n0..n0 + n_steps` of agents
    /// `agent_base..` (`jobs` invocations with work); `phase` 0, no interaction,
    /// and the part's place in its group unset.
    #[allow(clippy::too_many_arguments, reason = "each is one field of the block")]
    pub(crate) fn new(
        c: &StepConstants,
        key: [u32; 2],
        agents: usize,
        dim: usize,
        n0: u64,
        n_steps: u64,
        agent_base: u32,
        jobs: u32,
    ) -> Self {
        Self {
            key,
            n0: n0 as u32,
            n_steps: n_steps as u32,
            agents: agents as u32,
            dim: dim as u32,
            blocks: dim.div_ceil(4) as u32,
            jobs,
            grad_step: c.grad_step,
            noise: c.noise,
            lambda_dt: c.lambda_dt,
            y_pull: c.y_pull,
            dt_over_gamma: c.dt_over_gamma,
            inv_m: c.inv_m,
            inner_len: c.inner_len,
            burn_in: c.burn_in,
            homogenized: c.homogenized as u32,
            taming: taming_code(c.taming),
            interacting: 0,
            agent_base,
            samples: c.smoothing.map_or(0, |s| s.samples),
            sqrt_variance: c.smoothing.map_or(0.0, |s| s.sqrt_variance()),
            inv_s: c.smoothing.map_or(0.0, |s| s.inv_s),
            phase: 0,
            alpha: c.alpha as f32,
            cbo: match c.cbo {
                None => 0,
                Some(crate::config::CboNoise::Anisotropic) => 1,
                Some(crate::config::CboNoise::Isotropic) => 2,
            },
            group_offset: 0,
            part_agents: 0,
            mean_tiles: 0,
            _pad: 0,
        }
    }
}

/// The twin of `MeanParams` in shaders/mean_params.wgsl: the two passes of the
/// run means.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct MeanParams {
    pub runs: u32,
    pub agents: u32,
    pub dim: u32,
    pub chunks: u32,
    pub tile_base: u32,
    pub part_agents: u32,
    pub _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<MeanParams>() == 32);

/// The twin of `L1Params` in shaders/l1_params.wgsl: the l1 interaction's
/// passes over a group.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct L1Params {
    pub runs: u32,
    pub agents: u32,
    pub dim: u32,
    pub pow2: u32,
}

/// Writes `blocks[i]` at `i * PARAMS_STRIDE` of one buffer's contents, for a
/// uniform bound with a dynamic offset per dispatch.
pub(crate) fn strided<T: bytemuck::Pod>(blocks: &[T]) -> Vec<u8> {
    let size = std::mem::size_of::<T>();
    let mut bytes = vec![0u8; PARAMS_STRIDE as usize * blocks.len()];
    for (i, b) in blocks.iter().enumerate() {
        let at = i * PARAMS_STRIDE as usize;
        bytes[at..at + size].copy_from_slice(bytemuck::bytes_of(b));
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::shader::{assert_twin, twin_fields};

    #[test]
    fn step_params_match_their_wgsl_twin() {
        assert_twin::<StepParams>(
            "step_params",
            "StepParams",
            twin_fields!(
                StepParams: key,
                n0,
                n_steps,
                agents,
                dim,
                blocks,
                jobs,
                grad_step,
                noise,
                lambda_dt,
                y_pull,
                dt_over_gamma,
                inv_m,
                inner_len,
                burn_in,
                homogenized,
                taming,
                interacting,
                agent_base,
                samples,
                sqrt_variance,
                inv_s,
                phase,
                alpha,
                cbo,
                group_offset,
                part_agents,
                mean_tiles
            ),
        );
    }

    #[test]
    fn mean_params_match_their_wgsl_twin() {
        assert_twin::<MeanParams>(
            "mean_params",
            "MeanParams",
            twin_fields!(MeanParams: runs, agents, dim, chunks, tile_base, part_agents),
        );
    }

    #[test]
    fn l1_params_match_their_wgsl_twin() {
        assert_twin::<L1Params>(
            "l1_params",
            "L1Params",
            twin_fields!(L1Params: runs, agents, dim, pow2),
        );
    }

    #[test]
    fn strided_blocks_sit_at_the_stride() {
        let bytes = strided(&[1u32, 2, 3]);
        assert_eq!(bytes.len(), 3 * PARAMS_STRIDE as usize);
        for i in 0..3 {
            let at = i * PARAMS_STRIDE as usize;
            assert_eq!(bytes[at], i as u8 + 1);
        }
    }
}
