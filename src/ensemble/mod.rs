//! [`Ensemble`], the library's entry point: one method run over `R` runs of `N`
//! agents on a potential, on the engine the [`Backend`] picks; its lifecycle
//! (stopping rules, interruption, checkpoints) is in `lifecycle.rs`.

mod engines;
mod lifecycle;

use crate::config::{EnsembleConfig, Init, MethodConfig, ProblemConfig};
use crate::diagnostics::History;
use crate::engine::Relay;
use crate::engine::cpu::CpuPath;
use crate::engine::gpu::GpuEngine;
use crate::engine::memory::Footprint;
use crate::engine::{CpuEngine, Driver, Engine, Observer, ObserverId, Schedule, Shape};
use crate::error::{ConfigError, Result, Unsupported};
use crate::gpu::{GpuContext, potential::GpuPotential};
use crate::potential::with_builtin;
use crate::potential::{Builtin, Potential};
use crate::ranks::Ranks;
use ndarray::Array3;
use std::sync::Arc;
use std::time::Duration;

/// Which engine runs an ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// A GPU when there is one, otherwise the CPU (and [`Ensemble::backend_note`] says so).
    #[default]
    Auto,
    /// The CPU engine (rayon threads, SIMD lanes where the potential allows).
    Cpu,
    /// The GPU engine (wgpu), on any adapter including a software one; an error
    /// if there is no adapter.
    Gpu,
}

/// How to build an ensemble, beyond its configuration.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which engine runs the ensemble (default [`Backend::Auto`]).
    pub backend: Backend,
    /// Keep the positions at every recorded step (for trajectories).
    pub keep_trajectories: bool,
    /// Force the CPU engine's agent path (for checks; the default picks the fastest).
    #[doc(hidden)]
    pub cpu_path: CpuPath,
    /// Keep each of the GPU engine's buffers under this many bytes (default: the
    /// device's storage-binding limit), splitting the ensemble into groups of
    /// whole runs and, if one run is larger, runs into parts of whole
    /// 256-agent tiles. For tests of that split.
    #[doc(hidden)]
    pub gpu_max_binding: Option<u64>,
    /// Split the ensemble over these ranks (docs/DESIGN.md section 6.2): every
    /// rank builds the same ensemble and makes the same calls; each holds its
    /// slice of the agents on its own engine, and every call returns what one
    /// process would, byte for byte. `None` (the default): all agents here.
    pub ranks: Option<Ranks>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            backend: Backend::Auto,
            keep_trajectories: false,
            cpu_path: CpuPath::Auto,
            gpu_max_binding: None,
            ranks: None,
        }
    }
}

impl ProblemConfig {
    /// The built-in `potential` in dimension `dim`, unshifted; validated when an
    /// ensemble is built from it.
    pub fn new(potential: crate::config::PotentialKind, dim: usize) -> Self {
        Self {
            potential,
            dim,
            shift: None,
        }
    }

    /// Translates the potential: `Phi(x - shift)`, `dim` entries.
    pub fn shift(mut self, shift: Vec<f64>) -> Self {
        self.shift = Some(shift);
        self
    }
}

impl EnsembleConfig {
    /// `runs x agents`, `steps` outer steps, seed 0, initial positions uniform on
    /// `[-1, 1]^d`, about 200 records; adjust with the methods below.
    pub fn new(runs: usize, agents: usize, steps: u64) -> Self {
        Self {
            runs,
            agents,
            steps,
            seed: 0,
            record_every: crate::config::default_record_every(steps),
            init: Init::Uniform { lo: -1.0, hi: 1.0 },
        }
    }

    /// Sets the seed, the Philox key of every random number.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Records the diagnostics every `every` outer steps (besides step 0 and the
    /// final step).
    pub fn record_every(mut self, every: u64) -> Self {
        self.record_every = every;
        self
    }

    /// Starts every coordinate uniform on `[lo, hi]`.
    pub fn init_uniform(mut self, lo: f64, hi: f64) -> Self {
        self.init = Init::Uniform { lo, hi };
        self
    }

    /// Starts coordinate `k` uniform on `[lo[k], hi[k]]` (`dim` entries each).
    pub fn init_box(mut self, lo: Vec<f64>, hi: Vec<f64>) -> Self {
        self.init = Init::Box { lo, hi };
        self
    }

    /// Starts coordinate `k` normal with mean `mean[k]` and standard deviation
    /// `std[k]` (each one value for every coordinate, or `dim` values).
    pub fn init_normal(mut self, mean: Vec<f64>, std: Vec<f64>) -> Self {
        self.init = Init::Normal { mean, std };
        self
    }
}

/// One method advancing `runs x agents` agents on a potential.
///
/// ```
/// use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, Taming};
/// use sgld_swarm::potential::{Rough, Shift};
///
/// let potential = Rough::new(0.01, Shift::zero(4));
/// let ensemble = EnsembleConfig::new(2, 16, 10).seed(7).init_uniform(-5.0, 5.0);
/// let method = MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 20)
///     .lambda(3.0)
///     .taming(Taming::Coordinate);
/// let mut e = Ensemble::with_potential(potential, &ensemble, &method, Options::default())?;
/// e.run()?;
/// assert_eq!(e.positions()?.shape(), &[2, 16, 4]);
/// # Ok::<(), sgld_swarm::Error>(())
/// ```
pub struct Ensemble {
    ensemble: EnsembleConfig,
    method: MethodConfig,
    dim: usize,
    driver: Driver,
    note: Option<String>,
    /// The ranks the ensemble is split over (two or more), if it is.
    ranks: Option<Ranks>,
    /// Over ranks: the interruption passed between them.
    relay: Arc<Relay>,
}

impl Ensemble {
    /// An ensemble on a built-in potential described by `problem`, on the engine
    /// `options.backend` picks.
    pub fn new(
        problem: &ProblemConfig,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: Options,
    ) -> Result<Self> {
        // Before the potential (its shift has dim entries) or anything else
        // exists; over ranks, agreed (the memory each rank sees is its own).
        let checked = (|| {
            problem.validate()?;
            ensemble.validate()?;
            method.validate(0)?;
            Footprint::engine(ensemble, method, problem.dim, options.keep_trajectories).check()
        })();
        crate::ranks::agree(options.ranks.as_ref(), checked)?;
        Self::from_builtin(Builtin::from_problem(problem), ensemble, method, options)
    }

    /// An ensemble on a built-in potential given as a value, on either engine.
    fn from_builtin(
        builtin: Builtin,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: Options,
    ) -> Result<Self> {
        // Before anything large exists.
        Self::check_potential(&builtin, ensemble, method, &options)?;
        let (gpu, note) = Self::choose_gpu(&options)?;
        match gpu {
            Some(ctx) => {
                let gp = GpuPotential::new(&builtin);
                Self::on_gpu(ctx, builtin, gp, ensemble, method, options)
            }
            None => with_builtin!(builtin, p => Self::on_cpu(p, ensemble, method, options, note)),
        }
    }

    /// An ensemble on any potential: a built-in type (`Rough`, `Builtin`, ...)
    /// runs on the engine `options.backend` picks, as with [`Ensemble::new`];
    /// any other type (such as a user's own) runs on the CPU, or on the GPU
    /// through [`Ensemble::with_wgsl_potential`] with a WGSL twin.
    pub fn with_potential<P: Potential + 'static>(
        potential: P,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: Options,
    ) -> Result<Self> {
        if let Some(builtin) = Builtin::from_any(&potential) {
            return Self::from_builtin(builtin, ensemble, method, options);
        }
        Self::check_potential(&potential, ensemble, method, &options)?;
        let note = match options.backend {
            Backend::Gpu => {
                return Err(Unsupported::RustPotentialOnGpu {
                    potential: potential.name(),
                }
                .into());
            }
            Backend::Auto => Some(format!(
                "{} is defined in Rust alone (the GPU engine needs a WGSL twin): running on the CPU",
                potential.name()
            )),
            Backend::Cpu => None,
        };
        Self::on_cpu(potential, ensemble, method, options, note)
    }

    /// An ensemble training the network of the paper's Figure 3: on the GPU with
    /// its own kernels (`shaders/resnet_grad.wgsl`, `shaders/net_update.wgsl`)
    /// when the backend chooses one, else on the CPU engine.
    pub fn with_network(
        loss: crate::nn::loss::EllipsesLoss,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: Options,
    ) -> Result<Self> {
        let checked = ensemble.validate().and_then(|()| method.validate(0));
        crate::ranks::agree(options.ranks.as_ref(), checked.map_err(Into::into))?;
        // What the network's GPU engine does not run goes to the CPU under Auto.
        let gpu_can = matches!(
            method.scheme,
            crate::config::Scheme::Euler | crate::config::Scheme::Homogenized { .. }
        ) && method.taming != crate::config::Taming::Norm
            && method.interaction == crate::config::Interaction::Mean;
        if options.backend == Backend::Auto && !gpu_can {
            let note = "the network's GPU engine runs the Euler and homogenized schemes \
                        with the plain mean and without norm taming: running on the CPU";
            return Self::on_cpu(loss, ensemble, method, options, Some(note.to_string()));
        }
        if options.ranks.as_ref().is_some_and(|r| r.size() > 1) {
            return match options.backend {
                Backend::Gpu => Err(Unsupported::OneProcessOnly {
                    what: "the network's GPU engine",
                }
                .into()),
                _ => {
                    let note = "the network's GPU engine runs in one process: the ranks run \
                                on the CPU";
                    Self::on_cpu(loss, ensemble, method, options, Some(note.to_string()))
                }
            };
        }
        let (gpu, note) = Self::choose_gpu(&options)?;
        match gpu {
            Some(ctx) => {
                let dim = loss.dim();
                let engine = crate::engine::gpu::net::GpuNetEngine::new(
                    ctx,
                    loss,
                    ensemble,
                    method,
                    options.keep_trajectories,
                )?;
                let relay = Arc::new(Relay::default());
                Self::assemble(
                    ensemble,
                    method,
                    dim,
                    Box::new(engine),
                    options,
                    None,
                    relay,
                )
            }
            None => Self::on_cpu(loss, ensemble, method, options, note),
        }
    }

    /// An ensemble on a user's potential with a WGSL twin for the GPU engine:
    /// `potential` (Rust) gives the CPU engine and the diagnostics, `wgsl` the GPU
    /// kernels' gradient. The module is validated first, whatever the backend, and
    /// an error names its line. What the module must define is in the crate docs.
    pub fn with_wgsl_potential<P: Potential + 'static>(
        potential: P,
        wgsl: &str,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: Options,
    ) -> Result<Self> {
        Self::check_potential(&potential, ensemble, method, &options)?;
        let gp = if potential.stochastic() {
            Err(Unsupported::StochasticOnGpu {
                potential: potential.name(),
            }
            .into())
        } else {
            GpuPotential::user(wgsl, &potential).map_err(|e| crate::gpu::GpuError::from(e).into())
        };
        let gp = crate::ranks::agree(options.ranks.as_ref(), gp)?;
        let (gpu, note) = Self::choose_gpu(&options)?;
        match gpu {
            Some(ctx) => Self::on_gpu(ctx, potential, gp, ensemble, method, options),
            None => Self::on_cpu(potential, ensemble, method, options, note),
        }
    }

    /// The configurations, then a user's potential: a dimension, consistent
    /// parameters, and memory for the ensemble it is to run; over ranks,
    /// agreed.
    fn check_potential<P: Potential>(
        potential: &P,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: &Options,
    ) -> Result<()> {
        let checked = Self::check_potential_here(potential, ensemble, method, options);
        crate::ranks::agree(options.ranks.as_ref(), checked)
    }

    fn check_potential_here<P: Potential>(
        potential: &P,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: &Options,
    ) -> Result<()> {
        ensemble.validate()?;
        method.validate(0)?;
        if potential.dim() == 0 {
            return Err(ConfigError {
                field: "potential.dim()".into(),
                value: "0".into(),
                allowed: "must be at least 1".into(),
            }
            .into());
        }
        potential.check()?;
        if !potential.has_gradient() && !matches!(method.scheme, crate::config::Scheme::Cbo { .. })
        {
            return Err(ConfigError {
                field: "method.scheme".into(),
                value: format!("{:?}", method.scheme.name()),
                allowed: format!(
                    "the potential {} gives its value only: it runs with scheme = \"cbo\", which takes no gradient",
                    potential.name()
                ),
            }
            .into());
        }
        Footprint::engine(ensemble, method, potential.dim(), options.keep_trajectories).check()
    }

    fn on_gpu<P: Potential + 'static>(
        ctx: std::sync::Arc<GpuContext>,
        potential: P,
        gp: GpuPotential,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: Options,
    ) -> Result<Self> {
        let dim = potential.dim();
        let max_binding = options.gpu_max_binding;
        let relay = Arc::new(Relay::default());
        let engine =
            Self::engine_for(ensemble, dim, &options, &relay, |local, placement, keep| {
                Ok(Box::new(GpuEngine::placed(
                    ctx,
                    potential,
                    gp,
                    local,
                    method,
                    keep,
                    max_binding,
                    placement,
                )?))
            })?;
        Self::assemble(ensemble, method, dim, engine, options, None, relay)
    }

    fn on_cpu<P: Potential + 'static>(
        potential: P,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: Options,
        note: Option<String>,
    ) -> Result<Self> {
        let dim = potential.dim();
        let path = options.cpu_path;
        let relay = Arc::new(Relay::default());
        let engine =
            Self::engine_for(ensemble, dim, &options, &relay, |local, placement, keep| {
                Ok(Box::new(CpuEngine::placed(
                    potential, local, method, keep, path, placement,
                )?))
            })?;
        Self::assemble(ensemble, method, dim, engine, options, note, relay)
    }

    /// Puts `engine` under a [`Driver`], which records step 0.
    fn assemble(
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        dim: usize,
        engine: Box<dyn Engine>,
        options: Options,
        note: Option<String>,
        relay: Arc<Relay>,
    ) -> Result<Self> {
        let shape = Shape {
            runs: ensemble.runs,
            agents: ensemble.agents,
            dim,
        };
        let schedule = Schedule {
            record_every: ensemble.record_every,
            final_step: ensemble.steps,
        };
        // Step 0, every multiple of record_every, and the final step.
        let records = ensemble.steps / ensemble.record_every + 2;
        let snapshots = options.keep_trajectories.then_some(records);
        let hint = method.divergence_hint();
        let driver = Driver::new(engine, &method.name, hint, shape, schedule, snapshots)?;
        Ok(Self {
            ensemble: ensemble.clone(),
            method: method.clone(),
            dim,
            driver,
            note,
            ranks: options.ranks.filter(|r| r.size() > 1),
            relay,
        })
    }

    /// Advances `steps` outer steps (recording on the way). After a divergence
    /// the ensemble is stopped: see [`Driver::advance`]. A stopping rule
    /// ([`Ensemble::stop_when`]) or an interruption ([`Ensemble::interrupt_on`])
    /// ends it early, without an error.
    pub fn advance(&mut self, steps: u64) -> Result<()> {
        self.driver.advance(steps)
    }

    /// Advances to the configured number of steps.
    pub fn run(&mut self) -> Result<()> {
        let left = self.ensemble.steps.saturating_sub(self.driver.step());
        self.advance(left)
    }

    /// Outer steps done.
    pub fn step(&self) -> u64 {
        self.driver.step()
    }

    /// Positions `X` as `[runs, agents, dim]` (read back from the GPU, which can fail).
    pub fn positions(&self) -> Result<Array3<f32>> {
        let shape = (self.ensemble.runs, self.ensemble.agents, self.dim);
        Ok(Array3::from_shape_vec(shape, self.driver.positions()?)
            .expect("engine positions have the ensemble's shape"))
    }

    /// The homogenized scheme's fast variable `Y`, `[runs, agents, dim]`, or
    /// `None` for schemes without one.
    pub fn fast_variable(&self) -> Result<Option<Array3<f32>>> {
        let shape = (self.ensemble.runs, self.ensemble.agents, self.dim);
        Ok(self
            .driver
            .fast()?
            .map(|y| Array3::from_shape_vec(shape, y).expect("engine Y has the ensemble's shape")))
    }

    /// The run means `m_r = (1/N) sum_i X_i` of the current positions, `[runs,
    /// dim]`, summed in f64 in agent order. (The engines' own means are f32 and
    /// summed by 256-agent tiles, docs/DESIGN.md section 2.7: for `N <= 256`
    /// the CPU engine's equal these rounded to f32; for larger runs, and on the
    /// GPU, they can differ in the last bits from the summation order.)
    pub fn run_means(&self) -> Result<ndarray::Array2<f64>> {
        let x = self.positions()?;
        Ok(x.map(|&v| v as f64)
            .mean_axis(ndarray::Axis(1))
            .expect("every run has at least one agent"))
    }

    /// Replaces the positions `X` with `x` (`[runs, agents, dim]`) at the current
    /// step: a warm start, a staged schedule, or an initial ensemble of your
    /// own. For the homogenized scheme `Y` becomes `X`, as at step 0 (use
    /// [`Ensemble::set_state`] to give both). The random stream is untouched:
    /// draws are addressed by (agent, step), so the next step draws exactly what
    /// it would have. If the current step has been recorded, its record is
    /// replaced by one of the new positions. Every value must be finite and at
    /// most `1e20` in magnitude (the divergence limit).
    pub fn set_positions(&mut self, x: ndarray::ArrayView3<f32>) -> Result<()> {
        let x = self.checked("positions", x)?;
        self.driver.set_state(&x, None)
    }

    /// Replaces `X` and the homogenized scheme's fast variable `Y` (both
    /// `[runs, agents, dim]`), as [`Ensemble::set_positions`] does; an error
    /// for schemes without `Y`.
    pub fn set_state(
        &mut self,
        x: ndarray::ArrayView3<f32>,
        y: ndarray::ArrayView3<f32>,
    ) -> Result<()> {
        if !self.method.scheme.is_homogenized() {
            return Err(ConfigError {
                field: "y".into(),
                value: format!("given for {}", self.method.name),
                allowed: "only the homogenized scheme has a fast variable Y; use set_positions"
                    .into(),
            }
            .into());
        }
        let x = self.checked("positions", x)?;
        let y = self.checked("y", y)?;
        self.driver.set_state(&x, Some(&y))
    }

    /// `a` in the engines' layout, after checking its shape and values.
    fn checked(&self, field: &str, a: ndarray::ArrayView3<f32>) -> Result<Vec<f32>> {
        let want = [self.ensemble.runs, self.ensemble.agents, self.dim];
        if a.shape() != want {
            return Err(ConfigError {
                field: field.into(),
                value: format!("shape {:?}", a.shape()),
                allowed: format!("must have shape {want:?} (runs, agents, dim)"),
            }
            .into());
        }
        if let Some(((r, i, k), v)) = a.indexed_iter().find(|(_, v)| crate::engine::is_bad(**v)) {
            return Err(ConfigError {
                field: format!("{field}[{r}, {i}, {k}]"),
                value: v.to_string(),
                allowed: "must be finite, of magnitude at most 1e20 (the divergence limit)".into(),
            }
            .into());
        }
        Ok(a.iter().copied().collect())
    }

    /// Positions at every recorded step, `[records, runs, agents, dim]`, if kept.
    pub fn trajectories(&self) -> Option<ndarray::Array4<f32>> {
        let snaps = self.driver.history().snapshots();
        if snaps.is_empty() {
            return None;
        }
        let per = self.ensemble.runs * self.ensemble.agents * self.dim;
        let shape = (
            snaps.len() / per,
            self.ensemble.runs,
            self.ensemble.agents,
            self.dim,
        );
        Some(
            ndarray::Array4::from_shape_vec(shape, snaps.to_vec())
                .expect("snapshots have the ensemble's shape"),
        )
    }

    /// The diagnostics recorded so far, per run and record.
    pub fn history(&self) -> &History {
        self.driver.history()
    }

    /// The method this ensemble runs.
    pub fn method(&self) -> &MethodConfig {
        &self.method
    }

    /// The ensemble's shape, steps, seed, record interval and initial positions.
    pub fn config(&self) -> &EnsembleConfig {
        &self.ensemble
    }

    /// The dimension `d` of every agent (the potential's).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Wall-clock time spent advancing (with the time before a checkpoint, when
    /// resumed from one).
    pub fn elapsed(&self) -> Duration {
        self.driver.elapsed()
    }

    /// Units (agents x coordinates x inner steps) per outer step.
    pub fn units_per_step(&self) -> f64 {
        (self.ensemble.runs * self.ensemble.agents * self.dim) as f64
            * self.method.scheme.inner_len() as f64
    }

    /// Attaches an observer ([`Observer`]): it gets the records made so far now,
    /// and every later record as the ensemble reaches it; keep the id to get it
    /// back with [`Ensemble::observer`]. An error from the observer comes back
    /// from the call that made the record.
    pub fn observe<O: Observer>(&mut self, observer: O) -> Result<ObserverId> {
        self.driver.observe(Box::new(observer))
    }

    /// The observer `id`, if it is an `O`.
    pub fn observer<O: Observer>(&self, id: ObserverId) -> Option<&O> {
        self.driver.observer(id)
    }

    /// The potential, to evaluate on the results (`value`, `grad`, `distance`).
    pub fn potential(&self) -> &dyn Potential {
        self.driver.potential()
    }

    /// `"cpu"` or `"gpu"`.
    pub fn backend(&self) -> &'static str {
        self.driver.backend()
    }

    /// The device and engine settings in words: the CPU model, threads and path,
    /// or the GPU adapter, kernel and tuning.
    pub fn device(&self) -> String {
        self.driver.device()
    }

    /// The ranks the ensemble is split over, if it is split over two or more.
    pub fn ranks(&self) -> Option<&Ranks> {
        self.ranks.as_ref()
    }

    /// Whether this process writes the outputs: rank 0, or the only process.
    pub fn is_root(&self) -> bool {
        self.ranks.as_ref().is_none_or(Ranks::is_root)
    }

    /// `local`, agreed over the ranks ([`Ranks::agree`]) if there are any.
    pub(crate) fn agree<T>(&self, local: Result<T>) -> Result<T> {
        crate::ranks::agree(self.ranks.as_ref(), local)
    }

    /// Why the backend differs from the one asked for, if it does.
    pub fn backend_note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}
