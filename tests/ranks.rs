//! An ensemble split over ranks (docs/DESIGN.md section 6.2), with threads of
//! this process standing in for MPI's processes (`sgld_swarm::ranks::Threads`;
//! the MPI binary is checked the same way by `tests/ranks/mpi-check` in
//! `.ci/run`): positions, records, divergence reports, checkpoints and
//! interruptions are those of one process, bit for bit, both for whole runs
//! per rank (`R >= P`) and for runs split into 256-agent tiles (`R < P`), on
//! the lane path and the agent path.

use sgld_swarm::engine::cpu::CpuPath;
use sgld_swarm::ranks::{Ranks, Threads};
use sgld_swarm::{
    Backend, Ensemble, EnsembleConfig, Error, MethodConfig, Options, PotentialKind, ProblemConfig,
    Taming,
};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[path = "ranks/methods.rs"]
mod methods;
use methods::methods;

fn options(path: CpuPath, ranks: Option<Ranks>) -> Options {
    Options {
        backend: Backend::Cpu,
        cpu_path: path,
        ranks,
        ..Options::default()
    }
}

fn problem() -> ProblemConfig {
    ProblemConfig::new(PotentialKind::Rastrigin, 3)
}

/// What a run leaves: the positions' bits, the recorded steps and every
/// record's statistics' bits.
fn outcome(e: &Ensemble) -> (Vec<u32>, Vec<u64>, Vec<u64>) {
    let x = e.positions().unwrap().iter().map(|v| v.to_bits()).collect();
    let h = e.history();
    let stats = (0..h.len())
        .flat_map(|i| h.at(i).unwrap().to_vec())
        .flat_map(|s| [s.best, s.worst, s.median, s.best_phi, s.spread].map(f64::to_bits))
        .collect();
    (x, h.steps().to_vec(), stats)
}

/// An ensemble on [`problem`] on the CPU engine's own path choice.
fn build(ensemble: &EnsembleConfig, method: &MethodConfig, ranks: Option<Ranks>) -> Ensemble {
    Ensemble::new(&problem(), ensemble, method, options(CpuPath::Auto, ranks)).unwrap()
}

fn run(
    ensemble: &EnsembleConfig,
    method: &MethodConfig,
    path: CpuPath,
    ranks: Option<Ranks>,
) -> (Vec<u32>, Vec<u64>, Vec<u64>) {
    let mut e = Ensemble::new(&problem(), ensemble, method, options(path, ranks)).unwrap();
    e.run().unwrap();
    outcome(&e)
}

/// Every method on 2 and 3 ranks gives one process's bits on every rank: one
/// run of 600 agents (three tiles, the last partial) split over the ranks, and
/// five runs as whole runs per rank.
#[test]
fn every_method_over_ranks_is_one_process_bit_for_bit() {
    for ensemble in [
        EnsembleConfig::new(1, 600, 12)
            .seed(3)
            .record_every(5)
            .init_uniform(-3.0, 3.0),
        EnsembleConfig::new(5, 40, 12)
            .seed(3)
            .record_every(5)
            .init_uniform(-3.0, 3.0),
    ] {
        for method in methods() {
            for path in [CpuPath::Auto, CpuPath::Agent] {
                let one = run(&ensemble, &method, path, None);
                for p in [2, 3] {
                    for (rank, got) in Threads::run(p, |r| run(&ensemble, &method, path, Some(r)))
                        .into_iter()
                        .enumerate()
                    {
                        assert!(
                            got == one,
                            "{} on rank {rank} of {p} ({} runs, {path:?}) differs from one process",
                            method.name,
                            ensemble.runs
                        );
                    }
                }
            }
        }
    }
}

/// A divergence is found at the same step and agent on every rank as in one
/// process (the earliest over all ranks), with the same records before it.
#[test]
fn a_divergence_is_reported_alike_on_every_rank() {
    for ensemble in [
        EnsembleConfig::new(1, 600, 50)
            .seed(5)
            .record_every(5)
            .init_uniform(-10.0, 10.0),
        // Whole runs step up to each record before the ranks compare notes:
        // the earliest over the ranks is still the one one process reports.
        EnsembleConfig::new(4, 40, 50)
            .seed(5)
            .record_every(25)
            .init_uniform(-4.0, 4.0),
    ] {
        divergence_alike(&ensemble);
    }
}

fn divergence_alike(ensemble: &EnsembleConfig) {
    let method = MethodConfig::euler("untamed", 0.1, 1.0).lambda(3.0);
    let report = |ranks: Option<Ranks>| {
        let mut e = Ensemble::new(
            &ProblemConfig::new(PotentialKind::Rough { delta: 0.01 }, 4),
            ensemble,
            &method,
            options(CpuPath::Auto, ranks),
        )
        .unwrap();
        let err = e.run().unwrap_err();
        assert!(matches!(err, Error::Diverged { .. }), "{err}");
        // (Where `step()` stays is the start of the segment that diverged,
        // which is the engine's: whole runs over ranks take a segment per
        // record interval.)
        (err.to_string(), outcome(&e).1, outcome(&e).2)
    };
    let one = report(None);
    for p in [2, 3] {
        for got in Threads::run(p, |r| report(Some(r))) {
            assert_eq!(got, one);
        }
    }
}

/// A checkpoint written over 2 ranks holds the whole state (rank 0 writes it
/// alone); 3 ranks, and one process, continue from it to the bits of an
/// uninterrupted run.
#[test]
fn a_checkpoint_over_ranks_resumes_on_any_number_of_ranks() {
    let ensemble = EnsembleConfig::new(1, 600, 30)
        .seed(9)
        .record_every(5)
        .init_uniform(-3.0, 3.0);
    let method = MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 2.0, 0.01, 0.1, 4)
        .lambda(3.0)
        .taming(Taming::Coordinate);
    let whole = run(&ensemble, &method, CpuPath::Auto, None);
    let dir = tempfile::tempdir().unwrap();
    Threads::run(2, |r| {
        let mut e = build(&ensemble, &method, Some(r));
        e.advance(17).unwrap();
        e.checkpoint(dir.path()).unwrap();
    });
    let resume = |ranks: Option<Ranks>| {
        let mut e = Ensemble::new(
            &problem(),
            &ensemble,
            &method,
            options(CpuPath::Auto, ranks),
        )
        .unwrap();
        e.resume_from(dir.path()).unwrap();
        assert_eq!(e.step(), 17);
        e.run().unwrap();
        outcome(&e)
    };
    for got in Threads::run(3, |r| resume(Some(r))) {
        assert!(got == whole, "resumed on 3 ranks differs");
    }
    assert!(resume(None) == whole, "resumed in one process differs");
}

/// An interruption seen by one rank stops every rank after the same segment,
/// and the ensemble continues from there to the bits of an uninterrupted run.
#[test]
fn an_interruption_on_one_rank_stops_every_rank_at_the_same_step() {
    let ensemble = EnsembleConfig::new(1, 600, 40)
        .seed(2)
        .record_every(10)
        .init_uniform(-3.0, 3.0);
    let method = MethodConfig::euler("MF-SGLD", 0.01, 2.0)
        .lambda(3.0)
        .taming(Taming::Coordinate);
    let whole = run(&ensemble, &method, CpuPath::Auto, None);
    let stopped = Threads::run(3, |r| {
        let flag = Arc::new(AtomicBool::new(r.rank() == 1));
        let mut e = build(&ensemble, &method, Some(r));
        e.interrupt_on(flag.clone());
        e.run().unwrap();
        let at = e.step();
        flag.store(false, std::sync::atomic::Ordering::Relaxed);
        // The agreed flag stays set: a new one lets the ensemble go on.
        e.interrupt_on(Arc::new(AtomicBool::new(false)));
        e.run().unwrap();
        (at, outcome(&e))
    });
    for (at, got) in stopped {
        // Interacting: one step per segment, so the stop is after step 1.
        assert_eq!(at, 1);
        assert!(got == whole);
    }
}

/// More ranks than tiles is an error that names the most ranks that work,
/// alike on every rank.
#[test]
fn too_many_ranks_is_an_error_on_every_rank() {
    let ensemble = EnsembleConfig::new(1, 300, 5);
    let method = MethodConfig::euler("MF-SGLD", 0.01, 2.0).lambda(3.0);
    for err in Threads::run(3, |r| {
        Ensemble::new(
            &problem(),
            &ensemble,
            &method,
            options(CpuPath::Auto, Some(r)),
        )
        .err()
        .map(|e| e.to_string())
    }) {
        let err = err.expect("an error");
        assert!(
            err.contains("ranks = 3") && err.contains("at most 2 ranks"),
            "{err}"
        );
    }
}
