//! The lifecycle on the GPU: schedules give the CPU's positions (the host
//! computes each step's constants for both), a checkpoint resumes bit for bit
//! on the GPU and moves between the engines, and a stopping rule stops where
//! its definition holds over the GPU's own records.

use super::*;
use sgld_swarm::config::StopReason;
use sgld_swarm::diagnostics::{OverRuns, Stat};
use sgld_swarm::{
    Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig, Ramp, Ramped, StopRules,
    Taming,
};

fn scheduled_methods() -> Vec<MethodConfig> {
    vec![
        MethodConfig::euler("MF-SGLD scheduled", 5e-4, 1.0)
            .lambda(0.0)
            .ramp(Ramped::Lambda, Ramp::linear(3.0))
            .ramp(Ramped::Dt, Ramp::geometric(1e-4))
            .taming(Taming::Coordinate),
        MethodConfig::homogenized("MF-HOM-SGLD scheduled", 1e-3, 1.0, 0.5, 0.1, 5)
            .lambda(3.0)
            .ramp(Ramped::Beta, Ramp::geometric(10.0))
            .taming(Taming::Coordinate),
        MethodConfig::smoothed("SMOOTHED scheduled", 5e-4, 1.0, 0.01, 3)
            .ramp(Ramped::H, Ramp::geometric(1e-4))
            .taming(Taming::Coordinate),
    ]
}

fn problem() -> ProblemConfig {
    ProblemConfig::new(PotentialKind::Rastrigin, 5)
}

/// Scheduled methods on the GPU give the CPU's positions (tolerance as in
/// `every_method_and_potential_matches_the_cpu`: 1e-5 of the positions' scale,
/// the rounding of a few f32 steps) and statistics.
#[test]
fn scheduled_methods_match_the_cpu() {
    let Some(_ctx) = context() else { return };
    let e = EnsembleConfig::new(2, 9, 6)
        .seed(3)
        .init_uniform(-1.0, 1.0)
        .record_every(2);
    for m in scheduled_methods() {
        let run = |options| {
            let mut ens = Ensemble::new(&problem(), &e, &m, options).unwrap();
            ens.run().unwrap();
            (ens.positions().unwrap(), ens.history().clone())
        };
        let (cpu, cpu_h) = run(cpu_options());
        let (gpu, gpu_h) = run(gpu_options());
        let scale = cpu.iter().fold(1.0f32, |a, v| a.max(v.abs()));
        for (i, (a, b)) in cpu.iter().zip(gpu.iter()).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "{}: position {i}: CPU {a}, GPU {b}",
                m.name
            );
        }
        assert_same_stats(&cpu_h, &gpu_h, &m.name);
    }
}

fn bits(e: &Ensemble) -> Vec<u32> {
    e.positions().unwrap().iter().map(|v| v.to_bits()).collect()
}

/// A GPU checkpoint resumes on the GPU to the uninterrupted run's bits; a CPU
/// checkpoint continues on the GPU within the engines' agreement, and back.
#[test]
fn checkpoints_resume_on_the_gpu_and_move_between_engines() {
    let Some(_ctx) = context() else { return };
    let e = EnsembleConfig::new(2, 40, 30)
        .seed(9)
        .init_uniform(-1.0, 1.0)
        .record_every(4);
    for m in scheduled_methods() {
        let whole = |options| {
            let mut w = Ensemble::new(&problem(), &e, &m, options).unwrap();
            w.run().unwrap();
            w
        };
        let (gpu_whole, cpu_whole) = (whole(gpu_options()), whole(cpu_options()));
        for (from, to) in [
            (gpu_options(), gpu_options()),
            (cpu_options(), gpu_options()),
            (gpu_options(), cpu_options()),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut first = Ensemble::new(&problem(), &e, &m, from).unwrap();
            first.advance(13).unwrap();
            first.checkpoint(dir.path()).unwrap();
            let mut resumed = Ensemble::resume(&problem(), &e, &m, to, dir.path()).unwrap();
            resumed.run().unwrap();
            let what = format!("{}: {} to {}", m.name, first.backend(), resumed.backend());
            if first.backend() == resumed.backend() {
                assert_eq!(bits(&resumed), bits(&gpu_whole), "{what}");
                assert_eq!(resumed.history().steps(), gpu_whole.history().steps());
            } else {
                let reference = if resumed.backend() == "gpu" {
                    &gpu_whole
                } else {
                    &cpu_whole
                };
                let (a, b) = (resumed.positions().unwrap(), reference.positions().unwrap());
                let scale = b.iter().fold(1.0f32, |s, v| s.max(v.abs()));
                for (x, y) in a.iter().zip(b.iter()) {
                    assert!((x - y).abs() <= 1e-5 * scale, "{what}: {x} vs {y}");
                }
            }
        }
    }
}

/// On the GPU a stop falls on the first record where the rule holds over the
/// GPU's own statistics.
#[test]
fn stopping_rules_read_the_devices_records() {
    let Some(_ctx) = context() else { return };
    let e = EnsembleConfig::new(3, 64, 300)
        .seed(2)
        .init_uniform(-3.0, 3.0)
        .record_every(10);
    let m = MethodConfig::euler("MF-SGLD", 0.005, 30.0).lambda(4.0);
    let mut full = Ensemble::new(&problem(), &e, &m, gpu_options()).unwrap();
    full.run().unwrap();
    let h = full.history();
    let spread: Vec<f64> = (0..h.len())
        .map(|i| OverRuns::of(h.at(i).unwrap(), Stat::Spread).median)
        .collect();
    let level = 0.5 * (spread[0] + spread[h.len() - 1]);
    let want = (1..h.len())
        .find(|&i| spread[i] < level)
        .map(|i| h.steps()[i]);
    let mut stopped = Ensemble::new(&problem(), &e, &m, gpu_options()).unwrap();
    stopped
        .stop_when(StopRules {
            spread_below: Some(level),
            ..StopRules::default()
        })
        .unwrap();
    stopped.run().unwrap();
    let s = stopped.stopped().expect("the level is crossed");
    assert_eq!((Some(s.step), s.reason), (want, StopReason::SpreadBelow));
}
