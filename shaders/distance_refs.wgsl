// Distance to the nearest reference point, from a list of points in a buffer.
// Keep in sync with Potential::distance's default in src/potential/mod.rs.

fn potential_distance(x: ptr<function, array<f32, DIM>>) -> f32 {
    var best = 3.0e38;
    for (var p = 0u; p < diag.ref_count; p++) {
        var s = 0.0;
        for (var k = 0u; k < DIM; k++) {
            let e = (*x)[k] - refs[p * DIM + k];
            s += e * e;
        }
        best = min(best, sqrt(s));
    }
    return best;
}
