//! The GPU side against the CPU. On a machine without a GPU adapter these tests
//! print `SKIPPED: no GPU adapter` and pass, unless SGLD_SWARM_REQUIRE_GPU=1
//! (as in CI, which installs Mesa's software Vulkan driver), which makes them fail.
#![allow(
    clippy::needless_range_loop,
    reason = "words, uniforms and normals share the index"
)]

use sgld_swarm::gpu::{GpuContext, GpuError, dump};
use sgld_swarm::rng;

fn context() -> Option<GpuContext> {
    match GpuContext::new() {
        Ok(ctx) => {
            eprintln!("GPU adapter: {}", ctx.describe());
            Some(ctx)
        }
        Err(e @ GpuError::NoAdapter(_)) => {
            if std::env::var("SGLD_SWARM_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("SGLD_SWARM_REQUIRE_GPU=1 but {e}");
            }
            eprintln!("SKIPPED: no GPU adapter ({e})");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// Philox words and uniforms are bit-identical to the CPU's over 1e5 counters and
/// both known-answer vectors, with the portable multiply and (where the adapter
/// has 64-bit integers) the u64 one; normals agree to the rounding of ln, sin and
/// cos (a few ulp, amplified by rho <= 6 for u >= 2^-25: 1e-5 absolute).
#[test]
fn philox_stream_matches_the_cpu() {
    let Some(ctx) = context() else { return };
    if !ctx.int64 {
        eprintln!("SKIPPED: the u64 Philox path (the adapter has no SHADER_INT64)");
    }
    for int64 in [false, true] {
        if int64 && !ctx.int64 {
            continue;
        }
        philox_stream(&ctx, int64);
    }
}

fn philox_stream(ctx: &GpuContext, int64: bool) {
    let key = rng::key_from_seed(0x0123_4567_89ab_cdef);
    let base = [7, 12345, 678, rng::counter_word3(rng::DOMAIN_NOISE, 19)];
    // 100_000 / 64 workgroups also crosses no limit; the 2-D grid is tested below.
    let d = dump::dump(ctx, base, key, 100_000, int64).unwrap();
    for i in 0..100_000u32 {
        let c = [base[0] + i, base[1], base[2], base[3]];
        let w = rng::philox4x32_10(c, key);
        assert_eq!(d.words[i as usize], w, "counter {c:?}");
        for j in 0..4 {
            assert_eq!(
                d.uniforms[i as usize][j].to_bits(),
                rng::uniform(w[j]).to_bits()
            );
        }
        let z = rng::normals(w);
        for j in 0..4 {
            let g = d.normals[i as usize][j];
            assert!(
                (g - z[j]).abs() <= 1e-5,
                "counter {c:?} normal {j}: GPU {g}, CPU {}",
                z[j]
            );
        }
    }
    // The Random123 known answers, through the GPU.
    let zero = dump::dump(ctx, [0; 4], [0; 2], 1, int64).unwrap();
    assert_eq!(
        zero.words[0],
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    let ones = dump::dump(ctx, [u32::MAX; 4], [u32::MAX; 2], 1, int64).unwrap();
    assert_eq!(
        ones.words[0],
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
}

/// More than 65535 workgroups of 64: the kernel is dispatched on a 2-D grid and
/// every counter is still covered exactly once.
#[test]
fn dump_covers_a_2d_grid() {
    let Some(ctx) = context() else { return };
    let count = 65_536 * 64 + 100;
    let key = rng::key_from_seed(3);
    let d = dump::dump(&ctx, [0, 1, 2, 3], key, count, ctx.int64).unwrap();
    for i in (0..count).step_by(9973).chain([count - 1]) {
        assert_eq!(
            d.words[i as usize],
            rng::philox4x32_10([i, 1, 2, 3], key),
            "counter {i}"
        );
    }
}

/// Deterministic points in `[-r, r]^d`, rounded to f32.
fn points(d: usize, r: f64, count: usize, seed: u64) -> Vec<f32> {
    let mut rng = rng::PhiloxRng::new(seed, 0);
    (0..d * count)
        .map(|_| {
            let u = rand_core::Rng::next_u32(&mut rng) as f64 / u32::MAX as f64;
            ((2.0 * u - 1.0) * r) as f32
        })
        .collect()
}

/// Each built-in potential's WGSL gradient against the CPU's f64 gradient, with the
/// tolerance of the CPU's own f32 gradient check (16 ulp of the Hessian-weighted
/// scale, see `f32_gradient_scale`) times 4 for the GPU's own rounding of exp,
/// sqrt and division and possibly fused multiply-adds; the rough potential out
/// to |x| = 20, where x / delta = 2000 needs the range reduction.
#[test]
fn potential_gradients_match_the_cpu() {
    use sgld_swarm::config::{PotentialKind, ProblemConfig};
    use sgld_swarm::potential::{Builtin, Potential, f32_gradient_scale};
    let Some(ctx) = context() else { return };
    let cases = covers_every_builtin(vec![
        (PotentialKind::Rough { delta: 0.01 }, (5, 20.0)),
        (PotentialKind::Rough { delta: 0.002 }, (3, 10.0)),
        (
            PotentialKind::Quadratic {
                a: vec![0.5, 2.0, 7.0],
            },
            (3, 10.0),
        ),
        (PotentialKind::DoubleWell, (4, 3.0)),
        (PotentialKind::Rastrigin, (6, 5.12)),
        (PotentialKind::StyblinskiTang, (3, 5.0)),
        (PotentialKind::SixHumpCamel, (2, 3.0)),
        (PotentialKind::Rosenbrock, (5, 3.0)),
        (PotentialKind::Ackley, (4, 5.0)),
        (PotentialKind::Griewank, (6, 20.0)),
    ]);
    let ulp = 5.960_464_477_539_063e-8;
    for (kind, (dim, r)) in cases {
        let problem = ProblemConfig {
            potential: kind.clone(),
            dim,
            shift: Some((0..dim).map(|k| 0.1 * k as f64 - 0.2).collect()),
        };
        let b = Builtin::from_problem(&problem);
        let x = points(dim, r, 500, dim as u64);
        let gpu = sgld_swarm::gpu::grad_check::gradients(&ctx, &b, &x).unwrap();
        let factor = if matches!(kind, PotentialKind::SixHumpCamel) {
            8.0
        } else {
            1.0
        };
        for (i, (xi, gi)) in x.chunks(dim).zip(gpu.chunks(dim)).enumerate() {
            let x64: Vec<f64> = xi.iter().map(|&v| v as f64).collect();
            let mut g = vec![0.0; dim];
            b.grad(&x64, &mut g);
            let scale = f32_gradient_scale(&b, &x64);
            for k in 0..dim {
                let tol = 4.0 * 16.0 * factor * ulp * scale[k];
                assert!(
                    ((gi[k] as f64) - g[k]).abs() <= tol,
                    "{}: point {i} {xi:?}, component {k}: GPU {} vs f64 {}, tolerance {tol}",
                    b.name(),
                    gi[k],
                    g[k]
                );
            }
        }
    }
}

fn gpu_options() -> sgld_swarm::Options {
    sgld_swarm::Options {
        backend: sgld_swarm::Backend::Gpu,
        ..Default::default()
    }
}

fn cpu_options() -> sgld_swarm::Options {
    sgld_swarm::Options {
        backend: sgld_swarm::Backend::Cpu,
        ..Default::default()
    }
}

/// Step sizes small enough that every potential below is stable on its box
/// (h L < 1 for the largest curvature L met), so that rounding differences between
/// CPU and GPU stay at the rounding level instead of growing chaotically.
fn methods() -> Vec<sgld_swarm::MethodConfig> {
    use sgld_swarm::{MethodConfig, Taming};
    vec![
        MethodConfig::euler("SGLD", 5e-4, 1.0).taming(Taming::Coordinate),
        MethodConfig::euler("MF-SGLD", 5e-4, 1.0)
            .lambda(3.0)
            .taming(Taming::Coordinate),
        MethodConfig::homogenized("HOM-SGLD", 1e-3, 1.0, 0.5, 0.1, 5).taming(Taming::Coordinate),
        MethodConfig::homogenized("MF-HOM-SGLD", 1e-3, 1.0, 0.5, 0.1, 5)
            .lambda(3.0)
            .taming(Taming::Coordinate),
        MethodConfig::euler("MF-SGLD norm", 5e-4, 1.0)
            .lambda(1.0)
            .taming(Taming::Norm),
        MethodConfig::homogenized("HOM-SGLD none", 1e-3, 1.0, 1.0, 0.1, 3).lambda(2.0),
        MethodConfig::smoothed("MF-SMOOTHED", 5e-4, 1.0, 0.01, 3)
            .continuation(0.8, 1e-3)
            .lambda(2.0)
            .taming(Taming::Coordinate),
        MethodConfig::smoothed("SMOOTHED norm", 5e-4, 1.0, 0.01, 2).taming(Taming::Norm),
    ]
}

fn all_potentials() -> Vec<(sgld_swarm::PotentialKind, usize)> {
    use sgld_swarm::PotentialKind;
    covers_every_builtin(vec![
        // delta = 0.2 keeps the curvature 2 (x / delta)^2 near 100 on the box; at
        // delta = 0.01 it is 2e4 and any two roundings part within a step (see
        // the statistical test below for that regime).
        (PotentialKind::Rough { delta: 0.2 }, 5),
        (
            PotentialKind::Quadratic {
                a: vec![1.0, 2.0, 3.0],
            },
            3,
        ),
        (PotentialKind::DoubleWell, 1),
        (PotentialKind::Rastrigin, 4),
        (PotentialKind::StyblinskiTang, 2),
        (PotentialKind::SixHumpCamel, 2),
        (PotentialKind::Rosenbrock, 3),
        (PotentialKind::Ackley, 5),
        (PotentialKind::Griewank, 6),
    ])
}

/// Returns `cases` after checking that they name every built-in of the table,
/// so that a new built-in fails the tests that run them all until it is added.
fn covers_every_builtin<T>(
    cases: Vec<(sgld_swarm::PotentialKind, T)>,
) -> Vec<(sgld_swarm::PotentialKind, T)> {
    for name in sgld_swarm::config::POTENTIAL_NAMES {
        assert!(
            cases.iter().any(|(k, _)| k.name() == name),
            "the built-in {name:?} is missing from this test's cases"
        );
    }
    cases
}

/// For every method and every built-in potential, the GPU's positions after a few
/// steps equal the CPU engine's (same seed, same noise) up to rounding: the two
/// differ only in the last bits of ln, sin, cos, exp, of the run means (f32 tree
/// sums on the GPU, f64 on the CPU) and in fused multiply-adds, a few 1e-7
/// relative per operation, which stable steps carry forward without growth. 1e-5
/// of the positions' scale bounds that with a margin; a wrong formula or a wrong
/// stream moves them by the noise (sqrt(2 dt / beta) ~ 0.03) or more.
#[test]
fn every_method_and_potential_matches_the_cpu() {
    use sgld_swarm::{Ensemble, EnsembleConfig, ProblemConfig};
    let Some(_ctx) = context() else { return };
    let e = EnsembleConfig::new(2, 9, 6)
        .seed(77)
        .init_uniform(-1.0, 1.0)
        .record_every(3);
    for (kind, dim) in all_potentials() {
        let p = ProblemConfig {
            potential: kind.clone(),
            dim,
            shift: Some((0..dim).map(|k| 0.05 * k as f64).collect()),
        };
        for m in methods() {
            let run = |options| {
                let mut ens = Ensemble::new(&p, &e, &m, options).unwrap();
                ens.run().unwrap();
                (
                    ens.positions().unwrap(),
                    ens.history().clone(),
                    ens.backend(),
                )
            };
            let (cpu, cpu_h, cb) = run(cpu_options());
            let (gpu, gpu_h, gb) = run(gpu_options());
            assert_eq!((cb, gb), ("cpu", "gpu"));
            let scale = cpu.iter().fold(1.0f32, |a, v| a.max(v.abs()));
            for (i, (a, b)) in cpu.iter().zip(gpu.iter()).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * scale,
                    "{kind:?} {}: position {i}: CPU {a}, GPU {b}",
                    m.name
                );
            }
            assert_eq!(cpu_h.steps(), gpu_h.steps());
            assert_same_stats(&cpu_h, &gpu_h, &format!("{kind:?} {}", m.name));
        }
    }
}

/// The GPU's diagnostics (f32, on the device) against the CPU's (f64, on the
/// host) at every record: the positions agree to 1e-5 of their scale, so
/// distances (1-Lipschitz in the positions) and Phi agree to a few 1e-5
/// relative, and the GPU's f32 sums of d <= 6 terms add only d 2^-24 = 4e-7:
/// 5e-5 (1 + |v|). On lavapipe the largest difference is 1.1e-6 (1 + |v|)
/// (Ackley, whose exp and sqrt round on the device), with positions within
/// 1.2e-7 of their scale.
fn assert_same_stats(
    cpu: &sgld_swarm::diagnostics::History,
    gpu: &sgld_swarm::diagnostics::History,
    what: &str,
) {
    use sgld_swarm::diagnostics::Stat;
    for i in 0..cpu.len() {
        for (r, (c, g)) in cpu
            .at(i)
            .unwrap()
            .iter()
            .zip(gpu.at(i).unwrap())
            .enumerate()
        {
            for name in Stat::ALL {
                let (a, b) = (c.get(name), g.get(name));
                assert!(
                    (a - b).abs() <= 5e-5 * (1.0 + a.abs()),
                    "{what}: record {i} (step {}), run {r}, tolerance 5e-5 (1 + |CPU|), {name:?}: CPU {a}, GPU {b}",
                    cpu.steps()[i]
                );
            }
        }
    }
}

/// The same seed twice gives identical GPU results (no atomics or races in the
/// arithmetic; the reduction adds in a fixed order).
#[test]
fn gpu_runs_are_deterministic() {
    use sgld_swarm::{
        Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig, Taming,
    };
    let Some(_ctx) = context() else { return };
    let p = ProblemConfig {
        potential: PotentialKind::Rough { delta: 0.01 },
        dim: 10,
        shift: None,
    };
    let e = EnsembleConfig::new(4, 300, 20)
        .seed(5)
        .init_uniform(-10.0, 10.0);
    for m in [
        MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 20)
            .lambda(3.0)
            .taming(Taming::Coordinate),
        MethodConfig::euler("MF-SGLD norm", 0.01, 1.0)
            .lambda(3.0)
            .taming(Taming::Norm),
    ] {
        let run = || {
            let mut ens = Ensemble::new(&p, &e, &m, gpu_options()).unwrap();
            ens.run().unwrap();
            ens.positions().unwrap()
        };
        let (a, b) = (run(), run());
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{}",
            m.name
        );
    }
}

/// Sizes at the edges of the kernels' tiling: N = 1, d = 1, N and d that are not
/// multiples of the workgroup or block sizes, N > 256 (several chunks in the mean
/// reduction), and more than 65535 x 64 invocations (a 2-D dispatch grid); each
/// against the CPU with the tolerance of the test above.
#[test]
fn sizes_across_the_tiling_boundaries() {
    use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig};
    let Some(_ctx) = context() else { return };
    let cases: [(usize, usize, usize, u64); 6] = [
        (1, 1, 1, 5),
        (3, 1, 7, 5),
        (2, 65, 5, 5),
        (3, 600, 3, 4),
        (1, 257, 2, 4),
        // 525_000 agents x 8 blocks of 4 coordinates: 65_625 workgroups of 64.
        (1, 525_000, 32, 1),
    ];
    for (runs, agents, dim, steps) in cases {
        let p = ProblemConfig {
            potential: PotentialKind::DoubleWell,
            dim,
            shift: None,
        };
        let e = EnsembleConfig::new(runs, agents, steps)
            .seed(9)
            .init_uniform(-2.0, 2.0);
        for m in [
            MethodConfig::euler("MF-SGLD", 1e-3, 1.0).lambda(2.0),
            MethodConfig::homogenized("MF-HOM-SGLD", 1e-3, 1.0, 0.5, 0.1, 3).lambda(2.0),
        ] {
            let run = |options| {
                let mut ens = Ensemble::new(&p, &e, &m, options).unwrap();
                ens.run().unwrap();
                (ens.positions().unwrap(), ens.history().clone())
            };
            let ((cpu, ch), (gpu, gh)) = (run(cpu_options()), run(gpu_options()));
            assert_same_stats(&ch, &gh, &format!("{runs}x{agents}x{dim} {}", m.name));
            for (i, (a, b)) in cpu.iter().zip(gpu.iter()).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * 2.0,
                    "{runs}x{agents}x{dim} {}: position {i}: CPU {a}, GPU {b}",
                    m.name
                );
            }
        }
    }
}

/// Ensembles split into chunks of whole runs, or runs split into parts of whole
/// 256-agent tiles (both forced here by a small binding limit), give the same
/// positions and records as one buffer: the stream is addressed by the global
/// agent index, runs never interact, and the run means are summed tile by tile.
#[test]
fn chunked_ensembles_match_one_buffer() {
    use sgld_swarm::{
        Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig, Taming,
    };
    let Some(_ctx) = context() else { return };
    let problem = |dim| ProblemConfig {
        potential: PotentialKind::Rastrigin,
        dim,
        shift: None,
    };
    // Both methods (block and agent kernels, interaction on), whole and split
    // under `max` bytes per binding into `parts`: positions and every record equal.
    let compare = |p: &ProblemConfig, e: &EnsembleConfig, max: u64, parts: &str| {
        for m in [
            MethodConfig::homogenized("MF-HOM-SGLD", 1e-3, 1.0, 0.5, 0.1, 4)
                .lambda(2.0)
                .taming(Taming::Coordinate),
            MethodConfig::euler("MF-SGLD norm", 1e-3, 1.0)
                .lambda(2.0)
                .taming(Taming::Norm),
        ] {
            let run = |max| {
                let options = sgld_swarm::Options {
                    gpu_max_binding: max,
                    ..gpu_options()
                };
                let mut ens = Ensemble::new(p, e, &m, options).unwrap();
                ens.run().unwrap();
                (
                    ens.positions().unwrap(),
                    ens.device(),
                    ens.history().clone(),
                )
            };
            let (whole, _, hw) = run(None);
            let (split, device, hs) = run(Some(max));
            assert!(device.contains(parts), "{device}");
            for (i, (a, b)) in whole.iter().zip(split.iter()).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{}: coordinate {i}: {a} vs {b}",
                    m.name
                );
            }
            assert_eq!(hw.len(), hs.len());
            for i in 0..hw.len() {
                assert_eq!(hw.at(i), hs.at(i), "{}: record {i}", m.name);
            }
        }
    };
    // 7 runs of 50 agents x 6 coordinates: 1200 bytes a run; 3 runs a chunk.
    let e = EnsembleConfig::new(7, 50, 8)
        .seed(31)
        .init_uniform(-2.0, 2.0);
    compare(&problem(6), &e, 3 * 1200, "3 chunks");
    // 3 runs of 600 agents x 40 coordinates (96000 bytes a run) under a limit of
    // one tile (256 agents, 40960 bytes): each run in parts of 256, 256 and 88.
    let e = EnsembleConfig::new(3, 600, 6)
        .record_every(3)
        .seed(32)
        .init_uniform(-2.0, 2.0);
    compare(&problem(40), &e, 256 * 40 * 4, "9 chunks");

    // A run whose first tile is larger than the limit is refused with the sizes.
    let options = sgld_swarm::Options {
        gpu_max_binding: Some(1000),
        ..gpu_options()
    };
    let e = EnsembleConfig::new(7, 50, 8).seed(31);
    let m = MethodConfig::euler("SGLD", 1e-3, 1.0);
    let err = Ensemble::new(&problem(6), &e, &m, options)
        .err()
        .expect("a tile of 50 agents x 6 (1200 bytes) exceeds 1000");
    let text = err.to_string();
    assert!(
        text.contains("1200 bytes") && text.contains("1000 bytes"),
        "{text}"
    );
}

/// In the paper's regime (rough potential, delta = 0.01, Figure 2 parameters) the
/// dynamics amplify rounding differences beyond f32 within a step, so CPU and GPU
/// positions part; their distributions must not. After 200 steps of MF-HOM-SGLD
/// the mean over 2 x 4 runs x 100 agents of the distance to x* agrees within 5
/// standard errors of the difference of two means.
#[test]
fn paper_regime_is_statistically_the_same() {
    use sgld_swarm::{
        Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig, Taming,
    };
    let Some(_ctx) = context() else { return };
    let p = ProblemConfig {
        potential: PotentialKind::Rough { delta: 0.01 },
        dim: 10,
        shift: None,
    };
    let e = EnsembleConfig::new(4, 100, 200)
        .seed(21)
        .init_uniform(-10.0, 10.0);
    let m = MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 20)
        .lambda(3.0)
        .taming(Taming::Coordinate);
    let dists = |options| {
        let mut ens = Ensemble::new(&p, &e, &m, options).unwrap();
        ens.run().unwrap();
        let x = ens.positions().unwrap();
        x.as_slice()
            .unwrap()
            .chunks(10)
            .map(|a| a.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt())
            .collect::<Vec<f64>>()
    };
    let (c, g) = (dists(cpu_options()), dists(gpu_options()));
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var / n)
    };
    let ((mc, vc), (mg, vg)) = (stats(&c), stats(&g));
    // Agents in a run interact, so they are not independent: the per-run means
    // are. Using the agent count understates the error, so take runs as samples.
    let per_run = |v: &[f64]| {
        v.chunks(100)
            .map(|r| r.iter().sum::<f64>() / 100.0)
            .collect::<Vec<_>>()
    };
    let ((_, vrc), (_, vrg)) = (stats(&per_run(&c)), stats(&per_run(&g)));
    let se = (vc + vg).max(vrc + vrg).sqrt();
    assert!(
        (mc - mg).abs() < 5.0 * se,
        "mean distance CPU {mc}, GPU {mg}, 5 se = {}",
        5.0 * se
    );
}

/// A user's WGSL potential runs on the GPU and matches its Rust twin on the CPU;
/// a broken module is refused before anything runs, with its line.
#[test]
fn user_wgsl_potentials() {
    use sgld_swarm::potential::{Potential, Quadratic, Shift};
    use sgld_swarm::{Ensemble, EnsembleConfig, Error, MethodConfig};
    /// The Rust twin: the built-in quadratic (whose coord_consts are (shift, a)),
    /// declared non-separable to exercise the whole-gradient interface.
    struct Whole(Quadratic);
    impl Potential for Whole {
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn value(&self, x: &[f64]) -> f64 {
            self.0.value(x)
        }
        fn grad(&self, x: &[f64], g: &mut [f64]) {
            self.0.grad(x, g)
        }
        fn coord_consts(&self, k: usize) -> [f32; 2] {
            self.0.coord_consts(k)
        }
        fn reference_points(&self) -> Vec<Vec<f64>> {
            self.0.reference_points()
        }
    }
    let rust = || {
        Whole(Quadratic::new(
            vec![1.0, 2.0, 3.0],
            Shift::new(vec![0.5, 0.0, -0.5]),
        ))
    };
    let wgsl = "const SEPARABLE: bool = false;\n\
                fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {\n\
                    for (var k = 0u; k < DIM; k++) {\n\
                        (*g)[k] = coord_consts[k].y * ((*x)[k] - coord_consts[k].x);\n\
                    }\n\
                }\n";
    let e = EnsembleConfig::new(2, 40, 5)
        .seed(4)
        .init_uniform(-1.0, 1.0);
    let m = MethodConfig::homogenized("MF-HOM-SGLD", 1e-3, 1.0, 0.5, 0.1, 4).lambda(1.0);

    for (broken, line) in [
        (wgsl.replace("coord_consts[k].y", "coord_consts[k].w"), 4),
        (wgsl.replace("= false", "= true"), 1),
    ] {
        match Ensemble::with_wgsl_potential(rust(), &broken, &e, &m, cpu_options()) {
            Err(Error::Gpu(GpuError::Shader(s))) => {
                assert_eq!((s.file.as_str(), s.line), ("<user potential>", line), "{s}");
            }
            other => panic!("expected a shader error, got {:?}", other.err()),
        }
    }

    let Some(_ctx) = context() else { return };
    let run = |options| {
        let mut ens = Ensemble::with_wgsl_potential(rust(), wgsl, &e, &m, options).unwrap();
        ens.run().unwrap();
        (ens.positions().unwrap(), ens.backend())
    };
    let (cpu, cb) = run(cpu_options());
    let (gpu, gb) = run(gpu_options());
    assert_eq!((cb, gb), ("cpu", "gpu"));
    for (a, b) in cpu.iter().zip(gpu.iter()) {
        assert!((a - b).abs() <= 1e-5, "CPU {a}, GPU {b}");
    }
    assert_eq!(rust().dim(), 3);
}

/// A divergence on the GPU stops the method with the same error as on the CPU:
/// the earliest step, and the first agent bad at that step.
#[test]
fn divergence_names_the_same_step_and_agent() {
    use sgld_swarm::{Ensemble, EnsembleConfig, Error, MethodConfig, PotentialKind, ProblemConfig};
    let Some(_ctx) = context() else { return };
    let p = ProblemConfig {
        potential: PotentialKind::Rough { delta: 0.01 },
        dim: 10,
        shift: None,
    };
    let e = EnsembleConfig::new(3, 20, 500)
        .seed(1)
        .init_uniform(-10.0, 10.0);
    for m in [
        MethodConfig::euler("plain SGLD", 0.01, 1.0),
        MethodConfig::homogenized("plain MF-HOM", 0.005, 1.0, 0.01, 0.1, 20).lambda(3.0),
    ] {
        let fail = |options| match Ensemble::new(&p, &e, &m, options).unwrap().run() {
            Err(Error::Diverged {
                run, agent, step, ..
            }) => (run, agent, step),
            other => panic!("{}: expected a divergence, got {other:?}", m.name),
        };
        assert_eq!(fail(cpu_options()), fail(gpu_options()), "{}", m.name);
    }
}

/// The network's GPU engine reports a divergence as the CPU engine does, from
/// the same device-side flags as the step kernels: the earliest step and, at
/// that step, the first agent. The mean-field pull with `lambda dt = 3` doubles
/// each agent's distance from its run mean every step, and the noise
/// (`sqrt(2 dt / beta) = 1000`) sets those distances, the same draws on both
/// engines; the gradient (of order 1, f32 here and f64 there) moves them by
/// nothing the 2^50-fold growth to the limit of 1e20 could reorder.
#[test]
fn network_divergence_names_the_same_step_and_agent() {
    use sgld_swarm::nn::data::{EllipsesConfig, generate};
    use sgld_swarm::nn::loss::EllipsesLoss;
    use sgld_swarm::nn::resnet::{Integrator, ResNet};
    use sgld_swarm::{Ensemble, EnsembleConfig, Error, MethodConfig};
    let Some(_ctx) = context() else { return };
    let (train, _) = generate(&EllipsesConfig {
        train: 50,
        test: 1,
        noise: 0.0,
        seed: 6,
    })
    .unwrap();
    let net = ResNet {
        scheme: Integrator::Verlet,
        layers: 4,
        layer_step: 0.4,
    };
    let loss = EllipsesLoss::new(net, train, 10).unwrap();
    let e = EnsembleConfig::new(2, 5, 200)
        .seed(3)
        .init_uniform(-1.0, 1.0);
    for m in [
        MethodConfig::euler("MF-SGLD", 2.0, 4e-6).lambda(1.5),
        MethodConfig::homogenized("MF-HOM-SGLD", 2.0, 4e-6, 1.0, 10.0, 3).lambda(1.5),
    ] {
        let fail = |options| {
            let mut ens = Ensemble::with_network(loss.clone(), &e, &m, options).unwrap();
            match ens.run() {
                Err(Error::Diverged {
                    run, agent, step, ..
                }) => (run, agent, step),
                other => panic!("{}: expected a divergence, got {other:?}", m.name),
            }
        };
        let cpu = fail(cpu_options());
        assert!(cpu.2 > 16, "{}: diverged at step {} already", m.name, cpu.2);
        assert_eq!(cpu, fail(gpu_options()), "{}", m.name);
    }
}

/// The ResNet's minibatch loss and gradient on the GPU against the CPU's (f64),
/// for both discretizations of the paper's 128-layer network and a minibatch of
/// 100 (two rounds of the kernel's 64 invocations), three agents with random
/// weights of order 1. The GPU works in f32 and sums in another order: over 128
/// layers the relative rounding grows to about 128 x 6e-8 = 1e-5 of the
/// gradient's scale, and WGSL's `tanh` (the spec bounds it through `exp`, a few
/// ulp for these arguments) adds about as much again per layer: 1e-4. Each
/// entry is held to 1e-4 of its own scale, the mean over the minibatch of the
/// absolute per-sample gradients (what the rounding is relative to), not of the
/// largest entry: entries span 5e-5 to 0.5 here, so a scale shared by all would
/// let the small ones be wrong by their whole size. On lavapipe the largest
/// error is 1.8e-6 of its own scale. The minibatches must be the same draws: a
/// wrong index would move the loss by far more than that.
#[test]
fn resnet_gradient_matches_the_cpu() {
    use sgld_swarm::gpu::resnet::ResNetGrad;
    use sgld_swarm::nn::data::{EllipsesConfig, generate};
    use sgld_swarm::nn::loss::EllipsesLoss;
    use sgld_swarm::nn::resnet::{Integrator, ResNet};
    use sgld_swarm::potential::{Draw, Potential};
    let Some(ctx) = context() else { return };
    let ctx = std::sync::Arc::new(ctx);
    let (train, _) = generate(&EllipsesConfig {
        train: 300,
        test: 1,
        noise: 0.05,
        seed: 4,
    })
    .unwrap();
    for scheme in [Integrator::Verlet, Integrator::Euler] {
        let loss = EllipsesLoss::new(ResNet::paper(scheme), train.clone(), 100).unwrap();
        let p = loss.dim();
        let mut r = sgld_swarm::rng::PhiloxRng::new(5, 0);
        let thetas: Vec<f32> = (0..3 * p)
            .map(|_| {
                use rand_core::Rng;
                (r.next_u32() >> 8) as f32 / 16_777_216.0 * 2.0 - 1.0
            })
            .collect();
        let draw = Draw {
            key: [7, 8],
            agent: 10,
            step: 3,
            sub: 2,
        };
        let gpu = ResNetGrad::new(ctx.clone(), &loss).unwrap();
        let (g, l) = gpu.gradients(&thetas, draw).unwrap();
        for a in 0..3 {
            let d = Draw {
                agent: draw.agent + a as u32,
                ..draw
            };
            let theta = &thetas[a * p..(a + 1) * p];
            let mut cpu = vec![0.0f32; p];
            loss.grad_minibatch_f32(theta, &mut cpu, d);
            let mut idx = Vec::new();
            loss.minibatch(d, &mut idx);
            let t64: Vec<f64> = theta.iter().map(|&v| v as f64).collect();
            let cpu_loss = loss
                .net
                .loss(&t64, &loss.train.x, &loss.train.y, &idx, None);
            assert!(
                (l[a] as f64 - cpu_loss).abs() < 1e-4 * cpu_loss.max(1.0),
                "{scheme:?} agent {a}: loss GPU {} vs CPU {cpu_loss}",
                l[a]
            );
            let own = own_gradient_scales(&loss, &t64, &idx);
            for k in 0..p {
                let (gg, cc) = (g[a * p + k], cpu[k]);
                let tol = 1e-4 * own[k];
                assert!(
                    own[k] > 0.0 && ((gg - cc).abs() as f64) <= tol,
                    "{scheme:?} agent {a} parameter {k}: GPU {gg} vs CPU {cc}, tolerance {tol:e} \
                     (1e-4 of the entry's own scale {:e})",
                    own[k]
                );
            }
        }
    }
}

/// For each parameter, the mean over the minibatch `idx` of the absolute value of
/// the per-sample gradients of the loss (f64): the scale that the f32 rounding of
/// that entry of the minibatch gradient is relative to.
fn own_gradient_scales(
    loss: &sgld_swarm::nn::loss::EllipsesLoss,
    theta: &[f64],
    idx: &[usize],
) -> Vec<f64> {
    let p = theta.len();
    let mut own = vec![0.0f64; p];
    let mut gs = vec![0.0f64; p];
    for &i in idx {
        loss.net
            .loss(theta, &loss.train.x, &loss.train.y, &[i], Some(&mut gs));
        for k in 0..p {
            own[k] += gs[k].abs() / idx.len() as f64;
        }
    }
    own
}

/// The network trained on the GPU engine against the CPU engine: the same
/// initial weights, minibatches and noise, so after 3 outer steps the positions
/// differ only by the gradient's rounding (f32 on the GPU, f64 on the CPU: about
/// 1e-7 of the gradient's scale per step, seen up to 5e-7 here). 1e-4 absolute on
/// weights of order 1 allows for growth through the steps, and a wrong minibatch,
/// noise draw or mean moves them by 1e-2 or more (the check below that they
/// moved). SGLD and MF-SGLD, HOM-SGLD and MF-HOM-SGLD, both discretizations,
/// coordinate taming on one; 2 runs of 3 agents on a 16-layer network. The step
/// sizes keep each scheme stable: with lambda dt > 2 the mean-field pull
/// overshoots, and the two engines' roundings part exponentially.
#[test]
fn network_training_matches_the_cpu() {
    use sgld_swarm::nn::data::{EllipsesConfig, generate};
    use sgld_swarm::nn::loss::EllipsesLoss;
    use sgld_swarm::nn::resnet::{Integrator, ResNet};
    use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Taming};
    let Some(_ctx) = context() else { return };
    let (train, _) = generate(&EllipsesConfig {
        train: 200,
        test: 1,
        noise: 0.0,
        seed: 6,
    })
    .unwrap();
    let e = EnsembleConfig::new(2, 3, 3)
        .seed(8)
        .record_every(1)
        .init_uniform(-1.0, 1.0);
    for scheme in [Integrator::Verlet, Integrator::Euler] {
        let loss = EllipsesLoss::new(
            ResNet {
                scheme,
                layers: 16,
                layer_step: 0.4,
            },
            train.clone(),
            40,
        )
        .unwrap();
        for m in [
            MethodConfig::euler("SGLD", 2.0, 1e4),
            MethodConfig::euler("MF-SGLD", 2.0, 1e4)
                .lambda(0.5)
                .taming(Taming::Coordinate),
            MethodConfig::homogenized("HOM-SGLD", 2.0, 1e4, 1.0, 10.0, 3),
            MethodConfig::homogenized("MF-HOM-SGLD", 2.0, 1e4, 1.0, 10.0, 3).lambda(0.2),
        ] {
            let run = |options| {
                let mut ens = Ensemble::with_network(loss.clone(), &e, &m, options).unwrap();
                ens.run().unwrap();
                (ens.positions().unwrap(), ens.backend(), ens.history().len())
            };
            let (g, gb, gh) = run(gpu_options());
            let (c, cb, ch) = run(cpu_options());
            assert_eq!((gb, cb), ("gpu", "cpu"));
            assert_eq!(gh, ch, "records");
            let worst = g
                .iter()
                .zip(c.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst < 1e-4,
                "{scheme:?} {}: largest difference {worst}",
                m.name
            );
            // The test can fail: the weights moved.
            let start = Ensemble::with_network(loss.clone(), &e, &m, cpu_options()).unwrap();
            let x0 = start.positions().unwrap();
            let moved = x0
                .iter()
                .zip(c.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(moved > 1e-2, "{scheme:?} {}: moved only {moved}", m.name);
        }
    }
    // What the network's GPU engine does not run is refused on the GPU, by name.
    let loss = EllipsesLoss::new(ResNet::paper(Integrator::Verlet), train, 10).unwrap();
    for (m, what) in [
        (
            MethodConfig::euler("SGLD norm", 0.1, 1e4).taming(Taming::Norm),
            "norm taming",
        ),
        (
            MethodConfig::smoothed("SMOOTHED", 0.1, 1e4, 0.1, 2),
            "smoothed scheme",
        ),
    ] {
        let err = Ensemble::with_network(loss.clone(), &e, &m, gpu_options())
            .err()
            .expect("refused");
        assert!(err.to_string().contains(what), "{err}");
    }
}
