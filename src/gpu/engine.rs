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
use super::{Binding, GpuContext, GpuError, grid, shader};
use crate::config::{EnsembleConfig, MethodConfig, Taming};
use crate::diagnostics::{History, RunStats, run_stats};
use crate::engine::{
    Engine, Schedule, Shape, StepConstants, check_size, initial_positions, is_bad, try_alloc,
};
use crate::error::{Error, Result};
use crate::potential::Potential;
use crate::rng;
use std::sync::Arc;

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

/// Keep in sync with `DiagParams` in shaders/diag_params.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct DiagParams {
    runs: u32,
    agents: u32,
    pow2: u32,
    ref_count: u32,
    record_base: u32,
    _pad: [u32; 3],
}
const _: () = assert!(std::mem::size_of::<DiagParams>() == 32);

/// Records kept on the device between readbacks (each `runs x 5` f32).
const RECORDS_CAP: u64 = 256;

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
    /// Mean reduction (for interaction and the spread): pipelines and layouts.
    mean: Option<[(wgpu::ComputePipeline, wgpu::BindGroupLayout); 2]>,
    /// Diagnostics on the device (`diag_agent`, `diag_run`, `sort_stage`,
    /// `diag_median`), for built-ins.
    diag: Option<[(wgpu::ComputePipeline, wgpu::BindGroupLayout); 4]>,
    /// The bitonic sort's stages, one parameter block each.
    sort_stages: u32,
    interacting: bool,
}

/// A chunk's bind groups and grids for the diagnostics.
struct ChunkDiag {
    params: wgpu::Buffer,
    agent_bind: wgpu::BindGroup,
    run_bind: wgpu::BindGroup,
    sort_bind: wgpu::BindGroup,
    median_bind: wgpu::BindGroup,
    agent_grid: (u32, u32),
    run_grid: (u32, u32),
    sort_grid: (u32, u32),
    median_grid: (u32, u32),
    pow2: u32,
}

/// Keep in sync with `Stage` in shaders/sort_stage.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SortStage {
    size: u32,
    stride: u32,
    _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<SortStage>() == 16);

/// The (size, stride) stages of a bitonic sort of `pow2` elements, in order.
fn sort_stages(pow2: u64) -> Vec<SortStage> {
    let mut stages = Vec::new();
    let mut size = 2;
    while size <= pow2 {
        let mut stride = size / 2;
        while stride > 0 {
            stages.push(SortStage {
                size: size as u32,
                stride: stride as u32,
                _pad: [0; 2],
            });
            stride /= 2;
        }
        size *= 2;
    }
    stages
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
    bad_steps: wgpu::Buffer,
    step_bind: wgpu::BindGroup,
    mean: Option<ChunkMeans>,
    diag: Option<ChunkDiag>,
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
    schedule: Schedule,
    keep_snapshots: bool,
    history: History,
    block_kernel: bool,
    pipelines: Pipelines,
    chunks: Vec<Chunk>,
    /// Per-run statistics of the records not yet read back (device diagnostics).
    records: Option<wgpu::Buffer>,
    records_cap: u64,
    ref_count: u32,
    /// Steps (and positions, when trajectories are kept) of those records.
    pending: Vec<(u64, Option<Vec<f32>>)>,
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
        let device_diag = gp.refs.is_some();
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
        // A run's largest buffer: its positions, or its per-agent diagnostics and
        // sort space.
        let pow2 = shape.agents.next_power_of_two() as u64;
        let run_bytes = ((shape.agents * shape.dim) as u64 * 4)
            .max(shape.agents as u64 * 16)
            .max(pow2 * 4);
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
            let (step, step_layout) = ctx.pipeline(
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
                    StorageReadWrite,
                ],
            );
            let mean = (interacting || device_diag).then(|| {
                ["mean_partial", "mean_final"].map(|name| {
                    let src = shader::compose(name).expect("the built-in kernels compose");
                    ctx.pipeline(name, &src.source, &[Uniform, StorageRead, StorageReadWrite])
                })
            });
            let diag = device_diag.then(|| {
                let agent = shader::compose_opts("diag_agent", &opts)
                    .expect("the built-in kernels compose");
                let run = shader::compose("diag_run").expect("the built-in kernels compose");
                [
                    ctx.pipeline(
                        "diag_agent",
                        &agent.source,
                        &[
                            Uniform,
                            StorageRead,
                            Uniform,
                            StorageRead,
                            StorageRead,
                            StorageRead,
                            StorageReadWrite,
                        ],
                    ),
                    ctx.pipeline(
                        "diag_run",
                        &run.source,
                        &[Uniform, StorageRead, StorageReadWrite, StorageReadWrite],
                    ),
                    ctx.pipeline(
                        "sort_stage",
                        &shader::compose("sort_stage")
                            .expect("the built-in kernels compose")
                            .source,
                        &[Uniform, UniformDynamic(16), StorageReadWrite],
                    ),
                    ctx.pipeline(
                        "diag_median",
                        &shader::compose("diag_median")
                            .expect("the built-in kernels compose")
                            .source,
                        &[Uniform, StorageRead, StorageReadWrite],
                    ),
                ]
            });
            let sort_stages = sort_stages(pow2).len() as u32;
            Pipelines {
                step,
                step_layout,
                mean,
                diag,
                sort_stages,
                interacting,
            }
        })?;

        let init = |label, contents: &[u8], usage| ctx.buffer_init(label, contents, usage);
        // Records kept on the device between readbacks: as many as one binding holds.
        let record_bytes = shape.runs as u64 * 5 * 4;
        let records_cap = (limit / record_bytes).min(RECORDS_CAP);
        let records_bytes = records_cap.max(1) * record_bytes;
        if device_diag && records_cap == 0 {
            return Err(Error::Gpu(GpuError::OutOfMemory(format!(
                "a record of {} runs needs {record_bytes} bytes in one buffer and {} allows {limit}",
                shape.runs, ctx.info.name
            ))));
        }
        let stages: Vec<u8> = sort_stages(pow2)
            .iter()
            .flat_map(|s| {
                let mut block = vec![0u8; PARAMS_STRIDE as usize];
                block[..16].copy_from_slice(bytemuck::bytes_of(s));
                block
            })
            .collect();
        let (records, refs, stage_buf) = ctx.scoped(|| {
            let records = device_diag.then(|| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("records"),
                    size: records_bytes,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })
            });
            let mut r = gp.refs.clone().unwrap_or_default();
            // A binding may not be empty.
            r.resize(r.len().max(1), 0.0);
            let stage_buf = init(
                "sort stages",
                if stages.is_empty() {
                    &[0u8; 256]
                } else {
                    &stages
                },
                wgpu::BufferUsages::UNIFORM,
            );
            (
                records,
                init(
                    "reference points",
                    bytemuck::cast_slice(&r),
                    wgpu::BufferUsages::STORAGE,
                ),
                stage_buf,
            )
        })?;
        let ref_count = gp.refs.as_ref().map_or(0, |r| r.len() / shape.dim) as u32;
        let (potential_params, coord_consts) = ctx.scoped(|| gp.buffers(&ctx))?;
        let max_dim = ctx.limits.max_compute_workgroups_per_dimension;
        let blocks = shape.dim.div_ceil(4);
        // What the buffers below take on the device, for an out-of-memory message.
        let (all, rd) = (len as u64, (shape.runs * shape.dim) as u64);
        let device_bytes = 4
            * (all * if consts.homogenized { 2 } else { 1 }
                + rd * (1 + shape.agents.div_ceil(256) as u64)
                + if device_diag {
                    (shape.runs * shape.agents) as u64 * 4 + shape.runs as u64 * pow2
                } else {
                    0
                });
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
                    size: if pipelines.mean.is_some() { rk * 4 } else { 4 },
                    usage: storage,
                    mapped_at_creation: false,
                });
                let status = init("status", bytemuck::bytes_of(&u32::MAX), rw);
                let bad_steps = init(
                    "bad steps",
                    bytemuck::cast_slice(&vec![u32::MAX; agents]),
                    rw,
                );
                let entries = [
                    &potential_params,
                    &coord_consts,
                    &params,
                    &x,
                    &y,
                    &means,
                    &status,
                    &bad_steps,
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
                let diag = pipelines.diag.as_ref().map(
                    |[
                        (_, agent_layout),
                        (_, run_layout),
                        (_, sort_layout),
                        (_, median_layout),
                    ]| {
                        let params = device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("diag params"),
                            size: std::mem::size_of::<DiagParams>() as u64,
                            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                            mapped_at_creation: false,
                        });
                        let per_agent = device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("per-agent diagnostics"),
                            size: agents as u64 * 16,
                            usage: storage,
                            mapped_at_creation: false,
                        });
                        let scratch = device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("sort scratch"),
                            size: (r1 - r0) as u64 * pow2 * 4,
                            usage: storage,
                            mapped_at_creation: false,
                        });
                        let records = records
                            .as_ref()
                            .expect("device diagnostics have a records buffer");
                        let bind = |layout, bufs: &[&wgpu::Buffer]| {
                            device.create_bind_group(&wgpu::BindGroupDescriptor {
                                label: Some("diagnostics"),
                                layout,
                                entries: &bufs
                                    .iter()
                                    .enumerate()
                                    .map(|(i, b)| wgpu::BindGroupEntry {
                                        binding: i as u32,
                                        // The sort's stage block is read at an offset.
                                        resource: if std::ptr::eq(*b, &stage_buf) {
                                            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                                buffer: b,
                                                offset: 0,
                                                size: std::num::NonZeroU64::new(16),
                                            })
                                        } else {
                                            b.as_entire_binding()
                                        },
                                    })
                                    .collect::<Vec<_>>(),
                            })
                        };
                        ChunkDiag {
                            agent_bind: bind(
                                agent_layout,
                                &[
                                    &potential_params,
                                    &coord_consts,
                                    &params,
                                    &x,
                                    &means,
                                    &refs,
                                    &per_agent,
                                ],
                            ),
                            run_bind: bind(run_layout, &[&params, &per_agent, &scratch, records]),
                            sort_bind: bind(sort_layout, &[&params, &stage_buf, &scratch]),
                            median_bind: bind(median_layout, &[&params, &scratch, records]),
                            sort_grid: grid(
                                ((r1 - r0) as u64 * pow2 / 2) as u32,
                                WORKGROUP,
                                max_dim,
                            ),
                            median_grid: grid((r1 - r0) as u32, WORKGROUP, max_dim),
                            params,
                            agent_grid: grid(agents as u32, WORKGROUP, max_dim),
                            run_grid: grid((r1 - r0) as u32, 1, max_dim),
                            pow2: pow2 as u32,
                        }
                    },
                );
                Chunk {
                    diag,
                    runs: r0..r1,
                    agent_base,
                    jobs,
                    step_grid: grid(jobs, WORKGROUP, max_dim),
                    params,
                    x,
                    status,
                    bad_steps,
                    step_bind,
                    mean,
                    bytes: (hi - lo) as u64 * 4,
                }
            });
            let chunk = chunk.map_err(|e| match e {
                GpuError::OutOfMemory(m) => GpuError::OutOfMemory(format!(
                    "the ensemble needs about {:.2} GiB on {}, which could not be allocated ({m}); \
                     reduce runs, agents or dim, or use --backend cpu",
                    gib(device_bytes),
                    ctx.info.name
                )),
                other => other,
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
            schedule: Schedule {
                record_every: ensemble.record_every,
                final_step: ensemble.steps,
            },
            keep_snapshots,
            history,
            block_kernel,
            pipelines,
            chunks,
            records,
            records_cap,
            ref_count,
            pending: Vec::new(),
        };
        engine.record(Some(&x0))?;
        engine.flush_records()?;
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
            interacting: self.pipelines.interacting as u32,
            agent_base: chunk.agent_base,
        }
    }

    /// Runs steps `n0..n1` (at most `BATCH` dispatches per chunk) in one submit and
    /// returns the first step after which a position was bad, if any.
    fn batch(&mut self, n0: u64, n1: u64) -> Result<Option<u64>> {
        // One step per dispatch with interaction (the means change every step),
        // else one fused dispatch.
        let dispatches: Vec<(u64, u64)> = if self.pipelines.interacting {
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
                    if let (true, Some([(partial, _), (finish, _)]), Some(m)) = (
                        self.pipelines.interacting,
                        &self.pipelines.mean,
                        &chunk.mean,
                    ) {
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

    /// Records the current step. With device diagnostics the statistics are
    /// computed on the GPU and kept there until [`Self::flush_records`]; otherwise
    /// (a user's WGSL potential) on the host from the positions read back. `x` is
    /// the current positions if the caller has them.
    fn record(&mut self, x: Option<&[f32]>) -> Result<()> {
        let (runs, agents) = (self.shape.runs as u32, self.shape.agents as u32);
        if self.pipelines.diag.is_none() {
            let x = match x {
                Some(x) => x.to_vec(),
                None => self.read_x()?,
            };
            let s = self.shape;
            let stats = run_stats(&self.potential, &x, s.runs, s.agents, s.dim);
            self.history
                .push(self.step, stats, self.keep_snapshots.then_some(&x[..]));
            return Ok(());
        }
        if self.pending.len() as u64 == self.records_cap {
            self.flush_records()?;
        }
        let slot = self.pending.len() as u32;
        let ctx = self.ctx.clone();
        let (Some(diag), Some(mean)) = (&self.pipelines.diag, &self.pipelines.mean) else {
            unreachable!("device diagnostics have their pipelines")
        };
        ctx.scoped(|| {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            for chunk in &self.chunks {
                let (Some(d), Some(m)) = (&chunk.diag, &chunk.mean) else {
                    continue;
                };
                let p = DiagParams {
                    runs: chunk.runs.len() as u32,
                    agents,
                    pow2: d.pow2,
                    ref_count: self.ref_count,
                    record_base: slot * runs + chunk.runs.start as u32,
                    _pad: [0; 3],
                };
                ctx.queue.write_buffer(&d.params, 0, bytemuck::bytes_of(&p));
                let mut pass = enc.begin_compute_pass(&Default::default());
                // The run means of the positions now, for the spread.
                pass.set_pipeline(&mean[0].0);
                pass.set_bind_group(0, &m.partial_bind, &[]);
                pass.dispatch_workgroups(m.partial_grid.0, m.partial_grid.1, 1);
                pass.set_pipeline(&mean[1].0);
                pass.set_bind_group(0, &m.final_bind, &[]);
                pass.dispatch_workgroups(m.final_grid.0, m.final_grid.1, 1);
                pass.set_pipeline(&diag[0].0);
                pass.set_bind_group(0, &d.agent_bind, &[]);
                pass.dispatch_workgroups(d.agent_grid.0, d.agent_grid.1, 1);
                pass.set_pipeline(&diag[1].0);
                pass.set_bind_group(0, &d.run_bind, &[]);
                pass.dispatch_workgroups(d.run_grid.0, d.run_grid.1, 1);
                pass.set_pipeline(&diag[2].0);
                for s in 0..self.pipelines.sort_stages {
                    pass.set_bind_group(0, &d.sort_bind, &[(s as u64 * PARAMS_STRIDE) as u32]);
                    pass.dispatch_workgroups(d.sort_grid.0, d.sort_grid.1, 1);
                }
                pass.set_pipeline(&diag[3].0);
                pass.set_bind_group(0, &d.median_bind, &[]);
                pass.dispatch_workgroups(d.median_grid.0, d.median_grid.1, 1);
            }
            ctx.queue.submit([enc.finish()]);
        })?;
        let snapshot = if self.keep_snapshots {
            Some(match x {
                Some(x) => x.to_vec(),
                None => self.read_x()?,
            })
        } else {
            None
        };
        self.pending.push((self.step, snapshot));
        Ok(())
    }

    /// Reads back the records kept on the device into the history.
    fn flush_records(&mut self) -> Result<()> {
        let Some(records) = &self.records else {
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        let runs = self.shape.runs;
        let bytes = self
            .ctx
            .read_buffer(records, (self.pending.len() * runs * 5 * 4) as u64)?;
        let values: &[f32] = bytemuck::cast_slice(&bytes);
        for (i, (step, snapshot)) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            let stats = (0..runs)
                .map(|r| {
                    let v = &values[(i * runs + r) * 5..(i * runs + r + 1) * 5];
                    RunStats {
                        best: v[0] as f64,
                        worst: v[1] as f64,
                        median: v[2] as f64,
                        best_phi: v[3] as f64,
                        spread: v[4] as f64,
                    }
                })
                .collect();
            self.history.push(step, stats, snapshot.as_deref());
        }
        Ok(())
    }

    /// How many chunks the ensemble is split into.
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }
}

impl<P: Potential> Engine for GpuEngine<P> {
    fn advance(&mut self, steps: u64) -> Result<()> {
        let end = self.schedule.end(self.step, steps)?;
        while self.step < end {
            let seg_end = self.schedule.segment_end(self.step, end, BATCH);
            if let Some(step) = self.batch(self.step, seg_end)? {
                self.flush_records()?;
                // The earliest (step, agent), as the CPU engine names it; the value
                // shown is that agent's first bad coordinate at the end of the batch.
                let mut first: Option<(u64, usize)> = None;
                for chunk in &self.chunks {
                    let bytes = self.ctx.read_buffer(
                        &chunk.bad_steps,
                        (chunk.runs.len() * self.shape.agents * 4) as u64,
                    )?;
                    let steps: &[u32] = bytemuck::cast_slice(&bytes);
                    for (i, &s) in steps.iter().enumerate() {
                        let here = (s as u64, chunk.agent_base as usize + i);
                        if s != u32::MAX && first.is_none_or(|f| here < f) {
                            first = Some(here);
                        }
                    }
                }
                let g = first.map_or(0, |(_, g)| g);
                debug_assert_eq!(first.map(|(s, _)| s), Some(step));
                let x = self.read_x()?;
                let d = self.shape.dim;
                let value = x[g * d..(g + 1) * d]
                    .iter()
                    .copied()
                    .find(|&v| is_bad(v))
                    .unwrap_or(f32::NAN);
                return Err(Error::Diverged {
                    method: self.method.name.clone(),
                    run: g / self.shape.agents,
                    agent: g % self.shape.agents,
                    step,
                    value,
                });
            }
            self.step = seg_end;
            if self.schedule.records_at(self.step) {
                self.record(None)?;
            }
        }
        self.flush_records()
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
