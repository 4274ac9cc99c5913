//! Schwefel 2.26, `sum_k (C - y_k sin(sqrt|y_k|))`, `C = 418.98288727243374`,
//! `x* = shift + 420.968746359982`.

use super::{Potential, Shift, separable_grad_f32};
use crate::fastmath;

/// The minimiser of `-y sin(sqrt|y|)` on `[-500, 500]`: the root of
/// `sin(s) + (s / 2) cos(s)`, `s = sqrt(y)`, near 420.97 (Newton in f64).
pub const SCHWEFEL_X: f64 = 420.968_746_359_982;
/// `y sin(sqrt y)` there: each coordinate's share of the constant, so the
/// minimum is 0 (to the rounding of these two numbers).
pub const SCHWEFEL_C: f64 = 418.982_887_272_433_74;

/// Schwefel's function 2.26 (DESIGN section 4): minimum 0 at `x* = shift +
/// (420.9687, ...)`, far from the next best, on the box `[-500, 500]^d` of the
/// literature; separable.
#[derive(Debug, Clone)]
pub struct Schwefel {
    shift: Shift,
}

impl Schwefel {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl Schwefel {
    /// Coordinate `k`'s term of `Phi` in f32, `c = coord_consts(k)`: the twin of
    /// `value_coord` in `shaders/potentials/schwefel.wgsl`.
    #[inline(always)]
    fn value_coord(&self, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        SCHWEFEL_C as f32 - y * fastmath::sincos(y.abs().sqrt()).0
    }
}

impl Potential for Schwefel {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("schwefel", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        (0..x.len())
            .map(|k| {
                let y = self.shift.at(k, x[k]);
                SCHWEFEL_C - y * y.abs().sqrt().sin()
            })
            .sum()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        // d/dy (y sin(sqrt|y|)) = sin(s) + (s / 2) cos(s), s = sqrt|y|, for
        // either sign of y (and 0 at 0).
        for k in 0..x.len() {
            let s = self.shift.at(k, x[k]).abs().sqrt();
            g[k] = -(s.sin() + 0.5 * s * s.cos());
        }
    }

    separable_grad_f32!();

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    #[inline(always)]
    fn grad_coord(&self, _k: usize, c: [f32; 2], x_k: f32) -> f32 {
        let s = (x_k - c[0]).abs().sqrt();
        let (sn, cs) = fastmath::sincos(s);
        -(sn + 0.5 * s * cs)
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![
            self.shift
                .as_slice()
                .iter()
                .map(|s| s + SCHWEFEL_X)
                .collect(),
        ]
    }

    fn name(&self) -> String {
        "schwefel".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// On [-500, 500] away from 0, the third derivative of y sin(sqrt|y|) is
    /// at most about |y|^-1/2 / 8 + ..., below 1: truncation 1e-6 h^2... at h =
    /// 1e-3, 2e-7; rounding 1e-16 * 4e5 / 1e-3 = 4e-8; gradients are ~10.
    /// Points within 1 of 0, where sqrt|y| has no bounded derivative, are left
    /// to the f32 check.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Schwefel::new(Shift::new(vec![3.0, -7.5, 0.25]));
        for x in points(3, 500.0, 300) {
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
            let away = (0..3).all(|k| (x[k] - p.shift.as_slice()[k]).abs() > 1.0);
            if away {
                check_gradient(&p, &x, 1e-3, 1e-6);
            }
        }
    }

    #[test]
    fn minimum_is_zero_at_420_97() {
        let p = Schwefel::new(Shift::new(vec![1.0, -2.0]));
        let x = &p.reference_points()[0];
        // The two constants are rounded to f64: 2 coordinates x a few 1e-13.
        assert!(p.value(x).abs() < 1e-12, "{}", p.value(x));
        let mut g = vec![0.0; 2];
        p.grad(x, &mut g);
        assert!(g.iter().all(|v| v.abs() < 1e-12), "{g:?}");
        // A neighbouring well is higher.
        let other: Vec<f64> = x.iter().map(|v| v - 2.0 * SCHWEFEL_X).collect();
        assert!(p.value(&other) > 100.0);
    }
}
