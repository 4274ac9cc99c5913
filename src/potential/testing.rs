//! Helpers for the potentials' tests.

use super::{BUILTIN_NAMES, Builtin, Potential};

/// Every built-in of the table at dimension `dim` (2 for the six-hump
/// camel), through the crate's TOML parser with default parameters.
pub fn every_builtin(dim: usize) -> Vec<Builtin> {
    BUILTIN_NAMES
        .iter()
        .map(|name| {
            let dim = if *name == "six-hump-camel" { 2 } else { dim };
            let text = format!(
                "[problem]\npotential = \"{name}\"\ndim = {dim}\n\
                 [ensemble]\nruns = 1\nagents = 1\nsteps = 1\ninit = {{ uniform = [-1.0, 1.0] }}\n\
                 [[method]]\nname = \"SGLD\"\nscheme = \"euler\"\ndt = 0.01\nbeta = 1.0\n"
            );
            let config = crate::config::Config::from_toml_str(&text, "the table")
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            Builtin::from_problem(&config.problem)
        })
        .collect()
}

/// Asserts that [`super::check_gradient`] finds no coordinate off by more
/// than `rel_tol` (relative to the gradient, absolute below 1).
pub fn check_gradient(p: &dyn Potential, x: &[f64], h: f64, rel_tol: f64) {
    let c = super::check_gradient(p, x, h).unwrap();
    assert!(
        c.error <= rel_tol,
        "{}: d/dx_{} at {x:?}: analytic {}, finite difference {}, error {} > {rel_tol}",
        p.name(),
        c.coordinate,
        c.analytic,
        c.finite_difference,
        c.error
    );
}

/// Tolerance of [`check_f32`] relative to its scale: evaluating in f32 is
/// like evaluating exactly at a point moved by up to half an ulp (2^-24
/// relative) in each coordinate, then rounding the result and its terms a few
/// times. Terms of a polynomial can be several times the result (the camel's
/// gradient cancels terms of size 30 to 0.1), and a shift moves the point
/// before the rounding, so 16 * 2^-24 allows four roundings of terms up to
/// four times the scale. A wrong formula is off by orders of magnitude more.
pub const F32_TOL: f64 = 16.0 * 5.960_464_477_539_063e-8;

/// The f32 gradient against the f64 one at the same (f32-representable) point.
/// Component k may be off by `rel_tol` times `|g_k| + sum_j |H_kj| |x_j|`: the
/// change of g_k when every coordinate moves by its own magnitude times the
/// relative rounding, with the Hessian H from f64 differences of the gradient.
pub fn check_f32(p: &dyn Potential, x32: &[f32], rel_tol: f64) {
    let d = x32.len();
    let x: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
    let mut g = vec![0.0; d];
    p.grad(&x, &mut g);
    let mut g32 = vec![0.0f32; d];
    p.grad_f32(x32, &mut g32);
    let scale = super::f32_gradient_scale(p, &x);
    for k in 0..d {
        let tol = rel_tol * scale[k];
        assert!(
            ((g32[k] as f64) - g[k]).abs() <= tol,
            "{}: f32 gradient {k} at {x32:?}: {} vs f64 {}, tolerance {tol}",
            p.name(),
            g32[k],
            g[k],
        );
        if p.separable() {
            assert_eq!(
                p.grad_coord(k, p.coord_consts(k), x32[k]).to_bits(),
                g32[k].to_bits(),
                "grad_coord and grad_f32 differ"
            );
        }
    }
}

/// Deterministic points spread over `[-r, r]^d` (a small LCG; the exact values
/// do not matter, only that they are varied and reproducible).
pub fn points(d: usize, r: f64, count: usize) -> Vec<Vec<f64>> {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count)
        .map(|_| {
            (0..d)
                .map(|_| {
                    s = s
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                    // Round to f32 so the f32 checks see the same point.
                    ((2.0 * u - 1.0) * r) as f32 as f64
                })
                .collect()
        })
        .collect()
}
