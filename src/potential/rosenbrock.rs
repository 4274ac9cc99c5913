//! Rosenbrock, `sum_{k < d-1} 100 (x_{k+1} - x_k^2)^2 + (1 - x_k)^2`, `x* = (1, ..., 1)`,
//! `d >= 2`. Not separable.

use super::{Potential, Shift};

/// The Rosenbrock function (d >= 2): minimum 0 at `x* = shift + (1, ..., 1)`; not
/// separable.
#[derive(Debug, Clone)]
pub struct Rosenbrock {
    shift: Shift,
}

impl Rosenbrock {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl Potential for Rosenbrock {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        if self.dim() < 2 {
            return Err(crate::error::ConfigError {
                field: "rosenbrock: dim".into(),
                value: self.dim().to_string(),
                allowed: "must be >= 2".into(),
            });
        }
        self.shift.check("rosenbrock", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        (0..x.len().saturating_sub(1))
            .map(|k| {
                let (a, b) = (self.shift.at(k, x[k]), self.shift.at(k + 1, x[k + 1]));
                100.0 * (b - a * a) * (b - a * a) + (1.0 - a) * (1.0 - a)
            })
            .sum()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        let d = x.len();
        for k in 0..d {
            let a = self.shift.at(k, x[k]);
            let mut v = 0.0;
            if k + 1 < d {
                let b = self.shift.at(k + 1, x[k + 1]);
                v += -400.0 * a * (b - a * a) - 2.0 * (1.0 - a);
            }
            if k > 0 {
                let p = self.shift.at(k - 1, x[k - 1]);
                v += 200.0 * (a - p * p);
            }
            g[k] = v;
        }
    }

    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        let d = x.len();
        for k in 0..d {
            let a = self.shift.at_f32(k, x[k]);
            let mut v = 0.0f32;
            if k + 1 < d {
                let b = self.shift.at_f32(k + 1, x[k + 1]);
                v += -400.0 * a * (b - a * a) - 2.0 * (1.0 - a);
            }
            if k > 0 {
                let p = self.shift.at_f32(k - 1, x[k - 1]);
                v += 200.0 * (a - p * p);
            }
            g[k] = v;
        }
    }

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.moved(&vec![1.0; self.dim()])]
    }

    fn name(&self) -> String {
        "rosenbrock".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Phi''' ~ 2400 |x| <= 7e3 on [-3, 3]: truncation 7e3 h^2 / 6 ~ 1e-7 at h = 1e-5,
    /// against gradients of size up to 1e4.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Rosenbrock::new(Shift::new(vec![0.5, 0.0, -0.5, 1.0, 0.0]));
        for x in points(5, 3.0, 200) {
            check_gradient(&p, &x, 1e-5, 1e-7);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
        let mut g = [1.0; 3];
        Rosenbrock::new(Shift::zero(3)).grad(&[1.0; 3], &mut g);
        assert_eq!(g, [0.0; 3]);
    }
}
