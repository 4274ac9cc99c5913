//! Branch-free f32 `ln`, `sincos`, `exp` and `tanh` with explicit range
//! reduction, so that the hot loops vectorise and the GPU kernels can use the
//! same arithmetic (WGSL's built-in `sin`/`cos` are only accurate near zero).
//! Polynomials from Cephes (`logf.c`, `sinf.c`, `expf.c`), about 1 ulp on their
//! reduced ranges; `tanh` is a rational interpolant (Eigen's), a few ulp. No
//! multiply-add is fused, so every instruction set gives the
//! same bits.

/// `2 / pi`.
const TWO_OVER_PI: f32 = core::f32::consts::FRAC_2_PI;
/// `pi / 2` in three parts (Cody-Waite): the first two have few enough mantissa
/// bits that `q * PIO2_A` and `q * PIO2_B` are exact for `|q| < 2^13`, i.e. for
/// arguments up to about 1.2e4.
const PIO2_A: f32 = 1.570_312_5;
const PIO2_B: f32 = 4.837_513e-4;
const PIO2_C: f32 = 7.549_79e-8;
/// 1.5 * 2^23: adding and subtracting it rounds an f32 of magnitude below 2^22 to
/// the nearest integer without a rounding instruction.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `(sin t, cos t)`. Accurate to a few ulp of 1 for `|t| <= 1.2e4`; finite for any
/// finite `t` below 2^22.
#[inline(always)]
pub fn sincos(t: f32) -> (f32, f32) {
    let big = t * TWO_OVER_PI + ROUND_MAGIC;
    let qf = big - ROUND_MAGIC;
    // The integer q from the bits of `big` (the same value as `qf as i32` below
    // 2^22): a saturating float-to-int cast would not vectorise.
    let q = (big.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let r = ((t - qf * PIO2_A) - qf * PIO2_B) - qf * PIO2_C;
    let z = r * r;
    let s = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * r + r;
    let c = ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    // Quadrant q mod 4: (s, c), (c, -s), (-s, -c), (-c, s).
    let swap = (q & 1) != 0;
    let (sv, cv) = if swap { (c, s) } else { (s, c) };
    let sin = if (q & 2) != 0 { -sv } else { sv };
    let cos = if ((q + 1) & 2) != 0 { -cv } else { cv };
    (sin, cos)
}

/// Natural logarithm for positive normal `x` (the uniforms of the stream are in
/// `[2^-25, 1)`).
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    ln_finish(ln_start(x))
}

/// [`ln`] halfway: the reduction `x = (1 + f) 2^ef` and the first five
/// coefficients of the polynomial in `f` (Horner's order).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LnStart {
    /// `f`, in `[sqrt(1/2) - 1, sqrt(2) - 1)`.
    pub f: f32,
    /// The exponent `ef` as an f32.
    pub ef: f32,
    /// The polynomial's partial sum after its first five coefficients.
    pub p: f32,
}

/// The first half of [`ln`]. The lane path runs the two halves in separate
/// loops, so that no chain of dependent operations is longer than the
/// processor's out-of-order window covers (docs/PERFORMANCE.md, "CPU, seventh
/// round"); `ln(x) == ln_finish(ln_start(x))`, the same operations in the same
/// order.
#[inline(always)]
pub(crate) fn ln_start(x: f32) -> LnStart {
    const SQRT_HALF: f32 = core::f32::consts::FRAC_1_SQRT_2;
    let bits = x.to_bits();
    // x = m * 2^e with m in [0.5, 1).
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
    let small = m < SQRT_HALF;
    e -= small as i32;
    let f = if small { m + m - 1.0 } else { m - 1.0 };
    let p = (((7.037_683_6e-2 * f - 1.151_461e-1) * f + 1.167_699_9e-1) * f - 1.242_014_1e-1) * f
        + 1.424_932_3e-1;
    LnStart { f, ef: e as f32, p }
}

/// The second half of [`ln`]: the rest of the polynomial and the sum.
#[inline(always)]
pub(crate) fn ln_finish(s: LnStart) -> f32 {
    let LnStart { f, ef, p } = s;
    let z = f * f;
    let mut y = ((((p * f - 1.666_805_8e-1) * f + 2.000_071_5e-1) * f - 2.499_999_4e-1) * f
        + 3.333_333e-1)
        * f
        * z;
    y += -2.121_944_4e-4 * ef;
    y += -0.5 * z;
    let mut r = f + y;
    r += 0.693_359_4 * ef;
    r
}

/// `e^x`, for the logistic function of the network's classifier: relative error
/// of a few ulp; `x` is clamped to `[-87, 88]` (so `2^n` stays a normal number),
/// where `e^x` is 1.6e-38 to 1.7e38, and NaN gives NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    // ln 2 in two parts (Cody-Waite): `n * LN2_HI` is exact for |n| < 2^9.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Compared so that NaN passes through (a min/max could turn it into a bound).
    let x = if x > 88.0 { 88.0 } else { x };
    let x = if x < -87.0 { -87.0 } else { x };
    let big = x * LOG2E + ROUND_MAGIC;
    let nf = big - ROUND_MAGIC;
    let n = (big.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    let z = r * r;
    let p = (((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 5e-1)
        * z
        + r
        + 1.0;
    // 2^n from its exponent bits (n is in [-126, 127] after the clamp).
    p * f32::from_bits(((n + 127) as u32) << 23)
}

/// `tanh x`: Eigen's 13/6-degree rational interpolant (the f32 `tanh` of Eigen
/// and TensorFlow's CPU kernels), one division and no exponential. Within 5e-7
/// relative everywhere (2 ulp of 2^-24 below |x| = 3, up to 7 near |x| = 6,
/// where tanh is within 2e-5 of 1); `+-1` beyond 9 (the input is clamped there,
/// and the result to `[-1, 1]`); NaN gives NaN. An exp-based tanh good to 3 ulp
/// everywhere was measured against it in the network's gradient: it halved the
/// gradient's largest deviation from the f64 definition (2.8e-5 to 1.4e-5 of a
/// layer's scale; the network's own f32 conditioning dominates) at a third less
/// speed (docs/PERFORMANCE.md).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // Compared so that NaN passes through.
    let x = if x > 9.0 { 9.0 } else { x };
    let x = if x < -9.0 { -9.0 } else { x };
    let x2 = x * x;
    let p = ((((((-2.760_768_5e-16 * x2 + 2.000_188e-13) * x2 - 8.604_672e-11) * x2
        + 5.122_297e-8)
        * x2
        + 1.485_722_4e-5)
        * x2
        + 6.372_619_3e-4)
        * x2
        + 4.893_524_6e-3)
        * x;
    let q = ((1.198_258_4e-6 * x2 + 1.185_347_1e-4) * x2 + 2.268_434_6e-3) * x2 + 4.893_525e-3;
    // Near the clamp the rational overshoots 1 by an ulp.
    let t = p / q;
    let t = if t > 1.0 { 1.0 } else { t };
    if t < -1.0 { -1.0 } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over |t| <= 1.2e4 the reduced argument carries the f32 input exactly, so the
    /// error is that of the polynomials plus the rounding of the reduction: a few
    /// ulp of 1 (2^-23 = 1.2e-7). 4e-7 allows 3-4 ulp.
    #[test]
    fn sincos_matches_f64_over_wide_range() {
        let mut worst = 0.0f64;
        let mut at = 0.0f32;
        let n = 400_000;
        for i in 0..=n {
            let t = -12_000.0 + 24_000.0 * (i as f32) / (n as f32);
            let (s, c) = sincos(t);
            let (s64, c64) = (t as f64).sin_cos();
            let e = ((s as f64) - s64).abs().max(((c as f64) - c64).abs());
            if e > worst {
                worst = e;
                at = t;
            }
        }
        assert!(worst < 4e-7, "worst sincos error {worst:e} at t = {at}");
    }

    /// Relative error of a few ulp (2^-24 = 6e-8 per rounding) over the range the
    /// uniforms take; absolute near x = 1 where ln vanishes.
    #[test]
    fn ln_matches_f64() {
        let mut x = 2.0f32.powi(-25);
        while x < 1.0 {
            let got = ln(x) as f64;
            let want = (x as f64).ln();
            let err = (got - want).abs();
            assert!(
                err <= 3e-7 * want.abs().max(1.0),
                "ln({x}) = {got}, want {want}"
            );
            x *= 1.000_37;
        }
        assert_eq!(ln(1.0), 0.0);
    }

    /// `ln` in its two halves is the one Horner polynomial written out (as it
    /// stands in `shaders/fastmath.wgsl`), bit for bit, over the uniforms'
    /// range: the halves may move no operation.
    #[test]
    fn ln_halves_are_the_one_polynomial() {
        fn written_out(x: f32) -> f32 {
            let bits = x.to_bits();
            let mut e = ((bits >> 23) & 0xff) as i32 - 126;
            let m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
            let small = m < core::f32::consts::FRAC_1_SQRT_2;
            e -= small as i32;
            let f = if small { m + m - 1.0 } else { m - 1.0 };
            let ef = e as f32;
            let z = f * f;
            let mut y = ((((((((7.037_683_6e-2 * f - 1.151_461e-1) * f + 1.167_699_9e-1) * f
                - 1.242_014_1e-1)
                * f
                + 1.424_932_3e-1)
                * f
                - 1.666_805_8e-1)
                * f
                + 2.000_071_5e-1)
                * f
                - 2.499_999_4e-1)
                * f
                + 3.333_333e-1)
                * f
                * z;
            y += -2.121_944_4e-4 * ef;
            y += -0.5 * z;
            let mut r = f + y;
            r += 0.693_359_4 * ef;
            r
        }
        let mut x = 2.0f32.powi(-25);
        while x <= 1.0 {
            assert_eq!(ln(x).to_bits(), written_out(x).to_bits(), "ln({x})");
            x = f32::from_bits(x.to_bits() + 997);
        }
    }

    /// Relative error against f64 over the whole range that reaches the polynomial
    /// (x = n ln 2 + r, |r| <= ln 2 / 2): the reduction's rounding (|n| ulp of
    /// ln 2's low part, below 2^-24 relative for |x| < 88) plus the polynomial's
    /// ~1 ulp and the final scaling (exact): 3e-7 allows 5 ulp of 2^-24.
    #[test]
    fn exp_matches_f64() {
        let mut worst = 0.0f64;
        let mut at = 0.0f32;
        let n = 400_000;
        for i in 0..=n {
            let x = -87.0 + 175.0 * (i as f32) / (n as f32);
            let want = (x as f64).exp();
            let e = ((exp(x) as f64) - want).abs() / want;
            if e > worst {
                worst = e;
                at = x;
            }
        }
        assert!(
            worst < 3e-7,
            "worst exp relative error {worst:e} at x = {at}"
        );
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(1e4) > 1e38 && exp(1e4).is_finite() && exp(-1e4) > 0.0);
    }

    /// Relative error against f64 over [-10, 10], dense near 0 where tanh x ~ x (the
    /// bound is relative, so small arguments are held to the same standard as
    /// large ones). The interpolant's own error peaks at 4.1e-7 near |x| = 6 (7 ulp
    /// of 2^-24 there, where tanh is within 2e-5 of 1); 5e-7 holds it with the
    /// f32 rounding of the evaluation on top. Odd, bounded by 1, and NaN passes
    /// through.
    #[test]
    fn tanh_matches_f64() {
        let mut worst = 0.0f64;
        let mut at = 0.0f32;
        let mut check = |x: f32| {
            let want = (x as f64).tanh();
            let got = tanh(x);
            assert_eq!(got, -tanh(-x), "tanh is odd at {x}");
            assert!(got.abs() <= 1.0, "tanh({x}) = {got}");
            let e = ((got as f64) - want).abs() / want.abs().max(f64::MIN_POSITIVE);
            if x != 0.0 && e > worst {
                worst = e;
                at = x;
            }
        };
        let n = 400_000;
        for i in 0..=n {
            check(-10.0 + 20.0 * (i as f32) / (n as f32));
        }
        let mut x = 1e-30f32;
        while x < 1.0 {
            check(x);
            x *= 1.001;
        }
        assert!(
            worst < 5e-7,
            "worst tanh relative error {worst:e} at x = {at}"
        );
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(50.0), 1.0);
        assert!(tanh(f32::NAN).is_nan());
    }
}
