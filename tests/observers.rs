//! Observers: called at every record and at the end, with the statistics and,
//! when asked, the positions (on the CPU here; tests/gpu/library.rs has the GPU).

use sgld_swarm::diagnostics::RunStats;
use sgld_swarm::{
    Backend, Ensemble, EnsembleConfig, Error, MethodConfig, Observer, Options, PotentialKind,
    ProblemConfig, Result, Taming,
};

/// Everything an observer is told, kept.
#[derive(Default)]
struct Log {
    want_positions: bool,
    records: Vec<(u64, Vec<RunStats>, Option<Vec<f32>>)>,
    finished: Vec<u64>,
    /// Refuse the record of this step (an observer's error).
    refuse: Option<u64>,
}

impl Observer for Log {
    fn wants_positions(&self) -> bool {
        self.want_positions
    }
    fn record(&mut self, step: u64, stats: &[RunStats], positions: Option<&[f32]>) -> Result<()> {
        if self.refuse == Some(step) {
            self.refuse = None;
            return Err(Error::Output {
                path: "observer".into(),
                message: format!("refused step {step}"),
            });
        }
        self.records
            .push((step, stats.to_vec(), positions.map(<[f32]>::to_vec)));
        Ok(())
    }
    fn finish(&mut self, step: u64) -> Result<()> {
        self.finished.push(step);
        Ok(())
    }
}

fn options() -> Options {
    Options {
        backend: Backend::Cpu,
        keep_trajectories: true,
        ..Options::default()
    }
}

fn ensemble() -> Ensemble {
    let p = ProblemConfig::new(PotentialKind::Rastrigin, 3);
    let e = EnsembleConfig::new(2, 5, 23).seed(4).record_every(5);
    let m = MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 2.0, 0.05, 0.2, 3)
        .lambda(1.0)
        .taming(Taming::Coordinate);
    Ensemble::new(&p, &e, &m, options()).unwrap()
}

/// The observer sees every record of the history, in order, with the same
/// statistics, and (asked for) the positions of each record, equal to the kept
/// trajectories; `finish` comes once, at the last step. Advancing in pieces
/// changes nothing of what it sees.
#[test]
fn an_observer_sees_every_record_and_the_end() {
    for pieces in [vec![23], vec![3, 9, 11]] {
        let mut ens = ensemble();
        let id = ens
            .observe(Log {
                want_positions: true,
                ..Log::default()
            })
            .unwrap();
        for n in &pieces {
            ens.advance(*n).unwrap();
        }
        ens.run().unwrap();
        let log = ens.observer::<Log>(id).unwrap();
        let h = ens.history();
        assert_eq!(
            log.records.iter().map(|r| r.0).collect::<Vec<_>>(),
            [0, 5, 10, 15, 20, 23]
        );
        assert_eq!(h.steps(), [0, 5, 10, 15, 20, 23]);
        let traj = ens.trajectories().unwrap();
        for (i, (_, stats, positions)) in log.records.iter().enumerate() {
            assert_eq!(h.at(i).unwrap(), &stats[..], "record {i}");
            let want: Vec<f32> = traj
                .index_axis(sgld_swarm::ndarray::Axis(0), i)
                .iter()
                .copied()
                .collect();
            assert_eq!(
                positions.as_deref(),
                Some(&want[..]),
                "record {i}, pieces {pieces:?}"
            );
        }
        assert_eq!(log.finished, [23]);
    }
}

/// Attached late, an observer gets the earlier records at once, without their
/// positions (gone) except the current step's; one that does not ask gets none.
#[test]
fn a_late_observer_gets_the_earlier_records() {
    let mut ens = ensemble();
    ens.advance(10).unwrap();
    let asks = ens
        .observe(Log {
            want_positions: true,
            ..Log::default()
        })
        .unwrap();
    let quiet = ens.observe(Log::default()).unwrap();
    let log = ens.observer::<Log>(asks).unwrap();
    assert_eq!(
        log.records.iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 5, 10]
    );
    let with_positions: Vec<bool> = log.records.iter().map(|r| r.2.is_some()).collect();
    assert_eq!(with_positions, [false, false, true]);
    let log = ens.observer::<Log>(quiet).unwrap();
    assert!(log.records.iter().all(|r| r.2.is_none()));
}

/// An observer's error comes back from the advance that made the record; the
/// ensemble stays at that record and goes on; the refused record is not
/// delivered again. A state set at a recorded step is delivered again.
#[test]
fn an_observers_error_stops_the_advance() {
    let mut ens = ensemble();
    let id = ens
        .observe(Log {
            refuse: Some(10),
            ..Log::default()
        })
        .unwrap();
    match ens.advance(23) {
        Err(Error::Output { message, .. }) => assert_eq!(message, "refused step 10"),
        other => panic!("expected the observer's error, got {other:?}"),
    }
    assert_eq!(ens.step(), 10);
    ens.advance(5).unwrap();
    let x = ens.positions().unwrap();
    ens.set_positions(x.view()).unwrap();
    ens.run().unwrap();
    let log = ens.observer::<Log>(id).unwrap();
    assert_eq!(
        log.records.iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 5, 15, 15, 20, 23]
    );
    assert_eq!(log.finished, [23]);
}
