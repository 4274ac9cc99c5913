//! The step: its parameter block (the WGSL struct's twin), the tuning knobs, and
//! the encoding of a batch of step dispatches with the run means between them.

use super::*;

/// Keep in sync with `StepParams` in shaders/step_params.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct StepParams {
    key: [u32; 2],
    n0: u32,
    n_steps: u32,
    agents: u32,
    dim: u32,
    blocks: u32,
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
    taming: u32,
    interacting: u32,
    agent_base: u32,
    samples: u32,
    sqrt_variance: f32,
    inv_s: f32,
    _pad: u32,
}
const _: () = assert!(std::mem::size_of::<StepParams>() == 96);

/// Settings of the step kernels that change speed, never results (up to the
/// rounding of the portable and 64-bit Philox paths, which give the same bits).
/// Read from the environment so that a benchmark can compare them:
/// `SGLD_SWARM_GPU_WORKGROUP` (32, 64, 128 or 256; default 64) and
/// `SGLD_SWARM_GPU_INT64` (`0` forces the portable 16-bit Philox multiply on an
/// adapter that has 64-bit integers; default `1`: use them where there are) and
/// `SGLD_SWARM_GPU_CHECKS` (`all`, `bounds` or `none`: wgpu's run-time checks in
/// the built-in step kernels, see [`Checks`]; default `bounds`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Tuning {
    pub(super) workgroup: u32,
    pub(super) int64: bool,
    pub(super) checks: Checks,
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
        let checks = match Var::GpuChecks.get().as_deref() {
            // Loop bounding off by default: 7% faster on an H200 (docs/PERFORMANCE.md).
            None | Some("bounds") => Checks::Bounds,
            Some("all") => Checks::All,
            Some("none") => Checks::None,
            Some(v) => return Err(Var::GpuChecks.invalid(v, "must be all, bounds or none")),
        };
        Ok(Self {
            workgroup,
            int64,
            checks,
        })
    }
}

impl<P: Potential> GpuEngine<P> {
    pub(super) fn step_params(&self, part: &Part, n0: u64, n_steps: u64) -> StepParams {
        let c = &self.consts;
        StepParams {
            key: self.key,
            n0: n0 as u32,
            n_steps: n_steps as u32,
            agents: self.shape.agents as u32,
            dim: self.shape.dim as u32,
            blocks: self.shape.dim.div_ceil(4) as u32,
            jobs: part.jobs,
            grad_step: c.grad_step,
            noise: c.noise,
            lambda_dt: c.lambda_dt,
            y_pull: c.y_pull,
            dt_over_gamma: c.dt_over_gamma,
            inv_m: c.inv_m,
            inner_len: c.inner_len,
            burn_in: c.burn_in,
            homogenized: c.homogenized as u32,
            taming: match c.taming {
                Taming::None => 0,
                Taming::Coordinate => 1,
                Taming::Norm => 2,
            },
            interacting: self.pipelines.interacting as u32,
            agent_base: part.agent_base,
            samples: c.smoothing.map_or(0, |s| s.samples),
            sqrt_variance: c.smoothing.map_or(0.0, |s| s.sqrt_variance(n0)),
            inv_s: c.smoothing.map_or(0.0, |s| s.inv_s),
            _pad: 0,
        }
    }

    /// Runs steps `n0..n1` (at most `BATCH` dispatches per part) in one submit and
    /// returns the first step after which a position was bad, if any.
    pub(super) fn batch(&mut self, n0: u64, n1: u64) -> Result<Option<u64>> {
        // One step per dispatch with interaction (the means change every step) or
        // a smoothing scale that changes every step, else one fused dispatch.
        let varying = self.consts.smoothing.is_some_and(|s| !s.constant());
        let dispatches: Vec<(u64, u64)> = if self.pipelines.interacting || varying {
            (n0..n1).map(|n| (n, 1)).collect()
        } else {
            vec![(n0, n1 - n0)]
        };
        let ctx = self.ctx.clone();
        ctx.scoped(|| {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            for group in &self.groups {
                for part in &group.parts {
                    let mut blocks = vec![0u8; (PARAMS_STRIDE as usize) * dispatches.len()];
                    for (i, &(n, k)) in dispatches.iter().enumerate() {
                        let p = self.step_params(part, n, k);
                        let at = i * PARAMS_STRIDE as usize;
                        blocks[at..at + std::mem::size_of::<StepParams>()]
                            .copy_from_slice(bytemuck::bytes_of(&p));
                    }
                    ctx.queue.write_buffer(&part.params, 0, &blocks);
                }
                let mut pass = enc.begin_compute_pass(&Default::default());
                for i in 0..dispatches.len() {
                    if self.pipelines.interacting {
                        self.encode_means(&mut pass, group);
                    }
                    pass.set_pipeline(&self.pipelines.step);
                    for part in &group.parts {
                        pass.set_bind_group(
                            0,
                            &part.step_bind,
                            &[(i as u64 * PARAMS_STRIDE) as u32],
                        );
                        pass.dispatch_workgroups(part.step_grid.0, part.step_grid.1, 1);
                    }
                }
            }
            ctx.queue.submit([enc.finish()]);
        })?;
        let mut first_bad: Option<u64> = None;
        for part in self.groups.iter().flat_map(|g| &g.parts) {
            let status = ctx.read_buffer(&part.status, 4)?;
            let s = u32::from_le_bytes([status[0], status[1], status[2], status[3]]);
            if s != u32::MAX {
                first_bad = Some(first_bad.map_or(s as u64, |b| b.min(s as u64)));
            }
        }
        Ok(first_bad)
    }

    /// The run means of a group's positions now: the first pass over each part,
    /// then the second over the group.
    pub(super) fn encode_means(&self, pass: &mut wgpu::ComputePass<'_>, group: &Group) {
        let (Some([(partial, _), (finish, _)]), Some((final_bind, final_grid))) =
            (&self.pipelines.mean, &group.mean_final)
        else {
            return;
        };
        pass.set_pipeline(partial);
        for part in &group.parts {
            if let Some((b, g)) = &part.mean_partial {
                pass.set_bind_group(0, b, &[]);
                pass.dispatch_workgroups(g.0, g.1, 1);
            }
        }
        pass.set_pipeline(finish);
        pass.set_bind_group(0, final_bind, &[]);
        pass.dispatch_workgroups(final_grid.0, final_grid.1, 1);
    }
}
