//! Alpine 1, `sum_k |y_k sin(y_k) + 0.1 y_k|`, `x* = shift` (one of its many
//! global minima: any coordinate may also sit where `sin(y_k) = -0.1`).

use super::{Potential, Shift, separable_grad_f32};
use crate::fastmath;

/// The Alpine 1 function (DESIGN section 4): minimum 0 at `x* = shift`, and at
/// every point whose coordinates are each 0 or a root of `sin(y) = -0.1`;
/// separable, not differentiable where a term is 0 (the gradient takes
/// `sign(0) = 0` there).
#[derive(Debug, Clone)]
pub struct Alpine {
    shift: Shift,
}

impl Alpine {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }
}

/// `sign(t) t'` for `t = y sin y + 0.1 y`, with `sign(0) = 0`.
fn signed(t: f64, dt: f64) -> f64 {
    if t > 0.0 {
        dt
    } else if t < 0.0 {
        -dt
    } else {
        0.0
    }
}

impl Alpine {
    /// Coordinate `k`'s term of `Phi` in f32, `c = coord_consts(k)`: the twin of
    /// `value_coord` in `shaders/potentials/alpine.wgsl`.
    #[inline(always)]
    fn value_coord(&self, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        (y * fastmath::sincos(y).0 + 0.1 * y).abs()
    }
}

impl Potential for Alpine {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("alpine", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        (0..x.len())
            .map(|k| {
                let y = self.shift.at(k, x[k]);
                (y * y.sin() + 0.1 * y).abs()
            })
            .sum()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for k in 0..x.len() {
            let y = self.shift.at(k, x[k]);
            g[k] = signed(y * y.sin() + 0.1 * y, y.sin() + y * y.cos() + 0.1);
        }
    }

    separable_grad_f32!();

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), 0.0]
    }

    #[inline(always)]
    fn grad_coord(&self, _k: usize, c: [f32; 2], x_k: f32) -> f32 {
        let y = x_k - c[0];
        let (s, co) = fastmath::sincos(y);
        let t = y * s + 0.1 * y;
        let dt = s + y * co + 0.1;
        if t > 0.0 {
            dt
        } else if t < 0.0 {
            -dt
        } else {
            0.0
        }
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.as_slice().to_vec()]
    }

    fn name(&self) -> String {
        "alpine".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// Away from the kinks (where a term `t = y sin y + 0.1 y` is 0, its sign
    /// flips and the gradient jumps): `|t| > 1e-2` keeps a step of h = 1e-5 on
    /// one side, and the f32 sign on the f64 one (t moves by at most 2^-24
    /// (|y| + 1) |t'| < 1e-5 with the shift's rounding). Phi''' is at most about
    /// |y| + 3 <= 13 on [-10, 10]: truncation 13 h^2 / 6 = 2e-10; gradients ~10.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Alpine::new(Shift::new(vec![0.3, -0.2, 1.5]));
        let mut checked = 0;
        for x in points(3, 10.0, 300) {
            let smooth = (0..3).all(|k| {
                let y = x[k] - p.shift.as_slice()[k];
                (y * y.sin() + 0.1 * y).abs() > 1e-2
            });
            if !smooth {
                continue;
            }
            checked += 1;
            check_gradient(&p, &x, 1e-5, 1e-7);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            check_f32(&p, &x32, F32_TOL);
        }
        assert!(checked > 250, "{checked} points away from the kinks");
    }

    #[test]
    fn minima_are_zero() {
        let p = Alpine::new(Shift::new(vec![1.0, -2.0]));
        let x = &p.reference_points()[0];
        assert_eq!(p.value(x), 0.0);
        let mut g = vec![1.0; 2];
        p.grad(x, &mut g);
        assert_eq!(g, vec![0.0; 2]);
        // Another global minimum: sin(y) = -0.1 at y = pi + asin(0.1).
        let y = std::f64::consts::PI + 0.1f64.asin();
        assert!(p.value(&[1.0 + y, -2.0]) < 1e-15);
        assert!(p.value(&[1.5, -2.0]) > 0.1);
    }
}
