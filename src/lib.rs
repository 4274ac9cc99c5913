//! `sgld-swarm`: large ensembles of weakly interacting Langevin agents, after
//! Kantas, Parpas and Pavliotis, "The sharp, the flat and the shallow" (2019).
//!
//! The methods are one update rule with switches (docs/DESIGN.md section 2):
//!
//! | method      | [`Scheme`]                | `lambda` |
//! |-------------|---------------------------|----------|
//! | SGLD        | [`Scheme::Euler`]         | 0        |
//! | MF-SGLD     | [`Scheme::Euler`]         | > 0      |
//! | HOM-SGLD    | [`Scheme::Homogenized`]   | 0        |
//! | MF-HOM-SGLD | [`Scheme::Homogenized`]   | > 0      |
//! | smoothed (section 2) | [`Scheme::Smoothed`] | 0 or > 0 |
//! | consensus-based optimisation | [`Scheme::Cbo`] | any |
//!
//! The pull (`lambda`) is towards the run's mean, its cost-weighted mean or by
//! the l1 interaction ([`Interaction`], DESIGN section 2.7).
//!
//! [`theory`] computes the paper's effective potential and the stationary states
//! of its mean-field limit.
//!
//! # The API on one page
//!
//! **What to construct.**
//! - The potential: a built-in value ([`potential::Rough`], [`potential::Rastrigin`],
//!   ... or a [`potential::Builtin`]), a [`ProblemConfig`] naming one
//!   (`ProblemConfig::new(PotentialKind::Rough { delta: 0.01 }, 10)`), or your
//!   own type implementing [`potential::Potential`] (or, for CBO, its value
//!   alone: [`potential::ValueFn`]).
//! - The ensemble: [`EnsembleConfig::new`]`(runs, agents, steps)` with `.seed`,
//!   `.record_every` and the initial positions (`.init_uniform`, `.init_box`,
//!   `.init_normal`).
//! - The method: [`MethodConfig::euler`], [`MethodConfig::homogenized`],
//!   [`MethodConfig::smoothed`] or [`MethodConfig::cbo`], with `.lambda`
//!   (interaction), `.weighted(alpha)` or `.l1()` (what it pulls towards),
//!   `.taming` and `.noise` (CBO).
//! - [`Options`]: the [`Backend`] (default `Auto`: a hardware GPU if there is
//!   one) and whether to keep trajectories.
//!
//! **What to call.**
//! - [`Ensemble::new`] (a `ProblemConfig`), [`Ensemble::with_potential`] (any
//!   potential; built-ins run on either engine, your own on the CPU) or
//!   [`Ensemble::with_wgsl_potential`] (your own with a WGSL twin, on the GPU).
//! - [`Ensemble::run`] to the configured step, or [`Ensemble::advance`] by some
//!   steps; between calls, [`Ensemble::set_positions`] / [`Ensemble::set_state`]
//!   put a state in (warm starts, stages, your own initial ensemble) without
//!   touching the random stream; [`Ensemble::observe`] attaches an [`Observer`]
//!   called at every record.
//! - [`experiment::run`] (a whole [`Config`], several methods from the same
//!   initial positions) or [`experiment::run_with_potential`] (several methods on
//!   any potential), then [`output::write_all`] for the command line's files.
//!
//! **What comes back.**
//! - [`Ensemble::positions`] (`[runs, agents, dim]`, an [`ndarray::Array3`]),
//!   [`Ensemble::fast_variable`] (the homogenized scheme's `Y`),
//!   [`Ensemble::run_means`], [`Ensemble::trajectories`] when kept, and
//!   [`Ensemble::history`]: per run and record, the typed statistics of
//!   [`diagnostics::Stat`] (`history().last(Stat::Best)`).
//! - [`Ensemble::potential`] lends the potential out, to evaluate it on the
//!   results without a copy (or pass an `Arc` of yours and keep a handle).
//! - Errors are one [`Error`] enum to match: configuration fields by name
//!   ([`ConfigError`]), [`Error::Diverged`] with method, run, agent and step,
//!   [`Error::Unsupported`] requests, typed GPU failures ([`gpu::GpuError`]).
//!
//! Every random number comes from the addressed Philox stream of [`rng`]
//! (docs/DESIGN.md section 3), so results depend on neither threads nor engine
//! path. [`potential::check_gradient`] checks your `grad` against your `value`.
//!
//! # Your own potential
//!
//! Implement [`potential::Potential`]: `dim`, `value`, `grad` (f64) and
//! `reference_points`. Override `grad_f32` for speed; for a separable potential,
//! `separable`, `coord_consts` and `grad_coord(k, consts, x_k)`, which let the CPU
//! engine vectorise over agents and are then the engines' only f32 gradient.
//! Examples: `examples/custom_potential.rs` (separable), `examples/wgsl_potential.rs`
//! (separable, on the GPU), `examples/custom_experiment.rs` (not separable, a
//! whole experiment, and on the GPU), `examples/staged.rs` (state in and out).

#![warn(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod diagnostics;
pub mod engine;
pub mod ensemble;
pub mod env;
pub mod error;
pub mod experiment;
// The f32 ln and sincos that the stream's normal map and some potentials share
// with their WGSL twins: public for the definition tests, not part of the API.
#[doc(hidden)]
pub mod fastmath;
pub mod gpu;
pub mod nn;
pub mod output;
#[cfg(feature = "plots")]
pub mod plot;
pub mod potential;
pub mod presets;
pub mod ranks;
pub mod rng;
pub mod theory;

pub use config::{
    CboNoise, Config, EnsembleConfig, Init, Interaction, MethodConfig, PotentialKind,
    ProblemConfig, Ramp, Ramped, Scheme, StopRules, Taming,
};
pub use engine::{Observer, ObserverId};
pub use ensemble::{Backend, Ensemble, Options};
/// The arrays of the API (`Ensemble::positions` returns an `ndarray::Array3`),
/// at the version this crate uses.
pub use ndarray;
/// The random-number traits that [`rng::PhiloxRng`] implements, at the version
/// this crate uses.
pub use rand_core;

/// Every Rust block of the README runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
pub use error::{ConfigError, Error, Result, Unsupported};
