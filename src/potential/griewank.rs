//! Griewank, `1 + sum_k x_k^2 / 4000 - prod_k cos(x_k / sqrt(k + 1))`, `x* = 0`.
//! Not separable (the product couples coordinates).

use super::{Potential, Shift};

/// The Griewank function (DESIGN section 4): minimum 0 at `x* = shift`; not separable.
#[derive(Debug, Clone)]
pub struct Griewank {
    shift: Shift,
}

impl Griewank {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl Potential for Griewank {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("griewank", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        let mut s = 0.0;
        let mut p = 1.0;
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            s += y * y / 4000.0;
            p *= (y / ((k + 1) as f64).sqrt()).cos();
        }
        1.0 + s - p
    }

    /// The product over `j != k` is formed from prefix and suffix products (no
    /// division, so a zero cosine is harmless).
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        let d = x.len();
        // g holds suffix products first: g[k] = prod_{j > k} cos_j.
        let mut suffix = 1.0;
        for k in (0..d).rev() {
            g[k] = suffix;
            let y = self.shift.at(k, x[k]);
            suffix *= (y / ((k + 1) as f64).sqrt()).cos();
        }
        let mut prefix = 1.0;
        for k in 0..d {
            let y = self.shift.at(k, x[k]);
            let r = ((k + 1) as f64).sqrt();
            let (s, c) = (y / r).sin_cos();
            g[k] = y / 2000.0 + s / r * prefix * g[k];
            prefix *= c;
        }
    }

    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        let d = x.len();
        let mut suffix = 1.0f32;
        for k in (0..d).rev() {
            g[k] = suffix;
            let y = self.shift.at_f32(k, x[k]);
            suffix *= (y / ((k + 1) as f32).sqrt()).cos();
        }
        let mut prefix = 1.0f32;
        for k in 0..d {
            let y = self.shift.at_f32(k, x[k]);
            let r = ((k + 1) as f32).sqrt();
            let (s, c) = (y / r).sin_cos();
            g[k] = y / 2000.0 + s / r * prefix * g[k];
            prefix *= c;
        }
    }

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.as_slice().to_vec()]
    }

    fn name(&self) -> String {
        "griewank".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Third derivatives are at most 1: truncation h^2 / 6 ~ 2e-11 at h = 1e-5.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Griewank::new(Shift::new(vec![1.0, 0.0, -2.0, 0.0, 3.0, 0.0]));
        for x in points(6, 20.0, 200) {
            check_gradient(&p, &x, 1e-5, 1e-8);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
    }
}
