// Ackley, -20 exp(-0.2 sqrt(sum y_k^2 / d)) - exp(sum cos(2 pi y_k) / d) + 20 + e,
// y = x - shift. Keep in sync with src/potential/ackley.rs (which uses the
// standard library's cos and sin: the GPU's differ by their rounding).
//!include potential_bindings
//!include fastmath

const SEPARABLE: bool = false;

fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {
    let tau = 6.28318530717958647692;
    let d = f32(DIM);
    var s2 = 0.0;
    var sc = 0.0;
    for (var k = 0u; k < DIM; k++) {
        let y = (*x)[k] - coord_consts[k].x;
        s2 += y * y;
        sc += fast_sincos(tau * y).y;
    }
    let r = sqrt(s2 / d);
    var a = 0.0;
    if r > 0.0 {
        a = 4.0 * exp(-0.2 * r) / (d * r);
    }
    let b = exp(sc / d) * tau / d;
    for (var k = 0u; k < DIM; k++) {
        let y = (*x)[k] - coord_consts[k].x;
        (*g)[k] = a * y + b * fast_sincos(tau * y).x;
    }
}

fn potential_value(x: ptr<function, array<f32, DIM>>) -> f32 {
    let d = f32(DIM);
    var s2 = 0.0;
    var sc = 0.0;
    for (var k = 0u; k < DIM; k++) {
        let y = (*x)[k] - coord_consts[k].x;
        s2 += y * y;
        sc += fast_sincos(6.28318530717958647692 * y).y;
    }
    return -20.0 * exp(-0.2 * sqrt(s2 / d)) - exp(sc / d) + 20.0 + 2.71828182845904523536;
}
