// 10 d + sum_k (y_k^2 - 10 cos(2 pi y_k)), y = x - shift.
// Keep in sync with src/potential/rastrigin.rs.
//!include potential_bindings
//!include fastmath

const SEPARABLE: bool = true;

fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    let sc = fast_sincos(6.28318530717958647692 * y);
    return 2.0 * y + (10.0 * 6.28318530717958647692) * sc.x;
}

// Each coordinate carries its share 10 of the constant 10 d.
fn value_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    return 10.0 + y * y - 10.0 * fast_sincos(6.28318530717958647692 * y).y;
}
