// Distance to the nearest minimiser of the double well (every sign pattern of
// +-1 around the shift): coordinate by coordinate. Keep in sync with
// DoubleWell::distance in src/potential/double_well.rs.

fn potential_distance(x: ptr<function, array<f32, DIM>>) -> f32 {
    var s = 0.0;
    for (var k = 0u; k < DIM; k++) {
        let e = abs((*x)[k] - coord_consts[k].x) - 1.0;
        s += e * e;
    }
    return sqrt(s);
}
