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
            /// or `Builtin`, or an `Arc` or `Box` of one: how a built-in given as a value
            /// reaches the GPU engine.
            pub fn from_any(p: &dyn std::any::Any) -> Option<Builtin> {
                if let Some(b) = p.downcast_ref::<Builtin>() {
                    return Some(b.clone());
                }
                if let Some(b) = p.downcast_ref::<std::sync::Arc<Builtin>>() {
                    return Some((**b).clone());
                }
                if let Some(b) = p.downcast_ref::<Box<Builtin>>() {
                    return Some((**b).clone());
                }
                $(if let Some(t) = p.downcast_ref::<$T>() {
                    return Some(Builtin::$T(t.clone()));
                }
                if let Some(t) = p.downcast_ref::<std::sync::Arc<$T>>() {
                    return Some(Builtin::$T((**t).clone()));
                }
                if let Some(t) = p.downcast_ref::<Box<$T>>() {
                    return Some(Builtin::$T((**t).clone()));
                })*
                None
            }

            /// The WGSL module of its kernel, `potentials/<stem>`.
            pub fn module(&self) -> &'static str {
                match self { $(Builtin::$T(_) => concat!("potentials/", stringify!($stem)),)* }
            }
        }

        impl PotentialKind {
            /// The name written in `problem.potential` (one of
            /// [`crate::config::POTENTIAL_NAMES`]), from the table.
            pub fn name(&self) -> &'static str {
                match self { $(PotentialKind::$T { .. } => $name,)* }
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
    Levy levy "levy";
    Schwefel schwefel "schwefel";
    Alpine alpine "alpine";
    Salomon salomon "salomon";
}

mod check;
mod shift;
#[cfg(test)]
pub(crate) mod testing;
mod value_fn;

#[doc(hidden)]
pub use check::f32_gradient_scale;
pub use check::{GradientCheck, check_f32_gradient, check_gradient};
pub use shift::Shift;
pub use value_fn::ValueFn;

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

    /// Whether the engines should ask for many agents' gradients and values at
    /// once ([`Potential::grad_batch_f32`], [`Potential::value_batch`]): a
    /// potential evaluated elsewhere (in Python, say) whose every call costs
    /// more than its arithmetic. The CPU engine then takes its batch path (the
    /// agent path's update, step by step over a chunk of agents), unless the
    /// potential is also separable or stochastic. Default: no.
    fn batched(&self) -> bool {
        false
    }

    /// The gradients of `xs.len() / dim` agents at once, `[K][d]` flattened,
    /// into `out` (same layout). The default is [`Potential::grad_f32`] agent
    /// by agent.
    fn grad_batch_f32(&self, xs: &[f32], out: &mut [f32]) {
        let d = self.dim();
        for (x, g) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            self.grad_f32(x, g);
        }
    }

    /// The values of `xs.len() / dim` agents at once, `[K][d]` flattened, into
    /// `out` (`K` entries). The default is [`Potential::value`] agent by agent.
    fn value_batch(&self, xs: &[f64], out: &mut [f64]) {
        let d = self.dim();
        for (x, v) in xs.chunks_exact(d).zip(out.iter_mut()) {
            *v = self.value(x);
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
    /// CPU engine tabulates them once and gathers them per block of work, so
    /// that [`Potential::grad_coord`] needs no indexing and vectorises; the GPU
    /// kernels read them from a buffer.
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

    /// `Phi(x)` in f32, where the potential has a faster way than rounding
    /// [`Potential::value`] (default `None`: it has not). The weighted mean and
    /// CBO weigh agents by it where it is given (DESIGN section 2.7): the
    /// separable built-ins sum their WGSL twin's `value_coord` in coordinate
    /// order, with the same f32 operations, about ten times faster than their
    /// f64 value.
    fn value_f32(&self, x: &[f32]) -> Option<f32> {
        let _ = x;
        None
    }

    /// [`Potential::value_f32`] of the agents of `xs` (one after another) into
    /// `out` (one each), the same bits agent by agent; `false` (the default,
    /// `out` untouched) where the potential has no f32 value. The separable
    /// built-ins evaluate 16 agents at a time, coordinate by coordinate, so the
    /// compiler vectorises across agents.
    fn value_f32_batch(&self, xs: &[f32], out: &mut [f32]) -> bool {
        let _ = (xs, out);
        false
    }

    /// Whether [`Potential::grad`] gives the gradient (default `true`). A
    /// potential given by its value alone ([`ValueFn`]) says `false`, and only
    /// the gradient-free CBO scheme runs on it.
    fn has_gradient(&self) -> bool {
        true
    }

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
            fn batched(&self) -> bool {
                (**self).batched()
            }
            fn grad_batch_f32(&self, xs: &[f32], out: &mut [f32]) {
                (**self).grad_batch_f32(xs, out)
            }
            fn value_batch(&self, xs: &[f64], out: &mut [f64]) {
                (**self).value_batch(xs, out)
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
            fn has_gradient(&self) -> bool {
                (**self).has_gradient()
            }
            fn value_f32(&self, x: &[f32]) -> Option<f32> {
                (**self).value_f32(x)
            }
            #[inline(always)]
            fn value_f32_batch(&self, xs: &[f32], out: &mut [f32]) -> bool {
                (**self).value_f32_batch(xs, out)
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
            PotentialKind::Levy => Builtin::Levy(Levy::new(shift)),
            PotentialKind::Schwefel => Builtin::Schwefel(Schwefel::new(shift)),
            PotentialKind::Alpine => Builtin::Alpine(Alpine::new(shift)),
            PotentialKind::Salomon => Builtin::Salomon(Salomon::new(shift)),
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
    fn value_f32(&self, x: &[f32]) -> Option<f32> {
        with_builtin!(self, p => p.value_f32(x))
    }
    #[inline(always)]
    fn value_f32_batch(&self, xs: &[f32], out: &mut [f32]) -> bool {
        with_builtin!(self, p => p.value_f32_batch(xs, out))
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
/// coordinate, which is what makes the two agree bit for bit, and `value_f32`
/// as the sum in coordinate order of the type's own `value_coord` (the twin of
/// its WGSL `value_coord`, which every separable built-in defines).
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
        fn value_f32(&self, x: &[f32]) -> Option<f32> {
            let mut v = 0.0f32;
            for k in 0..x.len() {
                v += self.value_coord(self.coord_consts(k), x[k]);
            }
            Some(v)
        }
        #[inline(always)]
        fn value_f32_batch(&self, xs: &[f32], out: &mut [f32]) -> bool {
            // 16 agents at a time, each summed in coordinate order as above.
            const A: usize = 16;
            let d = self.dim();
            for (xc, oc) in xs.chunks(A * d).zip(out.chunks_mut(A)) {
                let mut acc = [0.0f32; A];
                let mut col = [0.0f32; A];
                for k in 0..d {
                    let c = self.coord_consts(k);
                    for a in 0..oc.len() {
                        col[a] = xc[a * d + k];
                    }
                    for a in 0..A {
                        acc[a] += self.value_coord(c, col[a]);
                    }
                }
                oc.copy_from_slice(&acc[..oc.len()]);
            }
            true
        }
    };
}
pub(crate) use separable_grad_f32;

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
        let c = check_gradient(&Bowl { wrong: true }, &[0.5, 2.0], 1e-5).unwrap();
        assert_eq!(c.coordinate, 1);
        assert!((c.error - 2.0 / 6.0).abs() < 1e-6, "{c:?}");
        let c = check_gradient(&Bowl { wrong: false }, &[0.5, 2.0], 1e-5).unwrap();
        assert!(c.error < 1e-9, "{c:?}");
        let e = check_gradient(&Bowl { wrong: false }, &[0.5], 1e-5).unwrap_err();
        assert_eq!((e.field.as_str(), e.value.as_str()), ("x", "1 coordinates"));
    }

    /// `sum 0.5 (k + 1) x_k^2`, separable, whose `grad_coord` forgets the index
    /// when `forgets`: the f32 check sees it (the f64 `grad` is right either way).
    struct Ramp {
        forgets: bool,
    }

    impl Potential for Ramp {
        fn dim(&self) -> usize {
            3
        }
        fn value(&self, x: &[f64]) -> f64 {
            (0..3).map(|k| 0.5 * (k + 1) as f64 * x[k] * x[k]).sum()
        }
        fn grad(&self, x: &[f64], g: &mut [f64]) {
            for k in 0..3 {
                g[k] = (k + 1) as f64 * x[k];
            }
        }
        fn separable(&self) -> bool {
            true
        }
        fn grad_coord(&self, k: usize, _c: [f32; 2], x_k: f32) -> f32 {
            let k = if self.forgets { 0 } else { k };
            (k + 1) as f32 * x_k
        }
        fn reference_points(&self) -> Vec<Vec<f64>> {
            vec![vec![0.0; 3]]
        }
    }

    /// The f32 check compares what the engines step with: a `grad_coord` that
    /// ignores its index is off by (3 - 1) x_2 on coordinate 2, against a scale
    /// of about 2 |g_2| (the gradient and the Hessian times |x_2|), an error near
    /// 1/3; the right one is exact here (products of small integers and f32 x).
    #[test]
    fn check_f32_gradient_sees_a_forgotten_index() {
        use super::check_f32_gradient;
        let x = [0.5, -1.0, 2.0];
        let c = check_f32_gradient(&Ramp { forgets: true }, &x).unwrap();
        assert_eq!(c.coordinate, 2);
        assert!(c.error > 0.2, "{c:?}");
        let c = check_f32_gradient(&Ramp { forgets: false }, &x).unwrap();
        assert!(c.error < 1e-12, "{c:?}");
    }
    /// Every separable built-in has an f32 value (`value_f32`, which the
    /// weighted mean reads), and it is the f64 value to f32 accuracy: at points
    /// in [-5, 5]^d (f32, no shift, so the point is exact), each term is a few
    /// f32 operations (and one `fastmath::sincos`, good to a few 2^-24 of 1)
    /// on intermediates bounded by `420 + y^4 + 10 y^2 + 10` (Schwefel's
    /// constant, Styblinski-Tang's quartic, Rastrigin's terms, and the
    /// others', which are smaller), so 64 units of 2^-24 of the sum of those
    /// bounds covers the roundings with room; a wrong coefficient (a term off
    /// by 1% of itself) is far outside.
    #[test]
    fn f32_values_are_the_f64_values() {
        use crate::potential::testing::points;
        for p in every_builtin(5) {
            let Some(_) = p.value_f32(&[0.0; 5][..p.dim()]) else {
                assert!(
                    !p.separable(),
                    "{}: a separable built-in gives value_f32",
                    p.name()
                );
                continue;
            };
            let d = p.dim();
            for x in points(d, 5.0, 200) {
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
                let (v32, v64) = (p.value_f32(&x32).unwrap() as f64, p.value(&x64));
                // The batch gives the same bits, whatever the agent's place in it.
                let mut batch = x32.clone();
                batch.extend((0..18 * d).map(|i| (i as f32 * 0.37).sin()));
                let mut out = vec![0.0f32; 19];
                assert!(p.value_f32_batch(&batch, &mut out));
                assert_eq!(out[0].to_bits(), (v32 as f32).to_bits(), "{}", p.name());
                for a in 1..19 {
                    let one = p.value_f32(&batch[a * d..(a + 1) * d]).unwrap();
                    assert_eq!(out[a].to_bits(), one.to_bits(), "{} agent {a}", p.name());
                }
                let bound: f64 = x64
                    .iter()
                    .map(|y| 420.0 + y.powi(4) + 10.0 * y * y + 10.0)
                    .sum();
                let tol = 64.0 * 5.960_464_477_539_063e-8 * bound;
                assert!(
                    (v32 - v64).abs() <= tol,
                    "{} at {x32:?}: f32 {v32}, f64 {v64}, tolerance {tol}",
                    p.name()
                );
            }
        }
    }

    use std::path::Path;

    /// The files of `src/potential/` that are not built-ins.
    const SUPPORT_FILES: [&str; 5] = ["mod", "check", "shift", "testing", "value_fn"];

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
                .filter(|s| !SUPPORT_FILES.contains(&s.as_str()))
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
