//! The GPU side against the CPU. On a machine without a GPU adapter these tests
//! print `SKIPPED: no GPU adapter` and pass, unless SGLD_SWARM_REQUIRE_GPU=1
//! (as in CI, which installs Mesa's software Vulkan driver), which makes them fail.
#![allow(
    clippy::needless_range_loop,
    reason = "words, uniforms and normals share the index"
)]

use sgld_swarm::gpu::{GpuContext, GpuError, dump};
use sgld_swarm::rng;

mod engines;
mod interactions;
mod library;
mod lifecycle;
mod network;
mod ranks;
mod stream;
mod tuning;

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
        (PotentialKind::Levy, 5),
        // Near its minimum, where the curvature is small enough for a stable step.
        (PotentialKind::Schwefel, 3),
        (PotentialKind::Alpine, 4),
        (PotentialKind::Salomon, 3),
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
