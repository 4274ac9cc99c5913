//! The GPU engine: the update rule of DESIGN section 2 in WGSL, with the same
//! random stream as the CPU engine. Separable potentials with `none` or
//! `coordinate` taming run `shaders/step_block.wgsl` (an invocation per block of 4
//! coordinates of an agent); everything else runs `shaders/step_agent.wgsl` (an
//! invocation per agent). Run means come from a two-pass deterministic reduction
//! (`mean_partial`, `mean_final`). Many steps are encoded per submit; positions
//! are read back only to record diagnostics and when asked. Ensembles larger than
//! one storage binding are split into chunks of whole runs (runs never interact),
//! each with its own buffers; the stream is addressed by the global agent index,
//! so the split changes no number.

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
    agent_base: u32,
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

/// The pipelines, built once per engine and shared by its chunks.
struct Pipelines {
    step: wgpu::ComputePipeline,
    step_layout: wgpu::BindGroupLayout,
    /// Mean reduction (interacting methods only): pipelines and layouts.
    mean: Option<[(wgpu::ComputePipeline, wgpu::BindGroupLayout); 2]>,
}

/// A chunk's bind groups and grids for the two passes of the run means.
struct ChunkMeans {
    partial_bind: wgpu::BindGroup,
    final_bind: wgpu::BindGroup,
    partial_grid: (u32, u32),
    final_grid: (u32, u32),
}

/// Runs `runs` of the ensemble with their own buffers.
struct Chunk {
    runs: std::ops::Range<usize>,
    /// Global index of the chunk's first agent (the stream's agent index).
    agent_base: u32,
    jobs: u32,
    step_grid: (u32, u32),
    params: wgpu::Buffer,
    x: wgpu::Buffer,
    status: wgpu::Buffer,
    step_bind: wgpu::BindGroup,
    mean: Option<ChunkMeans>,
    bytes: u64,
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
    pipelines: Pipelines,
    chunks: Vec<Chunk>,
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
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
        let shape = Shape {
            runs: ensemble.runs,
            agents: ensemble.agents,
            dim: potential.dim(),
        };
        let consts = StepConstants::new(method);
        let len = check_size(shape, 1)?;
        let mut x0 = try_alloc(len, "the positions X")?;
        initial_positions(&mut x0, shape, &ensemble.init, ensemble.seed);
        let mut history = History::new(shape.runs);
        if keep_snapshots {
            history.reserve_snapshots(ensemble.steps / ensemble.record_every + 2, len)?;
        }

        let block_kernel = potential.separable() && consts.taming != Taming::Norm;
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

        // Whole runs per chunk, as many as one binding holds.
        let limit = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size)
            .min(max_binding.unwrap_or(u64::MAX));
        let run_bytes = (shape.agents * shape.dim) as u64 * 4;
        let runs_per_chunk = (limit / run_bytes).min(shape.runs as u64) as usize;
        if runs_per_chunk == 0 {
            return Err(Error::Gpu(GpuError::OutOfMemory(format!(
                "one run of {} agents x dim {} needs {run_bytes} bytes ({:.2} GiB) in one buffer \
                 and {} allows {limit} bytes ({:.2} GiB); reduce agents or dim, or use --backend cpu",
                shape.agents,
                shape.dim,
                gib(run_bytes),
                ctx.info.name,
                gib(limit)
            ))));
        }

        let device = &ctx.device;
        let pipelines = ctx.scoped(|| {
            use Binding::*;
            let (step, step_layout) = pipeline_for(
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
            let mean = interacting.then(|| {
                ["mean_partial", "mean_final"].map(|name| {
                    let src = shader::compose(name).expect("the built-in kernels compose");
                    pipeline_for(
                        device,
                        name,
                        &src.source,
                        &[Uniform, StorageRead, StorageReadWrite],
                    )
                })
            });
            Pipelines {
                step,
                step_layout,
                mean,
            }
        })?;

        let init = |label, contents: &[u8], usage| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
        };
        let (potential_params, coord_consts) = ctx.scoped(|| {
            (
                init(
                    "potential params",
                    bytemuck::bytes_of(&gp.params),
                    wgpu::BufferUsages::UNIFORM,
                ),
                init(
                    "coord consts",
                    bytemuck::cast_slice(&gp.coord_consts),
                    wgpu::BufferUsages::STORAGE,
                ),
            )
        })?;
        let max_dim = ctx.limits.max_compute_workgroups_per_dimension;
        let blocks = shape.dim.div_ceil(4);
        let mut chunks = Vec::new();
        for r0 in (0..shape.runs).step_by(runs_per_chunk) {
            let r1 = (r0 + runs_per_chunk).min(shape.runs);
            let agents = (r1 - r0) * shape.agents;
            let jobs = if block_kernel {
                agents * blocks
            } else {
                agents
            };
            let too_many = || {
                Error::Gpu(GpuError::OutOfMemory(format!(
                    "{jobs} invocations per step do not fit the kernels' 32-bit index"
                )))
            };
            let jobs = u32::try_from(jobs).map_err(|_| too_many())?;
            let agent_base = u32::try_from(r0 * shape.agents).map_err(|_| too_many())?;
            let lo = r0 * shape.agents * shape.dim;
            let hi = r1 * shape.agents * shape.dim;
            let x0c = &x0[lo..hi];
            let chunk = ctx.scoped(|| {
                let storage = wgpu::BufferUsages::STORAGE;
                let rw = storage | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
                let params = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("step params"),
                    size: PARAMS_STRIDE * BATCH,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                let x = init("X", bytemuck::cast_slice(x0c), rw);
                // Y starts at X; Euler methods bind a placeholder.
                let y = if consts.homogenized {
                    init("Y", bytemuck::cast_slice(x0c), rw)
                } else {
                    init("Y (unused)", &[0u8; 4], rw)
                };
                let rk = ((r1 - r0) * shape.dim) as u64;
                let means = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("run means"),
                    size: if interacting { rk * 4 } else { 4 },
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
                    layout: &pipelines.step_layout,
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
                                        std::mem::size_of::<StepParams>() as u64,
                                    ),
                                })
                            } else {
                                b.as_entire_binding()
                            },
                        })
                        .collect::<Vec<_>>(),
                });
                let mean =
                    pipelines
                        .mean
                        .as_ref()
                        .map(|[(_, partial_layout), (_, final_layout)]| {
                            let tiles = shape.agents.div_ceil(256) as u32;
                            let mp = MeanParams {
                                runs: (r1 - r0) as u32,
                                agents: shape.agents as u32,
                                dim: shape.dim as u32,
                                chunks: tiles,
                            };
                            let mp_buf = init(
                                "mean params",
                                bytemuck::bytes_of(&mp),
                                wgpu::BufferUsages::UNIFORM,
                            );
                            let partial = device.create_buffer(&wgpu::BufferDescriptor {
                                label: Some("mean partials"),
                                size: rk * tiles as u64 * 4,
                                usage: storage,
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
                            ChunkMeans {
                                partial_bind: bind(partial_layout, [&mp_buf, &x, &partial]),
                                final_bind: bind(final_layout, [&mp_buf, &partial, &means]),
                                // One workgroup per (run, coordinate, tile of 256 agents).
                                partial_grid: grid((rk * tiles as u64) as u32, 1, max_dim),
                                final_grid: grid(rk as u32, WORKGROUP, max_dim),
                            }
                        });
                Chunk {
                    runs: r0..r1,
                    agent_base,
                    jobs,
                    step_grid: grid(jobs, WORKGROUP, max_dim),
                    params,
                    x,
                    status,
                    step_bind,
                    mean,
                    bytes: (hi - lo) as u64 * 4,
                }
            })?;
            chunks.push(chunk);
        }

        let mut engine = Self {
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
            pipelines,
            chunks,
        };
        engine.record_from(&x0);
        Ok(engine)
    }

    fn step_params(&self, chunk: &Chunk, n0: u64, n_steps: u64) -> StepParams {
        let c = &self.consts;
        StepParams {
            key: self.key,
            n0: n0 as u32,
            n_steps: n_steps as u32,
            agents: self.shape.agents as u32,
            dim: self.shape.dim as u32,
            blocks: self.shape.dim.div_ceil(4) as u32,
            jobs: chunk.jobs,
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
            interacting: self.pipelines.mean.is_some() as u32,
            agent_base: chunk.agent_base,
        }
    }

    /// Runs steps `n0..n1` (at most `BATCH` dispatches per chunk) in one submit and
    /// returns the first step after which a position was bad, if any.
    fn batch(&mut self, n0: u64, n1: u64) -> Result<Option<u64>> {
        // One step per dispatch with interaction (the means change every step),
        // else one fused dispatch.
        let dispatches: Vec<(u64, u64)> = if self.pipelines.mean.is_some() {
            (n0..n1).map(|n| (n, 1)).collect()
        } else {
            vec![(n0, n1 - n0)]
        };
        let ctx = self.ctx.clone();
        ctx.scoped(|| {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            for chunk in &self.chunks {
                let mut blocks = vec![0u8; (PARAMS_STRIDE as usize) * dispatches.len()];
                for (i, &(n, k)) in dispatches.iter().enumerate() {
                    let p = self.step_params(chunk, n, k);
                    let at = i * PARAMS_STRIDE as usize;
                    blocks[at..at + std::mem::size_of::<StepParams>()]
                        .copy_from_slice(bytemuck::bytes_of(&p));
                }
                ctx.queue.write_buffer(&chunk.params, 0, &blocks);
                let mut pass = enc.begin_compute_pass(&Default::default());
                for i in 0..dispatches.len() {
                    if let (Some([(partial, _), (finish, _)]), Some(m)) =
                        (&self.pipelines.mean, &chunk.mean)
                    {
                        pass.set_pipeline(partial);
                        pass.set_bind_group(0, &m.partial_bind, &[]);
                        pass.dispatch_workgroups(m.partial_grid.0, m.partial_grid.1, 1);
                        pass.set_pipeline(finish);
                        pass.set_bind_group(0, &m.final_bind, &[]);
                        pass.dispatch_workgroups(m.final_grid.0, m.final_grid.1, 1);
                    }
                    pass.set_pipeline(&self.pipelines.step);
                    pass.set_bind_group(0, &chunk.step_bind, &[(i as u64 * PARAMS_STRIDE) as u32]);
                    pass.dispatch_workgroups(chunk.step_grid.0, chunk.step_grid.1, 1);
                }
            }
            ctx.queue.submit([enc.finish()]);
        })?;
        let mut first_bad: Option<u64> = None;
        for chunk in &self.chunks {
            let status = ctx.read_buffer(&chunk.status, 4)?;
            let s = u32::from_le_bytes([status[0], status[1], status[2], status[3]]);
            if s != u32::MAX {
                first_bad = Some(first_bad.map_or(s as u64, |b| b.min(s as u64)));
            }
        }
        Ok(first_bad)
    }

    fn read_x(&self) -> Result<Vec<f32>> {
        let mut x = Vec::with_capacity(self.shape.runs * self.shape.agents * self.shape.dim);
        for chunk in &self.chunks {
            debug_assert_eq!(
                x.len(),
                chunk.runs.start * self.shape.agents * self.shape.dim
            );
            let bytes = self.ctx.read_buffer(&chunk.x, chunk.bytes)?;
            x.extend_from_slice(bytemuck::cast_slice(&bytes));
        }
        Ok(x)
    }

    fn record_from(&mut self, x: &[f32]) {
        let s = self.shape;
        let stats = run_stats(&self.potential, x, s.runs, s.agents, s.dim);
        self.history
            .push(self.step, stats, self.keep_snapshots.then_some(x));
    }

    /// How many chunks the ensemble is split into.
    pub fn chunks(&self) -> usize {
        self.chunks.len()
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
            "{}, {} kernel{}",
            self.ctx.describe(),
            if self.block_kernel { "block" } else { "agent" },
            match self.chunks.len() {
                1 => String::new(),
                n => format!(", {n} chunks"),
            }
        )
    }
}
