//! The GPU engine over ranks (docs/DESIGN.md section 6.2), threads of this
//! process standing in for MPI's processes as in tests/ranks.rs: a run split
//! into 256-agent tiles over 2 and 3 ranks, and whole runs per rank, give the
//! bits the GPU engine gives in one process. The ranks exchange the f32 tile
//! records the kernels wrote, and every rank adds them in tile order with the
//! same `mean_final` / `weighted_final` pass, so no tolerance applies: the
//! positions and every record are compared bit for bit.

use super::*;
use sgld_swarm::ranks::{Ranks, Threads};
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig};

#[path = "../ranks/methods.rs"]
mod methods;
use methods::methods;

/// Coordinates per agent: enough that one tile fills a small storage binding
/// while a run's diagnostics (16 bytes an agent) still fit in it.
const DIM: usize = 40;

/// What a run leaves, as bits: its positions, recorded steps, every record's
/// statistics and positions; the statistics the CPU's `run_stats` gives for
/// those positions; and the engine's description.
struct Outcome {
    x: Vec<u32>,
    steps: Vec<u64>,
    stats: Vec<u64>,
    snapshots: Vec<u32>,
    host_stats: Vec<u64>,
    device: String,
}

fn bits(stats: &[sgld_swarm::diagnostics::RunStats]) -> impl Iterator<Item = u64> + '_ {
    stats
        .iter()
        .flat_map(|s| [s.best, s.worst, s.median, s.best_phi, s.spread].map(f64::to_bits))
}

fn run(
    ensemble: &EnsembleConfig,
    method: &MethodConfig,
    max_binding: Option<u64>,
    ranks: Option<Ranks>,
) -> Outcome {
    let options = sgld_swarm::Options {
        gpu_max_binding: max_binding,
        keep_trajectories: true,
        ranks,
        ..gpu_options()
    };
    let problem = ProblemConfig::new(PotentialKind::Rastrigin, DIM);
    let mut e = Ensemble::new(&problem, ensemble, method, options).unwrap();
    e.run().unwrap();
    let h = e.history();
    let len = ensemble.runs * ensemble.agents * DIM;
    let host_stats = h
        .snapshots()
        .chunks_exact(len)
        .flat_map(|x| {
            let s = sgld_swarm::diagnostics::run_stats(
                e.potential(),
                x,
                ensemble.runs,
                ensemble.agents,
                DIM,
            );
            bits(&s).collect::<Vec<_>>()
        })
        .collect();
    Outcome {
        x: e.positions().unwrap().iter().map(|v| v.to_bits()).collect(),
        steps: h.steps().to_vec(),
        stats: (0..h.len()).flat_map(|i| bits(h.at(i).unwrap())).collect(),
        snapshots: h.snapshots().iter().map(|v| v.to_bits()).collect(),
        host_stats,
        device: e.device(),
    }
}

/// Every method on 2 and 3 ranks of the GPU engine gives one process's bits
/// on every rank: one run of 600 agents (three tiles, the last partial) split
/// over the ranks, also with each rank's part in parts of one tile (a storage
/// binding of 256 agents: the exchange and the binding split together), and
/// five runs as whole runs per rank. The positions at every record and at the
/// end are one process's; the records' statistics are one process's for
/// whole runs (each rank's device computes its runs'), and for a split run
/// are those of the gathered positions computed on the host (section 6.2), as
/// `run_stats` defines them: no rank holds the whole run on its device.
#[test]
fn the_gpu_engine_over_ranks_is_one_process_bit_for_bit() {
    let Some(_ctx) = context() else { return };
    let split = EnsembleConfig::new(1, 600, 12)
        .seed(3)
        .record_every(5)
        .init_uniform(-3.0, 3.0);
    let whole = EnsembleConfig::new(5, 40, 12)
        .seed(3)
        .record_every(5)
        .init_uniform(-3.0, 3.0);
    let one_tile = Some(256 * DIM as u64 * 4);
    for method in methods() {
        let l1 = method.interaction == sgld_swarm::config::Interaction::L1;
        for (ensemble, max_binding, split_run) in [
            (&split, None, true),
            (&split, one_tile, true),
            (&whole, None, false),
        ] {
            // l1's sort needs the whole run in one binding: refused, by name,
            // in one process and over ranks alike (tests/gpu/interactions.rs).
            if l1 && max_binding.is_some() {
                continue;
            }
            let one = run(ensemble, &method, max_binding, None);
            for p in [2, 3] {
                for (rank, got) in Threads::run(p, |r| run(ensemble, &method, max_binding, Some(r)))
                    .into_iter()
                    .enumerate()
                {
                    let what = format!(
                        "{} on rank {rank} of {p} ({} runs, binding {max_binding:?})",
                        method.name, ensemble.runs
                    );
                    let layout = if split_run {
                        "runs split into 256-agent tiles"
                    } else {
                        "whole runs per rank"
                    };
                    assert!(got.device.contains(layout), "{what}: {}", got.device);
                    assert!(got.x == one.x, "{what}: positions differ from one process");
                    assert!(got.steps == one.steps, "{what}: recorded steps differ");
                    assert!(
                        got.snapshots == one.snapshots,
                        "{what}: the positions at a record differ from one process"
                    );
                    let stats = if split_run {
                        &got.host_stats
                    } else {
                        &one.stats
                    };
                    assert!(
                        got.stats == *stats,
                        "{what}: the records' statistics differ"
                    );
                }
            }
        }
    }
}

/// A divergence in a run split over GPU ranks is reported at the step and
/// agent one process's GPU engine reports (the earliest over the ranks), with
/// the same records before it.
#[test]
fn a_divergence_over_gpu_ranks_is_one_process_report() {
    let Some(_ctx) = context() else { return };
    let ensemble = EnsembleConfig::new(1, 600, 50)
        .seed(5)
        .record_every(5)
        .init_uniform(-10.0, 10.0);
    let method = MethodConfig::euler("untamed", 0.1, 1.0).lambda(3.0);
    let report = |ranks: Option<Ranks>| {
        let options = sgld_swarm::Options {
            ranks,
            ..gpu_options()
        };
        let problem = ProblemConfig::new(PotentialKind::Rough { delta: 0.01 }, 4);
        let mut e = Ensemble::new(&problem, &ensemble, &method, options).unwrap();
        let err = e.run().unwrap_err();
        assert!(matches!(err, sgld_swarm::Error::Diverged { .. }), "{err}");
        (err.to_string(), e.history().steps().to_vec())
    };
    let one = report(None);
    for p in [2, 3] {
        for got in Threads::run(p, |r| report(Some(r))) {
            assert_eq!(got, one, "over {p} ranks");
        }
    }
}
