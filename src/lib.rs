//! `sgld-swarm`: large ensembles of weakly interacting Langevin agents, after
//! Kantas, Parpas and Pavliotis, "The sharp, the flat and the shallow" (2019).
//!
//! Four methods are one update rule with switches (docs/DESIGN.md section 2):
//!
//! | method      | [`Scheme`]                | `lambda` |
//! |-------------|---------------------------|----------|
//! | SGLD        | [`Scheme::Euler`]         | 0        |
//! | MF-SGLD     | [`Scheme::Euler`]         | > 0      |
//! | HOM-SGLD    | [`Scheme::Homogenized`]   | 0        |
//! | MF-HOM-SGLD | [`Scheme::Homogenized`]   | > 0      |
//! | smoothed (section 2) | [`Scheme::Smoothed`] | 0 or > 0 |
//!
//! [`theory`] computes the paper's effective potential and the stationary states
//! of its mean-field limit.
//!
//! An [`Ensemble`] runs one method over `R` independent runs of `N` agents in `d`
//! dimensions on a [`potential::Potential`]; every random number comes from the
//! addressed Philox stream of [`rng`], so results do not depend on threads or
//! engine. [`experiment`] runs a whole [`Config`] (several methods from the same
//! initial positions) and [`output`] writes what the command-line tool writes.
//!
//! # Your own potential
//!
//! Implement [`potential::Potential`]: `dim`, `value`, `grad` (f64) and
//! `reference_points`. Override `grad_f32` for speed, and for a separable potential
//! `separable`, `coord_consts` and `grad_coord`, which let the CPU engine
//! vectorise over agents. See `examples/custom_potential.rs`.

#![warn(missing_docs)]

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
pub mod rng;
pub mod theory;

pub use config::{
    Config, EnsembleConfig, Init, MethodConfig, PotentialKind, ProblemConfig, Scheme, Taming,
};
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
