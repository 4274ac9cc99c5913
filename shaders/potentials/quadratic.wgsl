// 0.5 sum_k a_k y_k^2, y = x - shift; coord_consts[k] = (shift_k, a_k).
// Keep in sync with src/potential/quadratic.rs.
//!include potential_bindings

const SEPARABLE: bool = true;

fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    return c.y * (x - c.x);
}

fn value_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    return 0.5 * c.y * y * y;
}
