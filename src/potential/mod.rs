//! Potentials `Phi`: value, gradient, separability and reference points (docs/DESIGN.md
//! section 4). The built-ins live one per file and mirror
//! `shaders/potentials/<name>.wgsl`; users implement [`Potential`] for their own.
#![allow(
    clippy::needless_range_loop,
    reason = "coordinate loops index several arrays, as the WGSL potentials do"
)]

/// The table of built-in potentials, one line each: the type, its file stem
/// (`src/potential/<stem>.rs` and `shaders/potentials/<stem>.wgsl`) and its name
/// in `problem.potential`. The module declarations, [`Builtin`] (the built-ins as
/// one type, so that the engines are compiled once per built-in rather than
/// through dynamic calls), [`BUILTIN_NAMES`], each built-in's WGSL module and its
/// registration with the shader composer follow from it; tests check that the
/// configuration parses every name, that the files on disk are those of the
/// table, and that every test list of all built-ins covers it (docs/DESIGN.md
/// section 9).
macro_rules! builtins {
    ($d:tt $($T:ident $stem:ident $name:literal;)*) => {
        $(mod $stem; pub use $stem::$T;)*

        /// A built-in potential, as the configuration builds it.
        #[derive(Debug, Clone)]
        pub enum Builtin {
            $(#[doc = concat!("`", $name, "`")] $T($T),)*
        }

        /// The names accepted in `problem.potential`, in the table's order.
        pub const BUILTIN_NAMES: [&str; [$($name),*].len()] = [$($name),*];

        /// Each built-in's WGSL module (`potentials/<stem>`) and its text, for the
        /// shader composer.
        pub(crate) const BUILTIN_SHADERS: [(&str, &str); [$($name),*].len()] = [$((
            concat!("potentials/", stringify!($stem)),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/shaders/potentials/",
                stringify!($stem),
                ".wgsl"
            )),
        )),*];

        impl Builtin {
            /// The name in `problem.potential`.
            pub fn config_name(&self) -> &'static str {
                match self { $(Builtin::$T(_) => $name,)* }
            }

            /// The built-in that `p` is, if its type is one of the built-in types
            /// or `Builtin`, or an `Arc` of one: how a built-in given as a value
            /// reaches the GPU engine.
            pub fn from_any(p: &dyn std::any::Any) -> Option<Builtin> {
                if let Some(b) = p.downcast_ref::<Builtin>() {
                    return Some(b.clone());
                }
                if let Some(b) = p.downcast_ref::<std::sync::Arc<Builtin>>() {
                    return Some((**b).clone());
                }
                $(if let Some(t) = p.downcast_ref::<$T>() {
                    return Some(Builtin::$T(t.clone()));
                }
                if let Some(t) = p.downcast_ref::<std::sync::Arc<$T>>() {
                    return Some(Builtin::$T((**t).clone()));
                })*
                None
            }

            /// The WGSL module of its kernel, `potentials/<stem>`.
            pub fn module(&self) -> &'static str {
                match self { $(Builtin::$T(_) => concat!("potentials/", stringify!($stem)),)* }
            }
        }

        /// Runs `$body` with `$p` bound to the concrete built-in inside `$b`.
        macro_rules! with_builtin {
            ($d b:expr, $d p:ident => $d body:expr) => {
                match $d b { $($crate::potential::Builtin::$T($d p) => $d body,)* }
            };
        }
        pub(crate) use with_builtin;
    };
}

builtins! { $
    SixHumpCamel six_hump_camel "six-hump-camel";
    Rough rough "rough";
    Rastrigin rastrigin "rastrigin";
    Ackley ackley "ackley";
    Rosenbrock rosenbrock "rosenbrock";
    StyblinskiTang styblinski_tang "styblinski-tang";
    Griewank griewank "griewank";
    Quadratic quadratic "quadratic";
    DoubleWell double_well "double-well";
}

use crate::config::{PotentialKind, ProblemConfig};

/// Where a stochastic gradient's minibatch comes from: stream domain 2 under
/// `key`, counter `[j / 4, agent, step, 2 << 28 | sub]` for minibatch entry `j`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    /// The Philox key: the seed's two words, low first (`rng::key_from_seed`).
    pub key: [u32; 2],
    /// The global agent index `g = r N + i` whose gradient is drawn.
    pub agent: u32,
    /// The outer step `n` the gradient is taken at.
    pub step: u32,
    /// Which gradient of the step: 0 for Euler, the inner step `m` when homogenized,
    /// the perturbation `s` when smoothed (below `2^28`).
    pub sub: u32,
}

/// A potential `Phi: R^d -> R` for the engines.
///
/// The f64 methods are the reference (diagnostics, tests); the engines step in f32
/// through [`Potential::grad_f32`], or, when [`Potential::separable`] is true,
/// through [`Potential::grad_coord`] alone, on every path of both engines, so
/// that results never depend on the path (a separable potential's `grad_f32` is
/// never called by the engines). A user type must implement `dim`, `value`,
/// `grad` and `reference_points`; the f32 methods default to the f64 ones.
/// [`check_gradient`] compares `grad` with differences of `value`.
pub trait Potential: Send + Sync {
    /// The dimension `d`.
    fn dim(&self) -> usize;

    /// `Phi(x)`.
    fn value(&self, x: &[f64]) -> f64;

    /// `grad Phi(x)` into `g` (same length as `x`).
    fn grad(&self, x: &[f64], g: &mut [f64]);

    /// `grad Phi(x)` in f32. The default converts to f64 and back (correct, slower;
    /// it allocates for `d > 64`).
    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        let d = x.len();
        if d <= 64 {
            let mut xs = [0.0f64; 64];
            let mut gs = [0.0f64; 64];
            for k in 0..d {
                xs[k] = x[k] as f64;
            }
            self.grad(&xs[..d], &mut gs[..d]);
            for k in 0..d {
                g[k] = gs[k] as f32;
            }
        } else {
            let xs: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let mut gs = vec![0.0f64; d];
            self.grad(&xs, &mut gs);
            for k in 0..d {
                g[k] = gs[k] as f32;
            }
        }
    }

    /// Whether coordinate `k` of the gradient depends on `x_k` alone.
    fn separable(&self) -> bool {
        false
    }

    /// Whether the gradient is stochastic: a data-driven potential whose engines'
    /// gradient is [`Potential::grad_minibatch_f32`] on a minibatch drawn from
    /// stream domain 2. Such potentials run on the CPU engine's agent path.
    fn stochastic(&self) -> bool {
        false
    }

    /// For stochastic potentials: the gradient on the minibatch that `draw`
    /// addresses (agent, outer step, and the inner step or perturbation as
    /// `sub`). The default is the full gradient.
    fn grad_minibatch_f32(&self, x: &[f32], g: &mut [f32], draw: Draw) {
        let _ = draw;
        self.grad_f32(x, g)
    }

    /// The constants that coordinate `k`'s gradient needs (for the built-ins, the
    /// shift and, for the quadratic, the curvature). For separable potentials the
    /// CPU engine gathers them once per block of work, so that
    /// [`Potential::grad_coord`] needs no indexing and vectorises; the GPU kernels
    /// read them from a buffer.
    fn coord_consts(&self, k: usize) -> [f32; 2] {
        let _ = k;
        [0.0; 2]
    }

    /// For separable potentials: coordinate `k` of the gradient, given `k`
    /// (for potentials whose coordinates differ, such as Levy's first and last),
    /// `coord_consts(k)` and `x_k`. Only called when [`Potential::separable`] is
    /// true, and then it is the engines' only f32 gradient.
    fn grad_coord(&self, k: usize, consts: [f32; 2], x_k: f32) -> f32 {
        let _ = (k, consts, x_k);
        unreachable!("grad_coord is only called on separable potentials")
    }

    /// The points `x*` that distances are measured to (global minimisers, or the
    /// point the paper measures distance to).
    fn reference_points(&self) -> Vec<Vec<f64>>;

    /// Distance from `x` to the nearest reference point.
    fn distance(&self, x: &[f64]) -> f64 {
        self.reference_points()
            .iter()
            .map(|p| dist2(x, p).sqrt())
            .fold(f64::INFINITY, f64::min)
    }

    /// A short name for tables and plots.
    fn name(&self) -> String {
        "custom".to_string()
    }

    /// Checks the potential's own parameters (their lengths against
    /// [`Potential::dim`], their signs, the f32 range the engines need). The
    /// ensemble calls it before running, so a potential built with inconsistent
    /// parameters is an error naming them, not a panic in a worker thread. The
    /// default accepts everything.
    fn check(&self) -> Result<(), crate::error::ConfigError> {
        Ok(())
    }
}

/// Implements [`Potential`] for a pointer to one by delegating every method, so
/// that a boxed, shared (`Arc`) or borrowed potential runs as the potential itself.
macro_rules! delegate_potential {
    ($($ptr:ty),*) => {$(
        impl<P: Potential + ?Sized> Potential for $ptr {
            fn dim(&self) -> usize {
                (**self).dim()
            }
            fn value(&self, x: &[f64]) -> f64 {
                (**self).value(x)
            }
            fn grad(&self, x: &[f64], g: &mut [f64]) {
                (**self).grad(x, g)
            }
            fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
                (**self).grad_f32(x, g)
            }
            fn separable(&self) -> bool {
                (**self).separable()
            }
            fn stochastic(&self) -> bool {
                (**self).stochastic()
            }
            fn grad_minibatch_f32(&self, x: &[f32], g: &mut [f32], draw: Draw) {
                (**self).grad_minibatch_f32(x, g, draw)
            }
            fn coord_consts(&self, k: usize) -> [f32; 2] {
                (**self).coord_consts(k)
            }
            fn grad_coord(&self, k: usize, consts: [f32; 2], x_k: f32) -> f32 {
                (**self).grad_coord(k, consts, x_k)
            }
            fn reference_points(&self) -> Vec<Vec<f64>> {
                (**self).reference_points()
            }
            fn distance(&self, x: &[f64]) -> f64 {
                (**self).distance(x)
            }
            fn name(&self) -> String {
                (**self).name()
            }
            fn check(&self) -> Result<(), crate::error::ConfigError> {
                (**self).check()
            }
        }
    )*};
}
delegate_potential!(Box<P>, std::sync::Arc<P>, &P);

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// A translation `x -> x - s` applied before a built-in is evaluated, so that its
/// minimisers move by `s`. Zero when the problem has no `shift`.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    s64: Vec<f64>,
    s32: Vec<f32>,
}

impl Shift {
    /// The shift `s`, one entry per coordinate; its f32 copy is rounded once here.
    pub fn new(s: Vec<f64>) -> Self {
        let s32 = s.iter().map(|&v| v as f32).collect();
        Self { s64: s, s32 }
    }

    /// No shift in dimension `dim`.
    pub fn zero(dim: usize) -> Self {
        Self::new(vec![0.0; dim])
    }

    /// Coordinate `k` of `x - s` in f64: `x - s_k`.
    #[inline(always)]
    pub fn at(&self, k: usize, x: f64) -> f64 {
        x - self.s64[k]
    }

    /// Coordinate `k` of `x - s` in f32, with the shift rounded to f32.
    #[inline(always)]
    pub fn at_f32(&self, k: usize, x: f32) -> f32 {
        x - self.s32[k]
    }

    /// The shift's coordinate `k` rounded to f32 (the first of the built-ins'
    /// `coord_consts(k)`).
    pub fn component_f32(&self, k: usize) -> f32 {
        self.s32[k]
    }

    /// The point `p + s`.
    pub fn moved(&self, p: &[f64]) -> Vec<f64> {
        p.iter().zip(&self.s64).map(|(a, b)| a + b).collect()
    }

    /// Checks that the shift has `dim` entries in the f32 range; `potential`
    /// names the potential in the error.
    pub fn check(&self, potential: &str, dim: usize) -> Result<(), crate::error::ConfigError> {
        let s = self.as_slice();
        if s.len() != dim {
            return Err(crate::error::ConfigError {
                field: format!("{potential}: shift"),
                value: format!("{} entries", s.len()),
                allowed: format!("must have dim = {dim} entries"),
            });
        }
        for (k, &v) in s.iter().enumerate() {
            if !(v.is_finite() && v.abs() <= f32::MAX as f64) {
                return Err(crate::error::ConfigError {
                    field: format!("{potential}: shift[{k}]"),
                    value: v.to_string(),
                    allowed: "must be finite, of magnitude at most 3.4e38".into(),
                });
            }
        }
        Ok(())
    }

    /// The shift's entries in f64, one per coordinate.
    pub fn as_slice(&self) -> &[f64] {
        &self.s64
    }
}

impl Builtin {
    /// The built-in a validated problem describes.
    pub fn from_problem(p: &ProblemConfig) -> Self {
        let d = p.dim;
        let shift = match &p.shift {
            Some(s) => Shift::new(s.clone()),
            None => Shift::zero(d),
        };
        match &p.potential {
            PotentialKind::SixHumpCamel => Builtin::SixHumpCamel(SixHumpCamel::new(shift)),
            PotentialKind::Rough { delta } => Builtin::Rough(Rough::new(*delta, shift)),
            PotentialKind::Rastrigin => Builtin::Rastrigin(Rastrigin::new(shift)),
            PotentialKind::Ackley => Builtin::Ackley(Ackley::new(shift)),
            PotentialKind::Rosenbrock => Builtin::Rosenbrock(Rosenbrock::new(shift)),
            PotentialKind::StyblinskiTang => Builtin::StyblinskiTang(StyblinskiTang::new(shift)),
            PotentialKind::Griewank => Builtin::Griewank(Griewank::new(shift)),
            PotentialKind::Quadratic { a } => {
                let a = if a.len() == 1 {
                    vec![a[0]; d]
                } else {
                    a.clone()
                };
                Builtin::Quadratic(Quadratic::new(a, shift))
            }
            PotentialKind::DoubleWell => Builtin::DoubleWell(DoubleWell::new(shift)),
        }
    }
}

impl Potential for Builtin {
    fn dim(&self) -> usize {
        with_builtin!(self, p => p.dim())
    }
    fn value(&self, x: &[f64]) -> f64 {
        with_builtin!(self, p => p.value(x))
    }
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        with_builtin!(self, p => p.grad(x, g))
    }
    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        with_builtin!(self, p => p.grad_f32(x, g))
    }
    fn separable(&self) -> bool {
        with_builtin!(self, p => p.separable())
    }
    fn coord_consts(&self, k: usize) -> [f32; 2] {
        with_builtin!(self, p => p.coord_consts(k))
    }
    fn grad_coord(&self, k: usize, consts: [f32; 2], x_k: f32) -> f32 {
        with_builtin!(self, p => p.grad_coord(k, consts, x_k))
    }
    fn reference_points(&self) -> Vec<Vec<f64>> {
        with_builtin!(self, p => p.reference_points())
    }
    fn distance(&self, x: &[f64]) -> f64 {
        with_builtin!(self, p => p.distance(x))
    }
    fn name(&self) -> String {
        with_builtin!(self, p => p.name())
    }
    fn check(&self) -> Result<(), crate::error::ConfigError> {
        with_builtin!(self, p => p.check())
    }
}

/// Implements `grad_f32` of a separable potential as its `grad_coord` per
/// coordinate, which is what makes the two agree bit for bit.
macro_rules! separable_grad_f32 {
    () => {
        fn separable(&self) -> bool {
            true
        }
        fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
            for k in 0..x.len() {
                g[k] = self.grad_coord(k, self.coord_consts(k), x[k]);
            }
        }
    };
}
pub(crate) use separable_grad_f32;

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

/// The worst coordinate found by [`check_gradient`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientCheck {
    /// The coordinate `k` where `grad` and the central difference disagree most.
    pub coordinate: usize,
    /// `grad Phi(x)_k`.
    pub analytic: f64,
    /// `(Phi(x + h e_k) - Phi(x - h e_k)) / (2 h)`.
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
/// let c = check_gradient(&p, &[0.3, -1.2, 2.5], 1e-5);
/// assert!(c.error < 1e-6, "{c:?}");
/// ```
pub fn check_gradient<P: Potential + ?Sized>(p: &P, x: &[f64], h: f64) -> GradientCheck {
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
    worst.unwrap_or(GradientCheck {
        coordinate: 0,
        analytic: 0.0,
        finite_difference: 0.0,
        error: 0.0,
    })
}

#[cfg(test)]
pub(crate) mod testing {
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
        let c = super::check_gradient(p, x, h);
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
}

#[cfg(test)]
mod tests {
    use super::{
        BUILTIN_NAMES, BUILTIN_SHADERS, Potential, check_gradient, testing::every_builtin,
    };

    /// `x0^2 + x1^2` with the second coordinate's gradient wrong by half (3 x1
    /// for 2 x1), and its correct twin.
    struct Bowl {
        wrong: bool,
    }

    impl Potential for Bowl {
        fn dim(&self) -> usize {
            2
        }
        fn value(&self, x: &[f64]) -> f64 {
            x[0] * x[0] + x[1] * x[1]
        }
        fn grad(&self, x: &[f64], g: &mut [f64]) {
            g[0] = 2.0 * x[0];
            g[1] = if self.wrong { 3.0 } else { 2.0 } * x[1];
        }
        fn reference_points(&self) -> Vec<Vec<f64>> {
            vec![vec![0.0; 2]]
        }
    }

    /// The public checker names the wrong coordinate and its size: at x1 = 2 the
    /// gradient is 6 for 4, an error of 2 / 6 of the gradient; the correct bowl's
    /// central difference is exact up to rounding (1e-16 x 8 / 1e-5 = 1e-10).
    #[test]
    fn check_gradient_finds_a_wrong_coordinate() {
        let c = check_gradient(&Bowl { wrong: true }, &[0.5, 2.0], 1e-5);
        assert_eq!(c.coordinate, 1);
        assert!((c.error - 2.0 / 6.0).abs() < 1e-6, "{c:?}");
        let c = check_gradient(&Bowl { wrong: false }, &[0.5, 2.0], 1e-5);
        assert!(c.error < 1e-9, "{c:?}");
    }
    use std::path::Path;

    /// The table, the configuration and the files agree: every name parses to
    /// the built-in of its line, and `src/potential/` and `shaders/potentials/`
    /// hold exactly the table's files, so a potential's file that the table
    /// forgets (or a line whose files are missing) fails here.
    #[test]
    fn the_table_the_parser_and_the_files_agree() {
        for (b, name) in every_builtin(3).iter().zip(BUILTIN_NAMES) {
            assert_eq!(b.config_name(), name);
            assert_eq!(crate::config::POTENTIAL_NAMES, BUILTIN_NAMES);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let stems = |dir: &str, ext: &str| {
            let mut v: Vec<String> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .filter(|s| s != "mod")
                .collect();
            v.sort();
            v
        };
        let mut table: Vec<String> = BUILTIN_SHADERS
            .iter()
            .map(|(m, _)| m.strip_prefix("potentials/").unwrap().to_string())
            .collect();
        table.sort();
        assert_eq!(
            stems("src/potential", "rs"),
            table,
            "src/potential/ against the table"
        );
        assert_eq!(
            stems("shaders/potentials", "wgsl"),
            table,
            "shaders/potentials/ against the table"
        );
        for b in every_builtin(3) {
            assert!(
                BUILTIN_SHADERS.iter().any(|(m, _)| *m == b.module()),
                "{}",
                b.module()
            );
        }
    }
}
