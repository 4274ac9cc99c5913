//! The six-hump camel (d = 2) of the paper's Figure 1:
//! `(4 - 2.1 x0^2 + x0^4/3) x0^2 + x0 x1 + (-4 + 4 x1^2) x1^2`.

use super::{Potential, Shift};

/// The two global minimisers (Newton in f64 on the gradient), value -1.0316284535.
pub const CAMEL_MINIMA: [[f64; 2]; 2] = [
    [0.089_842_013_100_318_07, -0.712_656_403_020_739_6],
    [-0.089_842_013_100_318_07, 0.712_656_403_020_739_6],
];

/// The six-hump camel (d = 2): minimum -1.0316284535 at `shift +- (0.0898420131,
/// -0.7126564030)`; not separable.
#[derive(Debug, Clone)]
pub struct SixHumpCamel {
    shift: Shift,
}

impl SixHumpCamel {
    /// The camel at `x - shift`; `shift` must have 2 entries ([`Potential::check`]).
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl Potential for SixHumpCamel {
    fn dim(&self) -> usize {
        2
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("six-hump-camel", 2)
    }

    fn value(&self, x: &[f64]) -> f64 {
        let (a, b) = (self.shift.at(0, x[0]), self.shift.at(1, x[1]));
        let a2 = a * a;
        (4.0 - 2.1 * a2 + a2 * a2 / 3.0) * a2 + a * b + (-4.0 + 4.0 * b * b) * b * b
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        let (a, b) = (self.shift.at(0, x[0]), self.shift.at(1, x[1]));
        let a2 = a * a;
        g[0] = 8.0 * a - 8.4 * a2 * a + 2.0 * a2 * a2 * a + b;
        g[1] = a - 8.0 * b + 16.0 * b * b * b;
    }

    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        let (a, b) = (self.shift.at_f32(0, x[0]), self.shift.at_f32(1, x[1]));
        let a2 = a * a;
        g[0] = 8.0 * a - 8.4 * a2 * a + 2.0 * a2 * a2 * a + b;
        g[1] = a - 8.0 * b + 16.0 * b * b * b;
    }

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        CAMEL_MINIMA.iter().map(|p| self.shift.moved(p)).collect()
    }

    fn name(&self) -> String {
        "six-hump-camel".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Phi''' <= 40 a^3 ~ 1e3 on [-3, 3]: truncation 1e3 h^2 / 6 < 2e-8 at h = 1e-5.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = SixHumpCamel::new(Shift::new(vec![0.5, -0.25]));
        for x in points(2, 3.0, 300) {
            check_gradient(&p, &x, 1e-5, 1e-7);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            // The terms 8.4 a^3 and 2 a^5 reach 30 on this box and cancel to below 1
            // where the Hessian is small too: allow 8 times the generic tolerance.
            check_f32(&p, &x32, 8.0 * F32_TOL);
        }
    }

    #[test]
    fn minima_are_stationary_with_the_known_value() {
        let p = SixHumpCamel::new(Shift::zero(2));
        for m in CAMEL_MINIMA {
            let mut g = [0.0; 2];
            p.grad(&m, &mut g);
            assert!(g[0].abs() < 1e-12 && g[1].abs() < 1e-12, "{g:?}");
            assert!((p.value(&m) + 1.031_628_453).abs() < 1e-9);
        }
    }
}
