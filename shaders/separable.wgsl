// The whole gradient of a separable potential, coordinate by coordinate, for the
// per-agent kernels.

fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {
    for (var k = 0u; k < DIM; k++) {
        (*g)[k] = grad_coord(k, coord_consts[k], (*x)[k]);
    }
}
