//! The step: its parameter block (the WGSL struct's twin), the tuning knobs, and
//! the encoding of a batch of step dispatches with the run means between them.

use super::*;

/// Settings of the step kernels that change speed, not what is computed.
/// Read from the environment so that a benchmark can compare them:
///
/// - `SGLD_SWARM_GPU_WORKGROUP`: 32, 64, 128 or 256; default 64.
/// - `SGLD_SWARM_GPU_INT64`: `0` forces the portable 16-bit Philox multiply on
///   an adapter that has 64-bit integers; default `1`, use them where there
///   are (the same bits either way).
/// - `SGLD_SWARM_GPU_MEAN`: how the step kernels get the plain run means, see
///   [`MeanMode`]; default `auto`.
/// - `SGLD_SWARM_GPU_VEC4`: `1`, the default, moves the block kernel's X and Y
///   as `vec4` where 4 divides d; `0` a float at a time.
/// - `SGLD_SWARM_GPU_SPECIALIZE`: `1`, the default, compiles the engine's
///   scheme into the block kernel as constants, so that the driver drops the
///   branches of the schemes that do not run; `0`, one kernel that reads the
///   scheme from its parameters.
/// - `SGLD_SWARM_GPU_CHECKS`: `all`, `bounds` or `none`, wgpu's run-time
///   checks in the built-in step kernels and the network's, see [`Checks`];
///   default `bounds`.
///
/// The first four give the default's bits. The last two make the driver
/// compile code of another shape, and WGSL lets it fuse a multiply and an add
/// wherever it likes, so they may change a result's last bits (docs/DESIGN.md
/// section 6.1). The defaults are what an H200 measured fastest
/// (docs/PERFORMANCE.md, "The prepared GPU variants on an H200" and "The
/// scheme compiled in").
#[derive(Debug, Clone, Copy)]
pub(super) struct Tuning {
    pub(super) workgroup: u32,
    pub(super) int64: bool,
    pub(super) checks: Checks,
    pub(super) mean: MeanMode,
    pub(super) vec4: bool,
    pub(super) specialize: bool,
}

/// How the step kernels get the plain run means (`SGLD_SWARM_GPU_MEAN`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum MeanMode {
    /// `passes`: `mean_partial` then `mean_final` write the means, and the
    /// step kernels read one value per coordinate.
    Passes,
    /// `fused`: the step kernels add the tiles' sums themselves, as
    /// `mean_final` does, a dispatch fewer per step, up to
    /// [`MAX_FUSED_TILES`] tiles per run.
    Fused,
    /// `auto`, the default: fused where a run is one tile (256 agents or
    /// fewer), where each invocation reads one sum, as many values as the
    /// means themselves, and the dispatch is saved (+10% to +13% on the Euler
    /// step at 1e6 units on an H200); passes from two tiles on: at four tiles
    /// the extra reads cost more than the dispatch (-19% and -30% at 1e7 and
    /// 1e8 units), and two and three tiles were not measured.
    Auto,
}

/// Run means are fused into the step kernels only up to this many tiles per
/// run (4096 agents): every invocation adds its coordinates' tile sums, so the
/// reads grow with the tiles, where `mean_final` reads each sum once.
pub(super) const MAX_FUSED_TILES: usize = 16;

/// Whether the step kernels add the run means' tile sums themselves: for the
/// plain mean of runs that are not split over ranks (the kernel divides by its
/// own agents, and a split run's sums arrive by exchange), as
/// [`MeanMode`] says for `tiles_per_run`.
pub(super) fn fuses_mean(
    tuning: &Tuning,
    plain_mean: bool,
    split: bool,
    tiles_per_run: usize,
) -> bool {
    let within = match tuning.mean {
        MeanMode::Passes => false,
        MeanMode::Fused => tiles_per_run <= MAX_FUSED_TILES,
        MeanMode::Auto => tiles_per_run == 1,
    };
    within && plain_mean && !split
}

impl Tuning {
    pub(super) fn selected(ctx: &GpuContext) -> Result<Self> {
        let workgroup = match Var::GpuWorkgroup.get() {
            None => WORKGROUP,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n @ (32 | 64 | 128 | 256)) => n,
                _ => return Err(Var::GpuWorkgroup.invalid(&v, "must be 32, 64, 128 or 256")),
            },
        };
        let int64 = match Var::GpuInt64.get().as_deref() {
            None | Some("1") => ctx.int64,
            Some("0") => false,
            Some(v) => return Err(Var::GpuInt64.invalid(v, "must be 0 or 1")),
        };
        let checks = Checks::selected()?;
        let mean = match Var::GpuMean.get().as_deref() {
            None | Some("auto") => MeanMode::Auto,
            Some("passes") => MeanMode::Passes,
            Some("fused") => MeanMode::Fused,
            Some(v) => return Err(Var::GpuMean.invalid(v, "must be auto, passes or fused")),
        };
        let vec4 = match Var::GpuVec4.get().as_deref() {
            None | Some("1") => true,
            Some("0") => false,
            Some(v) => return Err(Var::GpuVec4.invalid(v, "must be 0 or 1")),
        };
        let specialize = match Var::GpuSpecialize.get().as_deref() {
            None | Some("1") => true,
            Some("0") => false,
            Some(v) => return Err(Var::GpuSpecialize.invalid(v, "must be 0 or 1")),
        };
        Ok(Self {
            workgroup,
            int64,
            checks,
            mean,
            vec4,
            specialize,
        })
    }
}

/// `StepParams::interacting`: 0 none, 1 towards the run's point in `means`
/// (the mean or the weighted mean), 2 l1.
pub(super) fn interacting_code(interacting: bool, l1: bool) -> u32 {
    match (interacting, l1) {
        (false, _) => 0,
        (true, true) => 2,
        (true, false) => 1,
    }
}

impl<P: Potential> GpuEngine<P> {
    pub(super) fn step_params(&self, part: &Part, n0: u64, n_steps: u64) -> StepParams {
        let interacting = interacting_code(
            self.pipelines.interacting,
            matches!(self.pipelines.targets, TargetPipelines::L1(_)),
        );
        let params = StepParams {
            interacting,
            group_offset: part.group_offset as u32,
            part_agents: part.agents as u32,
            mean_tiles: self.mean_tiles,
            ..StepParams::new(
                &self.plan.at(n0),
                self.key,
                self.shape.agents,
                self.shape.dim,
                n0,
                n_steps,
                // The stream's agent index is global (a rank's slice starts
                // at first_agent; the engine checked that it fits).
                (self.first_agent + part.agent_base as usize) as u32,
                part.jobs,
            )
        };
        // A kernel with its scheme compiled in ignores these four fields.
        debug_assert!(self.scheme.is_none_or(|f| f
            == shader::SchemeFlags {
                homogenized: params.homogenized != 0,
                smoothed: params.samples != 0,
                interacting: params.interacting,
                coordinate_taming: params.taming == 1,
            }));
        params
    }

    /// The parameters of `dispatches` (`(first step, steps)`), at their
    /// offsets in each of `group`'s parts' parameter buffers.
    fn write_step_params(&self, group: &Group, dispatches: &[(u64, u64)]) {
        for part in &group.parts {
            let blocks: Vec<StepParams> = dispatches
                .iter()
                .map(|&(n, k)| self.step_params(part, n, k))
                .collect();
            self.ctx
                .queue
                .write_buffer(&part.params, 0, &strided(&blocks));
        }
    }

    /// Runs steps `n0..n1` (at most `BATCH` dispatches per part) in one submit and
    /// returns the first step after which a position was bad, if any.
    pub(super) fn batch(&mut self, n0: u64, n1: u64) -> Result<Option<u64>> {
        // One step per dispatch with interaction (the means change every step) or
        // constants that change every step (a schedule, the smoothing's
        // continuation), else one fused dispatch.
        let varying = self.plan.varies();
        let dispatches: Vec<(u64, u64)> = if self.pipelines.interacting || varying {
            (n0..n1).map(|n| (n, 1)).collect()
        } else {
            vec![(n0, n1 - n0)]
        };
        let ctx = self.ctx.clone();
        if self.exchange.is_some() {
            // A run split over ranks: a submit per step, its targets' records
            // exchanged between them.
            self.write_step_params(&self.groups[0], &dispatches);
            self.exchanging_batch(dispatches.len())?;
        } else {
            ctx.scoped(|| {
                let mut enc = ctx.device.create_command_encoder(&Default::default());
                for group in &self.groups {
                    self.write_step_params(group, &dispatches);
                    let mut pass = enc.begin_compute_pass(&Default::default());
                    for i in 0..dispatches.len() {
                        if self.pipelines.interacting {
                            self.encode_targets(&mut pass, group, i);
                        }
                        self.encode_step(&mut pass, group, i);
                    }
                }
                ctx.queue.submit([enc.finish()]);
            })?;
        }
        let mut first_bad: Option<u64> = None;
        for part in self.groups.iter().flat_map(|g| &g.parts) {
            if let Some(s) = read_status(&ctx, &part.status)? {
                first_bad = Some(first_bad.map_or(s, |b| b.min(s)));
            }
        }
        Ok(first_bad)
    }

    /// Step dispatch `i` (its parameters at offset `i`) over every part of
    /// `group`.
    pub(super) fn encode_step(&self, pass: &mut wgpu::ComputePass<'_>, group: &Group, i: usize) {
        pass.set_pipeline(&self.pipelines.step);
        for part in &group.parts {
            pass.set_bind_group(0, &part.step_bind, &[(i as u64 * PARAMS_STRIDE) as u32]);
            pass.dispatch_workgroups(part.step_grid.0, part.step_grid.1, 1);
        }
    }

    /// The first pass of the run means: each part's tiles' sums.
    pub(super) fn encode_mean_partials(&self, pass: &mut wgpu::ComputePass<'_>, group: &Group) {
        let Some([(partial, _), _]) = &self.pipelines.mean else {
            return;
        };
        pass.set_pipeline(partial);
        for part in &group.parts {
            if let Some((b, g)) = &part.mean_partial {
                pass.set_bind_group(0, b, &[]);
                pass.dispatch_workgroups(g.0, g.1, 1);
            }
        }
    }

    /// The second pass of the run means: every tile's sums added in tile order.
    pub(super) fn encode_mean_final(&self, pass: &mut wgpu::ComputePass<'_>, group: &Group) {
        let (Some([_, (finish, _)]), Some((final_bind, final_grid))) =
            (&self.pipelines.mean, &group.mean_final)
        else {
            return;
        };
        pass.set_pipeline(finish);
        pass.set_bind_group(0, final_bind, &[]);
        pass.dispatch_workgroups(final_grid.0, final_grid.1, 1);
    }
}
