//! Runs every method of a [`Config`] from the same initial positions and collects
//! what the outputs need. A method that diverges stops with its error; the others
//! still run, and what it recorded before is kept. A run's lifecycle (stopping
//! rules, checkpoints, interruption, resuming) is in `methods.rs`, the loop over
//! the methods.

mod methods;

pub use methods::Lifecycle;
use methods::run_methods;

use crate::config::{Config, EnsembleConfig, MethodConfig, ProblemConfig, StopRules, Stopped};
use crate::diagnostics::{History, RunStats};
use crate::engine::memory::Footprint;
use crate::ensemble::{Ensemble, Options};
use crate::error::Result;
use crate::potential::{Builtin, Potential};
use ndarray::{Array3, Array4};
use std::sync::Arc;

pub(crate) const GIB: f64 = (1u64 << 30) as f64;
/// Memory that 2-D runs may use for trajectories without being asked.
pub(crate) const TRAJECTORY_BUDGET: f64 = 2.0 * GIB;

/// Told how the methods advance (the CLI draws progress bars with it).
pub trait Progress {
    /// The engine chosen, and why if it is not the one asked for; called once, first.
    fn engine(&mut self, _backend: &str, _device: &str, _note: Option<&str>) {}
    /// Method `index` of `count`, called `name`, is about to run `steps` steps.
    fn start(&mut self, _index: usize, _count: usize, _name: &str, _steps: u64) {}
    /// A record of method `index` (called `name`): its step and each run's
    /// statistics; every record once, in order, step 0 included.
    fn record(&mut self, _index: usize, _name: &str, _step: u64, _stats: &[RunStats]) {}
    /// It has done `step` steps.
    fn advance(&mut self, _step: u64) {}
    /// It has stopped (`error` if it diverged).
    fn finish(&mut self, _error: Option<&str>) {}
    /// Something went wrong that does not stop the run (a checkpoint that could
    /// not be written); also in [`ExperimentResult::notes`].
    fn warning(&mut self, _message: &str) {}
}

/// Progress that nobody watches.
pub struct Silent;
impl Progress for Silent {}

/// What one method produced.
pub struct MethodResult {
    /// The method's name, as in its `[[method]]` table.
    pub name: String,
    /// The file-name form of the name ([`crate::config::MethodConfig::slug`]),
    /// used in `positions-<slug>.npy` and `trajectories-<slug>.npy`.
    pub slug: String,
    /// Steps done; for a method that diverged, the step its error names (the
    /// first whose positions were not finite or beyond 1e20).
    pub steps: u64,
    /// Wall-clock seconds spent advancing (not building the engine or reading
    /// positions back).
    pub elapsed_s: f64,
    /// Agents x coordinates x inner steps per second.
    pub units_per_s: f64,
    /// Over ranks: the seconds of `elapsed_s` this rank spent in the ranks'
    /// exchanges (waiting for the others included); `None` in one process.
    pub exchange_s: Option<f64>,
    /// The diagnostics at every record up to the last step done.
    pub history: History,
    /// The final positions `X`, `[R, N, d]`; for a method that diverged, the
    /// positions when it stopped (not written to disk).
    pub positions: Array3<f32>,
    /// `[records, R, N, d]`, kept for 2-D problems.
    pub trajectories: Option<Array4<f32>>,
    /// The divergence that stopped it, if any.
    pub error: Option<String>,
    /// The stopping rule that ended it before `ensemble.steps`, if one did.
    pub stopped: Option<Stopped>,
}

/// What a whole experiment produced: a configuration's methods on its built-in
/// potential ([`run`]), or methods on any potential ([`run_with_potential`]).
pub struct ExperimentResult {
    /// The `[problem]` table, when the potential is a configuration's built-in;
    /// `None` for a potential given as a value.
    pub problem: Option<ProblemConfig>,
    /// The ensemble every method ran.
    pub ensemble: EnsembleConfig,
    /// The methods, in order (the settings; [`ExperimentResult::methods`] has
    /// what they produced).
    pub method_configs: Vec<MethodConfig>,
    /// The stopping rules every method ran under.
    pub stop: StopRules,
    /// The potential, for the plots and the summary's name.
    pub potential: Arc<dyn Potential>,
    /// The engine that ran every method: `"cpu"` or `"gpu"`.
    pub backend: String,
    /// The device and engine settings in words (CPU model and threads, or GPU
    /// adapter and kernel).
    pub device: String,
    /// Why the backend differs from the one asked for, if it does.
    pub backend_note: Option<String>,
    /// What was left out, and why (for the user to see).
    pub notes: Vec<String>,
    /// One result per method begun, in the configuration's order: every method,
    /// unless the run was interrupted.
    pub methods: Vec<MethodResult>,
    /// Whether every method ran to its end (its steps, a stop or a divergence);
    /// `false` after an interruption, when the last method is where it was left.
    pub complete: bool,
}

impl ExperimentResult {
    /// The whole configuration, when the potential is a built-in (written back
    /// as `config.toml`).
    pub fn config(&self) -> Option<Config> {
        Some(Config {
            problem: self.problem.clone()?,
            ensemble: self.ensemble.clone(),
            methods: self.method_configs.clone(),
            stop: self.stop,
        })
    }

    /// The potential's name: the `problem.potential` name of a built-in, else
    /// the potential's own [`Potential::name`].
    pub fn potential_name(&self) -> String {
        match &self.problem {
            Some(p) => p.potential.name().to_string(),
            None => self.potential.name(),
        }
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.potential.dim()
    }

    /// The divergences, if any method stopped with one.
    pub fn errors(&self) -> Vec<String> {
        self.methods
            .iter()
            .filter_map(|m| m.error.clone())
            .collect()
    }
}

/// The host memory `config` needs at its peak: the largest method's engine,
/// plus the final positions (and for 2-D problems the trajectories) of every
/// method, which are all kept for the outputs. Sizes are checked before the
/// potential or anything else is built.
pub fn footprint(config: &Config) -> Result<Footprint> {
    config.validate()?;
    Ok(footprint_of(
        &config.ensemble,
        &config.methods,
        config.problem.dim,
    ))
}

/// [`footprint`] of validated parts.
fn footprint_of(e: &EnsembleConfig, methods: &[MethodConfig], d: usize) -> Footprint {
    let keep_2d = d == 2 && trajectory_bytes(e) <= TRAJECTORY_BUDGET;
    let mut peak = Footprint::default();
    for m in methods {
        let f = Footprint::engine(e, m, d, keep_2d);
        if f.total() > peak.total() {
            peak = f;
        }
    }
    let len = e.runs as u128 * e.agents as u128 * d as u128;
    let count = methods.len() as u128;
    peak.add("every method's final positions", count * len * 4);
    if keep_2d {
        peak.add(
            "every method's trajectories",
            count * trajectory_bytes(e) as u128,
        );
    }
    peak
}

/// The bytes of a 2-D run's trajectories.
pub(crate) fn trajectory_bytes(e: &EnsembleConfig) -> f64 {
    (e.steps / e.record_every + 2) as f64 * (e.runs as f64 * e.agents as f64 * 2.0 * 4.0)
}

/// Runs every method of `config` (validated here, and its memory checked). Errors that stop everything
/// (a bad config, an allocation that fails, no backend) come back as `Err`;
/// divergences are kept in each [`MethodResult`].
pub fn run(
    config: &Config,
    options: Options,
    progress: &mut dyn Progress,
) -> Result<ExperimentResult> {
    run_with(config, options, progress, &Lifecycle::default())
}

/// [`run`] with checkpoints, an interruption flag, or resuming from a
/// checkpoint ([`Lifecycle`]).
pub fn run_with(
    config: &Config,
    options: Options,
    progress: &mut dyn Progress,
    lifecycle: &Lifecycle,
) -> Result<ExperimentResult> {
    // Over ranks, agreed: the memory each rank sees is its own.
    let fits = footprint(config).and_then(|f| f.check());
    crate::ranks::agree(options.ranks.as_ref(), fits)?;
    let potential: Arc<dyn Potential> = Arc::new(Builtin::from_problem(&config.problem));
    run_methods(
        Some(config.problem.clone()),
        potential,
        &config.ensemble,
        &config.methods,
        config.stop,
        &config.to_toml(),
        options,
        progress,
        lifecycle,
        &|m, o| Ensemble::new(&config.problem, &config.ensemble, m, o),
    )
}

/// Runs `methods` on `potential` (any potential: a user's own runs on the CPU, a
/// built-in given as a value on the engine the backend picks) from the same
/// initial positions, as [`run`] does for a configuration; the result writes
/// the same outputs ([`crate::output::write_all`]), with a `config.toml` that
/// holds the ensemble and the methods and names the potential in a comment (a
/// built-in given as a value too: for a `config.toml` that runs on its own,
/// describe it in a [`Config`] and use [`run`]).
///
/// ```
/// use sgld_swarm::experiment::{Silent, run_with_potential};
/// use sgld_swarm::potential::{Potential, Shift, StyblinskiTang};
/// use sgld_swarm::{EnsembleConfig, MethodConfig, Options};
///
/// let p = StyblinskiTang::new(Shift::zero(3));
/// let e = EnsembleConfig::new(4, 20, 50).seed(1).init_uniform(-5.0, 5.0);
/// let methods = [
///     MethodConfig::euler("SGLD", 0.01, 5.0),
///     MethodConfig::euler("MF-SGLD", 0.01, 5.0).lambda(1.0),
/// ];
/// let r = run_with_potential(p, &e, &methods, Options::default(), &mut Silent)?;
/// assert_eq!(r.methods.len(), 2);
/// assert_eq!(r.potential_name(), "styblinski-tang");
/// # Ok::<(), sgld_swarm::Error>(())
/// ```
pub fn run_with_potential<P: Potential + Clone + 'static>(
    potential: P,
    ensemble: &EnsembleConfig,
    methods: &[MethodConfig],
    options: Options,
    progress: &mut dyn Progress,
) -> Result<ExperimentResult> {
    ensemble.validate()?;
    crate::config::validate_methods(methods)?;
    let dim = potential.dim();
    ensemble.init.validate(Some(dim))?;
    // The potential's own checks come with each ensemble; the memory first.
    footprint_of(ensemble, methods, dim).check()?;
    let shared: Arc<dyn Potential> = Arc::new(potential.clone());
    let text = crate::checkpoint::identity(&potential, ensemble, methods);
    run_methods(
        None,
        shared,
        ensemble,
        methods,
        StopRules::default(),
        &text,
        options,
        progress,
        &Lifecycle::default(),
        &|m, o| Ensemble::with_potential(potential.clone(), ensemble, m, o),
    )
}
