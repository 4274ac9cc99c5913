//! The GPU side: a context (adapter, device, errors), the WGSL sources and their
//! validation, and one struct per kernel. The step kernels and the GPU engine are
//! still to come; what is here is checked against the CPU on any adapter,
//! Mesa's software one included.

pub mod context;
pub mod dump;
pub mod shader;

pub use context::{GpuContext, GpuError};

/// Workgroups along x for `count` invocations of `size` each, split into a 2-D
/// grid when they pass the per-dimension limit.
pub fn grid(count: u32, size: u32, max_per_dim: u32) -> (u32, u32) {
    let groups = count.div_ceil(size).max(1);
    if groups <= max_per_dim {
        (groups, 1)
    } else {
        (max_per_dim, groups.div_ceil(max_per_dim))
    }
}
