//! Levy, `sin^2(pi w_0) + sum_{k < d-1} (w_k - 1)^2 (1 + 10 sin^2(pi w_k + 1))
//! + (w_{d-1} - 1)^2 (1 + sin^2(2 pi w_{d-1}))`, `w_k = 1 + (y_k - 1) / 4`,
//! `x* = shift + 1`.

use super::{Potential, Shift, separable_grad_f32};
use crate::fastmath;
use std::f64::consts::PI;

/// The Levy function (DESIGN section 4): minimum 0 at `x* = shift + (1, ..., 1)`.
/// Separable: each term holds one coordinate, the first and the last with terms
/// of their own, so `coord_consts(k)` carries the coordinate's role (1 first, 2
/// last, 3 both when `d = 1`).
#[derive(Debug, Clone)]
pub struct Levy {
    shift: Shift,
}

impl Levy {
    /// The potential at `x - shift`; its dimension is the shift's length.
    pub fn new(shift: Shift) -> Self {
        Self { shift }
    }

    /// Coordinate `k`'s role: bit 0 first, bit 1 last.
    fn role(&self, k: usize) -> u32 {
        (k == 0) as u32 | (((k + 1 == self.dim()) as u32) << 1)
    }
}

/// Coordinate `k`'s term of `Phi` in f64, `w` its `w_k`.
fn term(w: f64, role: u32) -> f64 {
    let mut t = 0.0;
    if role & 1 != 0 {
        t += (PI * w).sin().powi(2);
    }
    let m = (w - 1.0) * (w - 1.0);
    if role & 2 == 0 {
        t += m * (1.0 + 10.0 * (PI * w + 1.0).sin().powi(2));
    } else {
        t += m * (1.0 + (2.0 * PI * w).sin().powi(2));
    }
    t
}

/// `d term / d w` in f64.
fn term_dw(w: f64, role: u32) -> f64 {
    let mut g = 0.0;
    if role & 1 != 0 {
        g += PI * (2.0 * PI * w).sin();
    }
    let wm = w - 1.0;
    if role & 2 == 0 {
        let s = (PI * w + 1.0).sin();
        g += 2.0 * wm * (1.0 + 10.0 * s * s) + wm * wm * 10.0 * PI * (2.0 * (PI * w + 1.0)).sin();
    } else {
        let s = (2.0 * PI * w).sin();
        g += 2.0 * wm * (1.0 + s * s) + wm * wm * 2.0 * PI * (4.0 * PI * w).sin();
    }
    g
}

impl Levy {
    /// Coordinate `k`'s term of `Phi` in f32, `c = coord_consts(k)`: the twin of
    /// `value_coord` in `shaders/potentials/levy.wgsl`.
    #[inline(always)]
    fn value_coord(&self, c: [f32; 2], x_k: f32) -> f32 {
        use core::f32::consts::PI;
        let role = c[1] as u32;
        let wm = (x_k - c[0] - 1.0) * 0.25;
        let w = 1.0 + wm;
        let mut t = 0.0f32;
        if role & 1 != 0 {
            let s = fastmath::sincos(PI * w).0;
            t += s * s;
        }
        if role & 2 == 0 {
            let s = fastmath::sincos(PI * w + 1.0).0;
            t += wm * wm * (1.0 + 10.0 * s * s);
        } else {
            let s = fastmath::sincos(2.0 * PI * w).0;
            t += wm * wm * (1.0 + s * s);
        }
        t
    }
}

impl Potential for Levy {
    fn dim(&self) -> usize {
        self.shift.as_slice().len()
    }

    fn check(&self) -> Result<(), crate::error::ConfigError> {
        self.shift.check("levy", self.dim())
    }

    fn value(&self, x: &[f64]) -> f64 {
        (0..x.len())
            .map(|k| term(1.0 + (self.shift.at(k, x[k]) - 1.0) / 4.0, self.role(k)))
            .sum()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for k in 0..x.len() {
            let w = 1.0 + (self.shift.at(k, x[k]) - 1.0) / 4.0;
            g[k] = 0.25 * term_dw(w, self.role(k));
        }
    }

    separable_grad_f32!();

    fn coord_consts(&self, k: usize) -> [f32; 2] {
        [self.shift.component_f32(k), self.role(k) as f32]
    }

    #[inline(always)]
    fn grad_coord(&self, _k: usize, c: [f32; 2], x_k: f32) -> f32 {
        use core::f32::consts::PI;
        let role = c[1] as u32;
        let wm = (x_k - c[0] - 1.0) * 0.25;
        let w = 1.0 + wm;
        let mut g = 0.0f32;
        if role & 1 != 0 {
            let (s, co) = fastmath::sincos(PI * w);
            g += PI * (2.0 * s * co);
        }
        if role & 2 == 0 {
            let (s, co) = fastmath::sincos(PI * w + 1.0);
            g += 2.0 * wm * (1.0 + 10.0 * s * s) + wm * wm * (10.0 * PI) * (2.0 * s * co);
        } else {
            let (s, co) = fastmath::sincos(2.0 * PI * w);
            g += 2.0 * wm * (1.0 + s * s) + wm * wm * (2.0 * PI) * (2.0 * s * co);
        }
        0.25 * g
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![self.shift.as_slice().iter().map(|s| s + 1.0).collect()]
    }

    fn name(&self) -> String {
        "levy".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::testing::*;

    /// The terms' third derivatives are about 10 pi^3 (w - 1)^2 / 64 with
    /// |w - 1| <= 2.5 on [-10, 10]: 30; truncation 30 h^2 / 6 = 5e-10 at
    /// h = 1e-5, rounding 1e-16 * 100 / 1e-5 = 1e-9; gradients are ~10.
    ///
    /// The f32 gradient subtracts the shift and 1 from `x_k` before its terms,
    /// so it is the exact one at a point moved by up to 2^-24 (|x_k| + |s_k| +
    /// 1), not 2^-24 |x_k| as `check_f32`'s scale assumes: its tolerance here
    /// adds |H_kk| (|s_k| + 1) to the scale (H_kk from f64 differences of the
    /// gradient).
    #[test]
    fn gradient_matches_finite_differences() {
        for d in [1, 2, 5] {
            let shift: Vec<f64> = (0..d).map(|k| 0.3 - 0.2 * k as f64).collect();
            let p = Levy::new(Shift::new(shift.clone()));
            for x in points(d, 10.0, 200) {
                check_gradient(&p, &x, 1e-5, 1e-7);
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                let mut g32 = vec![0.0f32; d];
                p.grad_f32(&x32, &mut g32);
                let mut g = vec![0.0; d];
                p.grad(&x, &mut g);
                let scale = crate::potential::f32_gradient_scale(&p, &x);
                for k in 0..d {
                    let h = 1e-6;
                    let (mut a, mut b) = (x.clone(), x.clone());
                    a[k] += h;
                    b[k] -= h;
                    let (mut ga, mut gb) = (vec![0.0; d], vec![0.0; d]);
                    p.grad(&a, &mut ga);
                    p.grad(&b, &mut gb);
                    let hkk = ((ga[k] - gb[k]) / (2.0 * h)).abs();
                    let tol = F32_TOL * (scale[k] + hkk * (shift[k].abs() + 1.0));
                    assert!(
                        (g32[k] as f64 - g[k]).abs() <= tol,
                        "levy: f32 gradient {k} at {x32:?}: {} vs {}, tolerance {tol}",
                        g32[k],
                        g[k]
                    );
                    assert_eq!(p.grad_coord(k, p.coord_consts(k), x32[k]).to_bits(), g32[k].to_bits());
                }
            }
        }
    }

    #[test]
    fn minimum_at_shift_plus_one() {
        let p = Levy::new(Shift::new(vec![0.5, -1.0, 2.0]));
        let x = &p.reference_points()[0];
        assert!(p.value(x).abs() < 1e-30, "{}", p.value(x));
        let mut g = vec![0.0; 3];
        p.grad(x, &mut g);
        assert!(g.iter().all(|v| v.abs() < 1e-15), "{g:?}");
    }
}
