// f32 sincos and ln with explicit range reduction: WGSL's sin and cos are only
// accurate near zero, and the rough potential takes them at arguments of 1e3 and
// more. Keep in sync with src/fastmath.rs (same constants, same order of
// operations, except that round() stands for the add-and-subtract of 1.5 * 2^23
// there: shader compilers may cancel (a + b) - b. The quadrant comes from the
// bits of qf + 1.5 * 2^23, as in the Rust code; naga clamps before every
// float-to-int conversion, which this avoids).

const TWO_OVER_PI: f32 = 0.63661977236758134308;
const PIO2_A: f32 = 1.5703125;
const PIO2_B: f32 = 4.837513e-4;
const PIO2_C: f32 = 7.54979e-8;
const ROUND_MAGIC: f32 = 12582912.0;

// (sin t, cos t).
fn fast_sincos(t: f32) -> vec2<f32> {
    let qf = round(t * TWO_OVER_PI);
    let q = bitcast<i32>(qf + ROUND_MAGIC) - bitcast<i32>(ROUND_MAGIC);
    let r = ((t - qf * PIO2_A) - qf * PIO2_B) - qf * PIO2_C;
    let z = r * r;
    let s = ((-1.9515296e-4 * z + 8.332161e-3) * z - 1.6666655e-1) * z * r + r;
    let c = ((2.4433157e-5 * z - 1.3887316e-3) * z + 4.1666646e-2) * z * z - 0.5 * z + 1.0;
    let swap = (q & 1) != 0;
    let sv = select(s, c, swap);
    let cv = select(c, s, swap);
    let sin_t = select(sv, -sv, (q & 2) != 0);
    let cos_t = select(cv, -cv, ((q + 1) & 2) != 0);
    return vec2<f32>(sin_t, cos_t);
}

// Natural logarithm of a positive normal f32.
fn fast_ln(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    var e = i32((bits >> 23u) & 0xFFu) - 126;
    let m = bitcast<f32>((bits & 0x807FFFFFu) | 0x3F000000u);
    let small = m < 0.70710678118654752440;
    e = e - select(0, 1, small);
    let f = select(m - 1.0, m + m - 1.0, small);
    let ef = f32(e);
    let z = f * f;
    var y = ((((((((7.0376836e-2 * f - 1.151461e-1) * f + 1.1676999e-1) * f
        - 1.2420141e-1) * f + 1.4249323e-1) * f - 1.6668058e-1) * f
        + 2.0000715e-1) * f - 2.4999994e-1) * f + 3.333333e-1) * f * z;
    y = y + -2.1219444e-4 * ef;
    y = y + -0.5 * z;
    var r = f + y;
    r = r + 0.6933594 * ef;
    return r;
}
