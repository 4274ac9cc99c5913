//! Styblinski-Tang, `0.5 sum_k (x_k^4 - 16 x_k^2 + 5 x_k)`, minimum at
//! `x_k = -2.903534` in every coordinate.

use super::{Potential, Shift, separable_grad_f32};

/// The root of `2x^3 - 16x + 2.5` near -2.9 (Newton in f64).
pub const STYBLINSKI_TANG_MIN: f64 = -2.903_534_027_771_177_6;

/// The Styblinski-Tang function: minimum `-39.1661657 d` at `x_k = shift_k - 2.9035340278`
/// in every coordinate; separable.
#[derive(Debug, Clone)]
pub struct StyblinskiTang {
    shift: Shift,
}

impl StyblinskiTang {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl StyblinskiTang {
    /// Coordinate `k`'s term of `Phi` in f32, `c = coord_consts(k)`: the twin of
    /// `value_coord` in `shaders/potentials/styblinski_tang.wgsl`.
    #[inline(always)]
    fn value_coord(&self, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        0.5 * (y * y * y * y - 16.0 * y * y + 5.0 * y)
    }
}

impl Potential for StyblinskiTang {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("styblinski-tang", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        0.5 * (0..x.len())
            .map(|k| {
                let y = self.shift.at(k, x[k]);
                y * y * y * y - 16.0 * y * y + 5.0 * y
            })
            .sum::<f64>()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            g[k] = 2.0 * y * y * y - 16.0 * y + 2.5;
        }
    }

    separable_grad_f32!();

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    #[inline(always)]
    fn grad_coord(&self, _k: usize, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        2.0 * y * y * y - 16.0 * y + 2.5
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.moved(&vec![STYBLINSKI_TANG_MIN; self.dim()])]
    }

    fn name(&self) -> String {
        "styblinski-tang".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Phi''' = 12 x <= 60: truncation 60 h^2 / 6 = 1e-9 at h = 1e-5; rounding
    /// 1e-16 * 300 / 1e-5 = 3e-9.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = StyblinskiTang::new(Shift::new(vec![1.0, 0.0]));
        for x in points(2, 5.0, 200) {
            check_gradient(&p, &x, 1e-5, 1e-7);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
        let mut g = [0.0; 1];
        StyblinskiTang::new(Shift::zero(1)).grad(&[STYBLINSKI_TANG_MIN], &mut g);
        assert!(g[0].abs() < 1e-12, "gradient at the minimum {}", g[0]);
    }
}
