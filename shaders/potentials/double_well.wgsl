// 0.25 sum_k (y_k^2 - 1)^2, y = x - shift. Keep in sync with src/potential/double_well.rs.
//!include potential_bindings

const SEPARABLE: bool = true;

fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    return y * (y * y - 1.0);
}

fn value_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let y = x - c.x;
    return 0.25 * (y * y - 1.0) * (y * y - 1.0);
}
