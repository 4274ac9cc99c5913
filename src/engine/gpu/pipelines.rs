//! The engine's compute pipelines, built once per engine: the step kernel (with
//! the potential composed in), the mean reduction, and the device diagnostics.

use super::*;

/// The pipelines, built once per engine and shared by its groups.
pub(super) struct Pipelines {
    pub(super) step: wgpu::ComputePipeline,
    pub(super) step_layout: wgpu::BindGroupLayout,
    /// Mean reduction (for interaction and the spread): pipelines and layouts.
    pub(super) mean: Option<[(wgpu::ComputePipeline, wgpu::BindGroupLayout); 2]>,
    /// Diagnostics on the device (`diag_agent`, `diag_run`, `sort_stage`,
    /// `diag_median`), for built-ins.
    pub(super) diag: Option<[(wgpu::ComputePipeline, wgpu::BindGroupLayout); 4]>,
    /// The bitonic sort's stages, one parameter block each.
    pub(super) sort_stages: u32,
    pub(super) interacting: bool,
    /// The interaction's own passes (weighted mean, l1).
    pub(super) targets: TargetPipelines,
}

impl Pipelines {
    /// Builds them (inside the caller's error scope); `kernel` is the step
    /// kernel's name and `composed` its source.
    #[allow(
        clippy::too_many_arguments,
        reason = "the engine's construction state, passed once"
    )]
    pub(super) fn build(
        ctx: &GpuContext,
        gp: &GpuPotential,
        tuning: Tuning,
        kernel: &str,
        composed: &shader::Composed,
        opts: &shader::ComposeOptions,
        interacting: bool,
        interaction: crate::config::Interaction,
        device_diag: bool,
        pow2: u64,
    ) -> std::result::Result<Self, GpuError> {
        use Binding::*;
        // A user's module keeps every check.
        let checks = if gp.choice.source.is_some() {
            Checks::All
        } else {
            tuning.checks
        };
        let (step, step_layout) = ctx.pipeline_checked(
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
            checks,
        );
        let mean = (interacting || device_diag).then(|| {
            ["mean_partial", "mean_final"].map(|name| {
                let src = shader::compose(name).expect("the built-in kernels compose");
                ctx.pipeline(name, &src.source, &[Uniform, StorageRead, StorageReadWrite])
            })
        });
        let diag = device_diag.then(|| {
            let agent =
                shader::compose_opts("diag_agent", opts).expect("the built-in kernels compose");
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
        let targets = if interacting {
            TargetPipelines::build(ctx, interaction, opts)?
        } else {
            TargetPipelines::Mean
        };
        Ok(Pipelines {
            step,
            step_layout,
            mean,
            diag,
            sort_stages,
            interacting,
            targets,
        })
    }
}
