// Levy: sin^2(pi w_0) + sum_{k < d-1} (w_k - 1)^2 (1 + 10 sin^2(pi w_k + 1))
// + (w_{d-1} - 1)^2 (1 + sin^2(2 pi w_{d-1})), w = 1 + (y - 1) / 4, y = x - shift;
// c.y is the coordinate's role (1 first, 2 last, 3 both).
// Keep in sync with src/potential/levy.rs.
//!include potential_bindings
//!include fastmath

const SEPARABLE: bool = true;
const LEVY_PI: f32 = 3.14159265358979323846;

fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let role = u32(c.y);
    let wm = (x - c.x - 1.0) * 0.25;
    let w = 1.0 + wm;
    var g = 0.0;
    if (role & 1u) != 0u {
        let sc = fast_sincos(LEVY_PI * w);
        g += LEVY_PI * (2.0 * sc.x * sc.y);
    }
    if (role & 2u) == 0u {
        let sc = fast_sincos(LEVY_PI * w + 1.0);
        g += 2.0 * wm * (1.0 + 10.0 * sc.x * sc.x) + wm * wm * (10.0 * LEVY_PI) * (2.0 * sc.x * sc.y);
    } else {
        let sc = fast_sincos(2.0 * LEVY_PI * w);
        g += 2.0 * wm * (1.0 + sc.x * sc.x) + wm * wm * (2.0 * LEVY_PI) * (2.0 * sc.x * sc.y);
    }
    return 0.25 * g;
}

fn value_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {
    let role = u32(c.y);
    let wm = (x - c.x - 1.0) * 0.25;
    let w = 1.0 + wm;
    var t = 0.0;
    if (role & 1u) != 0u {
        let s = fast_sincos(LEVY_PI * w).x;
        t += s * s;
    }
    if (role & 2u) == 0u {
        let s = fast_sincos(LEVY_PI * w + 1.0).x;
        t += wm * wm * (1.0 + 10.0 * s * s);
    } else {
        let s = fast_sincos(2.0 * LEVY_PI * w).x;
        t += wm * wm * (1.0 + s * s);
    }
    return t;
}
