// 0.5 sum_k (y_k^4 - 16 y_k^2 + 5 y_k), y = x - shift.
// Keep in sync with src/potential/styblinski_tang.rs.
//!include potential_bindings

const SEPARABLE: bool = true;

fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    return 2.0 * y * y * y - 16.0 * y + 2.5;
}

fn value_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    return 0.5 * (y * y * y * y - 16.0 * y * y + 5.0 * y);
}
