// Rosenbrock, sum_{k < d-1} 100 (y_{k+1} - y_k^2)^2 + (1 - y_k)^2, y = x - shift.
// Keep in sync with src/potential/rosenbrock.rs.
//!include potential_bindings

const SEPARABLE: bool = false;

fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {
    for (var k = 0u; k < DIM; k++) {
        let a = (*x)[k] - coord_consts[k].x;
        var v = 0.0;
        if k + 1u < DIM {
            let b = (*x)[k + 1u] - coord_consts[k + 1u].x;
            v += -400.0 * a * (b - a * a) - 2.0 * (1.0 - a);
        }
        if k > 0u {
            let p = (*x)[k - 1u] - coord_consts[k - 1u].x;
            v += 200.0 * (a - p * p);
        }
        (*g)[k] = v;
    }
}

fn potential_value(x: ptr<function, array<f32, DIM>>) -> f32 {
    var v = 0.0;
    for (var k = 0u; k + 1u < DIM; k++) {
        let a = (*x)[k] - coord_consts[k].x;
        let b = (*x)[k + 1u] - coord_consts[k + 1u].x;
        v += 100.0 * (b - a * a) * (b - a * a) + (1.0 - a) * (1.0 - a);
    }
    return v;
}
