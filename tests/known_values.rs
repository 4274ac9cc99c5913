//! Every built-in potential against values computed by hand, independently of the
//! crate (the arithmetic is in the comments; the decimals were checked with
//! `python3` and its `math` module): `Phi` and `grad Phi` at two or three points,
//! each global minimum's location and value with the gradient vanishing there,
//! and the shift `Phi(x - s)`.
//!
//! The crate's own tests check each gradient against finite differences of its
//! value, which cannot see a coefficient error that value and gradient share
//! (say 2.1 -> 2.0 in the camel, or 16 -> 15 in Styblinski-Tang); these known
//! values can. The list of potentials is the crate's `POTENTIAL_NAMES`, so a new
//! built-in without known values here fails `every_builtin_has_known_values`.

use sgld_swarm::config::{Config, POTENTIAL_NAMES, ProblemConfig};
use sgld_swarm::potential::{Builtin, Potential, f32_gradient_scale};
use std::f64::consts::PI;

/// f64 agreement. The hand values are exact or correctly rounded; the crate's
/// evaluation is a few dozen f64 operations whose roundings (2^-53 relative each)
/// reach sin, cos and exp through arguments of at most 100 (rough: x / delta =
/// 1 / 0.01), so it is off by at most about 100 x 2^-53 x 100 = 1e-12 of the
/// larger of |value| and 1 (the terms of every sum here are at most 100 times
/// their result). A wrong coefficient moves a value by 1e-3 of it or more.
const F64_REL: f64 = 1e-12;

/// f32 gradients (the engines' `grad_f32`, `grad_coord`): 16 units of 2^-24 of
/// the Hessian-weighted scale of `f32_gradient_scale` (the crate's `check_f32`
/// argument: the point moved by half an ulp per coordinate, then a few roundings
/// of terms up to four times the scale), 8 times that for the camel, whose terms
/// 8.4 a^3 and 2 a^5 cancel (as in its own unit test), and one more unit for the
/// f64 gradient at an f32-rounded minimiser.
const F32_ULPS: f64 = 17.0;
const ULP: f64 = 5.960_464_477_539_063e-8;

/// One case: a potential (as a TOML `[problem]` table, so that the crate's own
/// name table builds it), points with their value and gradient, and its global
/// minimisers with their value.
struct Known {
    name: &'static str,
    /// Extra `[problem]` lines (parameters), e.g. `delta = 0.5`.
    params: &'static str,
    dim: usize,
    /// `(x, Phi(x), grad Phi(x))`.
    points: Vec<(Vec<f64>, f64, Vec<f64>)>,
    /// Every global minimiser (the reference points `x*`), and `Phi` there.
    minima: Vec<Vec<f64>>,
    min_value: f64,
}

fn table() -> Vec<Known> {
    let tau = 2.0 * PI;
    // Six-hump camel's minimisers: Newton on the gradient in f64 from (0.09, -0.71)
    // (python3), and the literature's (0.0898, -0.7126), -1.0316.
    let (ca, cb) = (0.089_842_013_100_318_07, -0.712_656_403_020_739_6);
    // Styblinski-Tang: the root of 2x^3 - 16x + 2.5 near -2.9 (Newton, python3),
    // the literature's -2.903534; per coordinate 0.5 (x^4 - 16x^2 + 5x) =
    // -39.16616570377141 (-39.16617 d).
    let st = -2.903_534_027_771_177;
    let st_min = -39.166_165_703_771_41;
    let mut signs = Vec::new();
    for bits in 0..8 {
        signs.push(
            (0..3)
                .map(|k| if bits >> k & 1 == 1 { 1.0 } else { -1.0 })
                .collect::<Vec<f64>>(),
        );
    }
    vec![
        Known {
            name: "six-hump-camel",
            params: "",
            dim: 2,
            points: vec![
                // (4 - 2.1 + 1/3) 1 + 1 * 2 + (-4 + 4 * 4) 4 = 2.2333 + 2 + 48;
                // g0 = 8 - 8.4 + 2 + 2 = 3.6, g1 = 1 - 16 + 16 * 8 = 113.
                (vec![1.0, 2.0], 52.233_333_333_333_334, vec![3.6, 113.0]),
                // (4 - 2.1/4 + 1/48) / 4 - 1/8 + (-4 + 1/4) / 16 = 0.87396 - 0.125 - 0.23438;
                // g0 = -4 + 8.4/8 - 2/32 + 1/4 = -2.7625, g1 = -0.5 - 2 + 16/64 = -2.25.
                (
                    vec![-0.5, 0.25],
                    0.514_583_333_333_333_4,
                    vec![-2.7625, -2.25],
                ),
            ],
            minima: vec![vec![ca, cb], vec![-ca, -cb]],
            min_value: -1.031_628_453_489_877_4,
        },
        Known {
            name: "rough",
            params: "",
            dim: 3,
            // f = x sin(x / delta) + 0.1 x, Phi = sum f^2,
            // grad = 2 f (sin t + t cos t + 0.1) with t = x / delta; here t = 100, -50, 25:
            // sin(100) = -0.50636564, cos(100) = 0.86231887, so for x = 1
            // f = -0.40636564 and grad = 2 f (-0.50636564 + 86.231887 + 0.1) = -69.753086;
            // sin(-50) = 0.26237485, cos(-50) = 0.96496603: f = -0.18118743,
            // grad = 2 f (0.26237485 - 48.248301 + 0.1) = 17.352656;
            // sin(25) = -0.13235175, cos(25) = 0.99120281: f = -0.00808794,
            // grad = 2 f (-0.13235175 + 24.780070 + 0.1) = -0.40031600;
            // Phi = 0.16513303 + 0.03282889 + 0.00006541.
            points: vec![(
                vec![1.0, -0.5, 0.25],
                0.198_027_332_657_180_56,
                vec![
                    -69.753_086_207_096_69,
                    17.352_655_635_607_59,
                    -0.400_316_002_953_018_5,
                ],
            )],
            minima: vec![vec![0.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "rough",
            params: "delta = 0.5",
            dim: 3,
            // As above with t = 2, -1, 0.5: sin(2) = 0.90929743, cos(2) = -0.41614684:
            // f = 1.00929743, grad = 2 f (0.90929743 - 0.83229367 + 0.1) = 0.35729887;
            // sin(-1) = -0.84147098, cos(-1) = 0.54030231: f = 0.37073549,
            // grad = 2 f (-0.84147098 - 0.54030231 + 0.1) = -0.95039770;
            // sin(0.5) = 0.47942554, cos(0.5) = 0.87758256: f = 0.14485638,
            // grad = 2 f (0.47942554 + 0.43879128 + 0.1) = 0.29499041;
            // Phi = 1.01868131 + 0.13744480 + 0.02098337.
            points: vec![(
                vec![1.0, -0.5, 0.25],
                1.177_109_473_299_113_6,
                vec![
                    0.357_298_866_359_171_13,
                    -0.950_397_704_138_018_7,
                    0.294_990_414_541_631_8,
                ],
            )],
            minima: vec![vec![0.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "rastrigin",
            params: "",
            dim: 3,
            points: vec![
                // 30 + (0.25 - 10 cos pi) + (1 - 10 cos 2pi) + (0.0625 - 10 cos(-pi/2))
                // = 30 + 10.25 - 9 + 0.0625; grad 2x + 20 pi sin(2 pi x):
                // (1 + 0, 2 + 0, -0.5 - 20 pi).
                (
                    vec![0.5, 1.0, -0.25],
                    31.3125,
                    vec![1.0, 2.0, -0.5 - 10.0 * tau],
                ),
                // 30 + (4 - 10) + (2.25 + 10) + (1/64 - 10 cos(pi/4)) = 36.265625 - 5 sqrt 2;
                // grad (4, -3, 0.25 + 20 pi sin(pi/4)) = (4, -3, 0.25 + 10 sqrt2 pi).
                (
                    vec![2.0, -1.5, 0.125],
                    36.265_625 - 5.0 * 2f64.sqrt(),
                    vec![4.0, -3.0, 0.25 + 10.0 * 2f64.sqrt() * PI],
                ),
            ],
            minima: vec![vec![0.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "ackley",
            params: "",
            dim: 3,
            points: vec![
                // r = sqrt(sum x^2 / d) = sqrt(2/3) = 0.81649658, sum cos(2 pi x) = 3, so
                // Phi = -20 exp(-0.2 r) - exp(1) + 20 + e = 20 (1 - exp(-0.16329932))
                // = 20 (1 - 0.84933693); grad_k = A x_k + (2 pi / d) e^(3/d) sin(2 pi x_k)
                // with A = 4 exp(-0.2 r) / (d r) = 1.38696140 and every sin = 0.
                (
                    vec![1.0, 0.0, -1.0],
                    3.013_261_398_509_645_3,
                    vec![1.386_961_398_922_988_5, 0.0, -1.386_961_398_922_988_5],
                ),
                // r = sqrt(0.3125 / 3) = 0.32274861, sum cos = cos pi + cos(pi/2) + 1 = 0:
                // Phi = -20 exp(-0.06454972) - 1 + 20 + e = -18.74979086 + 21.71828183;
                // A = 4 exp(-0.2 r) / (3 r) = 3.87293996, sin(2 pi x) = (0, 1, 0):
                // grad = (0.5 A, 0.25 A + 2 pi / 3, 0) = (1.93647, 0.96823 + 2.09440, 0).
                (
                    vec![0.5, 0.25, 0.0],
                    2.968_491_851_643_137,
                    vec![1.936_469_982_002_527_3, 3.062_630_093_394_459, 0.0],
                ),
            ],
            minima: vec![vec![0.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "rosenbrock",
            params: "",
            dim: 3,
            points: vec![
                // 100 (1 - 0)^2 + 1^2 + 100 (2 - 1)^2 + 0 = 201;
                // g0 = -400 * 0 - 2 (1 - 0) = -2, g1 = -400 (2 - 1) - 0 + 200 (1 - 0) = -200,
                // g2 = 200 (2 - 1) = 200.
                (vec![0.0, 1.0, 2.0], 201.0, vec![-2.0, -200.0, 200.0]),
                // 100 (0.5 - 1)^2 + 2^2 + 100 (1 - 0.25)^2 + 0.5^2 = 25 + 4 + 56.25 + 0.25;
                // g0 = 400 (0.5 - 1) - 2 * 2 = -204, g1 = -200 * 0.75 - 1 + 200 (0.5 - 1) = -251,
                // g2 = 200 * 0.75 = 150.
                (vec![-1.0, 0.5, 1.0], 85.5, vec![-204.0, -251.0, 150.0]),
            ],
            minima: vec![vec![1.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "styblinski-tang",
            params: "",
            dim: 3,
            points: vec![
                // 0.5 ((1 - 16 + 5) + (16 - 64 - 10) + (81 - 144 + 15)) = 0.5 (-10 - 58 - 48);
                // grad 2x^3 - 16x + 2.5: (2 - 16, -16 + 32, 54 - 48) + 2.5.
                (vec![1.0, -2.0, 3.0], -58.0, vec![-11.5, 18.5, 8.5]),
                // 0.5 ((1/16 - 4 + 2.5) + 0 + (256 - 256 - 20)) = 0.5 (-1.4375 - 20);
                // grad (0.25 - 8 + 2.5, 2.5, -128 + 64 + 2.5).
                (vec![0.5, 0.0, -4.0], -10.718_75, vec![-5.25, 2.5, -61.5]),
            ],
            minima: vec![vec![st; 3]],
            min_value: 3.0 * st_min,
        },
        Known {
            name: "griewank",
            params: "",
            dim: 3,
            points: vec![
                // 1 + (1 + 4 + 9) / 4000 - cos(1) cos(2 / sqrt 2) cos(3 / sqrt 3)
                // = 1.0035 - 0.5403023 * 0.1559437 * -0.1605565;
                // grad_k = x_k / 2000 + sin(x_k / sqrt(k+1)) / sqrt(k+1) prod_{j != k} cos(..).
                (
                    vec![1.0, 2.0, 3.0],
                    1.017_027_970_183_573_6,
                    vec![
                        -0.020_568_565_262_798_49,
                        -0.059_590_406_930_591_88,
                        0.049_514_552_997_871_324,
                    ],
                ),
                (
                    vec![-10.0, 0.5, 20.0],
                    1.537_468_030_924_487_5,
                    vec![
                        0.262_387_591_278_904_65,
                        -0.107_373_515_664_433_15,
                        0.397_110_616_598_333_47,
                    ],
                ),
            ],
            minima: vec![vec![0.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "quadratic",
            params: "a = [0.5, 2.0, 4.0]",
            dim: 3,
            // 0.5 (0.5 * 4 + 2 * 1 + 4 * 0.25) = 2.5; grad a_k x_k = (1, -2, 2).
            points: vec![(vec![2.0, -1.0, 0.5], 2.5, vec![1.0, -2.0, 2.0])],
            minima: vec![vec![0.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "quadratic",
            // The default curvature is 1: 0.5 (4 + 1 + 0.25) = 2.625, grad x.
            params: "",
            dim: 3,
            points: vec![(vec![2.0, -1.0, 0.5], 2.625, vec![2.0, -1.0, 0.5])],
            minima: vec![vec![0.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "double-well",
            params: "",
            dim: 3,
            points: vec![
                // 0.25 ((0 - 1)^2 + (4 - 1)^2 + (0.25 - 1)^2) = 0.25 (1 + 9 + 0.5625);
                // grad x (x^2 - 1) = (0, 2 * 3, -0.5 * -0.75).
                (vec![0.0, 2.0, -0.5], 2.640_625, vec![0.0, 6.0, 0.375]),
                // 0.25 (1.25^2 + 0 + 0.9375^2) = 0.25 (1.5625 + 0.87890625);
                // grad (1.5 * 1.25, 0, 0.25 * -0.9375).
                (
                    vec![1.5, -1.0, 0.25],
                    0.610_351_562_5,
                    vec![1.875, 0.0, -0.234_375],
                ),
            ],
            minima: signs,
            min_value: 0.0,
        },
        Known {
            name: "levy",
            params: "",
            dim: 3,
            points: vec![
                // w = 1 + (x - 1) / 4 = (1, 1.25, 0): sin^2(pi) + 0
                // + 0.25^2 (1 + 10 sin^2(1.25 pi + 1)) + (-1)^2 (1 + sin^2 0);
                // grad = dw/dx (pi sin(2 pi w0), 2 (w1 - 1)(1 + 10 sin^2(pi w1 + 1))
                // + (w1 - 1)^2 10 pi sin(2 (pi w1 + 1)), 2 (w2 - 1)(1 + sin^2(2 pi w2))
                // + (w2 - 1)^2 2 pi sin(4 pi w2)) with dw/dx = 1/4 (python3, f64).
                (
                    vec![1.0, 2.0, -3.0],
                    1.659_155_445_883_025_5,
                    vec![0.0, 1.114_035_291_061_186_4, -0.5],
                ),
                // w = (0.875, 0.75, 2).
                (
                    vec![0.5, 0.0, 5.0],
                    1.303_798_184_888_380_2,
                    vec![-0.706_372_950_712_517_2, 0.022_586_492_470_915_848, 0.5],
                ),
            ],
            minima: vec![vec![1.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "schwefel",
            params: "",
            dim: 3,
            points: vec![
                // 3 C - (100 sin 10 - 25 sin 5 + 400 sin 20), C = 418.98288727243374;
                // grad -(sin s + (s / 2) cos s), s = sqrt|x| = (10, 5, 20) (python3).
                (
                    vec![100.0, -25.0, 400.0],
                    922.199_565_748_608_6,
                    vec![
                        4.739_378_756_271_631,
                        0.249_768_811_005_072_87,
                        -4.993_765_868_861_547,
                    ],
                ),
                // s = (2, sqrt 300, 3).
                (
                    vec![4.0, -300.0, 9.0],
                    952.302_794_416_037_8,
                    vec![
                        -0.493_150_590_278_539_3,
                        0.637_681_226_018_582_9,
                        1.343_868_736_840_801,
                    ],
                ),
            ],
            // The root of sin s + (s / 2) cos s at s^2 near 420.97 (Newton, python3).
            minima: vec![vec![420.968_746_359_982; 3]],
            min_value: 0.0,
        },
        Known {
            name: "alpine",
            params: "",
            dim: 3,
            points: vec![
                // t = x sin x + 0.1 x = (0.9415, 1.6186, 0.7234), all > 0, so
                // Phi = sum t and grad = sin x + x cos x + 0.1 (python3, f64).
                (
                    vec![1.0, -2.0, 3.0],
                    3.283_425_862_638_862,
                    vec![
                        1.481_773_290_676_036_4,
                        0.022_996_246_268_603_11,
                        -2.728_857_481_741_469,
                    ],
                ),
                // t = (0.2897, -3.4272, 0): a negative term (grad -t') and a zero
                // one (sign(0) = 0) (python3, f64).
                (
                    vec![0.5, -4.0, 0.0],
                    3.716_922_750_533_814,
                    vec![1.018_216_819_549_389_5, -3.471_376_978_762_376, 0.0],
                ),
            ],
            minima: vec![vec![0.0; 3]],
            min_value: 0.0,
        },
        Known {
            name: "salomon",
            params: "",
            dim: 2,
            points: vec![
                // r = 5: 1 - cos(10 pi) + 0.5; grad (2 pi sin(10 pi) + 0.1) y / r
                // = 0.02 (3, 4).
                (vec![3.0, 4.0], 0.5, vec![0.06, 0.08]),
                // r = 1/4: 1 - cos(pi / 2) + 0.025; grad (2 pi + 0.1) (1, 0).
                (vec![0.0, -0.25], 1.025, vec![0.0, -(2.0 * PI + 0.1)]),
            ],
            minima: vec![vec![0.0; 2]],
            min_value: 0.0,
        },
    ]
}

fn assert_close(got: f64, want: f64, what: &str) {
    let tol = F64_REL * want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e}, difference {:e}, tolerance {tol:e} \
         ({F64_REL:e} of max(|want|, 1))",
        (got - want).abs()
    );
}

/// The built-in a `[problem]` table describes, through the crate's TOML parser.
fn builtin(k: &Known, shift: Option<&[f64]>) -> (Builtin, ProblemConfig) {
    let shift = shift
        .map(|s| format!("shift = {s:?}\n"))
        .unwrap_or_default();
    let text = format!(
        "[problem]\npotential = \"{}\"\ndim = {}\n{}\n{shift}\
         [ensemble]\nruns = 1\nagents = 1\nsteps = 1\ninit = {{ uniform = [-1.0, 1.0] }}\n\
         [[method]]\nname = \"SGLD\"\nscheme = \"euler\"\ndt = 0.01\nbeta = 1.0\n",
        k.name, k.dim, k.params
    );
    let config = Config::from_toml_str(&text, "known values").unwrap();
    assert_eq!(config.problem.potential.name(), k.name);
    (Builtin::from_problem(&config.problem), config.problem)
}

fn grad64(p: &Builtin, x: &[f64]) -> Vec<f64> {
    let mut g = vec![f64::NAN; x.len()];
    p.grad(x, &mut g);
    g
}

/// The f32 gradient at an f32-exact point against `want`, with the tolerance of
/// [`F32_ULPS`].
fn check_f32(p: &Builtin, x: &[f64], want: &[f64], what: &str) {
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let xr: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
    let mut g = vec![f32::NAN; x.len()];
    p.grad_f32(&x32, &mut g);
    let scale = f32_gradient_scale(p, &xr);
    let factor = if p.name() == "six-hump-camel" {
        8.0
    } else {
        1.0
    };
    for k in 0..x.len() {
        let tol = factor * F32_ULPS * ULP * scale[k];
        assert!(
            (g[k] as f64 - want[k]).abs() <= tol,
            "{what}: f32 gradient {k} at {x32:?}: got {:e}, want {:e}, tolerance {tol:e} \
             ({} ulp of the scale {:e})",
            g[k],
            want[k],
            factor * F32_ULPS,
            scale[k]
        );
    }
}

/// Every name the crate accepts has known values here, and every case here is a
/// name the crate accepts.
#[test]
fn every_builtin_has_known_values() {
    let t = table();
    for name in POTENTIAL_NAMES {
        assert!(
            t.iter().any(|k| k.name == name),
            "the built-in potential {name:?} has no known values: add its hand-computed \
             values and minima to tests/known_values.rs"
        );
    }
    for k in &t {
        assert!(POTENTIAL_NAMES.contains(&k.name), "{}", k.name);
    }
}

/// `Phi` and `grad Phi` (f64, and the engines' f32 gradient) at the hand-computed
/// points.
#[test]
fn values_and_gradients_at_known_points() {
    for k in table() {
        let (p, _) = builtin(&k, None);
        for (x, value, grad) in &k.points {
            let what = format!("{} {} at {x:?}", k.name, k.params);
            assert_close(p.value(x), *value, &format!("{what}: Phi"));
            let g = grad64(&p, x);
            for i in 0..x.len() {
                assert_close(g[i], grad[i], &format!("{what}: d/dx_{i}"));
            }
            check_f32(&p, x, grad, &what);
        }
    }
}

/// The reference points are the global minimisers (all of them, in any order),
/// `Phi` there is the known minimum, the gradient vanishes there (f64 and f32),
/// and the distance to them is 0 there and the hand-computed one at a point.
#[test]
fn global_minima_location_value_and_stationarity() {
    for k in table() {
        let (p, _) = builtin(&k, None);
        let refs = p.reference_points();
        assert_eq!(refs.len(), k.minima.len(), "{}: reference points", k.name);
        for m in &k.minima {
            let what = format!("{} {} minimum {m:?}", k.name, k.params);
            let nearest = refs
                .iter()
                .map(|r| dist(r, m))
                .fold(f64::INFINITY, f64::min);
            assert!(
                nearest <= 1e-12,
                "{what}: no reference point within 1e-12 (nearest {nearest:e}): {refs:?}"
            );
            assert_close(p.value(m), k.min_value, &format!("{what}: Phi"));
            // At a minimiser known to 1 ulp the gradient is |H| ulp |x| <= 1e-13.
            let g = grad64(&p, m);
            for (i, gi) in g.iter().enumerate() {
                assert_close(*gi, 0.0, &format!("{what}: d/dx_{i}"));
            }
            check_f32(&p, m, &vec![0.0; m.len()], &what);
            assert!(p.distance(m) <= 1e-12, "{what}: distance {}", p.distance(m));
        }
        // Distance at the first point, to the nearest listed minimiser, by hand.
        let x = &k.points[0].0;
        let want = k
            .minima
            .iter()
            .map(|m| dist(x, m))
            .fold(f64::INFINITY, f64::min);
        assert_close(
            p.distance(x),
            want,
            &format!("{}: distance at {x:?}", k.name),
        );
        // And no point of the table is below the minimum.
        for (x, v, _) in &k.points {
            assert!(*v >= k.min_value, "{}: Phi({x:?}) = {v} < minimum", k.name);
        }
    }
}

/// A shift `s` translates the potential, `Phi_s(x) = Phi(x - s)`: at `x + s` it
/// has the known value and gradient of the unshifted potential at `x`, and since
/// `(x + s) - s = x` exactly for these dyadic numbers (in f64 and in f32), the very
/// bits of the unshifted evaluation; its minimisers and reference points move by
/// `s`.
#[test]
fn shifted_potentials_are_translates() {
    let s_all = [0.5, -0.25, 1.0];
    for k in table() {
        let s = &s_all[..k.dim];
        let (p, problem) = builtin(&k, Some(s));
        let (p0, _) = builtin(&k, None);
        assert_eq!(problem.shift.as_deref(), Some(s), "{}", k.name);
        for (x, value, grad) in &k.points {
            let xs: Vec<f64> = x.iter().zip(s).map(|(a, b)| a + b).collect();
            let what = format!("{} {} shifted by {s:?}, at {xs:?}", k.name, k.params);
            assert_close(p.value(&xs), *value, &format!("{what}: Phi"));
            assert_eq!(
                p.value(&xs).to_bits(),
                p0.value(x).to_bits(),
                "{what}: Phi_s(x + s) = {:e} and Phi(x) = {:e} differ (tolerance 0)",
                p.value(&xs),
                p0.value(x)
            );
            let g = grad64(&p, &xs);
            let g0 = grad64(&p0, x);
            for i in 0..x.len() {
                assert_close(g[i], grad[i], &format!("{what}: d/dx_{i}"));
                assert_eq!(
                    g[i].to_bits(),
                    g0[i].to_bits(),
                    "{what}: d/dx_{i}: shifted {:e}, unshifted {:e} (tolerance 0)",
                    g[i],
                    g0[i]
                );
            }
            check_f32(&p, &xs, grad, &what);
            let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let (mut g32, mut g032) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
            p.grad_f32(&xs32, &mut g32);
            p0.grad_f32(&x32, &mut g032);
            for i in 0..x.len() {
                assert_eq!(
                    g32[i].to_bits(),
                    g032[i].to_bits(),
                    "{what}: f32 d/dx_{i}: shifted {:e}, unshifted {:e} (tolerance 0)",
                    g32[i],
                    g032[i]
                );
            }
        }
        let refs = p.reference_points();
        for m in &k.minima {
            let ms: Vec<f64> = m.iter().zip(s).map(|(a, b)| a + b).collect();
            let nearest = refs
                .iter()
                .map(|r| dist(r, &ms))
                .fold(f64::INFINITY, f64::min);
            assert!(
                nearest <= 1e-12,
                "{}: shifted minimum {ms:?} is not a reference point (nearest {nearest:e})",
                k.name
            );
            assert_close(
                p.value(&ms),
                k.min_value,
                &format!("{}: Phi at the shifted minimum {ms:?}", k.name),
            );
        }
    }
}

/// The minima quoted in the literature (and DESIGN section 4) to the digits they
/// are quoted with: Styblinski-Tang -39.16617 d at x_k = -2.903534, the six-hump
/// camel -1.0316285 at (0.0898, -0.7126) and (-0.0898, 0.7126). Tolerance: one
/// unit of the last quoted digit, since sources truncate as well as round
/// (0.712656 is quoted as 0.7126).
#[test]
fn minima_agree_with_the_literature() {
    let t = table();
    let get = |name: &str| t.iter().find(|k| k.name == name).unwrap();
    let near = |got: f64, quoted: f64, unit: f64, what: &str| {
        assert!(
            (got - quoted).abs() <= unit,
            "{what}: {got} vs the quoted {quoted}, tolerance {unit:e}"
        );
    };
    let st = get("styblinski-tang");
    for m in &st.minima {
        for &v in m {
            near(v, -2.903_534, 1e-6, "Styblinski-Tang x_k");
        }
    }
    let per = st.min_value / st.dim as f64;
    near(
        per,
        -39.166_17,
        1e-5,
        "Styblinski-Tang minimum per coordinate",
    );
    let camel = get("six-hump-camel");
    near(
        camel.min_value,
        -1.031_628_5,
        1e-7,
        "six-hump camel minimum",
    );
    for m in &camel.minima {
        near(m[0].abs(), 0.0898, 1e-4, "six-hump camel |x0*|");
        near(m[1].abs(), 0.7126, 1e-4, "six-hump camel |x1*|");
        assert!(m[0] * m[1] < 0.0, "six-hump camel minimiser {m:?}: signs");
    }
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}
