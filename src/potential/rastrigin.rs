//! Rastrigin, `10 d + sum_k (x_k^2 - 10 cos(2 pi x_k))`, `x* = 0`.

use super::{Potential, Shift, separable_grad_f32};
use crate::fastmath;
use std::f64::consts::TAU;

/// The Rastrigin function (DESIGN section 4): minimum 0 at `x* = shift`; separable.
#[derive(Debug, Clone)]
pub struct Rastrigin {
    shift: Shift,
}

impl Rastrigin {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl Rastrigin {
    /// Coordinate `k`'s term of `Phi` in f32, `c = coord_consts(k)`: the twin of
    /// `value_coord` in `shaders/potentials/rastrigin.wgsl`.
    #[inline(always)]
    fn value_coord(&self, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        10.0 + y * y - 10.0 * fastmath::sincos(core::f32::consts::TAU * y).1
    }
}

impl Potential for Rastrigin {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("rastrigin", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        10.0 * x.len() as f64
            + (0..x.len())
                .map(|k| {
                    let y = self.shift.at(k, x[k]);
                    y * y - 10.0 * (TAU * y).cos()
                })
                .sum::<f64>()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            g[k] = 2.0 * y + 10.0 * TAU * (TAU * y).sin();
        }
    }

    separable_grad_f32!();

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    #[inline(always)]
    fn grad_coord(&self, _k: usize, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        let (s, _) = fastmath::sincos(core::f32::consts::TAU * y);
        2.0 * y + (10.0 * core::f32::consts::TAU) * s
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.as_slice().to_vec()]
    }

    fn name(&self) -> String {
        "rastrigin".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Phi''' ~ 10 (2 pi)^3 = 2.5e3: truncation 2.5e3 h^2/6 = 4e-8 at h = 1e-5;
    /// rounding 1e-16 * 500 / 1e-5 = 5e-9; gradients are ~60 in scale.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Rastrigin::new(Shift::new(vec![0.3, -0.2]));
        for x in points(2, 5.12, 200) {
            check_gradient(&p, &x, 1e-5, 1e-7);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
    }
}
