// The paper's rough potential: sum_k (y_k sin(y_k / delta) + 0.1 y_k)^2, y = x - shift.
// Keep in sync with src/potential/rough.rs. potential_params.x = 1 / delta.
//!include potential_bindings
//!include fastmath

const SEPARABLE: bool = true;

fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    let t = y * potential_params.x;
    let sc = fast_sincos(t);
    let f = y * sc.x + 0.1 * y;
    return 2.0 * f * (sc.x + t * sc.y + 0.1);
}

fn value_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    let f = y * fast_sincos(y * potential_params.x).x + 0.1 * y;
    return f * f;
}
