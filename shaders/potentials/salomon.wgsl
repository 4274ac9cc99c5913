// Salomon: 1 - cos(2 pi r) + 0.1 r, r = |x - shift|; the gradient
// (2 pi sin(2 pi r) + 0.1) y / r, 0 at r = 0.
// Keep in sync with src/potential/salomon.rs.
//!include potential_bindings
//!include fastmath

const SEPARABLE: bool = false;

fn salomon_r(x: ptr<function, array<f32, DIM>>) -> f32 {
    var r2 = 0.0;
    for (var k = 0u; k < DIM; k++) {
        let y = (*x)[k] - coord_consts[k].x;
        r2 += y * y;
    }
    return sqrt(r2);
}

fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {
    let r = salomon_r(x);
    var f = 0.0;
    if r > 0.0 {
        f = (6.28318530717958647692 * fast_sincos(6.28318530717958647692 * r).x + 0.1) / r;
    }
    for (var k = 0u; k < DIM; k++) {
        (*g)[k] = f * ((*x)[k] - coord_consts[k].x);
    }
}

fn potential_value(x: ptr<function, array<f32, DIM>>) -> f32 {
    let r = salomon_r(x);
    return 1.0 - fast_sincos(6.28318530717958647692 * r).y + 0.1 * r;
}
