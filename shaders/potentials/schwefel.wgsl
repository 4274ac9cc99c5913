// Schwefel 2.26: sum_k (C - y_k sin(sqrt|y_k|)), y = x - shift; the gradient
// -(sin(s) + (s / 2) cos(s)), s = sqrt|y|.
// Keep in sync with src/potential/schwefel.rs.
//!include potential_bindings
//!include fastmath

const SEPARABLE: bool = true;

fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let s = sqrt(abs(x - c.x));
    let sc = fast_sincos(s);
    return -(sc.x + 0.5 * s * sc.y);
}

fn value_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    return 418.98288727243374 - y * fast_sincos(sqrt(abs(y))).x;
}
