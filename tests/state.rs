//! State in and out of an ensemble: positions and the fast variable set and read
//! between steps, and the run means, on the CPU engine (tests/gpu/engines.rs has
//! the GPU's).

use sgld_swarm::ndarray::{Array3, Axis};
use sgld_swarm::{
    Backend, ConfigError, Ensemble, EnsembleConfig, Error, MethodConfig, Options, PotentialKind,
    ProblemConfig, Taming,
};

fn cpu() -> Options {
    Options {
        backend: Backend::Cpu,
        ..Options::default()
    }
}

fn problem() -> ProblemConfig {
    ProblemConfig::new(PotentialKind::Rough { delta: 0.05 }, 3).shift(vec![0.5, -0.25, 0.0])
}

fn methods() -> [MethodConfig; 2] {
    [
        MethodConfig::euler("MF-SGLD", 0.01, 2.0)
            .lambda(1.0)
            .taming(Taming::Coordinate),
        MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 2.0, 0.01, 0.1, 4)
            .lambda(1.0)
            .taming(Taming::Coordinate),
    ]
}

fn bits(a: &Array3<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// Setting an ensemble's positions to another's replaces its whole state: an
/// ensemble started elsewhere (another initial box) and given the first one's
/// step-0 positions then follows it bit for bit, and its step-0 record is that
/// of the new positions. So the state is X (and Y = X, as at step 0) alone, and
/// setting it draws nothing from the stream.
#[test]
fn set_positions_replaces_the_state_and_the_step_0_record() {
    let e = EnsembleConfig::new(2, 9, 12).seed(5).record_every(4);
    let elsewhere = e.clone().init_uniform(-3.0, 3.0);
    for m in methods() {
        let mut a = Ensemble::new(&problem(), &e, &m, cpu()).unwrap();
        let x0 = a.positions().unwrap();
        let mut b = Ensemble::new(&problem(), &elsewhere, &m, cpu()).unwrap();
        assert_ne!(
            bits(&b.positions().unwrap()),
            bits(&x0),
            "the starts differ"
        );
        b.set_positions(x0.view()).unwrap();
        assert_eq!(b.history().len(), 1, "{}: one record at step 0", m.name);
        assert_eq!(
            a.history().at(0),
            b.history().at(0),
            "{}: the step-0 record is of the new positions",
            m.name
        );
        a.run().unwrap();
        b.run().unwrap();
        assert_eq!(
            bits(&a.positions().unwrap()),
            bits(&b.positions().unwrap()),
            "{}",
            m.name
        );
    }
}

/// Reading the state out and setting it back between steps changes nothing;
/// setting only X on the homogenized scheme resets Y to X, which does change
/// the run (so the test would see a Y that was not restored).
#[test]
fn state_read_and_set_back_changes_nothing() {
    let e = EnsembleConfig::new(2, 7, 10).seed(9);
    for m in methods() {
        let mut straight = Ensemble::new(&problem(), &e, &m, cpu()).unwrap();
        straight.run().unwrap();
        let mut split = Ensemble::new(&problem(), &e, &m, cpu()).unwrap();
        split.advance(5).unwrap();
        let x = split.positions().unwrap();
        match split.fast_variable().unwrap() {
            Some(y) => {
                assert!(m.scheme.is_homogenized());
                split.set_state(x.view(), y.view()).unwrap();
                let mut reset = Ensemble::new(&problem(), &e, &m, cpu()).unwrap();
                reset.advance(5).unwrap();
                reset.set_positions(x.view()).unwrap();
                reset.run().unwrap();
                assert_ne!(
                    bits(&reset.positions().unwrap()),
                    bits(&straight.positions().unwrap()),
                    "Y = X after set_positions"
                );
            }
            None => {
                assert!(!m.scheme.is_homogenized());
                split.set_positions(x.view()).unwrap();
            }
        }
        split.run().unwrap();
        assert_eq!(
            bits(&split.positions().unwrap()),
            bits(&straight.positions().unwrap()),
            "{}",
            m.name
        );
        assert_eq!(split.history().steps(), straight.history().steps());
    }
}

/// The run means are the f64 means over each run's agents of the positions.
#[test]
fn run_means_are_the_means_of_the_positions() {
    let e = EnsembleConfig::new(3, 5, 4).seed(2);
    let mut ens = Ensemble::new(&problem(), &e, &methods()[0], cpu()).unwrap();
    ens.run().unwrap();
    let x = ens.positions().unwrap();
    let m = ens.run_means().unwrap();
    assert_eq!(m.shape(), &[3, 3]);
    for r in 0..3 {
        for k in 0..3 {
            let want: f64 = x
                .index_axis(Axis(0), r)
                .column(k)
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>()
                / 5.0;
            assert_eq!(m[[r, k]], want);
        }
    }
}

/// Wrong shapes, values past the divergence limit and a Y for a scheme without
/// one are errors naming the field, the value and what is allowed; the state is
/// untouched by a refused call.
#[test]
fn bad_state_is_refused_by_name() {
    let e = EnsembleConfig::new(2, 3, 4);
    let [euler, hom] = methods();
    let mut ens = Ensemble::new(&problem(), &e, &euler, cpu()).unwrap();
    let before = ens.positions().unwrap();
    let field = |r: sgld_swarm::Result<()>| match r {
        Err(Error::Config(ConfigError { field, allowed, .. })) => (field, allowed),
        other => panic!("expected a field error, got {other:?}"),
    };
    let (f, allowed) = field(ens.set_positions(Array3::zeros((2, 3, 2)).view()));
    assert_eq!(f, "positions");
    assert!(allowed.contains("[2, 3, 3]"), "{allowed}");
    let mut bad = before.clone();
    bad[[1, 2, 0]] = f32::NAN;
    assert_eq!(field(ens.set_positions(bad.view())).0, "positions[1, 2, 0]");
    bad[[1, 2, 0]] = 2e20;
    assert_eq!(field(ens.set_positions(bad.view())).0, "positions[1, 2, 0]");
    assert_eq!(field(ens.set_state(before.view(), before.view())).0, "y");
    assert_eq!(bits(&ens.positions().unwrap()), bits(&before));
    assert!(ens.fast_variable().unwrap().is_none());
    let hom = Ensemble::new(&problem(), &e, &hom, cpu()).unwrap();
    let y = hom.fast_variable().unwrap().expect("homogenized");
    assert_eq!(bits(&y), bits(&hom.positions().unwrap()), "Y(0) = X(0)");
}

/// After a divergence the ensemble is stopped, as documented on
/// `Driver::advance`: the error names the first step whose positions were bad,
/// `step()` stays at the start of the segment it happened in (before that
/// step), the records before it are kept, and every later call that would step
/// or set the state returns the same error.
#[test]
fn a_diverged_ensemble_stays_stopped() {
    let p = ProblemConfig::new(PotentialKind::Rough { delta: 0.01 }, 4);
    let e = EnsembleConfig::new(2, 5, 400)
        .seed(1)
        .record_every(10)
        .init_uniform(-10.0, 10.0);
    let m = MethodConfig::euler("plain SGLD", 0.01, 1.0);
    let mut ens = Ensemble::new(&p, &e, &m, cpu()).unwrap();
    let first = match ens.run() {
        Err(Error::Diverged {
            run, agent, step, ..
        }) => (run, agent, step),
        other => panic!("expected a divergence, got {other:?}"),
    };
    let at = ens.step();
    assert!(
        at < first.2,
        "step() {at} is before the bad step {}",
        first.2
    );
    assert_eq!(at % 10, 0, "a segment starts at a record");
    let records = ens.history().len();
    assert_eq!(ens.history().steps().last(), Some(&at));
    let again = |r: sgld_swarm::Result<()>| match r {
        Err(Error::Diverged {
            run, agent, step, ..
        }) => (run, agent, step),
        other => panic!("expected the same divergence, got {other:?}"),
    };
    assert_eq!(again(ens.advance(1)), first);
    let x = Array3::zeros((2, 5, 4));
    assert_eq!(again(ens.set_positions(x.view())), first);
    assert_eq!((ens.step(), ens.history().len()), (at, records));
}

/// The potential stays reachable: an ensemble lends it out to evaluate the
/// results, and a shared one (`Arc`) keeps a handle with the caller; a built-in
/// behind an `Arc` is still recognised as a built-in (it runs on either engine).
#[test]
fn the_potential_stays_reachable() {
    use sgld_swarm::potential::{Potential, Rough, Shift};
    use std::sync::Arc;
    let rough = Arc::new(Rough::new(0.05, Shift::new(vec![0.5, -0.25, 0.0])));
    let e = EnsembleConfig::new(2, 4, 3).seed(3);
    let m = &methods()[0];
    let auto = Ensemble::with_potential(Arc::clone(&rough), &e, m, Options::default()).unwrap();
    let note = auto.backend_note().unwrap_or("");
    assert!(
        !note.contains("Rust alone"),
        "a built-in, not a Rust-only potential: {note}"
    );
    let mut ens = Ensemble::with_potential(Arc::clone(&rough), &e, m, cpu()).unwrap();
    ens.run().unwrap();
    let x = ens.positions().unwrap();
    let agent: Vec<f64> = x
        .slice(sgld_swarm::ndarray::s![1, 2, ..])
        .iter()
        .map(|&v| v as f64)
        .collect();
    assert_eq!(ens.potential().value(&agent), rough.value(&agent));
    assert_eq!(ens.potential().name(), rough.name());
    let gpu = Options {
        backend: Backend::Gpu,
        ..Options::default()
    };
    // Refused only for want of an adapter, never as a Rust-only potential.
    if let Err(err) = Ensemble::with_potential(rough, &e, m, gpu) {
        assert!(matches!(err, Error::Gpu(_)), "{err}");
    }
}
