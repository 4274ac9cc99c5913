//! The paper's rough potential (section 6.1), `sum_k (x_k sin(x_k/delta) + 0.1 x_k)^2`:
//! many local minima at scale `delta`, and `x* = 0`. Mirrors `shaders/potentials/rough.wgsl`.

use super::{Potential, Shift, separable_grad_f32};
use crate::fastmath;

/// The paper's rough potential `sum (y_k sin(y_k / delta) + 0.1 y_k)^2`, `y = x - shift`:
/// reference point `x* = shift`, where it is 0; separable, and it needs taming.
#[derive(Debug, Clone)]
pub struct Rough {
    delta: f64,
    inv_delta32: f32,
    shift: Shift,
}

impl Rough {
    /// `delta > 0` sets the scale of the oscillation (the paper uses 0.01).
    pub fn new(delta: f64, shift: Shift) -> Self {
        Self {
            delta,
            inv_delta32: (1.0 / delta) as f32,
            shift,
        }
    }

    /// The oscillation's scale `delta` in f64, as given to [`Rough::new`].
    pub fn delta(&self) -> f64 {
        self.delta
    }

    /// `1 / delta` in f32, as the f32 gradient (and the GPU) uses it.
    pub fn inv_delta_f32(&self) -> f32 {
        self.inv_delta32
    }
}

impl Rough {
    /// Coordinate `k`'s term of `Phi` in f32, `c = coord_consts(k)`: the twin of
    /// `value_coord` in `shaders/potentials/rough.wgsl`.
    #[inline(always)]
    fn value_coord(&self, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        let f = y * fastmath::sincos(y * self.inv_delta32).0 + 0.1 * y;
        f * f
    }
}

impl Potential for Rough {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        crate::config::positive("rough: delta", self.delta)?;
        self.shift.check("rough", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        (0..x.len())
            .map(|k| {
                let y = self.shift.at(k, x[k]);
                let f = y * (y / self.delta).sin() + 0.1 * y;
                f * f
            })
            .sum()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            let t = y / self.delta;
            let (s, c) = t.sin_cos();
            let f = y * s + 0.1 * y;
            g[k] = 2.0 * f * (s + t * c + 0.1);
        }
    }

    separable_grad_f32!();

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    #[inline(always)]
    fn grad_coord(&self, _k: usize, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        let t = y * self.inv_delta32;
        let (s, c) = fastmath::sincos(t);
        let f = y * s + 0.1 * y;
        2.0 * f * (s + t * c + 0.1)
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.as_slice().to_vec()]
    }

    fn name(&self) -> String {
        format!("rough(delta={})", self.delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Finite differences with h = 1e-7: Phi''' ~ (|x|/delta^3) ~ 2e7 at |x| = 20, so
    /// the truncation error h^2/6 Phi''' is ~4e-8 and the rounding error
    /// 1e-16 * Phi / h ~ 1e-16 * 1e3 / 1e-7 = 1e-6, against gradients of size up
    /// to 1e5: a relative tolerance of 1e-6 covers both.
    #[test]
    fn gradient_matches_finite_differences_up_to_20() {
        let p = Rough::new(0.01, Shift::zero(5));
        for x in points(5, 20.0, 200) {
            check_gradient(&p, &x, 1e-7, 1e-6);
        }
        let shifted = Rough::new(0.05, Shift::new(vec![1.0, -2.0, 0.5]));
        for x in points(3, 10.0, 50) {
            check_gradient(&shifted, &x, 1e-7, 1e-6);
        }
    }

    /// At |x| = 20, t = x/delta = 2000 carries a rounding of ulp(t)/2 = 6e-5 rad,
    /// which the tolerance of `check_f32` (the Hessian-weighted scale) accounts for;
    /// the range reduction inside `sincos` adds nothing at this size.
    #[test]
    fn f32_gradient_matches_f64_at_large_arguments() {
        let p = Rough::new(0.01, Shift::zero(8));
        for x in points(8, 20.0, 500) {
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
    }

    #[test]
    fn minimum_is_at_the_shift() {
        let p = Rough::new(0.01, Shift::new(vec![3.0, -1.0]));
        assert_eq!(p.value(&[3.0, -1.0]), 0.0);
        assert_eq!(p.distance(&[6.0, 3.0]), 5.0);
    }
}
