//! The GPU engine for the network of Figure 3 ([`EllipsesLoss`]): the network is
//! a gradient source. Every step's minibatch gradients come from
//! `shaders/resnet_grad.wgsl` (a workgroup per agent) and the update from
//! `shaders/net_update.wgsl` (an invocation per block of 4 parameters), which
//! reads the general engine's `StepParams`, its taming encoding and its
//! divergence flags; the run means of the mean-field methods come from the same
//! two-pass reduction. The Euler and homogenized schemes, with `none` or
//! `coordinate` taming; the same stream and order of operations as the CPU
//! engine's agent path (the gradient in f32 on both, in other orders). Positions are read
//! back only at records (diagnostics on the host) and after a divergence.

use super::divergence::{bad_value, earliest_bad, read_status};
use super::params::{MeanParams, PARAMS_STRIDE, StepParams, strided};
use crate::config::{EnsembleConfig, MethodConfig, Scheme, Taming};
use crate::diagnostics::{History, run_stats};
use crate::engine::{
    BadValue, Engine, Shape, StepConstants, StepPlan, check_size, initial_positions,
};
use crate::error::{Error, Result, Unsupported};
use crate::gpu::resnet::{NetKernel, NetParams, grad_pipeline, trace_buffer};
use crate::gpu::{Binding, GpuContext, GpuError, grid, shader};
use crate::nn::loss::EllipsesLoss;
use crate::potential::{Draw, Potential};
use crate::rng;
use std::sync::Arc;

/// One gradient-and-update pair of a batch: outer step `n`; the gradient of Y
/// (homogenized inner steps) or X with minibatch `sub`, or none (the homogenized
/// X update); the update's `phase` (`StepParams::phase`).
#[derive(Clone, Copy)]
struct Dispatch {
    n: u64,
    grad: Option<(bool, u32)>,
    phase: u32,
}
/// Outer steps per submit.
const BATCH: u64 = 16;

/// The engine: buffers, pipelines and bind groups for the whole ensemble.
pub struct GpuNetEngine {
    ctx: Arc<GpuContext>,
    loss: EllipsesLoss,
    /// The constants of step 0 (scheme, `L`).
    consts: StepConstants,
    plan: StepPlan,
    shape: Shape,
    key: [u32; 2],
    keep_snapshots: bool,
    /// The gradient kernel's version that runs (`SGLD_SWARM_GPU_NET_KERNEL`).
    kernel: NetKernel,
    grad: wgpu::ComputePipeline,
    update: wgpu::ComputePipeline,
    mean: Option<[wgpu::ComputePipeline; 2]>,
    /// Parameter blocks: gradient dispatches, then update dispatches.
    grad_params: wgpu::Buffer,
    step_params: wgpu::Buffer,
    grad_of_x: wgpu::BindGroup,
    grad_of_y: wgpu::BindGroup,
    update_bind: wgpu::BindGroup,
    mean_binds: Option<[wgpu::BindGroup; 2]>,
    x: wgpu::Buffer,
    /// The fast variable Y (a placeholder for Euler methods).
    y: wgpu::Buffer,
    status: wgpu::Buffer,
    bad_steps: wgpu::Buffer,
    grid_agents: (u32, u32),
    grid_blocks: (u32, u32),
    grid_partial: (u32, u32),
    grid_final: (u32, u32),
}

impl GpuNetEngine {
    /// Builds the engine for `method` on the network's loss, with its initial
    /// parameters from stream domain 1; `keep_snapshots` keeps the parameters at
    /// every record. Refuses the smoothed scheme, CBO, interactions other than the
    /// mean, and norm taming.
    pub fn new(
        ctx: Arc<GpuContext>,
        loss: EllipsesLoss,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        keep_snapshots: bool,
    ) -> Result<Self> {
        let refuse = |what| Err(Unsupported::NetworkOnGpu { what }.into());
        if matches!(method.scheme, Scheme::Smoothed { .. }) {
            return refuse("the smoothed scheme");
        }
        if matches!(method.scheme, Scheme::Cbo { .. }) {
            return refuse("consensus-based optimisation");
        }
        if method.interaction != crate::config::Interaction::Mean {
            return refuse("an interaction other than the mean");
        }
        if method.taming == Taming::Norm {
            return refuse("norm taming");
        }
        let p = loss.dim();
        let shape = Shape {
            runs: ensemble.runs,
            agents: ensemble.agents,
            dim: p,
        };
        let len = check_size(shape, 1)?;
        let limit = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size);
        if len as u64 * 4 > limit {
            return Err(Error::Gpu(GpuError::TooLarge {
                what: format!("{} parameter vectors of {p}", shape.runs * shape.agents),
                bytes: len as u64 * 4,
                limit,
                adapter: ctx.info.name.clone(),
            }));
        }
        let mut x0 = vec![0.0f32; len];
        initial_positions(&mut x0, shape, &ensemble.init, ensemble.seed)?;
        let plan = StepPlan::new(method, ensemble.steps);
        let consts = *plan.first();
        let interacting = method.interacting();
        let agents_total = (shape.runs * shape.agents) as u32;
        let blocks = p.div_ceil(4) as u32;
        let jobs = agents_total * blocks;
        let steps_per_batch_dispatches = BATCH * (consts.inner_len as u64 + 1);
        // The step kernels' settings do not apply to the network's kernels,
        // but a value that is not allowed is refused here as there.
        super::step::Tuning::selected(&ctx)?;
        let kernel = NetKernel::selected()?;
        let (grad, grad_layout, data) = grad_pipeline(&ctx, &loss, kernel)?;
        let kernel = kernel.effective(&ctx, &loss);
        let trace = trace_buffer(&ctx, &loss, kernel, agents_total as u64).map_err(Error::Gpu)?;
        let update_src = shader::compose_opts(
            "net_update",
            &shader::ComposeOptions {
                int64: ctx.int64,
                ..Default::default()
            },
        )
        .map_err(GpuError::from)?;
        update_src.validate().map_err(GpuError::from)?;
        let checks = crate::gpu::Checks::selected()?;
        let device = &ctx.device;
        let max_dim = ctx.limits.max_compute_workgroups_per_dimension;
        let tiles = shape.agents.div_ceil(256) as u32;
        let built = ctx.scoped(|| {
            use Binding::*;
            // Counted loops and in-range indices: the step kernels' checks.
            let (update, update_layout) = ctx.pipeline_checked(
                "net_update",
                &update_src.source,
                &[
                    UniformDynamic(std::mem::size_of::<StepParams>() as u64),
                    StorageReadWrite,
                    StorageReadWrite,
                    StorageReadWrite,
                    StorageRead,
                    StorageRead,
                    StorageReadWrite,
                    StorageReadWrite,
                ],
                checks,
            );
            let mean = interacting.then(|| {
                ["mean_partial", "mean_final"].map(|name| {
                    let src = shader::compose(name).expect("the built-in kernels compose");
                    ctx.pipeline(name, &src.source, &[Uniform, StorageRead, StorageReadWrite])
                })
            });
            let rw = wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST;
            let x = ctx.buffer_init("X", bytemuck::cast_slice(&x0), rw);
            let y = if consts.homogenized {
                ctx.buffer_init("Y", bytemuck::cast_slice(&x0), rw)
            } else {
                ctx.buffer_init("Y (unused)", &[0u8; 4], rw)
            };
            let sized = |label, size| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                })
            };
            let sums = sized(
                "sums",
                if consts.homogenized {
                    len as u64 * 4
                } else {
                    4
                },
            );
            let grads = sized("gradients", len as u64 * 4);
            let status = ctx.buffer_init("status", bytemuck::bytes_of(&u32::MAX), rw);
            let bad_steps = ctx.buffer_init(
                "bad steps",
                bytemuck::cast_slice(&vec![u32::MAX; agents_total as usize]),
                rw,
            );
            let losses = sized("losses", agents_total as u64 * 4);
            let rk = (shape.runs * p) as u64;
            let means = sized("run means", if interacting { rk * 4 } else { 4 });
            let partial = sized(
                "mean partials",
                if interacting {
                    rk * tiles as u64 * 4
                } else {
                    4
                },
            );
            let uniform = |label, size| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            };
            let grad_params = uniform("net params", PARAMS_STRIDE * steps_per_batch_dispatches);
            let step_params = uniform("net steps", PARAMS_STRIDE * steps_per_batch_dispatches);
            let bind = |label, layout, entries: &[(&wgpu::Buffer, Option<u64>)]| {
                crate::gpu::bind_group(device, label, layout, entries)
            };
            let np = Some(std::mem::size_of::<NetParams>() as u64);
            let grad_of = |theta| {
                bind(
                    "resnet_grad",
                    &grad_layout,
                    &[
                        (&grad_params, np),
                        (theta, None),
                        (&data, None),
                        (&grads, None),
                        (&losses, None),
                        (&trace, None),
                    ],
                )
            };
            let grad_of_x = grad_of(&x);
            let grad_of_y = grad_of(&y);
            let update_bind = bind(
                "net_update",
                &update_layout,
                &[
                    (&step_params, Some(std::mem::size_of::<StepParams>() as u64)),
                    (&x, None),
                    (&y, None),
                    (&sums, None),
                    (&grads, None),
                    (&means, None),
                    (&status, None),
                    (&bad_steps, None),
                ],
            );
            let mean_binds = mean.as_ref().map(|[(_, pl), (_, fl)]| {
                let mp = MeanParams {
                    runs: shape.runs as u32,
                    agents: shape.agents as u32,
                    dim: p as u32,
                    chunks: tiles,
                    tile_base: 0,
                    part_agents: shape.agents as u32,
                    _pad: [0; 2],
                };
                let mp = ctx.buffer_init(
                    "mean params",
                    bytemuck::bytes_of(&mp),
                    wgpu::BufferUsages::UNIFORM,
                );
                [
                    bind(
                        "mean_partial",
                        pl,
                        &[(&mp, None), (&x, None), (&partial, None)],
                    ),
                    bind(
                        "mean_final",
                        fl,
                        &[(&mp, None), (&partial, None), (&means, None)],
                    ),
                ]
            });
            (
                update,
                mean.map(|[(a, _), (b, _)]| [a, b]),
                grad_params,
                step_params,
                grad_of_x,
                grad_of_y,
                update_bind,
                mean_binds,
                x,
                y,
                status,
                bad_steps,
            )
        })?;
        let (
            update,
            mean,
            grad_params,
            step_params,
            grad_of_x,
            grad_of_y,
            update_bind,
            mean_binds,
            x,
            y,
            status,
            bad_steps,
        ) = built;
        let kgroups = p.div_ceil(64) as u64;
        let engine = Self {
            ctx: ctx.clone(),
            loss,
            consts,
            plan,
            shape,
            key: rng::key_from_seed(ensemble.seed),
            keep_snapshots,
            kernel,
            grad,
            update,
            mean,
            grad_params,
            step_params,
            grad_of_x,
            grad_of_y,
            update_bind,
            mean_binds,
            x,
            y,
            status,
            bad_steps,
            grid_agents: grid(agents_total, 1, max_dim),
            grid_blocks: grid(jobs, 64, max_dim),
            grid_partial: grid(
                (shape.runs as u64 * tiles as u64 * kgroups) as u32,
                1,
                max_dim,
            ),
            grid_final: grid((shape.runs * p) as u32, 64, max_dim),
        };
        Ok(engine)
    }

    /// The update's parameters for outer step `n`, `phase` (net_update.wgsl).
    fn step_params(&self, n: u64, phase: u32) -> StepParams {
        let agents = (self.shape.runs * self.shape.agents) as u32;
        let blocks = self.shape.dim.div_ceil(4) as u32;
        StepParams {
            interacting: self.mean.is_some() as u32,
            phase,
            ..StepParams::new(
                &self.plan.at(n),
                self.key,
                self.shape.agents,
                self.shape.dim,
                n,
                1,
                0,
                agents * blocks,
            )
        }
    }

    /// Steps `n0..n1` (at most `BATCH`) in one submit; the first step after
    /// which a position was bad, if any.
    fn batch(&self, n0: u64, n1: u64) -> Result<Option<u64>> {
        let agents = (self.shape.runs * self.shape.agents) as u32;
        let mut plan = Vec::new();
        for n in n0..n1 {
            if self.consts.homogenized {
                for m in 0..self.consts.inner_len {
                    plan.push(Dispatch {
                        n,
                        grad: Some((true, m)),
                        phase: m,
                    });
                }
                plan.push(Dispatch {
                    n,
                    grad: None,
                    phase: self.consts.inner_len,
                });
            } else {
                plan.push(Dispatch {
                    n,
                    grad: Some((false, 0)),
                    phase: 0,
                });
            }
        }
        // Dispatches without a gradient keep a zeroed block they never read.
        let net_params: Vec<NetParams> = plan
            .iter()
            .map(|d| match d.grad {
                Some((_, sub)) => {
                    let draw = Draw {
                        key: self.key,
                        agent: 0,
                        step: d.n as u32,
                        sub,
                    };
                    NetParams::new(&self.loss, agents, draw)
                }
                None => bytemuck::Zeroable::zeroed(),
            })
            .collect();
        let steps: Vec<StepParams> = plan
            .iter()
            .map(|d| self.step_params(d.n, d.phase))
            .collect();
        let (gp, sp) = (strided(&net_params), strided(&steps));
        let ctx = &self.ctx;
        ctx.scoped(|| {
            ctx.queue.write_buffer(&self.grad_params, 0, &gp);
            ctx.queue.write_buffer(&self.step_params, 0, &sp);
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                let mut last_n = u64::MAX;
                for (i, &Dispatch { n, grad, .. }) in plan.iter().enumerate() {
                    let off = (i as u64 * PARAMS_STRIDE) as u32;
                    // The run means at the start of each outer step, from X.
                    if n != last_n {
                        last_n = n;
                        if let (Some([pa, fi]), Some([bp, bf])) = (&self.mean, &self.mean_binds) {
                            pass.set_pipeline(pa);
                            pass.set_bind_group(0, bp, &[]);
                            pass.dispatch_workgroups(self.grid_partial.0, self.grid_partial.1, 1);
                            pass.set_pipeline(fi);
                            pass.set_bind_group(0, bf, &[]);
                            pass.dispatch_workgroups(self.grid_final.0, self.grid_final.1, 1);
                        }
                    }
                    if let Some((of_y, _)) = grad {
                        pass.set_pipeline(&self.grad);
                        let b = if of_y {
                            &self.grad_of_y
                        } else {
                            &self.grad_of_x
                        };
                        pass.set_bind_group(0, b, &[off]);
                        pass.dispatch_workgroups(self.grid_agents.0, self.grid_agents.1, 1);
                    }
                    pass.set_pipeline(&self.update);
                    pass.set_bind_group(0, &self.update_bind, &[off]);
                    pass.dispatch_workgroups(self.grid_blocks.0, self.grid_blocks.1, 1);
                }
            }
            ctx.queue.submit([enc.finish()]);
        })?;
        read_status(ctx, &self.status)
    }

    fn read_x(&self) -> Result<Vec<f32>> {
        let bytes = self.ctx.read_buffer(
            &self.x,
            (self.shape.runs * self.shape.agents * self.shape.dim) as u64 * 4,
        )?;
        Ok(bytemuck::cast_slice(&bytes).to_vec())
    }
}

impl Engine for GpuNetEngine {
    fn segment(&mut self, n0: u64, n1: u64) -> Result<Option<BadValue>> {
        let Some(step) = self.batch(n0, n1)? else {
            return Ok(None);
        };
        let agents = self.shape.runs * self.shape.agents;
        let bytes = self.ctx.read_buffer(&self.bad_steps, agents as u64 * 4)?;
        let mut first = None;
        earliest_bad(&mut first, bytemuck::cast_slice(&bytes), 0);
        Ok(Some(bad_value(
            step,
            first,
            &self.read_x()?,
            self.shape.dim,
        )))
    }

    fn max_segment(&self) -> u64 {
        BATCH
    }

    fn record(&mut self, step: u64, history: &mut History) -> Result<()> {
        let x = self.read_x()?;
        let s = self.shape;
        let stats = run_stats(&self.loss, &x, s.runs, s.agents, s.dim);
        history.push(step, stats, self.keep_snapshots.then_some(&x[..]));
        Ok(())
    }

    fn positions(&self) -> Result<Vec<f32>> {
        self.read_x()
    }

    fn fast(&self) -> Result<Option<Vec<f32>>> {
        if !self.consts.homogenized {
            return Ok(None);
        }
        let s = self.shape;
        let bytes = self
            .ctx
            .read_buffer(&self.y, (s.runs * s.agents * s.dim) as u64 * 4)?;
        Ok(Some(bytemuck::cast_slice(&bytes).to_vec()))
    }

    fn set_state(&mut self, x: &[f32], y: Option<&[f32]>) -> Result<()> {
        let queue = &self.ctx.queue;
        queue.write_buffer(&self.x, 0, bytemuck::cast_slice(x));
        if self.consts.homogenized {
            queue.write_buffer(&self.y, 0, bytemuck::cast_slice(y.unwrap_or(x)));
        }
        Ok(())
    }

    fn potential(&self) -> &dyn Potential {
        &self.loss
    }

    fn backend(&self) -> &'static str {
        "gpu"
    }

    fn device(&self) -> String {
        format!(
            "{}, network kernels (gradient {})",
            self.ctx.describe(),
            self.kernel.name()
        )
    }
}
