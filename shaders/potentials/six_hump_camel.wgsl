// The six-hump camel (DIM = 2), y = x - shift. Keep in sync with
// src/potential/six_hump_camel.rs.
//!include potential_bindings

const SEPARABLE: bool = false;

fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {
    let a = (*x)[0] - coord_consts[0].x;
    let b = (*x)[1] - coord_consts[1].x;
    let a2 = a * a;
    (*g)[0] = 8.0 * a - 8.4 * a2 * a + 2.0 * a2 * a2 * a + b;
    (*g)[1] = a - 8.0 * b + 16.0 * b * b * b;
}

fn potential_value(x: ptr<function, array<f32, DIM>>) -> f32 {
    let a = (*x)[0] - coord_consts[0].x;
    let b = (*x)[1] - coord_consts[1].x;
    let a2 = a * a;
    return (4.0 - 2.1 * a2 + a2 * a2 / 3.0) * a2 + a * b + (-4.0 + 4.0 * b * b) * b * b;
}
