//! `0.5 sum_k a_k x_k^2`: the potential with closed-form statistics (docs/DESIGN.md section 8).

use super::{Potential, Shift, separable_grad_f32};

/// The quadratic `0.5 sum a_k y_k^2`, `y = x - shift`: minimum 0 at `x* = shift`;
/// separable, with closed-form statistics for tests.
#[derive(Debug, Clone)]
pub struct Quadratic {
    a: Vec<f64>,
    a32: Vec<f32>,
    shift: Shift,
}

impl Quadratic {
    /// One curvature `a_k > 0` per coordinate.
    pub fn new(a: Vec<f64>, shift: Shift) -> Self {
        let a32 = a.iter().map(|&v| v as f32).collect();
        Self { a, a32, shift }
    }

    /// The curvatures `a_k` in f64, one per coordinate.
    pub fn curvatures(&self) -> &[f64] {
        &self.a
    }
}

impl Quadratic {
    /// Coordinate `k`'s term of `Phi` in f32, `c = coord_consts(k)`: the twin of
    /// `value_coord` in `shaders/potentials/quadratic.wgsl`.
    #[inline(always)]
    fn value_coord(&self, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        0.5 * c[1] * y * y
    }
}

impl Potential for Quadratic {
    fn dim(&self) -> usize {
        self.a.len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        for (k, &a) in self.a.iter().enumerate() {
            crate::config::positive(&format!("quadratic: a[{k}]"), a)?;
        }
        self.shift.check("quadratic", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        (0..x.len())
            .map(|k| {
                let y = self.shift.at(k, x[k]);
                0.5 * self.a[k] * y * y
            })
            .sum()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for k in 0..x.len() {
            g[k] = self.a[k] * self.shift.at(k, x[k]);
        }
    }

    separable_grad_f32!();

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), self.a32[k]]
    }

    #[inline(always)]
    fn grad_coord(&self, _k: usize, c: [f32; 2], x_k: f32) -> f32 {
        c[1] * (x_k - c[0])
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.as_slice().to_vec()]
    }

    fn name(&self) -> String {
        "quadratic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Phi''' = 0: only rounding, 1e-16 * |Phi| / h with h = 1e-4 -> 1e-9 relative.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Quadratic::new(vec![0.5, 2.0, 7.0], Shift::new(vec![1.0, 0.0, -3.0]));
        for x in points(3, 20.0, 100) {
            check_gradient(&p, &x, 1e-4, 1e-8);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
    }
}
