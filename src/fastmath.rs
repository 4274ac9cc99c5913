//! Branch-free f32 `ln` and `sincos` with explicit range reduction, so that the
//! hot loops vectorise and the GPU kernels can use the same arithmetic (WGSL's
//! built-in `sin`/`cos` are only accurate near zero). Polynomials from Cephes
//! (`logf.c`, `sinf.c`); about 1 ulp on their reduced ranges.

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
    const SQRT_HALF: f32 = core::f32::consts::FRAC_1_SQRT_2;
    let bits = x.to_bits();
    // x = m * 2^e with m in [0.5, 1).
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
    let small = m < SQRT_HALF;
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
}
