//! The GPU engine: the update rule of DESIGN section 2 in WGSL, with the same
//! random stream as the CPU engine. Separable potentials with `none` or
//! `coordinate` taming run `shaders/step_block.wgsl` (an invocation per block of 4
//! coordinates of an agent); everything else runs `shaders/step_agent.wgsl` (an
//! invocation per agent). Run means come from a two-pass deterministic reduction
//! (`mean_partial`, `mean_final`). Many steps are encoded per submit; positions
//! are read back only to record diagnostics and when asked.

use super::potential::GpuPotential;
use super::{Binding, GpuContext, GpuError, grid, pipeline_for, shader};
use crate::config::{EnsembleConfig, MethodConfig, Taming};
use crate::diagnostics::{History, run_stats};
use crate::engine::{
    Engine, Shape, StepConstants, check_size, initial_positions, is_bad, try_alloc,
};
use crate::error::{Error, Result};
use crate::potential::Potential;
use crate::rng;
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// Keep in sync with `StepParams` in shaders/step_params.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct StepParams {
    key: [u32; 2],
    n0: u32,
    n_steps: u32,
    agents: u32,
    dim: u32,
    blocks: u32,
    jobs: u32,
    h: f32,
    noise: f32,
    lambda_dt: f32,
    h_over_gamma: f32,
    dt_over_gamma: f32,
    inv_m: f32,
    inner_len: u32,
    burn_in: u32,
    homogenized: u32,
    taming: u32,
    interacting: u32,
    _pad: u32,
}
const _: () = assert!(std::mem::size_of::<StepParams>() == 80);

/// Keep in sync with `MeanParams` in shaders/mean_params.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MeanParams {
    runs: u32,
    agents: u32,
    dim: u32,
    chunks: u32,
}
const _: () = assert!(std::mem::size_of::<MeanParams>() == 16);

/// Parameter blocks sit at this stride (the largest uniform offset alignment).
const PARAMS_STRIDE: u64 = 256;
/// Dispatches encoded per submit; also the most steps one fused dispatch runs, so
/// that no single dispatch runs long enough to trip a driver's watchdog.
const BATCH: u64 = 64;
const WORKGROUP: u32 = 64;

struct MeanKernels {
    partial: wgpu::ComputePipeline,
    finish: wgpu::ComputePipeline,
    partial_bind: wgpu::BindGroup,
    finish_bind: wgpu::BindGroup,
    partial_grid: (u32, u32),
    finish_grid: (u32, u32),
}

/// The GPU engine: the kernels run the WGSL of a [`GpuPotential`], and `P` (the
/// same potential in Rust) gives the diagnostics.
pub struct GpuEngine<P: Potential> {
    ctx: Arc<GpuContext>,
    potential: P,
    method: MethodConfig,
    consts: StepConstants,
    shape: Shape,
    key: [u32; 2],
    step: u64,
    final_step: u64,
    record_every: u64,
    keep_snapshots: bool,
    history: History,
    block_kernel: bool,
    jobs: u32,
    step_pipeline: wgpu::ComputePipeline,
    step_bind: wgpu::BindGroup,
    step_grid: (u32, u32),
    params: wgpu::Buffer,
    x: wgpu::Buffer,
    status: wgpu::Buffer,
    mean: Option<MeanKernels>,
    bytes: u64,
}

fn buffer_limit(ctx: &GpuContext, what: &str, bytes: u64) -> Result<()> {
    let limit = ctx
        .limits
        .max_storage_buffer_binding_size
        .min(ctx.limits.max_buffer_size);
    if bytes > limit {
        return Err(Error::Gpu(GpuError::OutOfMemory(format!(
            "{what} needs {bytes} bytes ({:.2} GiB) in one buffer and {} allows {limit} bytes \
             ({:.2} GiB); reduce runs, agents or dim, or use --backend cpu",
            bytes as f64 / (1u64 << 30) as f64,
            ctx.info.name,
            limit as f64 / (1u64 << 30) as f64
        ))));
    }
    Ok(())
}

impl<P: Potential> GpuEngine<P> {
    /// An engine at step 0 with the CPU engine's initial positions. Configs are
    /// taken as validated.
    pub fn new(
        ctx: Arc<GpuContext>,
        potential: P,
        gp: GpuPotential,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        keep_snapshots: bool,
    ) -> Result<Self> {
        let shape = Shape {
            runs: ensemble.runs,
            agents: ensemble.agents,
            dim: potential.dim(),
        };
        let consts = StepConstants::new(method);
        let len = check_size(shape, 1)?;
        let bytes = len as u64 * 4;
        buffer_limit(&ctx, "the positions X", bytes)?;
        let mut x0 = try_alloc(len, "the positions X")?;
        initial_positions(&mut x0, shape, &ensemble.init, ensemble.seed);
        let mut history = History::new(shape.runs);
        if keep_snapshots {
            history.reserve_snapshots(ensemble.steps / ensemble.record_every + 2, len)?;
        }

        let block_kernel = potential.separable() && consts.taming != Taming::Norm;
        let blocks = shape.dim.div_ceil(4);
        let agents_total = shape.runs * shape.agents;
        let jobs = if block_kernel {
            agents_total * blocks
        } else {
            agents_total
        };
        let jobs = u32::try_from(jobs).map_err(|_| {
            Error::Gpu(GpuError::OutOfMemory(format!(
                "{jobs} invocations per step do not fit the 32-bit index of the kernels"
            )))
        })?;
        let interacting = method.lambda > 0.0;
        let kernel = if block_kernel {
            "step_block"
        } else {
            "step_agent"
        };
        let opts = shader::Options {
            potential: Some(&gp.choice),
            int64: ctx.int64,
        };
        let composed = shader::compose_opts(kernel, &opts).map_err(GpuError::from)?;
        composed.validate().map_err(GpuError::from)?;
        let device = &ctx.device;
        let max_dim = ctx.limits.max_compute_workgroups_per_dimension;

        let built = ctx.scoped(|| {
            use Binding::*;
            let (step_pipeline, layout) = pipeline_for(
                device,
                kernel,
                &composed.source,
                &[
                    Uniform,
                    StorageRead,
                    UniformDynamic(std::mem::size_of::<StepParams>() as u64),
                    StorageReadWrite,
                    StorageReadWrite,
                    StorageRead,
                    StorageReadWrite,
                ],
            );
            let init = |label, contents: &[u8], usage| {
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage,
                })
            };
            let storage = wgpu::BufferUsages::STORAGE;
            let potential_params = init(
                "potential params",
                bytemuck::bytes_of(&gp.params),
                wgpu::BufferUsages::UNIFORM,
            );
            let coord_consts = init(
                "coord consts",
                bytemuck::cast_slice(&gp.coord_consts),
                storage,
            );
            let params = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("step params"),
                size: PARAMS_STRIDE * BATCH,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let rw = storage | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
            let x = init("X", bytemuck::cast_slice(&x0), rw);
            // Y starts at X; Euler methods bind a placeholder.
            let y = if consts.homogenized {
                init("Y", bytemuck::cast_slice(&x0), rw)
            } else {
                init("Y (unused)", &[0u8; 4], rw)
            };
            let means_len = if interacting {
                shape.runs * shape.dim
            } else {
                1
            };
            let means = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("run means"),
                size: means_len as u64 * 4,
                usage: storage,
                mapped_at_creation: false,
            });
            let status = init("status", bytemuck::bytes_of(&u32::MAX), rw);
            let entries = [
                &potential_params,
                &coord_consts,
                &params,
                &x,
                &y,
                &means,
                &status,
            ];
            let step_bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel),
                layout: &layout,
                entries: &entries
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry {
                        binding: i as u32,
                        resource: if i == 2 {
                            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: b,
                                offset: 0,
                                size: std::num::NonZeroU64::new(
                                    std::mem::size_of::<StepParams>() as u64
                                ),
                            })
                        } else {
                            b.as_entire_binding()
                        },
                    })
                    .collect::<Vec<_>>(),
            });
            (step_pipeline, step_bind, params, x, means, status)
        })?;
        let (step_pipeline, step_bind, params, x, means, status) = built;

        let mean = if interacting {
            let chunks = shape.agents.div_ceil(256) as u32;
            let mp = MeanParams {
                runs: shape.runs as u32,
                agents: shape.agents as u32,
                dim: shape.dim as u32,
                chunks,
            };
            let rk = (shape.runs * shape.dim) as u64;
            let partial_groups = u32::try_from(rk * chunks as u64).map_err(|_| {
                Error::Gpu(GpuError::OutOfMemory("too many run means to reduce".into()))
            })?;
            buffer_limit(
                &ctx,
                "the partial sums of the run means",
                rk * chunks as u64 * 4,
            )?;
            let partial_src = shader::compose("mean_partial").map_err(GpuError::from)?;
            let finish_src = shader::compose("mean_final").map_err(GpuError::from)?;
            Some(ctx.scoped(|| {
                use Binding::*;
                let (partial, partial_layout) = pipeline_for(
                    device,
                    "mean_partial",
                    &partial_src.source,
                    &[Uniform, StorageRead, StorageReadWrite],
                );
                let (finish, finish_layout) = pipeline_for(
                    device,
                    "mean_final",
                    &finish_src.source,
                    &[Uniform, StorageRead, StorageReadWrite],
                );
                let mp_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("mean params"),
                    contents: bytemuck::bytes_of(&mp),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
                let partial_buf = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("mean partials"),
                    size: rk * chunks as u64 * 4,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                });
                let bind = |layout, bufs: [&wgpu::Buffer; 3]| {
                    device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("means"),
                        layout,
                        entries: &[0, 1, 2].map(|i| wgpu::BindGroupEntry {
                            binding: i,
                            resource: bufs[i as usize].as_entire_binding(),
                        }),
                    })
                };
                MeanKernels {
                    partial_bind: bind(&partial_layout, [&mp_buf, &x, &partial_buf]),
                    finish_bind: bind(&finish_layout, [&mp_buf, &partial_buf, &means]),
                    partial,
                    finish,
                    // One workgroup per (run, coordinate, chunk), counted by workgroups.
                    partial_grid: grid(partial_groups, 1, max_dim),
                    finish_grid: grid(rk as u32, WORKGROUP, max_dim),
                }
            })?)
        } else {
            None
        };

        let mut engine = Self {
            step_grid: grid(jobs, WORKGROUP, max_dim),
            ctx,
            potential,
            method: method.clone(),
            consts,
            shape,
            key: rng::key_from_seed(ensemble.seed),
            step: 0,
            final_step: ensemble.steps,
            record_every: ensemble.record_every,
            keep_snapshots,
            history,
            block_kernel,
            jobs,
            step_pipeline,
            step_bind,
            params,
            x,
            status,
            mean,
            bytes,
        };
        engine.record_from(&x0);
        Ok(engine)
    }

    fn step_params(&self, n0: u64, n_steps: u64) -> StepParams {
        let c = &self.consts;
        StepParams {
            key: self.key,
            n0: n0 as u32,
            n_steps: n_steps as u32,
            agents: self.shape.agents as u32,
            dim: self.shape.dim as u32,
            blocks: self.shape.dim.div_ceil(4) as u32,
            jobs: self.jobs,
            h: c.h,
            noise: c.noise,
            lambda_dt: c.lambda_dt,
            h_over_gamma: c.h_over_gamma,
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
            interacting: self.mean.is_some() as u32,
            _pad: 0,
        }
    }

    /// Runs steps `n0..n1` (at most `BATCH` dispatches) in one submit and returns
    /// the first step after which a position was bad, if any.
    fn batch(&mut self, n0: u64, n1: u64) -> Result<Option<u64>> {
        // Dispatches: one step each with interaction (the means change every
        // step), else one fused dispatch.
        let dispatches: Vec<(u64, u64)> = if self.mean.is_some() {
            (n0..n1).map(|n| (n, 1)).collect()
        } else {
            vec![(n0, n1 - n0)]
        };
        let mut blocks = vec![0u8; (PARAMS_STRIDE as usize) * dispatches.len()];
        for (i, &(n, k)) in dispatches.iter().enumerate() {
            let p = self.step_params(n, k);
            let at = i * PARAMS_STRIDE as usize;
            blocks[at..at + std::mem::size_of::<StepParams>()]
                .copy_from_slice(bytemuck::bytes_of(&p));
        }
        let ctx = self.ctx.clone();
        ctx.scoped(|| {
            ctx.queue.write_buffer(&self.params, 0, &blocks);
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                for i in 0..dispatches.len() {
                    if let Some(m) = &self.mean {
                        pass.set_pipeline(&m.partial);
                        pass.set_bind_group(0, &m.partial_bind, &[]);
                        pass.dispatch_workgroups(m.partial_grid.0, m.partial_grid.1, 1);
                        pass.set_pipeline(&m.finish);
                        pass.set_bind_group(0, &m.finish_bind, &[]);
                        pass.dispatch_workgroups(m.finish_grid.0, m.finish_grid.1, 1);
                    }
                    pass.set_pipeline(&self.step_pipeline);
                    pass.set_bind_group(0, &self.step_bind, &[(i as u64 * PARAMS_STRIDE) as u32]);
                    pass.dispatch_workgroups(self.step_grid.0, self.step_grid.1, 1);
                }
            }
            ctx.queue.submit([enc.finish()]);
        })?;
        let status = ctx.read_buffer(&self.status, 4)?;
        let first_bad = u32::from_le_bytes([status[0], status[1], status[2], status[3]]);
        Ok((first_bad != u32::MAX).then_some(first_bad as u64))
    }

    fn read_x(&self) -> Result<Vec<f32>> {
        let bytes = self.ctx.read_buffer(&self.x, self.bytes)?;
        Ok(bytemuck::cast_slice(&bytes).to_vec())
    }

    fn record_from(&mut self, x: &[f32]) {
        let s = self.shape;
        let stats = run_stats(&self.potential, x, s.runs, s.agents, s.dim);
        self.history
            .push(self.step, stats, self.keep_snapshots.then_some(x));
    }
}

impl<P: Potential> Engine for GpuEngine<P> {
    fn advance(&mut self, steps: u64) -> Result<()> {
        let end = self
            .step
            .checked_add(steps)
            .filter(|&e| e <= u32::MAX as u64 + 1);
        let Some(end) = end else {
            return Err(Error::Backend(format!(
                "cannot advance {steps} steps from step {}: the stream addresses at most 2^32 steps",
                self.step
            )));
        };
        while self.step < end {
            let next_record = (self.step / self.record_every + 1) * self.record_every;
            let mut seg_end = end.min(next_record).min(self.step + BATCH);
            if self.step < self.final_step {
                seg_end = seg_end.min(self.final_step);
            }
            if let Some(step) = self.batch(self.step, seg_end)? {
                // The earliest bad step is exact; the agent named is the first one
                // found bad at the end of the batch.
                let x = self.read_x()?;
                let d = self.shape.dim;
                let (g, value) = x
                    .chunks_exact(d)
                    .enumerate()
                    .find_map(|(g, a)| a.iter().find(|&&v| is_bad(v)).map(|&v| (g, v)))
                    .unwrap_or((0, f32::NAN));
                return Err(Error::Diverged {
                    method: self.method.name.clone(),
                    run: g / self.shape.agents,
                    agent: g % self.shape.agents,
                    step,
                    value,
                });
            }
            self.step = seg_end;
            if self.step % self.record_every == 0 || self.step == self.final_step {
                let x = self.read_x()?;
                self.record_from(&x);
            }
        }
        Ok(())
    }

    fn step(&self) -> u64 {
        self.step
    }

    fn positions(&self) -> Result<Vec<f32>> {
        self.read_x()
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn backend(&self) -> &'static str {
        "gpu"
    }

    fn device(&self) -> String {
        format!(
            "{}, {} kernel",
            self.ctx.describe(),
            if self.block_kernel { "block" } else { "agent" }
        )
    }
}
