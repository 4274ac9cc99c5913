//! What the agents of a group are pulled towards at the start of a step, on the
//! device (docs/DESIGN.md section 2.7), the twin of `engine/cpu/interaction.rs`:
//! the run means (`mean_partial`, `mean_final`), the weighted means
//! (`weight_agent`, `weighted_partial`, `weighted_final`, over the same tiles),
//! or the l1 sign sums (`l1_fill`, a segmented bitonic sort by `sort_stage`,
//! `l1_sign`). The step kernels read the result from their `means` binding.

use super::*;
use crate::config::Interaction;
use params::L1Params;

/// The interaction's pipelines beyond the mean's, built once per engine.
pub(super) enum TargetPipelines {
    /// The plain mean: the engine's mean passes.
    Mean,
    /// `weight_agent`, `weighted_partial`, `weighted_final`.
    Weighted([(wgpu::ComputePipeline, wgpu::BindGroupLayout); 3]),
    /// `l1_fill`, `sort_stage`, `l1_sign`.
    L1([(wgpu::ComputePipeline, wgpu::BindGroupLayout); 3]),
}

impl TargetPipelines {
    /// The pipelines of `interaction` (inside the caller's error scope); the
    /// weighted mean's `weight_agent` is composed with the potential as
    /// `opts` say.
    pub(super) fn build(
        ctx: &GpuContext,
        interaction: Interaction,
        opts: &shader::ComposeOptions,
    ) -> std::result::Result<Self, GpuError> {
        use Binding::*;
        let plain = |name: &str, bindings: &[Binding]| {
            let src = shader::compose(name).expect("the built-in kernels compose");
            ctx.pipeline(name, &src.source, bindings)
        };
        Ok(match interaction {
            Interaction::Mean => TargetPipelines::Mean,
            Interaction::Weighted { .. } => {
                // A user's module may lack potential_value: say so by name.
                let weigh = shader::compose_opts("weight_agent", opts)
                    .and_then(|c| c.validate().map(|_| c))
                    .map_err(GpuError::from)?;
                TargetPipelines::Weighted([
                    ctx.pipeline(
                        "weight_agent",
                        &weigh.source,
                        &[
                            Uniform,
                            StorageRead,
                            UniformDynamic(std::mem::size_of::<StepParams>() as u64),
                            StorageRead,
                            StorageReadWrite,
                        ],
                    ),
                    plain(
                        "weighted_partial",
                        &[
                            Uniform,
                            StorageRead,
                            StorageRead,
                            StorageReadWrite,
                            StorageReadWrite,
                        ],
                    ),
                    plain(
                        "weighted_final",
                        &[Uniform, StorageRead, StorageRead, StorageReadWrite],
                    ),
                ])
            }
            Interaction::L1 => TargetPipelines::L1([
                plain("l1_fill", &[Uniform, StorageRead, StorageReadWrite]),
                plain(
                    "sort_stage",
                    &[Uniform, UniformDynamic(16), StorageReadWrite],
                ),
                plain(
                    "l1_sign",
                    &[Uniform, StorageRead, StorageRead, StorageReadWrite],
                ),
            ]),
        })
    }
}

/// A bind group and its dispatch grid.
pub(super) type Pass = (wgpu::BindGroup, (u32, u32));

/// A group's interaction passes (what [`TargetPipelines`] runs on its buffers).
pub(super) enum GroupTargets {
    /// The run means into the group's `means`.
    Mean,
    /// Per part: `weight_agent` (the part's step parameters at the dispatch's
    /// offset) and `weighted_partial`; then `weighted_final` over the group,
    /// from the tiles' weighted sums and `(c_t, W_t)` in `records`.
    Weighted {
        parts: Vec<(Pass, Pass)>,
        finish: Pass,
        records: (wgpu::Buffer, wgpu::Buffer),
    },
    /// Over the group (whose runs are never split into parts for l1; a
    /// run split over ranks sorts the whole run's gathered positions).
    L1 { fill: Pass, sort: Pass, sign: Pass },
}

impl<P: Potential> GpuEngine<P> {
    /// The targets of a group's positions now, for step dispatch `i` (whose
    /// parameters hold `alpha`): the tiles' records, then the targets.
    pub(super) fn encode_targets(&self, pass: &mut wgpu::ComputePass<'_>, group: &Group, i: usize) {
        self.encode_tile_records(pass, group, i);
        self.encode_targets_from_records(pass, group);
    }

    /// The first half of [`Self::encode_targets`]: each part's tiles'
    /// records (the plain or weighted sums; nothing for l1). A run split over
    /// ranks exchanges them before the second half.
    pub(super) fn encode_tile_records(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        group: &Group,
        i: usize,
    ) {
        match (&self.pipelines.targets, &group.targets) {
            (
                TargetPipelines::Weighted([weigh, partial, _]),
                GroupTargets::Weighted { parts, .. },
            ) => {
                pass.set_pipeline(&weigh.0);
                for ((b, g), _) in parts {
                    pass.set_bind_group(0, b, &[(i as u64 * PARAMS_STRIDE) as u32]);
                    pass.dispatch_workgroups(g.0, g.1, 1);
                }
                pass.set_pipeline(&partial.0);
                for (_, (b, g)) in parts {
                    pass.set_bind_group(0, b, &[]);
                    pass.dispatch_workgroups(g.0, g.1, 1);
                }
            }
            (TargetPipelines::L1(_), _) => {}
            _ => self.encode_mean_partials(pass, group),
        }
    }

    /// The second half of [`Self::encode_targets`]: the targets from every
    /// tile's records (l1: from the positions, whose sign sums need no
    /// records; the plain mean fused into the step kernels: nothing, they add
    /// the records themselves).
    pub(super) fn encode_targets_from_records(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        group: &Group,
    ) {
        match (&self.pipelines.targets, &group.targets) {
            (
                TargetPipelines::Weighted([_, _, finish]),
                GroupTargets::Weighted { finish: f, .. },
            ) => {
                pass.set_pipeline(&finish.0);
                pass.set_bind_group(0, &f.0, &[]);
                pass.dispatch_workgroups(f.1.0, f.1.1, 1);
            }
            (
                TargetPipelines::L1([fill, sort, sign]),
                GroupTargets::L1 {
                    fill: fp,
                    sort: sp,
                    sign: gp,
                },
            ) => {
                pass.set_pipeline(&fill.0);
                pass.set_bind_group(0, &fp.0, &[]);
                pass.dispatch_workgroups(fp.1.0, fp.1.1, 1);
                pass.set_pipeline(&sort.0);
                for s in 0..self.pipelines.sort_stages {
                    pass.set_bind_group(0, &sp.0, &[(s as u64 * PARAMS_STRIDE) as u32]);
                    pass.dispatch_workgroups(sp.1.0, sp.1.1, 1);
                }
                pass.set_pipeline(&sign.0);
                pass.set_bind_group(0, &gp.0, &[]);
                pass.dispatch_workgroups(gp.1.0, gp.1.1, 1);
            }
            _ if self.mean_tiles > 0 => {}
            _ => self.encode_mean_final(pass, group),
        }
    }
}

/// One part of a group, for the weighted mean's passes: its step parameters
/// (which hold `alpha`), positions, and `weighted_partial`'s parameters and
/// grid over its tiles.
pub(super) struct WeightedPart<'a> {
    pub(super) params: &'a wgpu::Buffer,
    pub(super) x: &'a wgpu::Buffer,
    pub(super) mean_params: wgpu::Buffer,
    pub(super) grid: (u32, u32),
}

/// The buffers and bind groups of one group's interaction passes.
pub(super) struct TargetBuild<'a> {
    pub(super) ctx: &'a GpuContext,
    pub(super) shape: Shape,
    pub(super) group_runs: usize,
    pub(super) tiles_per_run: u32,
    pub(super) pow2: u64,
}

impl TargetBuild<'_> {
    /// The buffer the step kernels read as `means`: the run means' own
    /// (`means`, for the plain mean), the weighted means, or the l1 sign sums.
    pub(super) fn target_buffer(
        &self,
        pipelines: &TargetPipelines,
        means: &wgpu::Buffer,
    ) -> wgpu::Buffer {
        let (rk, all) = (
            (self.group_runs * self.shape.dim) as u64,
            (self.group_runs * self.shape.agents * self.shape.dim) as u64,
        );
        match pipelines {
            TargetPipelines::Mean => means.clone(),
            TargetPipelines::Weighted(_) => self.storage("weighted means", rk * 4),
            TargetPipelines::L1(_) => self.storage("l1 sign sums", all * 4),
        }
    }

    fn storage(&self, label: &str, size: u64) -> wgpu::Buffer {
        self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(4),
            // A run split over ranks reads its tiles' records back and
            // writes every rank's in.
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// The weighted mean's passes over the group's `parts`.
    pub(super) fn weighted(
        &self,
        pipes: &[(wgpu::ComputePipeline, wgpu::BindGroupLayout); 3],
        potential: (&wgpu::Buffer, &wgpu::Buffer),
        parts: &[WeightedPart],
        final_params: &wgpu::Buffer,
        target: &wgpu::Buffer,
    ) -> GroupTargets {
        let device = &self.ctx.device;
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        let costs = self.storage(
            "weighted mean costs",
            (self.group_runs * self.shape.agents) as u64 * 4,
        );
        let rk = (self.group_runs * self.shape.dim) as u64;
        let partial = self.storage("weighted mean partials", rk * self.tiles_per_run as u64 * 4);
        let tile_stats = self.storage(
            "weighted mean tiles",
            self.group_runs as u64 * self.tiles_per_run as u64 * 8,
        );
        let step_size = Some(std::mem::size_of::<StepParams>() as u64);
        let parts = parts
            .iter()
            .map(|part| {
                let (params, x) = (part.params, part.x);
                let agents = x.size() / 4 / self.shape.dim as u64;
                let weigh = crate::gpu::bind_group(
                    device,
                    "weight_agent",
                    &pipes[0].1,
                    &[
                        (potential.0, None),
                        (potential.1, None),
                        (params, step_size),
                        (x, None),
                        (&costs, None),
                    ],
                );
                let sums = crate::gpu::bind_group(
                    device,
                    "weighted_partial",
                    &pipes[1].1,
                    &[
                        (&part.mean_params, None),
                        (x, None),
                        (&costs, None),
                        (&partial, None),
                        (&tile_stats, None),
                    ],
                );
                (
                    (weigh, grid(agents as u32, WORKGROUP, max_dim)),
                    (sums, part.grid),
                )
            })
            .collect();
        let finish = crate::gpu::bind_group(
            device,
            "weighted_final",
            &pipes[2].1,
            &[
                (final_params, None),
                (&partial, None),
                (&tile_stats, None),
                (target, None),
            ],
        );
        GroupTargets::Weighted {
            parts,
            finish: (finish, grid(rk as u32, WORKGROUP, max_dim)),
            records: (partial, tile_stats),
        }
    }

    /// The l1 interaction's passes over the group's one part `x`; `stages` holds
    /// the sort's stage blocks.
    pub(super) fn l1(
        &self,
        pipes: &[(wgpu::ComputePipeline, wgpu::BindGroupLayout); 3],
        x: &wgpu::Buffer,
        stages: &wgpu::Buffer,
        target: &wgpu::Buffer,
    ) -> GroupTargets {
        let device = &self.ctx.device;
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        let (n, d) = (self.shape.agents as u64, self.shape.dim as u64);
        let segments = self.group_runs as u64 * d;
        let scratch = self.storage("l1 sorted columns", segments * self.pow2 * 4);
        let lp = L1Params {
            runs: self.group_runs as u32,
            agents: n as u32,
            dim: d as u32,
            pow2: self.pow2 as u32,
        };
        let lp = self.ctx.buffer_init(
            "l1 params",
            bytemuck::bytes_of(&lp),
            wgpu::BufferUsages::UNIFORM,
        );
        // sort_stage sorts `runs` segments of `pow2`: here one per (run, coordinate).
        let dp = DiagParams {
            runs: segments as u32,
            agents: n as u32,
            pow2: self.pow2 as u32,
            ref_count: 0,
            record_base: 0,
            agent_offset: 0,
            part_agents: 0,
            _pad: 0,
        };
        let dp = self.ctx.buffer_init(
            "l1 sort params",
            bytemuck::bytes_of(&dp),
            wgpu::BufferUsages::UNIFORM,
        );
        let bind = |label, layout, bufs: &[(&wgpu::Buffer, Option<u64>)]| {
            crate::gpu::bind_group(device, label, layout, bufs)
        };
        GroupTargets::L1 {
            fill: (
                bind(
                    "l1_fill",
                    &pipes[0].1,
                    &[(&lp, None), (x, None), (&scratch, None)],
                ),
                grid((segments * self.pow2) as u32, WORKGROUP, max_dim),
            ),
            sort: (
                bind(
                    "l1 sort_stage",
                    &pipes[1].1,
                    &[(&dp, None), (stages, Some(16)), (&scratch, None)],
                ),
                grid((segments * self.pow2 / 2) as u32, WORKGROUP, max_dim),
            ),
            sign: (
                bind(
                    "l1_sign",
                    &pipes[2].1,
                    &[(&lp, None), (x, None), (&scratch, None), (target, None)],
                ),
                grid((self.group_runs as u64 * n * d) as u32, WORKGROUP, max_dim),
            ),
        }
    }
}
