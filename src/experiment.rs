//! Runs every method of a [`Config`] from the same initial positions and collects
//! what the outputs need. A method that diverges stops with its error; the others
//! still run, and what it recorded before is kept.

use crate::config::Config;
use crate::diagnostics::History;
use crate::engine::memory::Footprint;
use crate::ensemble::{Ensemble, Options};
use crate::error::{Error, Result};
use ndarray::{Array3, Array4};

const GIB: f64 = (1u64 << 30) as f64;
/// Memory that 2-D runs may use for trajectories without being asked.
const TRAJECTORY_BUDGET: f64 = 2.0 * GIB;

/// Told how the methods advance (the CLI draws progress bars with it).
pub trait Progress {
    /// The engine chosen, and why if it is not the one asked for; called once, first.
    fn engine(&mut self, _backend: &str, _device: &str, _note: Option<&str>) {}
    /// Method `index` of `count`, called `name`, is about to run `steps` steps.
    fn start(&mut self, _index: usize, _count: usize, _name: &str, _steps: u64) {}
    /// It has done `step` steps.
    fn advance(&mut self, _step: u64) {}
    /// It has stopped (`error` if it diverged).
    fn finish(&mut self, _error: Option<&str>) {}
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
    /// The diagnostics at every record up to the last step done.
    pub history: History,
    /// The final positions `X`, `[R, N, d]`; for a method that diverged, the
    /// positions when it stopped (not written to disk).
    pub positions: Array3<f32>,
    /// `[records, R, N, d]`, kept for 2-D problems.
    pub trajectories: Option<Array4<f32>>,
    /// The divergence that stopped it, if any.
    pub error: Option<String>,
}

/// What a whole configuration produced.
pub struct ExperimentResult {
    /// The configuration that ran (written back as `config.toml`).
    pub config: Config,
    /// The engine that ran every method: `"cpu"` or `"gpu"`.
    pub backend: String,
    /// The device and engine settings in words (CPU model and threads, or GPU
    /// adapter and kernel).
    pub device: String,
    /// Why the backend differs from the one asked for, if it does.
    pub backend_note: Option<String>,
    /// What was left out, and why (for the user to see).
    pub notes: Vec<String>,
    /// One result per method, in the configuration's order.
    pub methods: Vec<MethodResult>,
}

impl ExperimentResult {
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
    let e = &config.ensemble;
    let d = config.problem.dim;
    let keep_2d = d == 2 && trajectory_bytes(config) <= TRAJECTORY_BUDGET;
    let mut peak = Footprint::default();
    for m in &config.methods {
        let f = Footprint::engine(e, m, d, keep_2d);
        if f.total() > peak.total() {
            peak = f;
        }
    }
    let len = e.runs as u128 * e.agents as u128 * d as u128;
    let methods = config.methods.len() as u128;
    peak.add("every method's final positions", methods * len * 4);
    if keep_2d {
        peak.add(
            "every method's trajectories",
            methods * trajectory_bytes(config) as u128,
        );
    }
    Ok(peak)
}

fn trajectory_bytes(config: &Config) -> f64 {
    let e = &config.ensemble;
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
    footprint(config)?.check()?;
    let mut notes = Vec::new();
    // 2-D problems keep their trajectories for the paths plot, unless they would
    // take more memory than is reasonable to hold.
    let trajectory_bytes = trajectory_bytes(config);
    let keep_2d = config.problem.dim == 2 && trajectory_bytes <= TRAJECTORY_BUDGET;
    if config.problem.dim == 2 && !keep_2d && !options.keep_trajectories {
        notes.push(format!(
            "trajectories are not kept: they would take {:.1} GiB (more than {:.0} GiB); \
             raise ensemble.record_every or lower runs x agents to keep them",
            trajectory_bytes / GIB,
            TRAJECTORY_BUDGET / GIB
        ));
    }
    let options = Options {
        keep_trajectories: options.keep_trajectories || keep_2d,
        ..options
    };
    let steps = config.ensemble.steps;
    // Advance in pieces for the progress bar: about 1% of the run, or a record interval.
    let piece = config.ensemble.record_every.min(steps.div_ceil(100)).max(1);
    let count = config.methods.len();
    let mut methods = Vec::with_capacity(count);
    let mut engine_info = None;
    // One ensemble at a time, so that memory holds one method's arrays.
    for (index, method) in config.methods.iter().enumerate() {
        let mut e = Ensemble::new(&config.problem, &config.ensemble, method, options)?;
        if engine_info.is_none() {
            progress.engine(e.backend(), &e.device(), e.backend_note());
            engine_info = Some((
                e.backend().to_string(),
                e.device(),
                e.backend_note().map(str::to_string),
            ));
        }
        progress.start(index, count, &method.name, steps);
        let mut error = None;
        let mut steps_done = None;
        while e.step() < steps {
            match e.advance(piece.min(steps - e.step())) {
                Ok(()) => progress.advance(e.step()),
                Err(err @ Error::Diverged { step, .. }) => {
                    error = Some(err.to_string());
                    steps_done = Some(step);
                    break;
                }
                Err(other) => return Err(other),
            }
        }
        progress.finish(error.as_deref());
        let elapsed_s = e.elapsed().as_secs_f64();
        let units = e.units_per_step() * e.step() as f64;
        methods.push(MethodResult {
            slug: method.slug(),
            name: method.name.clone(),
            steps: steps_done.unwrap_or(e.step()),
            elapsed_s,
            units_per_s: if elapsed_s > 0.0 {
                units / elapsed_s
            } else {
                0.0
            },
            history: e.history().clone(),
            positions: e.positions()?,
            trajectories: e.trajectories(),
            error,
        });
    }
    let (backend, device, note) = engine_info.expect("a validated config has a method");
    Ok(ExperimentResult {
        config: config.clone(),
        backend,
        device,
        backend_note: note,
        notes,
        methods,
    })
}
