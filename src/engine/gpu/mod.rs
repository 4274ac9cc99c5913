//! The GPU engine: the update rule of docs/DESIGN.md section 2 in WGSL, with the same
//! random stream as the CPU engine. Separable potentials with `none` or
//! `coordinate` taming run `shaders/step_block.wgsl` (an invocation per block of 4
//! coordinates of an agent); everything else runs `shaders/step_agent.wgsl` (an
//! invocation per agent). Run means come from a two-pass deterministic reduction
//! (`mean_partial`, `mean_final`). Many steps are encoded per submit; positions
//! are read back only to record diagnostics and when asked. Ensembles larger than
//! one storage binding are split into groups of whole runs (runs never interact),
//! and a run larger than one binding into parts of whole 256-agent tiles, each
//! with its own buffers; the stream is addressed by the global agent index and
//! the mean reduction sums tile by tile, so the split changes no number.

use crate::config::{EnsembleConfig, MethodConfig, Taming};
use crate::diagnostics::{History, RunStats, run_stats};
use crate::engine::{
    BadValue, Engine, Placement, Shape, StepConstants, StepPlan, check_size, initial_positions_at,
    try_alloc,
};
use crate::env::Var;
use crate::error::{Error, Result};
use crate::gpu::potential::GpuPotential;
use crate::gpu::{Binding, Checks, GpuContext, GpuError, grid, shader};
use crate::potential::Potential;
use crate::rng;
mod build;
mod divergence;
mod interaction;
pub(crate) mod net;
mod params;
mod pipelines;
mod records;
mod split;
mod state;
mod step;

use divergence::{bad_value, earliest_bad, read_status};
use interaction::{GroupTargets, TargetBuild, TargetPipelines, WeightedPart};
use params::{MeanParams, PARAMS_STRIDE, StepParams, strided};
use pipelines::Pipelines;
use records::{DiagParams, GroupDiag, RECORDS_CAP, sort_stages};
use split::{Exchange, ExchangeBuffers};
use std::sync::Arc;
use step::{Tuning, fuses_mean, interacting_code};

/// Agents per tile of the mean reduction (shaders/mean_partial.wgsl).
const TILE: usize = super::MEAN_TILE;

/// Dispatches encoded per submit; also the most steps one fused dispatch runs, so
/// that no single dispatch runs long enough to trip a driver's watchdog.
const BATCH: u64 = 64;
const WORKGROUP: u32 = 64;

/// Whole runs that share their run means, mean partials and diagnostics. Their
/// positions are one part, or several parts of whole 256-agent tiles when one run
/// is larger than a storage binding.
struct Group {
    runs: std::ops::Range<usize>,
    /// The second pass of the run means.
    mean_final: Option<(wgpu::BindGroup, (u32, u32))>,
    /// What the step kernels pull towards, when it is not the plain mean.
    targets: GroupTargets,
    diag: Option<GroupDiag>,
    parts: Vec<Part>,
}

/// The positions (and Y) of consecutive agents in buffers of their own.
struct Part {
    /// Global index of the first agent (the stream's agent index).
    agent_base: u32,
    agents: usize,
    /// The first agent's index within its run, when the part splits one run.
    group_offset: usize,
    jobs: u32,
    step_grid: (u32, u32),
    params: wgpu::Buffer,
    x: wgpu::Buffer,
    /// The fast variable Y (homogenized schemes only).
    y: Option<wgpu::Buffer>,
    status: wgpu::Buffer,
    bad_steps: wgpu::Buffer,
    step_bind: wgpu::BindGroup,
    /// The first pass of the run means over this part's agents.
    mean_partial: Option<(wgpu::BindGroup, (u32, u32))>,
    /// `diag_agent`'s parameters (this part's offsets), bind group and grid.
    diag_agent: Option<(wgpu::Buffer, wgpu::BindGroup, (u32, u32))>,
}

/// The GPU engine: the kernels run the WGSL of a [`GpuPotential`], and `P` (the
/// same potential in Rust) gives the diagnostics.
pub struct GpuEngine<P: Potential> {
    ctx: Arc<GpuContext>,
    potential: P,
    /// The constants of step 0 (scheme, taming, `L`).
    consts: StepConstants,
    plan: StepPlan,
    shape: Shape,
    /// The global index of agent 0 (nonzero for a rank's runs of a split
    /// ensemble): added to the stream's agent index and to a bad value's agent.
    first_agent: usize,
    /// A part of one run whose other parts are on other ranks: the targets'
    /// tile records (or, for l1, the positions) exchanged every step.
    exchange: Option<Exchange>,
    key: [u32; 2],
    keep_snapshots: bool,
    block_kernel: bool,
    tuning: Tuning,
    /// The block kernel moves X and Y as `vec4` (`SGLD_SWARM_GPU_VEC4` where
    /// 4 divides d).
    vec4_io: bool,
    /// The scheme compiled into the block kernel (`SGLD_SWARM_GPU_SPECIALIZE`).
    scheme: Option<shader::SchemeFlags>,
    /// The plain mean's tiles per run that the step kernels add themselves
    /// (`SGLD_SWARM_GPU_MEAN`, see [`step::fuses_mean`]); 0: they read
    /// the means of `mean_final`.
    mean_tiles: u32,
    pipelines: Pipelines,
    groups: Vec<Group>,
    /// Per-run statistics of the records not yet read back (device diagnostics).
    records: Option<wgpu::Buffer>,
    records_cap: u64,
    ref_count: u32,
    /// Steps (and positions, when trajectories are kept) of those records.
    pending: Vec<(u64, Option<Vec<f32>>)>,
}

impl<P: Potential> GpuEngine<P> {
    /// An engine at step 0 with the CPU engine's initial positions. Configs are
    /// taken as validated. `max_binding` lowers the device's storage-binding limit
    /// (for checks of the chunking).
    pub fn new(
        ctx: Arc<GpuContext>,
        potential: P,
        gp: GpuPotential,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        keep_snapshots: bool,
        max_binding: Option<u64>,
    ) -> Result<Self> {
        Self::placed(
            ctx,
            potential,
            gp,
            ensemble,
            method,
            keep_snapshots,
            max_binding,
            Placement::default(),
        )
    }

    /// How many parts the ensemble's positions are split into.
    pub fn chunks(&self) -> usize {
        self.groups.iter().map(|g| g.parts.len()).sum()
    }
}

impl<P: Potential> Engine for GpuEngine<P> {
    fn segment(&mut self, n0: u64, n1: u64) -> Result<Option<BadValue>> {
        let Some(step) = self.batch(n0, n1)? else {
            return Ok(None);
        };
        // The earliest (step, agent), as the CPU engine names it; the value shown
        // is that agent's first bad coordinate at the end of the batch.
        let mut first: Option<(u64, usize)> = None;
        for part in self.groups.iter().flat_map(|g| &g.parts) {
            let bytes = self
                .ctx
                .read_buffer(&part.bad_steps, (part.agents * 4) as u64)?;
            earliest_bad(&mut first, bytemuck::cast_slice(&bytes), part.agent_base);
        }
        debug_assert_eq!(first.map(|(s, _)| s), Some(step));
        let bad = bad_value(step, first, &self.read_x()?, self.shape.dim);
        Ok(Some(BadValue {
            agent: self.first_agent + bad.agent,
            ..bad
        }))
    }

    fn max_segment(&self) -> u64 {
        BATCH
    }

    fn record(&mut self, step: u64, history: &mut History) -> Result<()> {
        self.record_at(step, history)
    }

    fn flush(&mut self, history: &mut History) -> Result<()> {
        self.flush_records(history)
    }

    fn positions(&self) -> Result<Vec<f32>> {
        self.read_x()
    }

    fn fast(&self) -> Result<Option<Vec<f32>>> {
        self.read_y()
    }

    fn set_state(&mut self, x: &[f32], y: Option<&[f32]>) -> Result<()> {
        self.write_state(x, y);
        Ok(())
    }

    fn potential(&self) -> &dyn Potential {
        &self.potential
    }

    fn backend(&self) -> &'static str {
        "gpu"
    }

    fn device(&self) -> String {
        format!(
            "{}, {} kernel (workgroup {}, {} Philox, checks {:?}{}{}{}){}",
            self.ctx.describe(),
            if self.block_kernel { "block" } else { "agent" },
            self.tuning.workgroup,
            if self.tuning.int64 { "u64" } else { "portable" },
            self.tuning.checks,
            if self.vec4_io { ", vec4 X and Y" } else { "" },
            if self.scheme.is_some() {
                ", scheme compiled in"
            } else {
                ""
            },
            if self.mean_tiles > 0 {
                ", run means fused"
            } else {
                ""
            },
            match self.chunks() {
                1 => String::new(),
                n => format!(", {n} chunks"),
            }
        )
    }
}
