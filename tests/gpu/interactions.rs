//! The interactions of DESIGN section 2.7 (weighted mean, l1) and CBO
//! (section 2.8) on the GPU against the CPU: every scheme on the block and agent
//! kernels, several tiles per run, ties and one agent for l1, huge `alpha Phi`
//! for the weighted mean, and splits into chunks and parts.

use super::*;
use sgld_swarm::config::{CboNoise, Interaction, Ramp, Ramped};
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig, Taming};

/// The methods of the interactions, with steps small enough that rounding
/// differences stay at the rounding level (as `methods()` of main.rs).
fn interaction_methods() -> Vec<MethodConfig> {
    vec![
        MethodConfig::euler("weighted MF-SGLD", 5e-4, 1.0)
            .lambda(3.0)
            .weighted(2.0)
            .ramp(Ramped::Alpha, Ramp::geometric(20.0))
            .taming(Taming::Coordinate),
        MethodConfig::homogenized("weighted MF-HOM-SGLD", 1e-3, 1.0, 0.5, 0.1, 5)
            .lambda(3.0)
            .weighted(10.0)
            .taming(Taming::Coordinate),
        MethodConfig::euler("weighted MF-SGLD norm", 5e-4, 1.0)
            .lambda(1.0)
            .weighted(5.0)
            .taming(Taming::Norm),
        MethodConfig::euler("l1 MF-SGLD", 5e-4, 1.0)
            .lambda(3.0)
            .l1()
            .taming(Taming::Coordinate),
        MethodConfig::homogenized("l1 MF-HOM-SGLD", 1e-3, 1.0, 0.5, 0.1, 5)
            .lambda(3.0)
            .l1()
            .taming(Taming::Coordinate),
        MethodConfig::cbo("CBO", 0.01, 1.0, 0.7, 10.0),
        MethodConfig::cbo("CBO isotropic", 0.01, 1.0, 0.5, 10.0)
            .noise(CboNoise::Isotropic)
            .ramp(Ramped::Alpha, Ramp::geometric(100.0)),
        MethodConfig::cbo("CBO plain mean", 0.01, 1.0, 0.7, 10.0).interaction(Interaction::Mean),
    ]
}

fn run(
    p: &ProblemConfig,
    e: &EnsembleConfig,
    m: &MethodConfig,
    options: sgld_swarm::Options,
) -> (Vec<f32>, sgld_swarm::diagnostics::History, String) {
    let mut ens = Ensemble::new(p, e, m, options).unwrap();
    ens.run().unwrap();
    (
        ens.positions().unwrap().iter().copied().collect(),
        ens.history().clone(),
        ens.device(),
    )
}

/// Every interaction and CBO on separable (block kernel) and non-separable
/// (agent kernel) potentials, with 2 runs of 9 agents and with one run of 600
/// (three tiles of the reductions): positions within 1e-5 of their scale and
/// the records within `assert_same_stats`'s tolerance. The weighted means differ
/// by the GPU's f32 cost `alpha Phi` (one more rounding than the CPU's f64
/// product of the same f32 `Phi`: the weights agree to |alpha Phi| 2^-24
/// relative, at most 3e-6 here with alpha <= 20 and Phi below 10 on this box),
/// its f32 sums and exp against the CPU's f64; the l1 sign sums are exact
/// integers over N on both; so the argument of main.rs's methods holds: the
/// steps are stable, and differences stay at the rounding level.
#[test]
fn interactions_match_the_cpu() {
    let Some(_ctx) = context() else { return };
    let cases = [
        (PotentialKind::Rastrigin, 4, EnsembleConfig::new(2, 9, 6)),
        (PotentialKind::Rosenbrock, 3, EnsembleConfig::new(2, 9, 6)),
        (
            PotentialKind::SixHumpCamel,
            2,
            EnsembleConfig::new(1, 600, 4),
        ),
    ];
    for (kind, dim, e) in cases {
        let p = ProblemConfig {
            potential: kind.clone(),
            dim,
            shift: Some((0..dim).map(|k| 0.05 * k as f64).collect()),
        };
        let e = e.seed(77).init_uniform(-1.0, 1.0).record_every(3);
        for m in interaction_methods() {
            let (cpu, ch, _) = run(&p, &e, &m, cpu_options());
            let (gpu, gh, device) = run(&p, &e, &m, gpu_options());
            let what = format!("{kind:?} {} ({device})", m.name);
            if matches!(m.scheme, sgld_swarm::Scheme::Cbo { .. }) {
                assert!(device.contains("agent kernel"), "{what}");
            }
            let scale = cpu.iter().fold(1.0f32, |a, v| a.max(v.abs()));
            for (i, (a, b)) in cpu.iter().zip(&gpu).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * scale,
                    "{what}: position {i}: CPU {a}, GPU {b}"
                );
            }
            assert_same_stats(&ch, &gh, &what);
        }
    }
}

/// l1 ties count in neither direction on the GPU as on the CPU: positions on a
/// grid of 0.5 tie in most coordinates, and a tie counted as +-1 would move an
/// agent by `lambda dt 2 / N` = 3e-4, far beyond the tolerance of 1e-5 of the
/// scale. With one agent per run, l1 MF-SGLD on the GPU is SGLD on the GPU bit
/// for bit (its sign sums are 0).
#[test]
fn l1_ties_and_one_agent_on_the_gpu() {
    let Some(_ctx) = context() else { return };
    let p = ProblemConfig {
        potential: PotentialKind::Quadratic { a: vec![1.0] },
        dim: 3,
        shift: None,
    };
    let e = EnsembleConfig::new(2, 10, 1)
        .seed(3)
        .init_uniform(-2.0, 2.0);
    let m = MethodConfig::euler("l1", 0.005, 1.0).lambda(0.3).l1();
    let tied: Vec<f32> = points(3, 2.0, 20, 11)
        .iter()
        .map(|v| (v * 2.0).round() / 2.0)
        .collect();
    let view = ndarray::ArrayView3::from_shape((2, 10, 3), &tied).unwrap();
    let step = |options| {
        let mut ens = Ensemble::new(&p, &e, &m, options).unwrap();
        ens.set_positions(view).unwrap();
        ens.run().unwrap();
        ens.positions()
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<f32>>()
    };
    let (cpu, gpu) = (step(cpu_options()), step(gpu_options()));
    for (i, (a, b)) in cpu.iter().zip(&gpu).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * 2.0,
            "l1 with ties: position {i}: CPU {a}, GPU {b}"
        );
    }

    let one = EnsembleConfig::new(4, 1, 5).seed(3).init_uniform(-2.0, 2.0);
    let gpu_run = |m: &MethodConfig| run(&p, &one, m, gpu_options()).0;
    let (l1, sgld) = (
        gpu_run(&m),
        gpu_run(&MethodConfig::euler("SGLD", 0.005, 1.0)),
    );
    for (a, b) in l1.iter().zip(&sgld) {
        assert_eq!(a.to_bits(), b.to_bits(), "N = 1: l1 {a:e}, SGLD {b:e}");
    }
}

/// With `alpha Phi` near 1e4 the GPU's weighted mean is finite and is the
/// arg-min agent, as on the CPU (tests/definitions.rs): CBO with `sigma = 0`
/// and `lambda dt = 1` puts every agent of a run of 300 (two tiles) there, to
/// the rounding of `X - (X - m)` (two ulps of the larger magnitude).
#[test]
fn weighted_mean_with_huge_costs_on_the_gpu() {
    let Some(_ctx) = context() else { return };
    let d = 4;
    let p = ProblemConfig {
        potential: PotentialKind::Quadratic { a: vec![1.0] },
        dim: d,
        shift: None,
    };
    let e = EnsembleConfig::new(2, 300, 1)
        .seed(8)
        .init_uniform(-2.0, 2.0);
    let start = Ensemble::new(&p, &e, &MethodConfig::euler("x0", 0.1, 1.0), cpu_options()).unwrap();
    let x0: Vec<f32> = start.positions().unwrap().iter().copied().collect();
    let phi = |i: usize| {
        x0[i * d..(i + 1) * d]
            .iter()
            .map(|&v| 0.5 * (v as f64).powi(2))
            .sum::<f64>()
    };
    let least = (0..600).map(phi).fold(f64::INFINITY, f64::min);
    let m = MethodConfig::cbo("CBO", 1.0, 1.0, 0.0, 1e4 / least.max(1e-3));
    let (x, _, _) = run(&p, &e, &m, gpu_options());
    for r in 0..2 {
        let best = (r * 300..(r + 1) * 300)
            .min_by(|&i, &j| phi(i).total_cmp(&phi(j)))
            .unwrap();
        for i in r * 300..(r + 1) * 300 {
            for k in 0..d {
                let (got, want) = (x[i * d + k], x0[best * d + k]);
                let tol = 2.0 * f32::EPSILON * x0[i * d + k].abs().max(want.abs());
                assert!(
                    !got.is_nan() && (got - want).abs() <= tol,
                    "run {r} agent {i} coordinate {k}: {got:e}, arg-min agent {best}: {want:e}"
                );
            }
        }
    }
}

/// Splits change no bit: the weighted mean with runs in chunks and with one run
/// in parts of whole tiles (its tiles' least costs and sums do not depend on
/// the split), and l1 with runs in chunks; l1 refuses to split a run (its sort
/// needs the whole run in one binding) and says so.
#[test]
fn interactions_split_into_chunks_and_parts() {
    let Some(_ctx) = context() else { return };
    let p = |dim| ProblemConfig {
        potential: PotentialKind::Rastrigin,
        dim,
        shift: None,
    };
    let weighted = MethodConfig::euler("weighted MF-SGLD", 1e-3, 1.0)
        .lambda(2.0)
        .weighted(3.0)
        .taming(Taming::Coordinate);
    let l1 = MethodConfig::euler("l1 MF-SGLD", 1e-3, 1.0)
        .lambda(2.0)
        .l1();
    let cbo = MethodConfig::cbo("CBO", 0.01, 1.0, 0.5, 10.0);
    let same = |p: &ProblemConfig, e: &EnsembleConfig, m: &MethodConfig, max: u64, parts: &str| {
        let (whole, hw, _) = run(p, e, m, gpu_options());
        let options = sgld_swarm::Options {
            gpu_max_binding: Some(max),
            ..gpu_options()
        };
        let (split, hs, device) = run(p, e, m, options);
        assert!(device.contains(parts), "{device}");
        for (i, (a, b)) in whole.iter().zip(&split).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{} ({parts}): coordinate {i}: {a} vs {b}",
                m.name
            );
        }
        for i in 0..hw.len() {
            assert_eq!(hw.at(i), hs.at(i), "{}: record {i}", m.name);
        }
    };
    // 7 runs of 50 agents x 6 coordinates, 3 runs a chunk.
    let e = EnsembleConfig::new(7, 50, 8)
        .seed(31)
        .init_uniform(-2.0, 2.0);
    for m in [&weighted, &cbo] {
        same(&p(6), &e, m, 3 * 1200, "3 chunks");
    }
    // l1's sorted columns take 64 (N rounded up to a power of 2) x 6 x 4 = 1536
    // bytes a run: 2 runs a chunk.
    same(&p(6), &e, &l1, 3 * 1200, "4 chunks");
    // 3 runs of 600 agents x 40 coordinates in parts of 256, 256 and 88 agents.
    let e = EnsembleConfig::new(3, 600, 6)
        .seed(32)
        .init_uniform(-2.0, 2.0);
    for m in [&weighted, &cbo] {
        same(&p(40), &e, m, 256 * 40 * 4, "9 chunks");
    }
    let options = sgld_swarm::Options {
        gpu_max_binding: Some(256 * 40 * 4),
        ..gpu_options()
    };
    let err = Ensemble::new(&p(40), &e, &l1, options)
        .err()
        .expect("l1 does not split a run");
    let text = err.to_string();
    assert!(text.contains("l1") && text.contains("600 agents"), "{text}");
}
