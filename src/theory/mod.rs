//! The paper's theory as numbers a user can compute for their own potential:
//! the effective potential of the homogenized dynamics (section 4, eq. 12, the
//! Cole-Hopf formula) in [`effective`], and the stationary states of the
//! mean-field limit with quadratic interaction (section 3, eq. 8 and 9) with
//! their phase transition in [`mean_field`]. Both by quadrature, in f64.

pub mod effective;
pub mod mean_field;

use crate::error::{ConfigError, Error, Result};

/// Composite Simpson weights for `n` (odd, at least 3) equally spaced nodes `h`
/// apart.
fn simpson(n: usize, h: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let c = if i == 0 || i == n - 1 {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            c * h / 3.0
        })
        .collect()
}

/// `ln sum_j exp(t_j)` and the `exp(t_j - max)`-weighted sums of the given
/// values, without overflow however large `|t_j|` is (`beta Phi` of hundreds).
struct LogSumExp {
    max: f64,
    terms: Vec<f64>,
}

impl LogSumExp {
    fn new(terms: Vec<f64>) -> Self {
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Self { max, terms }
    }

    /// `ln sum_j exp(t_j)`.
    fn ln_sum(&self) -> f64 {
        self.max + self.scaled().sum::<f64>().ln()
    }

    /// `sum_j exp(t_j) v_j / sum_j exp(t_j)`.
    fn mean(&self, v: impl Iterator<Item = f64>) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for (e, v) in self.scaled().zip(v) {
            num += e * v;
            den += e;
        }
        num / den
    }

    fn scaled(&self) -> impl Iterator<Item = f64> + '_ {
        self.terms.iter().map(move |t| (t - self.max).exp())
    }
}

fn positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(bad(field, v, "must be a finite number > 0"))
    }
}

fn bad(field: &str, value: impl ToString, allowed: &str) -> Error {
    Error::Config(ConfigError {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    })
}

/// Nodes per axis: odd and at least 3.
fn check_points(field: &str, n: usize) -> Result<()> {
    if n >= 3 && n % 2 == 1 {
        Ok(())
    } else {
        Err(bad(field, n, "must be an odd number >= 3 (Simpson's rule)"))
    }
}

/// A root of `f` in `[a, b]` by bisection to the last bit; `f(a)` and `f(b)`
/// must differ in sign (or one be 0).
fn bisect(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let mut fa = f(a);
    if fa == 0.0 {
        return a;
    }
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if m <= a || m >= b {
            break;
        }
        let fm = f(m);
        if fm == 0.0 {
            return m;
        }
        if (fm < 0.0) == (fa < 0.0) {
            a = m;
            fa = fm;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}
