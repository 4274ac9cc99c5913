// Griewank, 1 + sum y_k^2 / 4000 - prod cos(y_k / sqrt(k + 1)), y = x - shift; the
// product over j != k from prefix and suffix products. Keep in sync with
// src/potential/griewank.rs.
//!include potential_bindings
//!include fastmath

const SEPARABLE: bool = false;

fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {
    var suffix = 1.0;
    for (var i = 0u; i < DIM; i++) {
        let k = DIM - 1u - i;
        (*g)[k] = suffix;
        let y = (*x)[k] - coord_consts[k].x;
        suffix *= fast_sincos(y / sqrt(f32(k + 1u))).y;
    }
    var prefix = 1.0;
    for (var k = 0u; k < DIM; k++) {
        let y = (*x)[k] - coord_consts[k].x;
        let r = sqrt(f32(k + 1u));
        let sc = fast_sincos(y / r);
        (*g)[k] = y / 2000.0 + sc.x / r * prefix * (*g)[k];
        prefix *= sc.y;
    }
}

fn potential_value(x: ptr<function, array<f32, DIM>>) -> f32 {
    var s = 0.0;
    var p = 1.0;
    for (var k = 0u; k < DIM; k++) {
        let y = (*x)[k] - coord_consts[k].x;
        s += y * y / 4000.0;
        p *= fast_sincos(y / sqrt(f32(k + 1u))).y;
    }
    return 1.0 + s - p;
}
