//! The CPU engine's contracts: the same numbers whatever the thread count or path,
//! the stream addressing of DESIGN section 3, shared initial positions, and
//! divergence reported as an error.
#![allow(
    clippy::needless_range_loop,
    reason = "coordinates index several arrays"
)]

use sgld_swarm::config::{Config, EnsembleConfig, PotentialKind, ProblemConfig, Taming};
use sgld_swarm::engine::cpu::{CpuPath, Simd};
use sgld_swarm::engine::{Shape, initial_positions};
use sgld_swarm::potential::{Potential, Rough, Shift};
use sgld_swarm::rng;
use sgld_swarm::{Backend, Ensemble, Error, MethodConfig, Options, experiment};

fn options(path: CpuPath) -> Options {
    Options {
        backend: Backend::Cpu,
        cpu_path: path,
        ..Options::default()
    }
}

fn methods() -> Vec<MethodConfig> {
    vec![
        MethodConfig::euler("SGLD", 0.01, 1.0).taming(Taming::Coordinate),
        MethodConfig::euler("MF-SGLD", 0.01, 1.0)
            .lambda(3.0)
            .taming(Taming::Coordinate),
        MethodConfig::homogenized("HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 5).taming(Taming::Coordinate),
        MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 5)
            .lambda(3.0)
            .taming(Taming::Coordinate),
        // Untamed steps must be tiny on the rough potential: h = 2.5e-7.
        MethodConfig::homogenized("HOM-SGLD none", 1e-6, 1.0, 1.0, 0.1, 4).lambda(1.0),
        MethodConfig::euler("SGLD norm", 0.01, 1.0)
            .lambda(1.0)
            .taming(Taming::Norm),
        MethodConfig::smoothed("SMOOTHED", 0.01, 1.0, 0.02, 3).taming(Taming::Coordinate),
        MethodConfig::smoothed("MF-SMOOTHED continued", 0.01, 1.0, 0.05, 2)
            .continuation(0.7, 0.01)
            .lambda(2.0)
            .taming(Taming::Coordinate),
    ]
}

fn problem(kind: PotentialKind, dim: usize) -> ProblemConfig {
    ProblemConfig {
        potential: kind,
        dim,
        shift: None,
    }
}

fn run(p: &ProblemConfig, e: &EnsembleConfig, m: &MethodConfig, path: CpuPath) -> Vec<f32> {
    let mut ens = Ensemble::new(p, e, m, options(path)).unwrap();
    ens.run().unwrap();
    ens.positions().unwrap().into_raw_vec_and_offset().0
}

fn assert_bits_equal(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "{what}: index {i}: {x} vs {y}");
    }
}

/// The engine chunks the agents by the thread count; the numbers must not notice.
/// With the plain mean the step also takes the mean's tile sums where the
/// ensemble's tiles (256 agents of a run) number at least 4 per thread: 40 runs
/// of 10 agents (40 tiles) take them at 1, 2 and 5 threads (chunks of 5, 2 and 1
/// tiles), 10 runs of 37 at 1 and 2 threads, 3 runs of 300 (tiles of 256 and 44)
/// only at 1, 3 runs of 37 never.
#[test]
fn identical_whatever_the_thread_count() {
    let p = problem(PotentialKind::Rough { delta: 0.01 }, 7);
    for (runs, agents) in [(3, 37), (10, 37), (3, 300), (40, 10)] {
        let e = EnsembleConfig::new(runs, agents, 12)
            .seed(42)
            .init_uniform(-10.0, 10.0);
        same_bits_on_1_2_5_threads(&p, &e);
    }
}

fn same_bits_on_1_2_5_threads(p: &ProblemConfig, e: &EnsembleConfig) {
    for m in methods() {
        let results: Vec<Vec<f32>> = [1, 2, 5]
            .iter()
            .map(|&t| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap()
                    .install(|| run(p, e, &m, CpuPath::Auto))
            })
            .collect();
        assert_bits_equal(
            &results[0],
            &results[1],
            &format!("{} ({} x {}): 1 vs 2 threads", m.name, e.runs, e.agents),
        );
        assert_bits_equal(
            &results[0],
            &results[2],
            &format!("{} ({} x {}): 1 vs 5 threads", m.name, e.runs, e.agents),
        );
    }
}

/// The lane path (separable potentials), compiled for each instruction set this
/// CPU has, and the agent path compute the same bits,
/// including when d is not a multiple of 4 and N*blocks is not a multiple of the
/// lane count.
#[test]
fn lane_and_agent_paths_agree_bit_for_bit() {
    let kinds = [
        (PotentialKind::Rough { delta: 0.01 }, 5),
        (
            PotentialKind::Quadratic {
                a: vec![0.5, 1.0, 2.0],
            },
            3,
        ),
        (PotentialKind::Rastrigin, 9),
        (PotentialKind::DoubleWell, 1),
        (PotentialKind::StyblinskiTang, 4),
    ];
    let e = EnsembleConfig::new(2, 13, 9)
        .seed(7)
        .init_uniform(-4.0, 4.0);
    for (kind, dim) in kinds {
        let p = ProblemConfig {
            shift: Some((0..dim).map(|k| 0.25 * k as f64).collect()),
            ..problem(kind, dim)
        };
        for m in methods() {
            let agents = run(&p, &e, &m, CpuPath::Agent);
            for level in Simd::ALL {
                if !level.supported() {
                    eprintln!("SKIPPED: {} instructions (not on this CPU)", level.name());
                    continue;
                }
                let lanes = run(&p, &e, &m, CpuPath::Lanes(level));
                assert_bits_equal(
                    &lanes,
                    &agents,
                    &format!("{:?} {} {}", p.potential, m.name, level.name()),
                );
            }
        }
    }
}

/// A user's separable potential in `d` coordinates, `sum 0.5 (x_k^2 - 1)^2 +
/// 0.3 sin(3 x_k) + 0.1 k x_k`: the last term makes each coordinate's gradient
/// depend on its index `k`, which the lane path must pass per lane.
struct Wavy(usize);
impl Potential for Wavy {
    fn dim(&self) -> usize {
        self.0
    }
    fn value(&self, x: &[f64]) -> f64 {
        x.iter()
            .enumerate()
            .map(|(k, &v)| 0.5 * (v * v - 1.0).powi(2) + 0.3 * (3.0 * v).sin() + 0.1 * k as f64 * v)
            .sum()
    }
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for (k, (gk, &v)) in g.iter_mut().zip(x).enumerate() {
            *gk = 2.0 * v * (v * v - 1.0) + 0.9 * (3.0 * v).cos() + 0.1 * k as f64;
        }
    }
    fn separable(&self) -> bool {
        true
    }
    fn grad_coord(&self, k: usize, _consts: [f32; 2], v: f32) -> f32 {
        2.0 * v * (v * v - 1.0) + 0.9 * (3.0 * v).cos() + 0.1 * k as f32
    }
    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![vec![-1.0; self.0]]
    }
}

/// Chunks large enough for whole lane groups, which take their coordinate
/// constants and indices from the engine's table (built once, indexed by the
/// block a group starts at) instead of gathering them: the lane and agent paths
/// still agree bit for bit. One thread makes a chunk 32 of the 4 x 64 agents,
/// so d = 8 (2 blocks, which divide 16: every group starts at block 0) has 4
/// whole groups per chunk, d = 10 (3 blocks) 6 starting at blocks 0, 1 and 2,
/// d = 22 (6 blocks) 12 starting at 0, 4 and 2, and d = 50 (13 blocks, the
/// paper's) 26. Both constants differ per coordinate (the quadratic's shift and
/// a_k), and `Wavy` reads the index `k`, so a group given another group's
/// constants or indices changes the positions.
#[test]
fn whole_lane_groups_take_the_right_constants() {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let e = EnsembleConfig::new(4, 64, 6)
        .seed(11)
        .init_uniform(-3.0, 3.0);
    let levels: Vec<Simd> = Simd::ALL.into_iter().filter(|l| l.supported()).collect();
    for dim in [8, 10, 22, 50] {
        let p = ProblemConfig {
            shift: Some((0..dim).map(|k| 0.1 * k as f64 - 1.0).collect()),
            ..problem(
                PotentialKind::Quadratic {
                    a: (0..dim).map(|k| 0.5 + 0.05 * k as f64).collect(),
                },
                dim,
            )
        };
        let user = |m: &MethodConfig, path| {
            let mut ens = Ensemble::with_potential(Wavy(dim), &e, m, options(path)).unwrap();
            ens.run().unwrap();
            ens.positions().unwrap().into_raw_vec_and_offset().0
        };
        for m in methods() {
            one_thread.install(|| {
                let (agents, user_agents) =
                    (run(&p, &e, &m, CpuPath::Agent), user(&m, CpuPath::Agent));
                for &level in &levels {
                    let what = format!("d = {dim} {} {}", m.name, level.name());
                    assert_bits_equal(&run(&p, &e, &m, CpuPath::Lanes(level)), &agents, &what);
                    assert_bits_equal(
                        &user(&m, CpuPath::Lanes(level)),
                        &user_agents,
                        &format!("{what}, index-dependent"),
                    );
                }
            });
        }
    }
}

/// A user's separable potential that declares `separable` and `grad_coord` but
/// keeps the default `grad_f32` (f64 and back, which rounds differently from
/// `grad_coord` in f32): the lane path and the agent path still give the same
/// bits, because a separable potential's f32 gradient is always its
/// `grad_coord`. The test can fail: the default `grad_f32` differs from
/// `grad_coord` at these points (checked first).
#[test]
fn a_users_separable_potential_gives_the_same_bits_on_both_paths() {
    let x: Vec<f32> = (0..60).map(|i| -2.0 + 0.07 * i as f32).collect();
    let differs = x.chunks(6).any(|c| {
        let mut g = [0.0f32; 6];
        Wavy(6).grad_f32(c, &mut g);
        c.iter()
            .zip(g)
            .enumerate()
            .any(|(k, (&v, gk))| Wavy(6).grad_coord(k, [0.0; 2], v).to_bits() != gk.to_bits())
    });
    assert!(
        differs,
        "grad_f32 and grad_coord agree everywhere: the test shows nothing"
    );
    let e = EnsembleConfig::new(2, 13, 9)
        .seed(7)
        .init_uniform(-2.0, 2.0);
    let run = |m: &MethodConfig, path| {
        let mut ens = Ensemble::with_potential(Wavy(6), &e, m, options(path)).unwrap();
        ens.run().unwrap();
        ens.positions().unwrap().into_raw_vec_and_offset().0
    };
    for m in methods() {
        assert_bits_equal(
            &run(&m, CpuPath::Lanes(Simd::Portable)),
            &run(&m, CpuPath::Agent),
            &m.name,
        );
    }
}

/// The smoothed scheme is its definition, written out here for each agent with
/// the stream's draws (domain 3, `sub = s`, for the perturbations; domain 0 for
/// the noise) in the engine's order of f32 operations: equal bit for bit, on a
/// separable potential (lane path) and a non-separable one (agent path), with
/// the continuation `h_n = max(h_min, h h_factor^n)` active, and with a
/// geometric schedule of `h` instead (DESIGN section 2.6:
/// `h_n = h (h_to / h)^(n / (steps - 1))`, ends exact).
#[test]
fn smoothed_steps_are_their_definition() {
    use sgld_swarm::config::{Ramp, Ramped};
    use sgld_swarm::potential::{Potential, Rastrigin, Rosenbrock};
    let continued = MethodConfig::smoothed("SMOOTHED", 0.01, 2.0, 0.05, 3)
        .continuation(0.8, 0.01)
        .taming(Taming::Coordinate);
    let scheduled = MethodConfig::smoothed("SMOOTHED scheduled", 0.01, 2.0, 0.05, 3)
        .ramp(Ramped::H, Ramp::geometric(0.001))
        .taming(Taming::Coordinate);
    let e = EnsembleConfig::new(2, 3, 12)
        .seed(9)
        .init_uniform(-2.0, 2.0);
    let continuation = |n: u64| (0.05f64 * 0.8f64.powf(n as f64)).max(0.01);
    let schedule = |n: u64| match n {
        0 => 0.05,
        11.. => 0.001,
        _ => 0.05f64 * (0.001f64 / 0.05).powf(n as f64 / 11.0),
    };
    fn check<P: Potential + Clone + 'static>(
        p: P,
        m: &MethodConfig,
        e: &EnsembleConfig,
        variance: &dyn Fn(u64) -> f64,
    ) {
        let (samples, dt, beta) = (3u32, 0.01f64, 2.0f64);
        let d = p.dim();
        let name = p.name();
        let mut ens = Ensemble::with_potential(p.clone(), e, m, options(CpuPath::Auto)).unwrap();
        let mut x = ens
            .positions()
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<f32>>();
        ens.run().unwrap();
        let key = rng::key_from_seed(9);
        let normals = |g: usize, n: u64, domain: u32, sub: u32| -> Vec<f32> {
            (0..d.div_ceil(4))
                .flat_map(|b| {
                    rng::normals(rng::philox4x32_10(
                        rng::counter(b as u32, g as u32, n as u32, domain, sub),
                        key,
                    ))
                })
                .collect()
        };
        let noise = (2.0 * dt / beta).sqrt() as f32;
        let inv_s = (1.0 / samples as f64) as f32;
        for n in 0..12u64 {
            let sh = variance(n).sqrt() as f32;
            for (g, xa) in x.chunks_exact_mut(d).enumerate() {
                let mut grad = vec![0.0f32; d];
                for s in 0..samples {
                    let xi = normals(g, n, rng::DOMAIN_SMOOTHING, s);
                    let point: Vec<f32> = (0..d).map(|k| xa[k] + sh * xi[k]).collect();
                    let mut gs = vec![0.0f32; d];
                    p.grad_f32(&point, &mut gs);
                    for k in 0..d {
                        grad[k] += gs[k];
                    }
                }
                let z = normals(g, n, rng::DOMAIN_NOISE, 0);
                for k in 0..d {
                    let hg = dt as f32 * (grad[k] * inv_s);
                    let tamed = hg / (1.0 + hg.abs());
                    xa[k] = xa[k] - tamed - 0.0 * (xa[k] - 0.0) + noise * z[k];
                }
            }
        }
        let got: Vec<f32> = ens.positions().unwrap().iter().copied().collect();
        assert_bits_equal(&got, &x, &format!("{} on {name}", m.name));
    }
    for (m, v) in [
        (&continued, &continuation as &dyn Fn(u64) -> f64),
        (&scheduled, &schedule),
    ] {
        check(Rastrigin::new(Shift::zero(5)), m, &e, v);
        check(Rosenbrock::new(Shift::zero(3)), m, &e, v);
    }
}

/// The box and normal initial distributions against their definitions, written
/// out here from the stream's domain-1 words: `X_k = lo_k + (hi_k - lo_k) u_k`
/// and `X_k = mean_k + std_k z_k`, in f32, `u` and `z` from word `k % 4` of block
/// `k / 4` (the normals through the Box-Muller map on the block's word pairs).
/// A box with equal intervals is the uniform initialisation, bit for bit.
#[test]
fn box_and_normal_initial_positions_are_their_definitions() {
    use sgld_swarm::Init;
    let shape = Shape {
        runs: 2,
        agents: 3,
        dim: 5,
    };
    let seed = 77;
    let key = rng::key_from_seed(seed);
    let word = |g: usize, k: usize| rng::philox4x32_10([k as u32 / 4, g as u32, 0, 1 << 28], key);
    let draw = |init: &Init| {
        let mut x = vec![0.0f32; 30];
        initial_positions(&mut x, shape, init, seed).unwrap();
        x
    };
    let lo = [-1.0, 0.0, 2.0, -5.0, 0.5];
    let hi = [1.0, 0.25, 4.0, 5.0, 0.5];
    let boxed = draw(&Init::Box {
        lo: lo.to_vec(),
        hi: hi.to_vec(),
    });
    let mean = [0.5, -0.5, 1.0, 2.0, -3.0];
    let normal = draw(&Init::Normal {
        mean: mean.to_vec(),
        std: vec![0.1],
    });
    for g in 0..6 {
        for k in 0..5 {
            let w = word(g, k);
            let u = rng::uniform(w[k % 4]);
            let want = lo[k] as f32 + (hi[k] - lo[k]) as f32 * u;
            assert_eq!(boxed[g * 5 + k].to_bits(), want.to_bits(), "box {g} {k}");
            let pair = 2 * ((k % 4) / 2);
            let rho = (-2.0 * sgld_swarm::fastmath::ln(rng::uniform(w[pair]))).sqrt();
            let (sn, cs) =
                sgld_swarm::fastmath::sincos(core::f32::consts::TAU * rng::uniform(w[pair + 1]));
            let z = if k % 2 == 0 { rho * cs } else { rho * sn };
            let want = mean[k] as f32 + 0.1f32 * z;
            assert_eq!(
                normal[g * 5 + k].to_bits(),
                want.to_bits(),
                "normal {g} {k}"
            );
        }
    }
    let same = draw(&Init::Box {
        lo: vec![-2.0; 5],
        hi: vec![6.0; 5],
    });
    assert_eq!(same, draw(&Init::Uniform { lo: -2.0, hi: 6.0 }));
    // Lengths are checked against the dimension.
    let mut x = vec![0.0f32; 30];
    let short = Init::Box {
        lo: vec![0.0; 4],
        hi: vec![1.0; 4],
    };
    let e = initial_positions(&mut x, shape, &short, seed).unwrap_err();
    assert_eq!(e.field, "ensemble.init.box.lo");
}

/// Initial positions are the domain-1 uniforms of the stream, and an Euler step
/// draws the domain-0 normals addressed by (block, agent, step).
#[test]
fn draws_follow_the_stream_contract() {
    let shape = Shape {
        runs: 2,
        agents: 3,
        dim: 6,
    };
    let seed = 0xDEAD_BEEF_0000_0001u64;
    let mut x = vec![0.0f32; 36];
    initial_positions(
        &mut x,
        shape,
        &sgld_swarm::Init::Uniform { lo: -2.0, hi: 6.0 },
        seed,
    )
    .unwrap();
    let key = rng::key_from_seed(seed);
    for g in 0..6 {
        for k in 0..6 {
            let w = rng::philox4x32_10([k as u32 / 4, g as u32, 0, 1 << 28], key);
            let want = -2.0f32 + 8.0f32 * rng::uniform(w[k % 4]);
            assert_eq!(
                x[g * 6 + k].to_bits(),
                want.to_bits(),
                "agent {g} coordinate {k}"
            );
        }
    }

    // One Euler step on the quadratic from X(0): X(1) = X(0) - dt a (X(0) - 0) +
    // sqrt(2 dt / beta) Z with Z from counter [k/4, g, 0, 0].
    let (dt, beta) = (0.5f64, 2.0f64);
    let p = problem(PotentialKind::Quadratic { a: vec![1.0] }, 6);
    let e = EnsembleConfig::new(2, 3, 1)
        .seed(seed)
        .init_uniform(-2.0, 6.0);
    let got = run(
        &p,
        &e,
        &MethodConfig::euler("SGLD", dt, beta),
        CpuPath::Auto,
    );
    let noise = (2.0 * dt / beta).sqrt() as f32;
    for g in 0..6 {
        for b in 0..2 {
            let z = rng::normals(rng::philox4x32_10(
                rng::counter(b, g as u32, 0, rng::DOMAIN_NOISE, 0),
                key,
            ));
            for j in 0..4 {
                let k = 4 * b as usize + j;
                if k >= 6 {
                    continue;
                }
                let x0 = x[g * 6 + k];
                let want = x0 - 0.5f32 * (1.0f32 * x0) - 0.0f32 * x0 + noise * z[j];
                assert_eq!(
                    got[g * 6 + k].to_bits(),
                    want.to_bits(),
                    "agent {g} coordinate {k}"
                );
            }
        }
    }
}

/// Every method of a config starts from the same positions, and a different seed
/// gives different ones.
#[test]
fn methods_share_initial_positions() {
    let text = r#"
        [problem]
        potential = "six-hump-camel"
        dim = 2
        [ensemble]
        runs = 2
        agents = 5
        steps = 3
        seed = 4
        init = { uniform = [-2.0, 2.0] }
        [[method]]
        name = "a"
        scheme = "euler"
        dt = 0.01
        beta = 10.0
        [[method]]
        name = "b"
        scheme = "homogenized"
        dt = 0.01
        beta = 10.0
        lambda = 2.0
        eps = 1.0
        gamma = 0.1
        inner_steps = 3
    "#;
    let config = Config::from_toml_str(text, "test").unwrap();
    let r = experiment::run(&config, options(CpuPath::Auto), &mut experiment::Silent).unwrap();
    let t0 = r.methods[0].trajectories.as_ref().unwrap();
    let t1 = r.methods[1].trajectories.as_ref().unwrap();
    assert_eq!(t0.shape(), &[4, 2, 5, 2]);
    assert_eq!(
        t0.index_axis(ndarray::Axis(0), 0),
        t1.index_axis(ndarray::Axis(0), 0)
    );
    assert_ne!(
        t0.index_axis(ndarray::Axis(0), 3),
        t1.index_axis(ndarray::Axis(0), 3)
    );

    let mut other = config.clone();
    other.ensemble.seed = 5;
    let r2 = experiment::run(&other, options(CpuPath::Auto), &mut experiment::Silent).unwrap();
    assert_ne!(
        r2.methods[0]
            .trajectories
            .as_ref()
            .unwrap()
            .index_axis(ndarray::Axis(0), 0),
        t0.index_axis(ndarray::Axis(0), 0)
    );
}

/// Advancing in pieces gives the same numbers as advancing at once (the stream is
/// addressed by step, not drawn from a running state).
#[test]
fn advancing_in_pieces_changes_nothing() {
    let p = problem(PotentialKind::Rough { delta: 0.01 }, 6);
    let e = EnsembleConfig::new(2, 10, 20)
        .seed(3)
        .init_uniform(-5.0, 5.0)
        .record_every(4);
    for m in methods() {
        let whole = run(&p, &e, &m, CpuPath::Auto);
        let mut ens = Ensemble::new(&p, &e, &m, options(CpuPath::Auto)).unwrap();
        for piece in [1, 6, 3, 10] {
            ens.advance(piece).unwrap();
        }
        assert_eq!(ens.step(), 20);
        assert_bits_equal(
            &whole,
            &ens.positions().unwrap().into_raw_vec_and_offset().0,
            &m.name,
        );
        // Records at 0, every 4 steps, and the final step.
        assert_eq!(ens.history().steps(), &[0, 4, 8, 12, 16, 20]);
    }
}

/// Plain Euler on the rough potential from U[-10, 10]^d leaves every bounded region
/// (DESIGN section 2): the engine stops with an error that names the method, run,
/// step and the remedies.
#[test]
fn divergence_is_an_error_naming_method_run_and_step() {
    let e = EnsembleConfig::new(3, 20, 500)
        .seed(1)
        .init_uniform(-10.0, 10.0);
    for m in [
        MethodConfig::euler("plain SGLD", 0.01, 1.0),
        MethodConfig::homogenized("plain HOM", 0.005, 1.0, 0.01, 0.1, 20).lambda(3.0),
    ] {
        let mut ens = Ensemble::with_potential(
            Rough::new(0.01, Shift::zero(10)),
            &e,
            &m,
            options(CpuPath::Auto),
        )
        .unwrap();
        let err = ens.run().unwrap_err();
        let Error::Diverged {
            method, run, step, ..
        } = &err
        else {
            panic!("expected a divergence, got {err}");
        };
        assert_eq!(method, &m.name);
        assert!(*run < 3 && *step >= 1 && *step <= 500);
        let text = err.to_string();
        for word in [m.name.as_str(), "run", "step", "dt", "taming"] {
            assert!(text.contains(word), "{text:?} lacks {word:?}");
        }
        // With coordinate taming the same method stays bounded.
        let tamed = m.clone().taming(Taming::Coordinate);
        let mut ens = Ensemble::with_potential(
            Rough::new(0.01, Shift::zero(10)),
            &e,
            &tamed,
            options(CpuPath::Auto),
        )
        .unwrap();
        ens.run().unwrap();
    }
}

/// A size whose arrays cannot be allocated is an error, not an abort.
#[test]
fn impossible_sizes_are_errors() {
    let p = problem(PotentialKind::Rough { delta: 0.01 }, 1 << 20);
    let e = EnsembleConfig::new(1 << 16, 1 << 16, 1);
    let err = Ensemble::new(
        &p,
        &e,
        &MethodConfig::euler("SGLD", 0.01, 1.0),
        options(CpuPath::Auto),
    )
    .err()
    .expect("16 PiB cannot be allocated");
    assert!(matches!(err, Error::Memory { .. }), "{err}");
    assert!(err.to_string().contains("GiB"), "{err}");
}

/// A potential that asks for batches (as a Python one does), with the
/// gradient of `Rosenbrock` agent by agent inside each batch.
#[derive(Clone)]
struct Batched(sgld_swarm::potential::Rosenbrock);

impl sgld_swarm::potential::Potential for Batched {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.0.value(x)
    }
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        self.0.grad(x, g)
    }
    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        self.0.grad_f32(x, g)
    }
    fn batched(&self) -> bool {
        true
    }
    fn reference_points(&self) -> Vec<Vec<f64>> {
        self.0.reference_points()
    }
}

/// The batch path (step by step over a chunk, gradients in one call) gives the
/// agent path's bits for the same gradients, for every scheme, with
/// interaction, and the same diagnostics (values in one call per run).
#[test]
fn the_batch_path_is_the_agent_path() {
    use sgld_swarm::potential::Rosenbrock;
    // 5 x 150 agents: two chunks of the batch path (up to 512 agents each),
    // on two threads.
    let e = EnsembleConfig::new(5, 150, 9)
        .seed(5)
        .record_every(4)
        .init_uniform(-1.5, 1.5);
    for m in [
        MethodConfig::euler("MF-SGLD", 0.002, 3.0).lambda(2.0),
        MethodConfig::homogenized("MF-HOM-SGLD", 0.002, 3.0, 0.1, 0.2, 3).lambda(1.0),
        MethodConfig::smoothed("SMOOTHED", 0.002, 3.0, 0.05, 2).continuation(0.9, 0.01),
    ]
    .map(|m| m.taming(Taming::Coordinate))
    {
        let run = |batched: bool| {
            let p = Rosenbrock::new(Shift::new(vec![0.1, -0.2, 0.3]));
            let mut ens = if batched {
                Ensemble::with_potential(Batched(p), &e, &m, options(CpuPath::Agent)).unwrap()
            } else {
                Ensemble::with_potential(p, &e, &m, options(CpuPath::Agent)).unwrap()
            };
            assert_eq!(ens.device().contains("batch path"), batched);
            ens.run().unwrap();
            let x: Vec<f32> = ens.positions().unwrap().iter().copied().collect();
            (x, ens.history().clone())
        };
        let (agent, ha) = run(false);
        let (batch, hb) = run(true);
        assert_bits_equal(&batch, &agent, &format!("{} on the batch path", m.name));
        for i in 0..ha.len() {
            assert_eq!(ha.at(i), hb.at(i), "{}: record {i}", m.name);
        }
    }
}
