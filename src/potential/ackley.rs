//! Ackley, `-20 exp(-0.2 sqrt(sum x_k^2 / d)) - exp(sum cos(2 pi x_k) / d) + 20 + e`,
//! `x* = 0`. Not separable.

use super::{Potential, Shift};
use std::f64::consts::TAU;

/// The Ackley function (DESIGN section 4): minimum 0 at `x* = shift`; not separable.
#[derive(Debug, Clone)]
pub struct Ackley {
    shift: Shift,
}

impl Ackley {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl Potential for Ackley {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("ackley", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        let d = x.len() as f64;
        let (mut s2, mut sc) = (0.0, 0.0);
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            s2 += y * y;
            sc += (TAU * y).cos();
        }
        -20.0 * (-0.2 * (s2 / d).sqrt()).exp() - (sc / d).exp() + 20.0 + std::f64::consts::E
    }

    /// At `x = x*` the first term has no gradient (a cone's tip); it is taken as 0.
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        let d = x.len() as f64;
        let (mut s2, mut sc) = (0.0, 0.0);
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            s2 += y * y;
            sc += (TAU * y).cos();
        }
        let r = (s2 / d).sqrt();
        let a = if r > 0.0 {
            4.0 * (-0.2 * r).exp() / (d * r)
        } else {
            0.0
        };
        let b = (sc / d).exp() * TAU / d;
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            g[k] = a * y + b * (TAU * y).sin();
        }
    }

    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        use core::f32::consts::TAU;
        let d = x.len() as f32;
        let (mut s2, mut sc) = (0.0f32, 0.0f32);
        for k in 0..x.len() {
            let y = self.shift.at_f32(k, x[k]);
            s2 += y * y;
            sc += (TAU * y).cos();
        }
        let r = (s2 / d).sqrt();
        let a = if r > 0.0 {
            4.0 * (-0.2 * r).exp() / (d * r)
        } else {
            0.0
        };
        let b = (sc / d).exp() * TAU / d;
        for k in 0..x.len() {
            let y = self.shift.at_f32(k, x[k]);
            g[k] = a * y + b * (TAU * y).sin();
        }
    }

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.as_slice().to_vec()]
    }

    fn name(&self) -> String {
        "ackley".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Third derivatives ~ (2 pi)^3 e / d ~ 300 away from 0: truncation 300 h^2 / 6 =
    /// 5e-9 at h = 1e-5. Points are kept away from the cone's tip at 0.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Ackley::new(Shift::new(vec![0.1, 0.2, -0.3, 0.0]));
        for x in points(4, 5.0, 200) {
            check_gradient(&p, &x, 1e-5, 1e-7);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
        let mut g = [1.0; 4];
        Ackley::new(Shift::zero(4)).grad(&[0.0; 4], &mut g);
        assert_eq!(g, [0.0; 4]);
    }
}
