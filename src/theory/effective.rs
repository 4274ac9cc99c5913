//! The effective potential of the homogenized dynamics (the paper's eq. 12, the
//! Cole-Hopf formula):
//!
//! `Phi_{beta,gamma}(x) = -(1/beta) ln( (G_{gamma/beta} * exp(-beta Phi))(x) )`,
//!
//! with `G_s` the Gaussian kernel of variance `s` (the paper prints the formula
//! without the minus sign). Its gradient is `(x - E[Y | x]) / gamma`, `Y | x`
//! having density proportional to `exp(-beta (Phi(y) + |x - y|^2 / (2 gamma)))`:
//! the drift that HOM-SGLD's inner loop estimates as `eps -> 0`
//! ([`homogenized_drift`] runs that loop with X held fixed).
//!
//! Computed by quadrature in 1 and 2 dimensions, and coordinate by coordinate for
//! separable potentials in any dimension (the kernel and `exp(-beta Phi)` then
//! factor, so `Phi_{beta,gamma}` is a sum of 1-D effective potentials). The sums
//! run in log space, so `beta Phi` of hundreds does not overflow.

use super::{LogSumExp, bad, check_points, positive, simpson};
use crate::config::MethodConfig;
use crate::error::Result;
use crate::potential::Potential;
use crate::rng;

/// Composite Simpson's rule over `+-width` standard deviations of the kernel.
#[derive(Debug, Clone, Copy)]
pub struct Quadrature {
    /// Nodes per axis in 1-D and for each coordinate of a separable potential
    /// (odd). Enough to resolve Phi's finest oscillation over `2 width` kernel
    /// standard deviations: the rough potential with delta = 0.01 oscillates with
    /// period 0.063.
    pub points: usize,
    /// Nodes per axis for 2-D non-separable potentials (odd).
    pub points_2d: usize,
    /// Half-width in standard deviations `sqrt(gamma / beta)`; the Gaussian's
    /// mass beyond 8 is below 1e-15.
    pub width: f64,
}

impl Default for Quadrature {
    fn default() -> Self {
        Self {
            points: 4001,
            points_2d: 201,
            width: 8.0,
        }
    }
}

/// `Phi_{beta,gamma}(x)` and its gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// `Phi_{beta,gamma}(x)`.
    pub value: f64,
    /// `grad Phi_{beta,gamma}(x) = (x - E[Y | x]) / gamma`, one entry per coordinate.
    pub grad: Vec<f64>,
}

/// The effective potential of `p` at `x` for inverse temperature `beta` and
/// regularisation `gamma` (both > 0). `p` must be 1- or 2-dimensional, or
/// separable.
pub fn effective<P: Potential + ?Sized>(
    p: &P,
    x: &[f64],
    beta: f64,
    gamma: f64,
    quad: &Quadrature,
) -> Result<Effective> {
    positive("beta", beta)?;
    positive("gamma", gamma)?;
    positive("width", quad.width)?;
    check_points("points", quad.points)?;
    let d = p.dim();
    check_dim(x, d)?;
    let s = (gamma / beta).sqrt();
    // The integrand exp(-beta Phi(y) - |x - y|^2 / (2 s^2)) peaks where
    // y = x - gamma grad Phi(y): at large beta gamma that can be many kernel
    // widths from x, so the window follows it (see `Window`).
    if p.separable() || d == 1 {
        // Phi(x) = Phi(x) + sum_k psi_k(x_k), psi_k(t) = Phi(x with x_k = t) - Phi(x).
        let base = p.value(x);
        let mut value = base;
        let mut grad = vec![0.0; d];
        let mut z = x.to_vec();
        for k in 0..d {
            let mut t = |y: &[f64]| {
                z[k] = y[0];
                let e = (y[0] - x[k]) / s;
                -0.5 * e * e - beta * (p.value(&z) - base)
            };
            let win = Window::find(&mut t, &[x[k]], s, quad.width);
            let n = win.points(quad.points);
            let (ys, w) = axis(win.lo[0], win.hi[0], n);
            let terms = ys.iter().zip(&w).map(|(&y, w)| w.ln() + t(&[y])).collect();
            z[k] = x[k];
            let l = LogSumExp::new(terms);
            value += -(l.ln_sum() - (s * std::f64::consts::TAU.sqrt()).ln()) / beta;
            grad[k] = (x[k] - l.mean(ys.iter().copied())) / gamma;
        }
        return Ok(Effective { value, grad });
    }
    if d != 2 {
        return Err(bad(
            "potential",
            format!("{} in dimension {d}", p.name()),
            "the effective potential by quadrature needs dimension 1 or 2, or a separable potential",
        ));
    }
    check_points("points_2d", quad.points_2d)?;
    let mut t = |y: &[f64]| {
        let (a, b) = ((y[0] - x[0]) / s, (y[1] - x[1]) / s);
        -0.5 * (a * a + b * b) - beta * p.value(y)
    };
    let win = Window::find(&mut t, x, s, quad.width);
    let n = win.points(quad.points_2d);
    let (y0, w0) = axis(win.lo[0], win.hi[0], n);
    let (y1, w1) = axis(win.lo[1], win.hi[1], n);
    let mut terms = Vec::with_capacity(n * n);
    let mut ys = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let y = [y0[i], y1[j]];
            terms.push(w0[i].ln() + w1[j].ln() + t(&y));
            ys.push(y);
        }
    }
    let l = LogSumExp::new(terms);
    let value = -(l.ln_sum() - (s * s * std::f64::consts::TAU).ln()) / beta;
    let grad = (0..2)
        .map(|k| (x[k] - l.mean(ys.iter().map(|y| y[k]))) / gamma)
        .collect();
    Ok(Effective { value, grad })
}

fn check_dim(x: &[f64], d: usize) -> Result<()> {
    if x.len() == d {
        Ok(())
    } else {
        Err(bad(
            "x",
            format!("{} coordinates", x.len()),
            &format!("must have the potential's dimension, {d}"),
        ))
    }
}

/// Simpson nodes and weights on `[lo, hi]`.
fn axis(lo: f64, hi: f64, points: usize) -> (Vec<f64>, Vec<f64>) {
    let h = (hi - lo) / (points - 1) as f64;
    (
        (0..points).map(|i| lo + i as f64 * h).collect(),
        simpson(points, h),
    )
}

/// The box that holds all but `exp(-40)` of a log-integrand `t`: its centre
/// climbs from `x` to the integrand's peak (in steps of `width` kernel widths
/// `s`, on a coarse grid), then each side grows until `t` on that face is 40
/// below the peak. Found on coarse grids, so a peak much narrower than the kernel
/// could be missed.
struct Window {
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// How much wider than `2 width s` the box became.
    growth: f64,
}

impl Window {
    const DROP: f64 = 40.0;
    const COARSE: usize = 33;

    fn find(t: &mut impl FnMut(&[f64]) -> f64, x: &[f64], s: f64, width: f64) -> Self {
        let d = x.len();
        let half = width * s;
        let mut c = x.to_vec();
        let mut best = f64::NEG_INFINITY;
        for _ in 0..1000 {
            let (arg, val, on_edge) = Self::coarse_max(t, &c, half);
            best = val;
            if !on_edge || !val.is_finite() {
                break;
            }
            c = arg;
        }
        let mut lo: Vec<f64> = c.iter().map(|v| v - half).collect();
        let mut hi: Vec<f64> = c.iter().map(|v| v + half).collect();
        for k in 0..d {
            for upper in [false, true] {
                for _ in 0..64 {
                    // NaN on the face counts as below: stop growing.
                    let edge = Self::face_max(t, &lo, &hi, k, upper);
                    if edge.is_nan() || edge <= best - Self::DROP {
                        break;
                    }
                    if upper {
                        hi[k] += half;
                    } else {
                        lo[k] -= half;
                    }
                }
            }
        }
        let growth = (0..d)
            .map(|k| (hi[k] - lo[k]) / (2.0 * half))
            .fold(1.0, f64::max);
        Self { lo, hi, growth }
    }

    /// Nodes per axis: as many per kernel width as `base` gives the unit box, up
    /// to 16 times `base`; odd.
    fn points(&self, base: usize) -> usize {
        let n = ((base - 1) as f64 * self.growth.min(16.0)).ceil() as usize;
        n + 1 + n % 2
    }

    /// The best point of a coarse grid over the box `c +- half`, its value, and
    /// whether it lies on the box's boundary.
    fn coarse_max(
        t: &mut impl FnMut(&[f64]) -> f64,
        c: &[f64],
        half: f64,
    ) -> (Vec<f64>, f64, bool) {
        let d = c.len();
        let n = Self::COARSE;
        let mut idx = vec![0usize; d];
        let (mut best, mut arg, mut edge) = (f64::NEG_INFINITY, c.to_vec(), false);
        let mut y = vec![0.0; d];
        loop {
            for k in 0..d {
                y[k] = c[k] - half + 2.0 * half * idx[k] as f64 / (n - 1) as f64;
            }
            let v = t(&y);
            if v > best {
                best = v;
                arg.copy_from_slice(&y);
                edge = idx.iter().any(|&i| i == 0 || i == n - 1);
            }
            let mut k = 0;
            while k < d {
                idx[k] += 1;
                if idx[k] < n {
                    break;
                }
                idx[k] = 0;
                k += 1;
            }
            if k == d {
                break;
            }
        }
        (arg, best, edge)
    }

    /// The largest value of `t` on a coarse grid of the box's face where
    /// coordinate `k` is at its lower or upper end.
    fn face_max(
        t: &mut impl FnMut(&[f64]) -> f64,
        lo: &[f64],
        hi: &[f64],
        k: usize,
        upper: bool,
    ) -> f64 {
        let mut y: Vec<f64> = lo.to_vec();
        y[k] = if upper { hi[k] } else { lo[k] };
        if lo.len() == 1 {
            return t(&y);
        }
        let j = 1 - k;
        let n = Self::COARSE;
        (0..n)
            .map(|i| {
                y[j] = lo[j] + (hi[j] - lo[j]) * i as f64 / (n - 1) as f64;
                t(&y)
            })
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// The drift `(x - mean Y) / gamma` of HOM-SGLD's inner loop (docs/DESIGN.md section 2)
/// run for `steps` inner steps with X held fixed at `x`: the simulated
/// counterpart of [`Effective::grad`] in the small-eps limit. Returns the drift
/// and its standard error (from 20 batch means). The first tenth of the steps is
/// discarded as burn-in; `Y` starts at `x`; the noise is the stream of agent 0,
/// step 0, inner steps `0..steps`, under `seed`. Uses `method`'s `dt`, `beta`,
/// `eps`, `gamma` and `inner_steps` (for the inner step `h = dt / (M eps)`), and
/// no taming.
pub fn homogenized_drift<P: Potential + ?Sized>(
    p: &P,
    x: &[f64],
    method: &MethodConfig,
    steps: u32,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let crate::config::Scheme::Homogenized {
        eps,
        gamma,
        inner_steps,
        ..
    } = method.scheme
    else {
        return Err(bad(
            "scheme",
            "euler",
            "the drift needs a homogenized method (eps, gamma, inner_steps)",
        ));
    };
    let d = p.dim();
    check_dim(x, d)?;
    if steps < 200 {
        return Err(bad("steps", steps, "must be at least 200"));
    }
    let delta = method.dt / inner_steps as f64;
    let h = delta / eps;
    let noise = (2.0 * delta / (method.beta * eps)).sqrt();
    let key = rng::key_from_seed(seed);
    let burn = steps / 10;
    let batches = 20;
    let per_batch = (steps - burn) / batches;
    let mut y = x.to_vec();
    let mut g = vec![0.0; d];
    let mut z = vec![0.0f32; d.div_ceil(4) * 4];
    let mut batch_means = vec![vec![0.0; d]; batches as usize];
    for m in 0..burn + per_batch * batches {
        rng::normals_into(&mut z, key, 0, 0, rng::DOMAIN_NOISE, m);
        p.grad(&y, &mut g);
        for k in 0..d {
            y[k] += -h * g[k] + h / gamma * (x[k] - y[k]) + noise * z[k] as f64;
        }
        if m >= burn {
            let bm = &mut batch_means[((m - burn) / per_batch) as usize];
            for k in 0..d {
                bm[k] += y[k] / per_batch as f64;
            }
        }
    }
    let mut drift = vec![0.0; d];
    let mut se = vec![0.0; d];
    for k in 0..d {
        let means: Vec<f64> = batch_means.iter().map(|b| b[k]).collect();
        let mean = means.iter().sum::<f64>() / batches as f64;
        let var = means.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (batches - 1) as f64;
        drift[k] = (x[k] - mean) / gamma;
        se[k] = (var / batches as f64).sqrt() / gamma;
    }
    Ok((drift, se))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::{DoubleWell, Quadratic, Rough, Shift, SixHumpCamel};

    /// For Phi = a x^2 / 2 the convolution is Gaussian and
    /// Phi_{beta,gamma}(x) = a / (1 + a gamma) x^2 / 2 + (1 / (2 beta)) ln(1 + a gamma):
    /// Simpson's rule on a smooth integrand with 4001 nodes is exact to rounding.
    #[test]
    fn quadratic_has_the_closed_form() {
        for (a, beta, gamma) in [(2.0, 1.0, 0.1), (0.5, 10.0, 3.0), (40.0, 200.0, 0.01)] {
            let p = Quadratic::new(vec![a], Shift::zero(1));
            for x in [-3.0, -0.2, 0.0, 1.7] {
                let e = effective(&p, &[x], beta, gamma, &Quadrature::default()).unwrap();
                let c = a / (1.0 + a * gamma);
                let want = 0.5 * c * x * x + (1.0 + a * gamma).ln() / (2.0 * beta);
                assert!(
                    (e.value - want).abs() < 1e-10,
                    "a {a} x {x}: {} vs {want}",
                    e.value
                );
                assert!(
                    (e.grad[0] - c * x).abs() < 1e-9,
                    "a {a} x {x}: {} vs {}",
                    e.grad[0],
                    c * x
                );
            }
        }
    }

    /// The gradient is the derivative of the value: central differences with step
    /// 1e-4 agree to O(1e-8) on these smooth potentials, 1e-6 allows for the
    /// quadrature's rounding.
    #[test]
    fn gradient_is_the_derivative() {
        let q = Quadrature::default();
        let dw = DoubleWell::new(Shift::zero(1));
        let camel = SixHumpCamel::new(Shift::zero(2));
        let cases: [(&dyn Potential, Vec<f64>); 2] = [(&dw, vec![0.3]), (&camel, vec![0.2, -0.4])];
        for (p, x) in cases {
            let e = effective(p, &x, 3.0, 0.2, &q).unwrap();
            for k in 0..x.len() {
                let mut a = x.clone();
                let mut b = x.clone();
                a[k] += 1e-4;
                b[k] -= 1e-4;
                let fd = (effective(p, &a, 3.0, 0.2, &q).unwrap().value
                    - effective(p, &b, 3.0, 0.2, &q).unwrap().value)
                    / 2e-4;
                assert!(
                    (fd - e.grad[k]).abs() < 1e-6,
                    "{} k {k}: {fd} vs {}",
                    p.name(),
                    e.grad[k]
                );
            }
        }
    }

    /// Separable in 3-D: the sum of the 1-D effective potentials of its coordinates.
    #[test]
    fn separable_is_coordinatewise() {
        let q = Quadrature::default();
        let x = [0.4, -1.2, 0.05];
        let p3 = DoubleWell::new(Shift::zero(3));
        let p1 = DoubleWell::new(Shift::zero(1));
        let e3 = effective(&p3, &x, 2.0, 0.5, &q).unwrap();
        let sum: f64 = x
            .iter()
            .map(|&v| effective(&p1, &[v], 2.0, 0.5, &q).unwrap().value)
            .sum();
        assert!((e3.value - sum).abs() < 1e-10, "{} vs {sum}", e3.value);
    }

    /// No overflow where beta Phi is in the hundreds: the rough potential at
    /// |x| = 20 has Phi near 4.4e2, and beta = 10 makes the exponents -4e3.
    #[test]
    fn large_beta_phi_is_finite() {
        let p = Rough::new(0.01, Shift::zero(1));
        let e = effective(&p, &[20.0], 10.0, 0.1, &Quadrature::default()).unwrap();
        assert!(e.value.is_finite() && e.grad[0].is_finite(), "{e:?}");
        // The smoothed landscape is lower than the raw one's average there.
        assert!(e.value < p.value(&[20.0]) + 50.0, "{e:?}");
    }

    #[test]
    fn bad_input_is_named() {
        let q = Quadrature::default();
        let p = DoubleWell::new(Shift::zero(1));
        for (beta, gamma, field) in [
            (1.0, 0.0, "gamma"),
            (1.0, -1.0, "gamma"),
            (0.0, 1.0, "beta"),
        ] {
            let e = effective(&p, &[0.0], beta, gamma, &q)
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{e}");
        }
        let r = crate::potential::Rosenbrock::new(Shift::zero(3));
        let e = effective(&r, &[0.0; 3], 1.0, 1.0, &q)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dimension 3") && e.contains("separable"), "{e}");
        let e = effective(&p, &[0.0, 1.0], 1.0, 1.0, &q)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dimension, 1"), "{e}");
        let even = Quadrature { points: 100, ..q };
        let e = effective(&p, &[0.0], 1.0, 1.0, &even)
            .unwrap_err()
            .to_string();
        assert!(e.contains("points"), "{e}");
    }
}
