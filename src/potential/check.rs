//! Checks of a potential's gradients: the f64 `grad` against differences of
//! `value` ([`check_gradient`]), and the scale that the f32 gradient's rounding
//! is measured against ([`f32_gradient_scale`]).

use super::Potential;
use crate::error::ConfigError;

/// `x` has the potential's dimension.
fn check_len<P: Potential + ?Sized>(p: &P, x: &[f64]) -> Result<(), ConfigError> {
    if x.len() == p.dim() {
        return Ok(());
    }
    Err(ConfigError {
        field: "x".into(),
        value: format!("{} coordinates", x.len()),
        allowed: format!("must have dim = {} coordinates ({})", p.dim(), p.name()),
    })
}

/// How far an f32 evaluation of the gradient at `x` may be from the exact one, per
/// component, in units of the relative rounding: `|g_k| + sum_j |H_kj| m_j`, the
/// change of g_k when every coordinate moves by its magnitude `m_j = |x_j| + |s_j|`
/// (the built-ins subtract a shift `s_j = coord_consts(j)[0]` first, rounding at
/// the larger of the two), with the Hessian H from f64 central differences of the
/// gradient. For tests.
#[doc(hidden)]
pub fn f32_gradient_scale(p: &dyn Potential, x: &[f64]) -> Vec<f64> {
    let d = x.len();
    let mut g = vec![0.0; d];
    p.grad(x, &mut g);
    let mut scale: Vec<f64> = g.iter().map(|v| v.abs()).collect();
    let (mut gp, mut gm) = (vec![0.0; d], vec![0.0; d]);
    let mut xp = x.to_vec();
    for j in 0..d {
        let h = 1e-6 * x[j].abs().max(1.0);
        xp[j] = x[j] + h;
        p.grad(&xp, &mut gp);
        xp[j] = x[j] - h;
        p.grad(&xp, &mut gm);
        xp[j] = x[j];
        let m = x[j].abs() + (p.coord_consts(j)[0] as f64).abs();
        for k in 0..d {
            scale[k] += ((gp[k] - gm[k]) / (2.0 * h)).abs() * m;
        }
    }
    scale
}

/// The worst coordinate found by [`check_gradient`] (or [`check_f32_gradient`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientCheck {
    /// The coordinate `k` where the two disagree most.
    pub coordinate: usize,
    /// `grad Phi(x)_k` (for [`check_f32_gradient`]: the engines' f32 gradient).
    pub analytic: f64,
    /// `(Phi(x + h e_k) - Phi(x - h e_k)) / (2 h)` (for [`check_f32_gradient`]:
    /// the f64 `grad`, the reference).
    pub finite_difference: f64,
    /// `|analytic - finite_difference| / max(|analytic|, 1)`: relative, and
    /// absolute where the gradient is below 1; infinite if either is NaN.
    pub error: f64,
}

/// Checks a potential's `grad` against central differences of its `value` at
/// `x`, with step `h`, coordinate by coordinate, and returns the worst
/// coordinate. A central difference errs by about `h^2 |Phi'''| / 6`
/// (truncation) plus `1e-16 |Phi| / h` (rounding), so with `h = 1e-5` and a
/// potential of moderate scale a correct gradient shows errors near 1e-8, and a
/// wrong coefficient or sign shows errors of order 1.
///
/// ```
/// use sgld_swarm::potential::{Shift, StyblinskiTang, check_gradient};
///
/// let p = StyblinskiTang::new(Shift::zero(3));
/// let c = check_gradient(&p, &[0.3, -1.2, 2.5], 1e-5)?;
/// assert!(c.error < 1e-6, "{c:?}");
/// # Ok::<(), sgld_swarm::ConfigError>(())
/// ```
///
/// An `x` of another length than `p.dim()` is an error naming both.
pub fn check_gradient<P: Potential + ?Sized>(
    p: &P,
    x: &[f64],
    h: f64,
) -> Result<GradientCheck, ConfigError> {
    check_len(p, x)?;
    let d = x.len();
    let mut g = vec![0.0; d];
    p.grad(x, &mut g);
    let mut xp = x.to_vec();
    let mut worst: Option<GradientCheck> = None;
    for k in 0..d {
        xp[k] = x[k] + h;
        let fp = p.value(&xp);
        xp[k] = x[k] - h;
        let fm = p.value(&xp);
        xp[k] = x[k];
        let fd = (fp - fm) / (2.0 * h);
        let error = (fd - g[k]).abs() / g[k].abs().max(1.0);
        let error = if error.is_nan() { f64::INFINITY } else { error };
        if worst.is_none_or(|w| error > w.error) {
            worst = Some(GradientCheck {
                coordinate: k,
                analytic: g[k],
                finite_difference: fd,
                error,
            });
        }
    }
    Ok(worst.unwrap_or(GradientCheck {
        coordinate: 0,
        analytic: 0.0,
        finite_difference: 0.0,
        error: 0.0,
    }))
}

/// Checks the f32 gradient the engines step with (for a separable potential,
/// `grad_coord(k, coord_consts(k), x_k)` per coordinate; else `grad_f32`)
/// against the f64 `grad` at `x` rounded to f32, coordinate by coordinate, and
/// returns the worst. `error` is the difference in units of
/// [`f32_gradient_scale`] (the change of the gradient when every coordinate
/// moves by its own magnitude): the built-ins stay below 1e-6 (16 roundings of
/// 2^-24), while a wrong coefficient, sign or coordinate index shows errors
/// of order 1. An `x` of another length than `p.dim()` is an error.
///
/// ```
/// use sgld_swarm::potential::{Rastrigin, Shift, check_f32_gradient};
///
/// let p = Rastrigin::new(Shift::zero(3));
/// let c = check_f32_gradient(&p, &[0.3, -1.2, 2.5])?;
/// assert!(c.error < 1e-6, "{c:?}");
/// # Ok::<(), sgld_swarm::ConfigError>(())
/// ```
pub fn check_f32_gradient<P: Potential>(p: &P, x: &[f64]) -> Result<GradientCheck, ConfigError> {
    check_len(p, x)?;
    let d = x.len();
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
    let mut g = vec![0.0; d];
    p.grad(&x64, &mut g);
    let mut g32 = vec![0.0f32; d];
    if p.separable() {
        for k in 0..d {
            g32[k] = p.grad_coord(k, p.coord_consts(k), x32[k]);
        }
    } else {
        p.grad_f32(&x32, &mut g32);
    }
    let scale = f32_gradient_scale(p, &x64);
    let mut worst: Option<GradientCheck> = None;
    for k in 0..d {
        let error = ((g32[k] as f64) - g[k]).abs() / scale[k].max(f64::MIN_POSITIVE);
        let error = if error.is_nan() { f64::INFINITY } else { error };
        if worst.is_none_or(|w| error > w.error) {
            worst = Some(GradientCheck {
                coordinate: k,
                analytic: g32[k] as f64,
                finite_difference: g[k],
                error,
            });
        }
    }
    Ok(worst.unwrap_or(GradientCheck {
        coordinate: 0,
        analytic: 0.0,
        finite_difference: 0.0,
        error: 0.0,
    }))
}
