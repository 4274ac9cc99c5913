//! Salomon, `1 - cos(2 pi |y|) + 0.1 |y|`, `|y|` the Euclidean norm of `y = x -
//! shift`, `x* = shift`. Not separable.

use super::{Potential, Shift};
use crate::fastmath;
use std::f64::consts::TAU;

/// The Salomon function (DESIGN section 4): minimum 0 at `x* = shift`, ringed by
/// spherical ridges; not separable, not differentiable at `x*` (the gradient is
/// 0 there).
#[derive(Debug, Clone)]
pub struct Salomon {
    shift: Shift,
}

impl Salomon {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl Potential for Salomon {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("salomon", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        let r = (0..x.len())
            .map(|k| self.shift.at(k, x[k]).powi(2))
            .sum::<f64>()
            .sqrt();
        1.0 - (TAU * r).cos() + 0.1 * r
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        let r = (0..x.len())
            .map(|k| self.shift.at(k, x[k]).powi(2))
            .sum::<f64>()
            .sqrt();
        // d/dr, then times y / r (0 at the minimum).
        let f = if r > 0.0 {
            (TAU * (TAU * r).sin() + 0.1) / r
        } else {
            0.0
        };
        for k in 0..x.len() {
            g[k] = f * self.shift.at(k, x[k]);
        }
    }

    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        let mut r2 = 0.0f32;
        for k in 0..x.len() {
            let y = self.shift.at_f32(k, x[k]);
            r2 += y * y;
        }
        let r = r2.sqrt();
        let f = if r > 0.0 {
            let (s, _) = fastmath::sincos(core::f32::consts::TAU * r);
            (core::f32::consts::TAU * s + 0.1) / r
        } else {
            0.0
        };
        for k in 0..x.len() {
            g[k] = f * self.shift.at_f32(k, x[k]);
        }
    }

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.as_slice().to_vec()]
    }

    fn name(&self) -> String {
        "salomon".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Phi''' is about (2 pi)^3 = 250 away from the minimum (and grows as 1/r^2
    /// near it: points with r < 0.1 are left out): truncation 250 h^2 / 6 = 4e-9
    /// at h = 1e-5; gradients are ~6.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Salomon::new(Shift::new(vec![0.5, -1.0, 0.25, 2.0]));
        for x in points(4, 5.0, 200) {
            let r: f64 = (0..4)
                .map(|k| (x[k] - p.shift.as_slice()[k]).powi(2))
                .sum::<f64>()
                .sqrt();
            if r < 0.1 {
                continue;
            }
            check_gradient(&p, &x, 1e-5, 1e-7);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
    }

    #[test]
    fn minimum_is_zero_at_the_shift() {
        let p = Salomon::new(Shift::new(vec![1.0, -2.0, 0.5]));
        let x = &p.reference_points()[0];
        assert_eq!(p.value(x), 0.0);
        let mut g = vec![1.0; 3];
        p.grad(x, &mut g);
        assert_eq!(g, vec![0.0; 3]);
        // The first ridge, at r = 1/2, is higher than the ring of r = 1.
        assert!(p.value(&[1.5, -2.0, 0.5]) > p.value(&[2.0, -2.0, 0.5]));
    }
}
