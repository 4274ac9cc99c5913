//! A potential given by its value alone, for consensus-based optimisation
//! (docs/DESIGN.md section 2.8), which weighs agents by `Phi` and never asks
//! for a gradient.

use super::Potential;

/// `Phi` as a closure `f(x) -> f64`, in dimension `dim`: runs with `scheme =
/// "cbo"` only ([`Potential::has_gradient`] is `false`, so the ensemble refuses
/// the gradient schemes on it), on the CPU.
///
/// ```
/// use sgld_swarm::potential::{Potential, ValueFn};
/// let sphere = ValueFn::new(3, |x| x.iter().map(|v| (v - 1.0) * (v - 1.0)).sum())
///     .minimum(vec![1.0; 3])
///     .named("sphere");
/// assert_eq!(sphere.value(&[1.0, 1.0, 1.0]), 0.0);
/// assert!(!sphere.has_gradient());
/// ```
#[derive(Clone)]
pub struct ValueFn<F> {
    dim: usize,
    f: F,
    minima: Vec<Vec<f64>>,
    name: String,
}

impl<F: Fn(&[f64]) -> f64 + Send + Sync> ValueFn<F> {
    /// `Phi = f` on `R^dim`, with no known minimiser (distances are then
    /// infinite in the diagnostics; `best_phi` still reports progress).
    pub fn new(dim: usize, f: F) -> Self {
        Self {
            dim,
            f,
            minima: Vec::new(),
            name: "custom".to_string(),
        }
    }

    /// A known minimiser, which the diagnostics measure distances to (one of
    /// several, if called again).
    pub fn minimum(mut self, x: Vec<f64>) -> Self {
        self.minima.push(x);
        self
    }

    /// The name in tables, plots and `summary.json`.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl<F: Fn(&[f64]) -> f64 + Send + Sync> Potential for ValueFn<F> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn value(&self, x: &[f64]) -> f64 {
        (self.f)(x)
    }

    /// Never called: the ensemble runs only CBO on a potential without a
    /// gradient. NaN, should anything ask, so that it cannot pass unnoticed.
    fn grad(&self, _x: &[f64], g: &mut [f64]) {
        g.fill(f64::NAN);
    }

    fn has_gradient(&self) -> bool {
        false
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        self.minima.clone()
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        match self.minima.iter().find(|m| m.len() != self.dim) {
            Some(m) => Err(crate::error::ConfigError {
                field: "ValueFn::minimum".into(),
                value: format!("a point of {} numbers", m.len()),
                allowed: format!("must have dim = {} numbers", self.dim),
            }),
            None => Ok(()),
        }
    }
}
