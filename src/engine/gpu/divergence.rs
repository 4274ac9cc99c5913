//! The divergence report from the kernels' flags: every update kernel keeps a
//! status word (the first step after which any position was bad) and, per agent,
//! its first bad step; after a batch the engines read the status word alone, and
//! the per-agent steps and positions only when it is set.

use crate::engine::{BadValue, is_bad};
use crate::error::Result;
use crate::gpu::GpuContext;

/// Folds one buffer of first bad steps (`bad_steps` of the step kernels: for
/// each agent from `agent_base`, the first step after which a position was bad,
/// `u32::MAX` if none) into the earliest (step, agent) seen so far.
pub(super) fn earliest_bad(first: &mut Option<(u64, usize)>, steps: &[u32], agent_base: u32) {
    for (i, &s) in steps.iter().enumerate() {
        let here = (s as u64, agent_base as usize + i);
        if s != u32::MAX && first.is_none_or(|f| here < f) {
            *first = Some(here);
        }
    }
}

/// The divergence report at `step` for the earliest bad agent: its first bad
/// coordinate in the positions `x` read back after the batch.
pub(super) fn bad_value(step: u64, first: Option<(u64, usize)>, x: &[f32], dim: usize) -> BadValue {
    let g = first.map_or(0, |(_, g)| g);
    let value = x[g * dim..(g + 1) * dim]
        .iter()
        .copied()
        .find(|&v| is_bad(v))
        .unwrap_or(f32::NAN);
    BadValue {
        step,
        agent: g,
        value,
    }
}

/// Reads a status word: the first step after which any position was bad.
pub(super) fn read_status(ctx: &GpuContext, status: &wgpu::Buffer) -> Result<Option<u64>> {
    let bytes = ctx.read_buffer(status, 4)?;
    let s = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    Ok((s != u32::MAX).then_some(s as u64))
}
