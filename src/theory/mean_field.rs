//! Stationary states of the mean-field limit (the paper's eq. 8) for the
//! quadratic interaction in one dimension: the densities
//!
//! `eta_m(x) ~ exp(-beta (Phi(x) + lambda / 2 (x - m)^2))`
//!
//! whose mean is `m` again (`m = integral x eta_m(x) dx`), their free energy
//! (eq. 9), `F = (1/beta) integral eta ln eta + integral Phi eta + (lambda / 2)
//! Var_eta(x)` (the interaction `D(x) = x^2 / 2`, so that the pull on an agent is
//! `lambda (x - m)`), and the critical interaction where new solutions branch
//! off `m = 0` for a symmetric `Phi`: `beta lambda Var_{eta_0}(x) = 1`, the slope
//! of `m -> E_m[x]` at 0 reaching 1. (The paper takes the variance under the
//! non-interacting law `exp(-beta Phi)`; under `eta_0`, which includes the
//! interaction, the condition is exact.) A solution is stable when the map
//! `m -> E_m[x]` crosses the diagonal from above there, `beta lambda
//! Var_{eta_m}(x) < 1`: a small shift of the mean then shrinks.

use super::{LogSumExp, bad, bisect, check_points, positive, simpson};
use crate::error::Result;
use crate::potential::Potential;
use serde::Serialize;

/// A 1-D potential on a quadrature grid, at inverse temperature `beta`.
#[derive(Debug, Clone)]
pub struct MeanField1d {
    beta: f64,
    xs: Vec<f64>,
    ln_w: Vec<f64>,
    phi: Vec<f64>,
}

/// One stationary state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct State {
    /// Its mean `m`.
    pub m: f64,
    /// Its free energy (eq. 9).
    pub free_energy: f64,
    /// `beta lambda Var_{eta_m}(x)`: below 1, stable.
    pub slope: f64,
    /// Whether `slope < 1`: a small shift of the mean shrinks back to `m`.
    pub stable: bool,
}

/// What an `eta_m` is: its log-weights on the grid.
struct Density {
    l: LogSumExp,
}

impl MeanField1d {
    /// `p` (1-D) on `points` (odd) Simpson nodes over `range`, which must hold
    /// all but a negligible part of every `eta_m` of interest.
    pub fn new<P: Potential + ?Sized>(
        p: &P,
        beta: f64,
        range: (f64, f64),
        points: usize,
    ) -> Result<Self> {
        positive("beta", beta)?;
        check_points("points", points)?;
        if p.dim() != 1 {
            return Err(bad(
                "dim",
                p.dim(),
                "stationary states are computed for 1-D potentials",
            ));
        }
        let (a, b) = range;
        if !(a.is_finite() && b.is_finite() && a < b) {
            return Err(bad(
                "range",
                format!("[{a}, {b}]"),
                "must be finite with lower < upper",
            ));
        }
        let h = (b - a) / (points - 1) as f64;
        let xs: Vec<f64> = (0..points).map(|i| a + i as f64 * h).collect();
        let ln_w = simpson(points, h).iter().map(|w| w.ln()).collect();
        let phi = xs.iter().map(|&x| p.value(&[x])).collect();
        Ok(Self {
            beta,
            xs,
            ln_w,
            phi,
        })
    }

    fn density(&self, lambda: f64, m: f64) -> Density {
        let terms = (0..self.xs.len())
            .map(|i| {
                let e = self.xs[i] - m;
                self.ln_w[i] - self.beta * (self.phi[i] + 0.5 * lambda * e * e)
            })
            .collect();
        Density {
            l: LogSumExp::new(terms),
        }
    }

    /// `E_{eta_m}[x]`.
    pub fn mean(&self, lambda: f64, m: f64) -> f64 {
        self.density(lambda, m).l.mean(self.xs.iter().copied())
    }

    /// `Var_{eta_m}(x)`.
    pub fn variance(&self, lambda: f64, m: f64) -> f64 {
        self.variance_of(&self.density(lambda, m))
    }

    fn variance_of(&self, d: &Density) -> f64 {
        let mean = d.l.mean(self.xs.iter().copied());
        d.l.mean(self.xs.iter().map(|x| (x - mean) * (x - mean)))
    }

    /// The free energy (eq. 9) of `eta_m`.
    pub fn free_energy(&self, lambda: f64, m: f64) -> f64 {
        let d = self.density(lambda, m);
        self.free_energy_of(&d, lambda, self.variance_of(&d))
    }

    fn free_energy_of(&self, d: &Density, lambda: f64, var: f64) -> f64 {
        // ln eta(x_i) = t_i - ln w_i - ln Z, with ln Z the log of the sum.
        let ln_z = d.l.ln_sum();
        let entropy_term =
            d.l.mean((0..self.xs.len()).map(|i| d.l.terms[i] - self.ln_w[i] - ln_z));
        let energy = d.l.mean(self.phi.iter().copied());
        entropy_term / self.beta + energy + 0.5 * lambda * var
    }

    fn state(&self, lambda: f64, m: f64) -> State {
        let d = self.density(lambda, m);
        let var = self.variance_of(&d);
        let slope = self.beta * lambda * var;
        State {
            m,
            free_energy: self.free_energy_of(&d, lambda, var),
            slope,
            stable: slope < 1.0,
        }
    }

    /// The stationary state in `bracket`, where `E_m[x] - m` must change sign.
    pub fn stationary_state_in(&self, lambda: f64, bracket: (f64, f64)) -> Result<State> {
        check_lambda(lambda)?;
        let f = |m: f64| self.mean(lambda, m) - m;
        let (a, b) = bracket;
        let (fa, fb) = (f(a), f(b));
        let ordered = a.is_finite() && b.is_finite() && a < b;
        if !ordered || (fa > 0.0) == (fb > 0.0) && fa != 0.0 && fb != 0.0 {
            return Err(bad(
                "bracket",
                format!("[{a}, {b}] (E_m[x] - m = {fa:.3e} and {fb:.3e} at its ends)"),
                "must have lower < upper and E_m[x] - m changing sign between them",
            ));
        }
        Ok(self.state(lambda, bisect(f, a, b)))
    }

    /// Every stationary state in `bracket`: sign changes of `E_m[x] - m` on `scan`
    /// equal subintervals, each refined by bisection. Roots closer together than a
    /// subinterval can be missed; a finer scan finds them.
    pub fn stationary_states(
        &self,
        lambda: f64,
        bracket: (f64, f64),
        scan: usize,
    ) -> Result<Vec<State>> {
        check_lambda(lambda)?;
        let (a, b) = bracket;
        if !(a.is_finite() && b.is_finite() && a < b) || scan == 0 {
            return Err(bad(
                "bracket",
                format!("[{a}, {b}] in {scan} pieces"),
                "must be finite with lower < upper, in at least one piece",
            ));
        }
        let f = |m: f64| self.mean(lambda, m) - m;
        let grid: Vec<f64> = (0..=scan)
            .map(|i| a + (b - a) * i as f64 / scan as f64)
            .collect();
        let values: Vec<f64> = grid.iter().map(|&m| f(m)).collect();
        let mut states = Vec::new();
        for i in 0..scan {
            let (fa, fb) = (values[i], values[i + 1]);
            if fa == 0.0 {
                states.push(self.state(lambda, grid[i]));
            } else if (fa < 0.0) != (fb < 0.0) && fb != 0.0 {
                states.push(self.state(lambda, bisect(f, grid[i], grid[i + 1])));
            }
        }
        if values[scan] == 0.0 {
            states.push(self.state(lambda, grid[scan]));
        }
        Ok(states)
    }

    /// The critical interaction in `bracket`: the root of
    /// `beta lambda Var_{eta_0}(x) - 1` (for a `Phi` symmetric about 0, where the
    /// solutions other than `m = 0` branch off).
    pub fn critical_lambda(&self, bracket: (f64, f64)) -> Result<f64> {
        let g = |lambda: f64| self.beta * lambda * self.variance(lambda, 0.0) - 1.0;
        let (a, b) = bracket;
        if !(a.is_finite() && b.is_finite() && 0.0 <= a && a < b) {
            return Err(bad(
                "lambda bracket",
                format!("[{a}, {b}]"),
                "must be finite with 0 <= lower < upper",
            ));
        }
        let (ga, gb) = (g(a), g(b));
        if (ga > 0.0) == (gb > 0.0) {
            return Err(bad(
                "lambda bracket",
                format!("[{a}, {b}] (beta lambda Var - 1 = {ga:.3e} and {gb:.3e} at its ends)"),
                "must hold the critical lambda: beta lambda Var_{eta_0}(x) - 1 changing sign",
            ));
        }
        Ok(bisect(g, a, b))
    }
}

fn check_lambda(lambda: f64) -> Result<()> {
    if lambda.is_finite() && lambda >= 0.0 {
        Ok(())
    } else {
        Err(bad("lambda", lambda, "must be a finite number >= 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::{DoubleWell, Quadratic, Shift};

    fn double_well(beta: f64) -> MeanField1d {
        MeanField1d::new(&DoubleWell::new(Shift::zero(1)), beta, (-4.0, 4.0), 4001).unwrap()
    }

    /// For the quadratic every eta_m is Gaussian with mean lambda m / (a + lambda):
    /// m = 0 is the only solution, stable, at any lambda.
    #[test]
    fn quadratic_has_only_zero() {
        let p = MeanField1d::new(
            &Quadratic::new(vec![1.5], Shift::zero(1)),
            2.0,
            (-10.0, 10.0),
            4001,
        )
        .unwrap();
        for lambda in [0.0, 1.0, 50.0] {
            assert!((p.mean(lambda, 1.0) - lambda / (1.5 + lambda)).abs() < 1e-10);
            let s = p.stationary_states(lambda, (-3.0, 3.0), 60).unwrap();
            assert_eq!(s.len(), 1, "lambda {lambda}: {s:?}");
            assert!(s[0].m.abs() < 1e-12 && s[0].stable, "{s:?}");
        }
    }

    /// The double well: one state below the critical lambda, three above (the
    /// symmetric pair stable, with equal and lower free energy than m = 0).
    #[test]
    fn double_well_branches_at_the_critical_lambda() {
        let p = double_well(5.0);
        let lc = p.critical_lambda((1e-3, 10.0)).unwrap();
        // At lc the slope of m -> E_m[x] at 0 is 1.
        assert!((5.0 * lc * p.variance(lc, 0.0) - 1.0).abs() < 1e-9);
        let below = p.stationary_states(0.8 * lc, (-2.0, 2.0), 400).unwrap();
        assert_eq!(below.len(), 1, "{below:?}");
        assert!(below[0].m.abs() < 1e-9 && below[0].stable);
        let above = p.stationary_states(2.0 * lc, (-2.0, 2.0), 400).unwrap();
        assert_eq!(above.len(), 3, "{above:?}");
        let (neg, zero, pos) = (above[0], above[1], above[2]);
        assert!(zero.m.abs() < 1e-9 && !zero.stable, "{zero:?}");
        assert!(pos.m > 0.1 && pos.stable && neg.stable, "{above:?}");
        assert!((pos.m + neg.m).abs() < 1e-9, "symmetric: {above:?}");
        assert!((pos.free_energy - neg.free_energy).abs() < 1e-9);
        assert!(pos.free_energy < zero.free_energy, "{above:?}");
        // Each is a fixed point.
        for s in above {
            assert!((p.mean(2.0 * lc, s.m) - s.m).abs() < 1e-9);
        }
    }

    #[test]
    fn bad_input_is_named() {
        let p = double_well(5.0);
        let e = p
            .stationary_state_in(1.0, (0.5, 0.6))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bracket") && e.contains("changing sign"), "{e}");
        let e = p.critical_lambda((5.0, 10.0)).unwrap_err().to_string();
        assert!(e.contains("lambda bracket"), "{e}");
        let e = p
            .stationary_states(-1.0, (0.0, 1.0), 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lambda"), "{e}");
        let two = DoubleWell::new(Shift::zero(2));
        let e = MeanField1d::new(&two, 1.0, (-1.0, 1.0), 11)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dim") && e.contains("1-D"), "{e}");
        let e = MeanField1d::new(&DoubleWell::new(Shift::zero(1)), 0.0, (-1.0, 1.0), 11)
            .unwrap_err()
            .to_string();
        assert!(e.contains("beta"), "{e}");
    }
}
