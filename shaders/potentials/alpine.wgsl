// Alpine 1: sum_k |y_k sin(y_k) + 0.1 y_k|, y = x - shift; the gradient
// sign(t) (sin y + y cos y + 0.1), sign(0) = 0.
// Keep in sync with src/potential/alpine.rs.
//!include potential_bindings
//!include fastmath

const SEPARABLE: bool = true;

fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    let sc = fast_sincos(y);
    let t = y * sc.x + 0.1 * y;
    let dt = sc.x + y * sc.y + 0.1;
    return select(select(0.0, -dt, t < 0.0), dt, t > 0.0);
}

fn value_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    return abs(y * fast_sincos(y).x + 0.1 * y);
}
