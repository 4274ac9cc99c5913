//! How a GPU engine lays out an ensemble (docs/DESIGN.md section 6.1): groups
//! of whole runs per storage binding, a larger run (or a rank's part of one)
//! in parts of whole 256-agent tiles, and every buffer, pipeline and bind
//! group the step, the interactions and the device diagnostics use.

use super::*;

impl<P: Potential> GpuEngine<P> {
    /// [`GpuEngine::new`] for a rank's slice of a larger ensemble: `ensemble`
    /// gives its runs (or, for a part of one run, its agents of that run) and
    /// `placement` where they sit (docs/DESIGN.md section 6.2).
    #[allow(clippy::too_many_arguments, reason = "new's arguments and the slice")]
    pub(crate) fn placed(
        ctx: Arc<GpuContext>,
        potential: P,
        gp: GpuPotential,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        keep_snapshots: bool,
        max_binding: Option<u64>,
        placement: Placement,
    ) -> Result<Self> {
        let Placement { first_agent, split } = placement;
        let shape = Shape {
            runs: ensemble.runs,
            agents: ensemble.agents,
            dim: potential.dim(),
        };
        let plan = StepPlan::new(method, ensemble.steps);
        let consts = *plan.first();
        let len = check_size(shape, 1)?;
        let mut x0 = try_alloc(len, "the positions X")?;
        initial_positions_at(&mut x0, shape, &ensemble.init, ensemble.seed, first_agent)?;
        // A part of one run: its agents are the run's `run_offset..`, and the
        // run means (and l1's sort) are over the run's `run_agents`.
        debug_assert!(split.is_none() || shape.runs == 1);
        let (run_agents, run_offset) = split
            .as_ref()
            .map_or((shape.agents, 0), |s| (s.run_agents, s.first_agent_in_run));

        // CBO runs on the agent kernel: its isotropic noise needs the whole agent.
        let block_kernel =
            potential.separable() && consts.taming != Taming::Norm && consts.cbo.is_none();
        let interacting = method.interacting();
        let l1 = interacting && method.interaction == crate::config::Interaction::L1;
        // A part of a run has no run statistics of its own: the ranks compute
        // them from the gathered positions.
        let device_diag = gp.refs.is_some() && split.is_none();
        let kernel = if block_kernel {
            "step_block"
        } else {
            "step_agent"
        };
        let tuning = Tuning::selected(&ctx)?;
        let opts = shader::ComposeOptions {
            potential: Some(&gp.choice),
            int64: tuning.int64,
            workgroup: tuning.workgroup,
            // step_io_vec4 reads block b of agent g at g d / 4 + b.
            vec4_io: tuning.vec4 && block_kernel && shape.dim.is_multiple_of(4),
            // The scheme's branches fixed for the engine's life (plan.first():
            // scheme, taming and the smoothing's samples do not vary).
            scheme: (tuning.specialize && block_kernel).then(|| shader::SchemeFlags {
                homogenized: consts.homogenized,
                smoothed: consts.smoothing.is_some_and(|s| s.samples != 0),
                interacting: interacting_code(interacting, l1),
                coordinate_taming: consts.taming == Taming::Coordinate,
            }),
        };
        let composed = shader::compose_opts(kernel, &opts).map_err(GpuError::from)?;
        composed.validate().map_err(GpuError::from)?;

        // How the ensemble is laid out in storage bindings: groups of whole runs
        // share run means and diagnostics; a group's positions are one part, or,
        // when one run is larger than a binding, parts of whole tiles of 256
        // agents (the mean reduction's tile, so that no sum changes).
        let limit = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size)
            .min(max_binding.unwrap_or(u64::MAX));
        let pow2 = run_agents.next_power_of_two() as u64;
        let run_bytes = (run_agents * shape.dim) as u64 * 4;
        // Per-agent diagnostics and the sort's space, per run (none for a
        // part of a run, which has no statistics of its own); for l1, the
        // sorted columns too.
        let l1_bytes = if l1 { pow2 * shape.dim as u64 * 4 } else { 0 };
        let diag_bytes = if split.is_some() {
            0
        } else {
            (shape.agents as u64 * 16).max(pow2 * 4)
        };
        let run_diag_bytes = diag_bytes.max(l1_bytes);
        let oversize = |what: String, bytes: u64| {
            Error::Gpu(GpuError::TooLarge {
                what,
                bytes,
                limit,
                adapter: ctx.info.name.clone(),
            })
        };
        if l1 && run_bytes.max(l1_bytes) > limit {
            return Err(oversize(
                format!(
                    "one run of {} agents x dim {} with the l1 interaction (whose sort needs the whole run in one binding)",
                    run_agents, shape.dim
                ),
                run_bytes.max(l1_bytes),
            ));
        }
        if run_diag_bytes > limit {
            return Err(oversize(
                format!("the diagnostics of one run of {} agents", shape.agents),
                run_diag_bytes,
            ));
        }
        let local_run_bytes = (shape.agents * shape.dim) as u64 * 4;
        let (runs_per_group, part_len) = if local_run_bytes <= limit {
            let per = limit / local_run_bytes.max(run_diag_bytes);
            (per.min(shape.runs as u64) as usize, shape.agents)
        } else {
            let tiles = limit / (TILE as u64 * shape.dim as u64 * 4);
            if tiles == 0 {
                let n = shape.agents.min(TILE);
                return Err(oversize(
                    format!("a tile of {n} agents x dim {}", shape.dim),
                    (n * shape.dim) as u64 * 4,
                ));
            }
            (1, tiles as usize * TILE)
        };
        // The reductions' tiles (and the weighted mean's costs, indexed by a
        // part's first agent in its group) rely on a split run's parts starting
        // at whole tiles, each part holding that one run.
        debug_assert!(part_len == shape.agents || (part_len % TILE == 0 && runs_per_group == 1));

        let device = &ctx.device;
        let pipelines = ctx.scoped(|| {
            Pipelines::build(
                &ctx,
                &gp,
                tuning,
                kernel,
                &composed,
                &opts,
                interacting,
                method.interaction,
                device_diag,
                pow2,
            )
        })??;

        let init = |label, contents: &[u8], usage| ctx.buffer_init(label, contents, usage);
        // Records kept on the device between readbacks: as many as one binding holds.
        let record_bytes = shape.runs as u64 * 5 * 4;
        let records_cap = (limit / record_bytes).min(RECORDS_CAP);
        let records_bytes = records_cap.max(1) * record_bytes;
        if device_diag && records_cap == 0 {
            return Err(oversize(
                format!("a record of {} runs", shape.runs),
                record_bytes,
            ));
        }
        let stages = strided(&sort_stages(pow2));
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
                + rd * (1 + run_agents.div_ceil(TILE) as u64)
                + if device_diag {
                    (shape.runs * shape.agents) as u64 * 4 + shape.runs as u64 * pow2
                } else {
                    0
                }
                // The interaction's own buffers, of whole runs (a part of a
                // run too): l1's sign sums and sorted columns (and, split over
                // ranks, the run's positions and this part's signs); the
                // weighted mean's costs, partials, tiles and means.
                + match &pipelines.targets {
                    TargetPipelines::Mean => 0,
                    TargetPipelines::L1(_) => {
                        let run_all = (shape.runs * run_agents * shape.dim) as u64;
                        let split_extra = if split.is_some() { run_all + all } else { 0 };
                        run_all + rd * pow2 + split_extra
                    }
                    TargetPipelines::Weighted(_) => {
                        let tiles = run_agents.div_ceil(TILE) as u64;
                        (shape.runs * run_agents) as u64 + rd * (tiles + 1) + 2 * shape.runs as u64 * tiles
                    }
                });
        let storage = wgpu::BufferUsages::STORAGE;
        let rw = storage | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        let buffer = |label, size| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: storage,
                mapped_at_creation: false,
            })
        };
        let uniform = |label, size| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let bind = |label, layout, bufs: &[(&wgpu::Buffer, Option<u64>)]| {
            crate::gpu::bind_group(device, label, layout, bufs)
        };
        fn whole(b: &wgpu::Buffer) -> (&wgpu::Buffer, Option<u64>) {
            (b, None)
        }
        // The run's tiles: a part of a run fills its own tiles' partial sums
        // and receives the others'.
        let tiles_per_run = run_agents.div_ceil(TILE) as u32;
        // The step kernels add the tiles' sums themselves (0: they read the
        // means that mean_final wrote).
        let mean_tiles = if fuses_mean(
            &tuning,
            interacting && method.interaction == crate::config::Interaction::Mean,
            split.is_some(),
            tiles_per_run as usize,
        ) {
            tiles_per_run
        } else {
            0
        };
        let kgroups = shape.dim.div_ceil(64) as u64;
        let buffer_rw = |label, size: u64| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(4),
                usage: rw,
                mapped_at_creation: false,
            })
        };
        let mut groups = Vec::new();
        let mut exchange_buffers = None;
        for r0 in (0..shape.runs).step_by(runs_per_group) {
            let r1 = (r0 + runs_per_group).min(shape.runs);
            let group_runs = r1 - r0;
            let rk = (group_runs * shape.dim) as u64;
            let group = ctx.scoped(|| -> Result<(Group, ExchangeBuffers)> {
                let means = buffer(
                    "run means",
                    if pipelines.mean.is_some() { rk * 4 } else { 4 },
                );
                // Read back and written over when the run is split over ranks.
                let partial = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("mean partials"),
                    usage: rw,
                    mapped_at_creation: false,
                    size: if pipelines.mean.is_some() {
                        rk * tiles_per_run as u64 * 4
                    } else {
                        4
                    },
                });
                // `tile_base`: the first agent's index in its run.
                let mean_params = |runs: usize, tile_base: usize, part_agents: usize| {
                    let mp = MeanParams {
                        runs: runs as u32,
                        agents: run_agents as u32,
                        dim: shape.dim as u32,
                        chunks: tiles_per_run,
                        tile_base: (tile_base / TILE) as u32,
                        part_agents: part_agents as u32,
                        _pad: [0; 2],
                    };
                    init(
                        "mean params",
                        bytemuck::bytes_of(&mp),
                        wgpu::BufferUsages::UNIFORM,
                    )
                };
                let tb = TargetBuild {
                    ctx: &ctx,
                    // The targets are the whole run's (a split run's too).
                    shape: Shape {
                        agents: run_agents,
                        ..shape
                    },
                    group_runs,
                    tiles_per_run,
                    pow2,
                };
                let target = tb.target_buffer(&pipelines.targets, &means);
                // A split run's l1: the run's positions, gathered, and the
                // kernels' own agents' signs, copied out of the run's.
                let l1_split =
                    split.is_some() && matches!(pipelines.targets, TargetPipelines::L1(_));
                let run_x = l1_split
                    .then(|| buffer_rw("the run's positions", (run_agents * shape.dim) as u64 * 4));
                let step_target = if l1_split {
                    buffer_rw(
                        "l1 sign sums of this rank's agents",
                        (shape.agents * shape.dim) as u64 * 4,
                    )
                } else if mean_tiles > 0 {
                    partial.clone()
                } else {
                    target.clone()
                };
                let mean_final = pipelines.mean.as_ref().map(|[_, (_, layout)]| {
                    let mp = mean_params(group_runs, 0, shape.agents);
                    (
                        bind(
                            "mean_final",
                            layout,
                            &[whole(&mp), whole(&partial), whole(&means)],
                        ),
                        grid(rk as u32, WORKGROUP, max_dim),
                    )
                });
                let per_agent = device_diag.then(|| {
                    buffer(
                        "per-agent diagnostics",
                        (group_runs * shape.agents) as u64 * 16,
                    )
                });
                let mut parts = Vec::new();
                for p0 in (0..shape.agents).step_by(part_len) {
                    let len = part_len.min(shape.agents - p0);
                    // Runs of the group in this part (all, or the one run it splits).
                    let part_runs = if len == shape.agents { group_runs } else { 1 };
                    let agents = part_runs * len;
                    let jobs = if block_kernel {
                        agents * blocks
                    } else {
                        agents
                    };
                    let too_many = || {
                        Error::Gpu(GpuError::TooManyInvocations {
                            invocations: jobs as u64,
                        })
                    };
                    let jobs = u32::try_from(jobs).map_err(|_| too_many())?;
                    let first = r0 * shape.agents + p0;
                    let agent_base = u32::try_from(first).map_err(|_| too_many())?;
                    let x0c = &x0[first * shape.dim..(first + agents) * shape.dim];
                    let params = uniform("step params", PARAMS_STRIDE * BATCH);
                    let x = init("X", bytemuck::cast_slice(x0c), rw);
                    // Y starts at X; Euler methods bind a placeholder (of one
                    // vec4, which step_io_vec4 declares as Y's element).
                    let y = if consts.homogenized {
                        init("Y", bytemuck::cast_slice(x0c), rw)
                    } else {
                        init("Y (unused)", &[0u8; 16], rw)
                    };
                    let status = init("status", bytemuck::bytes_of(&u32::MAX), rw);
                    let bad_steps = init(
                        "bad steps",
                        bytemuck::cast_slice(&vec![u32::MAX; agents]),
                        rw,
                    );
                    let step_params = Some(std::mem::size_of::<StepParams>() as u64);
                    let step_bind = bind(
                        kernel,
                        &pipelines.step_layout,
                        &[
                            whole(&potential_params),
                            whole(&coord_consts),
                            (&params, step_params),
                            whole(&x),
                            whole(&y),
                            whole(&step_target),
                            whole(&status),
                            whole(&bad_steps),
                        ],
                    );
                    let mean_partial = pipelines.mean.as_ref().map(|[(_, layout), _]| {
                        let mp = mean_params(part_runs, run_offset + p0, len);
                        // A workgroup per (run, tile of 256 agents, 64 coordinates).
                        let count = part_runs as u64 * len.div_ceil(TILE) as u64 * kgroups;
                        (
                            bind(
                                "mean_partial",
                                layout,
                                &[whole(&mp), whole(&x), whole(&partial)],
                            ),
                            grid(count as u32, 1, max_dim),
                        )
                    });
                    let diag_agent = pipelines.diag.as_ref().zip(per_agent.as_ref()).map(
                        |([(_, layout), ..], per_agent)| {
                            let dp =
                                uniform("diag params", std::mem::size_of::<DiagParams>() as u64);
                            let b = bind(
                                "diag_agent",
                                layout,
                                &[
                                    whole(&potential_params),
                                    whole(&coord_consts),
                                    whole(&dp),
                                    whole(&x),
                                    whole(&means),
                                    whole(&refs),
                                    whole(per_agent),
                                ],
                            );
                            (dp, b, grid(agents as u32, WORKGROUP, max_dim))
                        },
                    );
                    parts.push(Part {
                        agent_base,
                        agents,
                        group_offset: run_offset + p0,
                        jobs,
                        step_grid: grid(jobs, tuning.workgroup, max_dim),
                        params,
                        x,
                        y: consts.homogenized.then_some(y),
                        status,
                        bad_steps,
                        step_bind,
                        mean_partial,
                        diag_agent,
                    });
                }
                // diag_run, the sort and diag_median read the group's fields of the
                // first part's parameters.
                let diag = pipelines
                    .diag
                    .as_ref()
                    .zip(per_agent.as_ref())
                    .zip(parts[0].diag_agent.as_ref())
                    .map(
                        |(([_, (_, run), (_, sort), (_, median)], per_agent), (dp, _, _))| {
                            let scratch = buffer("sort scratch", group_runs as u64 * pow2 * 4);
                            let records = records
                                .as_ref()
                                .expect("device diagnostics have a records buffer");
                            GroupDiag {
                                run_bind: bind(
                                    "diag_run",
                                    run,
                                    &[whole(dp), whole(per_agent), whole(&scratch), whole(records)],
                                ),
                                sort_bind: bind(
                                    "sort_stage",
                                    sort,
                                    &[whole(dp), (&stage_buf, Some(16)), whole(&scratch)],
                                ),
                                median_bind: bind(
                                    "diag_median",
                                    median,
                                    &[whole(dp), whole(&scratch), whole(records)],
                                ),
                                run_grid: grid(group_runs as u32, 1, max_dim),
                                sort_grid: grid(
                                    (group_runs as u64 * pow2 / 2) as u32,
                                    WORKGROUP,
                                    max_dim,
                                ),
                                median_grid: grid(group_runs as u32, WORKGROUP, max_dim),
                                pow2: pow2 as u32,
                            }
                        },
                    );
                let targets = match &pipelines.targets {
                    TargetPipelines::Mean => GroupTargets::Mean,
                    TargetPipelines::Weighted(pipes) => {
                        let final_params = mean_params(group_runs, 0, shape.agents);
                        // Each part's weighted_partial pass, over its own tiles.
                        let passes: Vec<WeightedPart> = parts
                            .iter()
                            .map(|p| {
                                let part_runs = if p.agents == group_runs * shape.agents {
                                    group_runs
                                } else {
                                    1
                                };
                                let len = p.agents / part_runs;
                                let count = part_runs as u64 * len.div_ceil(TILE) as u64 * kgroups;
                                WeightedPart {
                                    params: &p.params,
                                    x: &p.x,
                                    mean_params: mean_params(part_runs, p.group_offset, len),
                                    grid: grid(count as u32, 1, max_dim),
                                }
                            })
                            .collect();
                        tb.weighted(
                            pipes,
                            (&potential_params, &coord_consts),
                            &passes,
                            &final_params,
                            &target,
                        )
                    }
                    TargetPipelines::L1(pipes) => tb.l1(
                        pipes,
                        run_x.as_ref().unwrap_or(&parts[0].x),
                        &stage_buf,
                        &target,
                    ),
                };
                let exchange = ExchangeBuffers {
                    partial: partial.clone(),
                    run_x,
                    target: target.clone(),
                    step_target,
                };
                Ok((
                    Group {
                        runs: r0..r1,
                        mean_final,
                        targets,
                        diag,
                        parts,
                    },
                    exchange,
                ))
            });
            let group = group
                .map_err(|e| match e {
                    GpuError::OutOfMemory {
                        adapter, message, ..
                    } => GpuError::OutOfMemory {
                        needed: Some(device_bytes),
                        adapter,
                        message,
                    },
                    other => other,
                })
                .map_err(Error::Gpu)??;
            exchange_buffers = Some(group.1);
            groups.push(group.0);
        }
        let exchange = match (split, exchange_buffers) {
            (Some(run), Some(buffers)) if interacting => {
                Some(Exchange::new(run, buffers, &groups[0].targets, shape))
            }
            _ => None,
        };

        let engine = Self {
            ctx,
            potential,
            consts,
            plan,
            shape,
            first_agent,
            exchange,
            key: rng::key_from_seed(ensemble.seed),
            keep_snapshots,
            block_kernel,
            tuning,
            vec4_io: opts.vec4_io,
            scheme: opts.scheme,
            mean_tiles,
            pipelines,
            groups,
            records,
            records_cap,
            ref_count,
            pending: Vec::new(),
        };
        Ok(engine)
    }
}
