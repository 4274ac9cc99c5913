//! The engines that advance an ensemble: the narrow [`Engine`] trait, the one
//! [`Driver`] that runs every engine, the CPU reference engine, the GPU engine and
//! the network's GPU engine, which compute the same update rule with the same
//! random stream.

pub mod cpu;
mod distributed;
mod driver;
pub mod gpu;
pub mod memory;
mod observer;

pub(crate) use distributed::{Distributed, Relay};
pub use driver::Driver;
pub(crate) use driver::RestoredState;
pub use observer::{Observer, ObserverId};

pub use cpu::CpuEngine;

use crate::config::{CboNoise, Init, Interaction, MethodConfig, Scheme, Taming};
use crate::diagnostics::History;
use crate::error::{Error, Result, Unsupported};
use crate::rng;

/// The shape of an ensemble: `runs x agents x dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// `R`: independent runs.
    pub runs: usize,
    /// `N`: agents per run.
    pub agents: usize,
    /// `d`: coordinates per agent.
    pub dim: usize,
}

impl Shape {
    /// The run means' tiles of all runs: `runs * ceil(agents / MEAN_TILE)`
    /// (section 2.7 of docs/DESIGN.md).
    pub fn mean_tiles(&self) -> usize {
        self.runs * self.agents.div_ceil(MEAN_TILE)
    }

    /// `runs * agents * dim`, if it fits.
    pub fn len(&self) -> Option<usize> {
        self.runs.checked_mul(self.agents)?.checked_mul(self.dim)
    }

    /// Whether the ensemble holds no positions (runs, agents or dim is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    fn describe(&self) -> String {
        format!(
            "{} runs x {} agents x dim {}",
            self.runs, self.agents, self.dim
        )
    }
}

/// A value that counts as a divergence, met by an engine in a segment: the first
/// one by `(step, agent)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BadValue {
    /// The step whose positions hold it (`n0 < step <= n1` of the segment).
    pub step: u64,
    /// The global agent index `r N + i`.
    pub agent: usize,
    /// The value (NaN, infinite, or above [`DIVERGENCE_LIMIT`] in magnitude).
    pub value: f32,
}

/// What an engine does for the [`Driver`], which owns the schedule, the records,
/// the history and the divergence report: advance segments of steps, record, and
/// read its positions.
pub trait Engine: Send {
    /// Advances every agent from step `n0` to step `n1`. The driver never asks
    /// for more than [`Engine::max_segment`] steps, nor past a record. A bad
    /// value ends the segment's work and comes back; the positions are then
    /// unspecified.
    fn segment(&mut self, n0: u64, n1: u64) -> Result<Option<BadValue>>;

    /// The longest segment the engine takes at once.
    fn max_segment(&self) -> u64;

    /// Records the statistics (and, when kept, the positions) at `step` into
    /// `history`, or keeps them on the device until [`Engine::flush`].
    fn record(&mut self, step: u64, history: &mut History) -> Result<()>;

    /// Moves records kept on the device into `history`.
    fn flush(&mut self, history: &mut History) -> Result<()> {
        let _ = history;
        Ok(())
    }

    /// Positions `X`, `[runs][agents][dim]` flattened (read back from the device
    /// on the GPU, which can fail).
    fn positions(&self) -> Result<Vec<f32>>;

    /// The homogenized scheme's fast variable `Y` (same layout), or `None` for
    /// schemes without one.
    fn fast(&self) -> Result<Option<Vec<f32>>>;

    /// Replaces `X` with `x` and, for the homogenized scheme, `Y` with `y` (`X`
    /// when `None`); both in the layout of [`Engine::positions`], checked by the
    /// caller. Nothing else changes: the next step draws the stream as it would
    /// have.
    fn set_state(&mut self, x: &[f32], y: Option<&[f32]>) -> Result<()>;

    /// Whether each record is complete when made (nothing kept for
    /// [`Engine::flush`]), so that the driver takes every record as it is made,
    /// as it does for observers and stopping rules: an ensemble split over
    /// ranks does, so that every rank makes the same calls whatever observers
    /// it has.
    fn records_eagerly(&self) -> bool {
        false
    }

    /// `local`, agreed over the ranks the engine's ensemble is split over: an
    /// error on any rank becomes every rank's. As is in one process.
    fn agree(&self, local: Result<()>) -> Result<()> {
        local
    }

    /// The longest of every rank's `elapsed` (what `max_time_s` reads, so that
    /// every rank stops at the same record). As is in one process.
    fn agreed_elapsed(&self, elapsed: std::time::Duration) -> std::time::Duration {
        elapsed
    }

    /// The potential the engine steps on.
    fn potential(&self) -> &dyn crate::potential::Potential;

    /// `"cpu"` or `"gpu"`.
    fn backend(&self) -> &'static str;

    /// The device, in words.
    fn device(&self) -> String;
}

/// When the engines stop and record: at every multiple of the record interval
/// and at the ensemble's final step. Shared so that both engines record at the
/// same steps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    pub record_every: u64,
    pub final_step: u64,
}

impl Schedule {
    /// The step `steps` after `step`, if the stream can address it (2^32 steps).
    pub fn end(&self, step: u64, steps: u64) -> Result<u64> {
        step.checked_add(steps)
            .filter(|&e| e <= u32::MAX as u64 + 1)
            .ok_or(Error::Unsupported(Unsupported::TooManySteps {
                step,
                steps,
            }))
    }

    /// The end of the segment that starts at `step`: at most `max_len` steps, and
    /// no further than `end`, the next record, or the final step.
    pub fn segment_end(&self, step: u64, end: u64, max_len: u64) -> u64 {
        let next_record = (step / self.record_every + 1) * self.record_every;
        let mut seg_end = end.min(next_record).min(step.saturating_add(max_len));
        if step < self.final_step {
            seg_end = seg_end.min(self.final_step);
        }
        seg_end
    }

    pub fn records_at(&self, step: u64) -> bool {
        step.is_multiple_of(self.record_every) || step == self.final_step
    }
}

/// The agents whose partial sums the run means add first: each run's agents
/// `256 t .. 256 (t + 1)` form tile `t` (the GPU's reduction tiles, and the
/// unit in which a run is split over ranks or storage bindings).
pub const MEAN_TILE: usize = 256;

/// Where an engine's agents sit in an ensemble split over ranks
/// ([`crate::ranks`]): its first agent's global index and, for a part of one
/// run, the ranks that hold the rest. The default: the whole ensemble.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The global index `r N + i` of the engine's agent 0: the stream's agent
    /// index of its agent `g` is `first_agent + g`, and its
    /// [`BadValue::agent`] is global.
    pub first_agent: usize,
    /// The engine holds a part of one run (its tiles `first_agent_in_run / 256`
    /// onwards); the run's targets are reduced over every rank.
    pub split: Option<SplitRun>,
}

/// A part of one run held by an engine: the ranks exchange the run's tile
/// partial sums (or, for l1, its positions) every step.
#[derive(Debug, Clone)]
pub struct SplitRun {
    /// The run's global index.
    pub run: usize,
    /// `N`, the run's agents on all ranks.
    pub run_agents: usize,
    /// The engine's first agent's index within the run (a multiple of 256).
    pub first_agent_in_run: usize,
    /// Every rank of the ensemble; each holds a part of one run.
    pub ranks: crate::ranks::Ranks,
}

/// Positions above this magnitude (or not finite) count as a divergence: no
/// potential of interest has minimisers there, and squaring them overflows f32.
pub const DIVERGENCE_LIMIT: f32 = 1e20;

/// Whether a position counts as a divergence (NaN included).
#[inline(always)]
pub fn is_bad(v: f32) -> bool {
    v.is_nan() || v.abs() > DIVERGENCE_LIMIT
}

/// The step's constants in f32, computed once per method in f64 and rounded; the
/// GPU kernels receive the same values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepConstants {
    /// The gradient step: Euler `dt`; homogenized, the inner step
    /// `delta / eps = dt / (M eps)`.
    pub grad_step: f32,
    /// Euler: `sqrt(2 dt / beta)`. Homogenized: `sqrt(2 delta / (beta eps))`.
    pub noise: f32,
    /// `dt * lambda`.
    pub lambda_dt: f32,
    /// Homogenized: `grad_step / gamma`, the pull of Y towards X.
    pub y_pull: f32,
    /// Homogenized: `dt / gamma`, the pull of X towards the average of Y.
    pub dt_over_gamma: f32,
    /// Homogenized: `1 / M`.
    pub inv_m: f32,
    /// Inner steps per outer step `L` (1 for Euler).
    pub inner_len: u32,
    /// First averaged inner iterate `m'`.
    pub burn_in: u32,
    /// Whether the scheme is homogenized (X moves by the Y average, no gradient
    /// or noise of its own).
    pub homogenized: bool,
    /// How the gradient step `grad_step` is tamed (DESIGN section 2.2).
    pub taming: Taming,
    /// Smoothed schemes: the perturbed gradients to average.
    pub smoothing: Option<Smoothing>,
    /// CBO: its diffusion (then `noise` is `sigma sqrt(dt)` and no gradient is
    /// taken).
    pub cbo: Option<CboNoise>,
    /// The weighted mean's `alpha` at this step, in f64 (the CPU weighs in f64;
    /// the GPU rounds it once); 0 for the other interactions.
    pub alpha: f64,
    /// The l1 interaction: the pull is `lambda_dt s_i` with `s_i` the agent's
    /// sign sum, not `lambda_dt (X_i - m)`.
    pub l1: bool,
}

/// The direct smoothing of a smoothed scheme (docs/DESIGN.md section 2.4; the
/// paper's eq. 2-4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    /// The kernel's variance `v_n` at this step (the config's and the paper's
    /// `h` at step 0; [`MethodConfig::at_step`] gives it at step `n`).
    pub variance: f64,
    /// `S`, the perturbed gradients averaged per step.
    pub samples: u32,
    /// `1 / S` in f32, the factor of the summed gradients.
    pub inv_s: f32,
}

impl Smoothing {
    /// `sqrt(v_n)`, computed in f64 and rounded once, so both engines perturb
    /// by the same f32.
    pub fn sqrt_variance(&self) -> f32 {
        self.variance.sqrt() as f32
    }
}

impl StepConstants {
    /// Derives the constants of method `m` in f64 and rounds each once to f32
    /// (DESIGN section 2.1); no engine reads `dt` after this.
    pub fn new(m: &MethodConfig) -> Self {
        let lambda_dt = (m.dt * m.lambda) as f32;
        let euler = Self {
            grad_step: m.dt as f32,
            noise: (2.0 * m.dt / m.beta).sqrt() as f32,
            lambda_dt,
            y_pull: 0.0,
            dt_over_gamma: 0.0,
            inv_m: 0.0,
            inner_len: 1,
            burn_in: 0,
            homogenized: false,
            taming: m.taming,
            smoothing: None,
            cbo: None,
            alpha: m.interaction.alpha().unwrap_or(0.0),
            l1: m.interaction == Interaction::L1,
        };
        match m.scheme {
            Scheme::Euler => euler,
            Scheme::Cbo { sigma, noise } => Self {
                noise: (sigma * m.dt.sqrt()) as f32,
                cbo: Some(noise),
                ..euler
            },
            Scheme::Smoothed { h, samples, .. } => Self {
                smoothing: Some(Smoothing {
                    variance: h,
                    samples,
                    inv_s: (1.0 / samples as f64) as f32,
                }),
                ..euler
            },
            Scheme::Homogenized {
                eps,
                gamma,
                inner_steps,
                burn_in,
            } => {
                let delta = m.dt / inner_steps as f64;
                let grad_step = delta / eps;
                Self {
                    grad_step: grad_step as f32,
                    noise: (2.0 * delta / (m.beta * eps)).sqrt() as f32,
                    lambda_dt,
                    y_pull: (grad_step / gamma) as f32,
                    dt_over_gamma: (m.dt / gamma) as f32,
                    inv_m: (1.0 / inner_steps as f64) as f32,
                    inner_len: m.scheme.inner_len(),
                    burn_in,
                    homogenized: true,
                    taming: m.taming,
                    ..euler
                }
            }
        }
    }
}

/// A method's constants at every outer step: those of step 0 throughout,
/// unless a parameter is scheduled (`MethodConfig::ramps`, or the smoothed
/// scheme's continuation `h_factor`); then each step's are derived from the
/// method at that step ([`MethodConfig::at_step`], f64) and rounded once, on the
/// host, for both engines (DESIGN section 2.6).
#[derive(Debug, Clone)]
pub struct StepPlan {
    method: MethodConfig,
    steps: u64,
    first: StepConstants,
}

impl StepPlan {
    /// The plan of `method` over a run of `steps` outer steps.
    pub fn new(method: &MethodConfig, steps: u64) -> Self {
        Self {
            method: method.clone(),
            steps,
            first: StepConstants::new(method),
        }
    }

    /// Whether the constants change from step to step: a schedule, or the
    /// smoothed scheme's continuation of `h`.
    pub fn varies(&self) -> bool {
        self.method.ramps.any()
            || matches!(self.method.scheme, Scheme::Smoothed { h_factor, .. } if h_factor != 1.0)
    }

    /// The constants of outer step `n`.
    pub fn at(&self, n: u64) -> StepConstants {
        if self.varies() {
            StepConstants::new(&self.method.at_step(n, self.steps))
        } else {
            self.first
        }
    }

    /// The constants of step 0: what does not change (scheme, taming, `L`).
    pub fn first(&self) -> &StepConstants {
        &self.first
    }
}

/// Allocates `len` zeroed f32s or says how much was asked for.
pub(crate) fn try_alloc(len: usize, what: &str) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::Alloc {
        what: what.to_string(),
        bytes: len as u128 * 4,
    })?;
    v.resize(len, 0.0);
    Ok(v)
}

/// Checks that an ensemble of `shape` can be indexed and allocated (`copies`
/// arrays of positions), before anything is allocated.
pub(crate) fn check_size(shape: Shape, copies: usize) -> Result<usize> {
    let bytes = shape.runs as u128 * shape.agents as u128 * shape.dim as u128 * 4 * copies as u128;
    match shape.len() {
        Some(len) if len.checked_mul(4 * copies).is_some() => Ok(len),
        _ => Err(Error::Alloc {
            what: format!("{} positions for {}", copies, shape.describe()),
            bytes,
        }),
    }
}

/// The initial positions, from stream domain 1: coordinate `k` of global agent `g`
/// is `lo + (hi - lo) * u`, with `u` word `k % 4` of Philox at counter
/// `[k / 4, g, 0, 1 << 28]`. Every method of a config starts from these.
pub fn initial_positions(
    x: &mut [f32],
    shape: Shape,
    init: &Init,
    seed: u64,
) -> Result<(), crate::error::ConfigError> {
    initial_positions_at(x, shape, init, seed, 0)
}

/// [`initial_positions`] of the agents `first_agent..` of a larger ensemble
/// (`shape` is theirs).
pub(crate) fn initial_positions_at(
    x: &mut [f32],
    shape: Shape,
    init: &Init,
    seed: u64,
    first_agent: usize,
) -> Result<(), crate::error::ConfigError> {
    use rayon::prelude::*;
    init.validate(Some(shape.dim))?;
    let key = rng::key_from_seed(seed);
    let d = shape.dim;
    // Per coordinate: X_k = a_k + b_k v_k, v the uniform (or normal) of word k % 4.
    let (a, b, normal): (Vec<f32>, Vec<f32>, bool) = match init {
        Init::Uniform { lo, hi } => (vec![*lo as f32; d], vec![(hi - lo) as f32; d], false),
        Init::Box { lo, hi } => (
            lo.iter().map(|&v| v as f32).collect(),
            lo.iter().zip(hi).map(|(l, h)| (h - l) as f32).collect(),
            false,
        ),
        Init::Normal { mean, std } => (
            (0..d).map(|k| Init::entry(mean, k) as f32).collect(),
            (0..d).map(|k| Init::entry(std, k) as f32).collect(),
            true,
        ),
    };
    x.par_chunks_mut(d).enumerate().for_each(|(i, agent)| {
        let g = first_agent + i;
        for (blk, block) in agent.chunks_mut(4).enumerate() {
            let w = rng::philox4x32_10(
                rng::counter(blk as u32, g as u32, 0, rng::DOMAIN_INIT, 0),
                key,
            );
            let v = if normal {
                rng::normals(w)
            } else {
                w.map(rng::uniform)
            };
            for (j, x) in block.iter_mut().enumerate() {
                let k = 4 * blk + j;
                *x = a[k] + b[k] * v[j];
            }
        }
    });
    Ok(())
}
