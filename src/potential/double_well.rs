//! `0.25 sum_k (x_k^2 - 1)^2`: two wells per coordinate, minima at every sign
//! pattern of `(+-1, ..., +-1)`.

use super::{Potential, Shift, separable_grad_f32};

/// The double well `0.25 sum (y_k^2 - 1)^2`, `y = x - shift`: minimum 0 at every
/// `shift + (+-1, ..., +-1)`; separable.
#[derive(Debug, Clone)]
pub struct DoubleWell {
    shift: Shift,
}

/// Above this dimension the 2^d minimisers are not listed (distances are still exact).
const LIST_MAX_DIM: usize = 12;

impl DoubleWell {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

impl DoubleWell {
    /// Coordinate `k`'s term of `Phi` in f32, `c = coord_consts(k)`: the twin of
    /// `value_coord` in `shaders/potentials/double_well.wgsl`.
    #[inline(always)]
    fn value_coord(&self, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        0.25 * (y * y - 1.0) * (y * y - 1.0)
    }
}

impl Potential for DoubleWell {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("double-well", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        (0..x.len())
            .map(|k| {
                let y = self.shift.at(k, x[k]);
                0.25 * (y * y - 1.0) * (y * y - 1.0)
            })
            .sum()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            g[k] = y * (y * y - 1.0);
        }
    }

    separable_grad_f32!();

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    #[inline(always)]
    fn grad_coord(&self, _k: usize, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        y * (y * y - 1.0)
    }

    /// Every sign pattern, for `d <= 12`; none above (use [`Potential::distance`]).
    fn reference_points(&self) -> Vec<Vec<f64>> {
        let d = self.dim();
        if d > LIST_MAX_DIM {
            return Vec::new();
        }
        (0..1usize << d)
            .map(|bits| {
                let p: Vec<f64> = (0..d)
                    .map(|k| if bits >> k & 1 == 1 { 1.0 } else { -1.0 })
                    .collect();
                self.shift.moved(&p)
            })
            .collect()
    }

    /// The nearest minimiser has the sign of each coordinate.
    fn distance(&self, x: &[f64]) -> f64 {
        (0..x.len())
            .map(|k| {
                let e = self.shift.at(k, x[k]).abs() - 1.0;
                e * e
            })
            .sum::<f64>()
            .sqrt()
    }

    fn name(&self) -> String {
        "double-well".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Phi''' = 6x <= 60 at |x| = 10: truncation h^2 * 10 = 1e-9 with h = 1e-5;
    /// rounding 1e-16 * 2.5e3 / 1e-5 = 2.5e-8 against gradients >= 1 in scale.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = DoubleWell::new(Shift::new(vec![0.5, 0.0, -1.0]));
        for x in points(3, 10.0, 100) {
            check_gradient(&p, &x, 1e-5, 1e-7);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
    }

    #[test]
    fn distance_agrees_with_the_listed_minima() {
        let p = DoubleWell::new(Shift::new(vec![0.5, 0.0, -1.0]));
        assert_eq!(p.reference_points().len(), 8);
        for x in points(3, 3.0, 50) {
            let listed = p
                .reference_points()
                .iter()
                .map(|q| {
                    x.iter()
                        .zip(q)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(f64::INFINITY, f64::min);
            assert!((listed - p.distance(&x)).abs() < 1e-12);
        }
    }
}
