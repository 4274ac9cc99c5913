//! The GPU engine against the CPU engine: gradients of every built-in, every
//! method on every built-in, determinism, tilings and chunking, the paper's
//! regime in distribution, user WGSL potentials, and divergence reports.

use super::*;

/// Each built-in potential's WGSL gradient against the CPU's f64 gradient, with the
/// tolerance of the CPU's own f32 gradient check (16 ulp of the Hessian-weighted
/// scale, see `f32_gradient_scale`) times 4 for the GPU's own rounding of exp,
/// sqrt and division and possibly fused multiply-adds; the rough potential out
/// to |x| = 20, where x / delta = 2000 needs the range reduction. Levy's
/// gradient subtracts the shift and 1 before its terms, so its rounding is
/// relative to |x_k| + |s_k| + 1, not |x_k| + |s_k|: as in its own f32 test
/// (src/potential/levy.rs), |H_kk| (|s_k| + 1) is added to the scale. Without it
/// an H200 exceeded the tolerance by 3% at x_k = 0.017 (s_k = 0), where the
/// gradient's two terms of about 0.2 cancel to 0.023.
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
        (PotentialKind::Levy, (5, 10.0)),
        (PotentialKind::Schwefel, (4, 500.0)),
        (PotentialKind::Alpine, (4, 10.0)),
        (PotentialKind::Salomon, (3, 5.0)),
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
            let mut scale = f32_gradient_scale(&b, &x64);
            if matches!(kind, PotentialKind::Levy) {
                for (k, sk) in scale.iter_mut().enumerate() {
                    *sk +=
                        hessian_kk(&b, &x64, k) * (problem.shift.as_ref().unwrap()[k].abs() + 1.0);
                }
            }
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

/// |H_kk| at `x`, from f64 central differences of the gradient.
fn hessian_kk(p: &dyn sgld_swarm::potential::Potential, x: &[f64], k: usize) -> f64 {
    let h = 1e-6;
    let (mut a, mut b) = (x.to_vec(), x.to_vec());
    a[k] += h;
    b[k] -= h;
    let (mut ga, mut gb) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    p.grad(&a, &mut ga);
    p.grad(&b, &mut gb);
    ((ga[k] - gb[k]) / (2.0 * h)).abs()
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
    // A user's module is compiled with every run-time check (a counter in each
    // loop), which changes the code of the whole kernel, taming's loops
    // included; norm taming from [-10, 10] (h |grad| up to about 2, so the
    // taming's scale is far from 1) checks that those loops still compute it.
    let wide = EnsembleConfig::new(2, 40, 5)
        .seed(4)
        .init_uniform(-10.0, 10.0);
    let norm = MethodConfig::euler("MF-SGLD norm", 0.05, 1.0)
        .lambda(1.0)
        .taming(sgld_swarm::Taming::Norm);
    for (e, m) in [(&e, &m), (&wide, &norm)] {
        let run = |options| {
            let mut ens = Ensemble::with_wgsl_potential(rust(), wgsl, e, m, options).unwrap();
            ens.run().unwrap();
            (ens.positions().unwrap(), ens.backend())
        };
        let (cpu, cb) = run(cpu_options());
        let (gpu, gb) = run(gpu_options());
        assert_eq!((cb, gb), ("cpu", "gpu"));
        // As every_method_and_potential_matches_the_cpu: f32 roundings of a
        // few steps, relative to the positions' scale.
        let scale = cpu.iter().fold(1.0f32, |a, v| a.max(v.abs()));
        for (a, b) in cpu.iter().zip(gpu.iter()) {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "{}: CPU {a}, GPU {b}",
                m.name
            );
        }
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
