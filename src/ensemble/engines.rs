//! Which engine an ensemble runs on: the GPU the backend asks for (over ranks,
//! the rank's own, and one kind of engine on every rank), and this rank's
//! engine, the whole ensemble or its slice under [`Distributed`]
//! (docs/DESIGN.md section 6.2).

use super::{Backend, Ensemble, Options};
use crate::config::EnsembleConfig;
use crate::engine::{Distributed, Engine, Placement, Relay, Shape, SplitRun};
use crate::error::{ConfigError, Result};
use crate::gpu::GpuContext;
use crate::ranks::Ranks;
use std::sync::Arc;

impl Ensemble {
    /// The GPU context the backend asks for, or why there is none; over
    /// several ranks, the rank's own GPU, and one kind of engine on every rank.
    pub(super) fn choose_gpu(
        options: &Options,
    ) -> Result<(Option<std::sync::Arc<GpuContext>>, Option<String>)> {
        let Some(ranks) = options.ranks.as_ref().filter(|r| r.size() > 1) else {
            return Self::choose_gpu_here(options.backend, GpuContext::shared);
        };
        let local = ranks.local_rank();
        let (gpu, note) = ranks.agree(Self::choose_gpu_here(options.backend, || {
            GpuContext::shared_for_rank(local)
        }))?;
        if ranks.any(gpu.is_none()) && gpu.is_some() {
            return Ok((
                None,
                Some("not every rank has a GPU: every rank runs on the CPU".into()),
            ));
        }
        Ok((gpu, note))
    }

    /// The GPU context `backend` asks for in this process (`shared` opens it),
    /// or why there is none.
    fn choose_gpu_here(
        backend: Backend,
        shared: impl FnOnce() -> std::result::Result<std::sync::Arc<GpuContext>, crate::gpu::GpuError>,
    ) -> Result<(Option<std::sync::Arc<GpuContext>>, Option<String>)> {
        Ok(match backend {
            Backend::Cpu => (None, None),
            Backend::Gpu => (Some(shared()?), None),
            Backend::Auto => match shared() {
                Ok(ctx) if !ctx.is_software() => (Some(ctx), None),
                Ok(ctx) => (
                    None,
                    Some(format!(
                        "the only GPU adapter is a software one ({}), slower than the CPU \
                         engine: running on the CPU (--backend gpu uses it anyway)",
                        ctx.info.name
                    )),
                ),
                Err(crate::gpu::GpuError::NoAdapter(filter)) => (
                    None,
                    // The filter names WGPU_BACKEND or WGPU_ADAPTER_NAME when one of
                    // them ruled the adapters out.
                    Some(format!("no GPU adapter{filter}: running on the CPU")),
                ),
                Err(e) => (
                    None,
                    Some(format!("the GPU cannot be used ({e}): running on the CPU")),
                ),
            },
        })
    }

    /// Every rank's slice of `ensemble`, or why it cannot be split over
    /// `ranks`.
    fn slices_for(
        ranks: &Ranks,
        ensemble: &EnsembleConfig,
        dim: usize,
    ) -> Result<Vec<crate::ranks::Slice>> {
        let slices = crate::ranks::layout::slices(ensemble.runs, ensemble.agents, ranks.size())?;
        // Positions are gathered whole: one all-gather of R N d values.
        let values = ensemble.runs as u128 * ensemble.agents as u128 * dim as u128;
        if values > ranks.max_gather() as u128 {
            return Err(ConfigError {
                field: "ranks".into(),
                value: ranks.size().to_string(),
                allowed: format!(
                    "the positions of {} runs x {} agents x dim {dim} ({values} values) are \
                     gathered in one all-gather, and MPI moves at most {} values in one; \
                     run fewer runs per configuration",
                    ensemble.runs,
                    ensemble.agents,
                    ranks.max_gather()
                ),
            }
            .into());
        }
        Ok(slices)
    }

    /// This rank's engine: `build` gives the engine of a (local) ensemble
    /// configuration at a placement, keeping trajectories or not. Without
    /// ranks, the whole ensemble; over several, this rank's slice under
    /// [`Distributed`], which keeps the trajectories itself.
    pub(super) fn engine_for(
        ensemble: &EnsembleConfig,
        dim: usize,
        options: &Options,
        relay: &Arc<Relay>,
        build: impl FnOnce(&EnsembleConfig, Placement, bool) -> Result<Box<dyn Engine>>,
    ) -> Result<Box<dyn Engine>> {
        let Some(ranks) = options.ranks.as_ref().filter(|r| r.size() > 1) else {
            return build(ensemble, Placement::default(), options.keep_trajectories);
        };
        let slices = ranks.agree(Self::slices_for(ranks, ensemble, dim))?;
        let slice = slices[ranks.rank()];
        let local = EnsembleConfig {
            runs: slice.runs,
            agents: slice.agents,
            ..ensemble.clone()
        };
        let placement = Placement {
            first_agent: slice.first_agent(ensemble.agents),
            split: slice.split.then(|| SplitRun {
                run: slice.first_run,
                run_agents: ensemble.agents,
                first_agent_in_run: slice.first_agent_in_run,
                ranks: ranks.clone(),
            }),
        };
        let engine = ranks.agree(build(&local, placement, false))?;
        let shape = Shape {
            runs: ensemble.runs,
            agents: ensemble.agents,
            dim,
        };
        Ok(Box::new(Distributed::new(
            engine,
            ranks.clone(),
            slice,
            shape,
            options.keep_trajectories,
            relay.clone(),
        )))
    }
}
