// The value of a separable potential, summed over coordinates, for the
// diagnostics kernel.

fn potential_value(x: ptr<function, array<f32, DIM>>) -> f32 {
    var v = 0.0;
    for (var k = 0u; k < DIM; k++) {
        v += value_coord(k, coord_consts[k], (*x)[k]);
    }
    return v;
}
