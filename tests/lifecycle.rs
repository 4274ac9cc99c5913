//! A run's lifecycle in the library: stopping rules stop where their definition
//! says (and not otherwise), schedules give the constants of their formula, and a
//! checkpoint resumes to the bits of an uninterrupted run, refusing one of
//! another ensemble, another format, or a damaged file.

use sgld_swarm::config::{Config, Stagnation, StopReason};
use sgld_swarm::diagnostics::{History, OverRuns, Stat};
use sgld_swarm::engine::{StepConstants, StepPlan};
use sgld_swarm::experiment::{self, Silent};
use sgld_swarm::potential::{Quadratic, Rastrigin, Shift};
use sgld_swarm::{
    Backend, Ensemble, EnsembleConfig, Error, MethodConfig, Options, PotentialKind, ProblemConfig,
    Ramp, Ramped, StopRules,
};
use std::time::Duration;

fn cpu() -> Options {
    Options {
        backend: Backend::Cpu,
        ..Options::default()
    }
}

fn problem() -> ProblemConfig {
    ProblemConfig::new(PotentialKind::Rastrigin, 3)
}

fn ensemble() -> EnsembleConfig {
    EnsembleConfig::new(3, 24, 400)
        .seed(11)
        .record_every(10)
        .init_uniform(-4.0, 4.0)
}

fn interacting() -> MethodConfig {
    MethodConfig::euler("MF-SGLD", 0.005, 30.0).lambda(4.0)
}

fn bits(e: &Ensemble) -> Vec<u32> {
    e.positions().unwrap().iter().map(|v| v.to_bits()).collect()
}

fn median(h: &History, i: usize, stat: Stat) -> f64 {
    OverRuns::of(h.at(i).unwrap(), stat).median
}

/// The first record after step 0 where `holds(i)` is true, by the rules'
/// definition (DESIGN section 5.3), over a full run's history.
fn first_record(h: &History, holds: impl Fn(usize) -> bool) -> Option<u64> {
    (1..h.len()).find(|&i| holds(i)).map(|i| h.steps()[i])
}

/// Runs with `rules` and checks that the stop is at `want` with `reason`, with
/// the positions of the same ensemble advanced to that step without rules.
fn assert_stops(rules: StopRules, want: Option<u64>, reason: StopReason) {
    let mut e = Ensemble::new(&problem(), &ensemble(), &interacting(), cpu()).unwrap();
    e.stop_when(rules).unwrap();
    e.run().unwrap();
    match want {
        Some(step) => {
            let s = e.stopped().unwrap_or_else(|| panic!("{rules:?}: no stop"));
            assert_eq!((s.step, s.reason), (step, reason), "{rules:?}");
            assert_eq!(e.step(), step);
            let mut plain = Ensemble::new(&problem(), &ensemble(), &interacting(), cpu()).unwrap();
            plain.advance(step).unwrap();
            assert_eq!(bits(&e), bits(&plain), "{rules:?}: positions at the stop");
            // A stopped ensemble stays put.
            e.advance(5).unwrap();
            assert_eq!(e.step(), step);
        }
        None => {
            assert_eq!(e.stopped(), None, "{rules:?}");
            assert_eq!(e.step(), 400);
        }
    }
}

/// Each rule stops at the first record where its definition holds, computed
/// here from an unstopped run's history; a threshold never reached does not stop.
#[test]
fn each_stopping_rule_stops_where_its_definition_holds() {
    let mut full = Ensemble::new(&problem(), &ensemble(), &interacting(), cpu()).unwrap();
    full.run().unwrap();
    let h = full.history().clone();
    let records = h.len();

    // best_phi_below: a threshold halfway through the run's values.
    let phi: Vec<f64> = (0..records).map(|i| median(&h, i, Stat::BestPhi)).collect();
    let level = 0.5 * (phi[0] + phi[records - 1]);
    let want = first_record(&h, |i| phi[i] < level);
    assert!(
        want.is_some_and(|s| s < 400),
        "the level is reached before the end"
    );
    let rules = StopRules {
        best_phi_below: Some(level),
        ..StopRules::default()
    };
    assert_stops(rules, want, StopReason::BestPhiBelow);
    let lowest = phi.iter().copied().fold(f64::INFINITY, f64::min);
    assert_stops(
        StopRules {
            best_phi_below: Some(lowest),
            ..StopRules::default()
        },
        first_record(&h, |i| phi[i] < lowest),
        StopReason::BestPhiBelow,
    );

    // spread_below: consensus.
    let spread: Vec<f64> = (0..records).map(|i| median(&h, i, Stat::Spread)).collect();
    let level = 0.5 * (spread[0] + spread[records - 1]);
    let want = first_record(&h, |i| spread[i] < level);
    assert!(want.is_some());
    let rules = StopRules {
        spread_below: Some(level),
        ..StopRules::default()
    };
    assert_stops(rules, want, StopReason::SpreadBelow);
    let never = spread.iter().copied().fold(f64::INFINITY, f64::min);
    assert_stops(
        StopRules {
            spread_below: Some(never),
            ..StopRules::default()
        },
        None,
        StopReason::SpreadBelow,
    );

    // stagnation: b(i - K) - min(b(i - K + 1 ..= i)) <= r |b(i - K)|.
    for (k, r) in [(3usize, 0.05), (5, 0.0), (2, 0.5)] {
        let holds = |i: usize| {
            i >= k && {
                let back = phi[i - k];
                let best = phi[i - k + 1..=i]
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min);
                back - best <= r * back.abs()
            }
        };
        let rules = StopRules {
            stagnation: Some(Stagnation {
                records: k as u64,
                rel_tol: r,
            }),
            ..StopRules::default()
        };
        assert_stops(rules, first_record(&h, holds), StopReason::Stagnation);
    }

    // max_time_s: a time every record exceeds stops at the first record after
    // step 0; a day never does.
    assert_stops(
        StopRules {
            max_time_s: Some(1e-9),
            ..StopRules::default()
        },
        Some(10),
        StopReason::MaxTimeS,
    );
    assert_stops(
        StopRules {
            max_time_s: Some(86_400.0),
            ..StopRules::default()
        },
        None,
        StopReason::MaxTimeS,
    );
}

/// A rule that first holds at the last record does not stop the method: it ran
/// to its steps. A stop comes back with a checkpoint, and the resumed ensemble
/// stays there.
#[test]
fn a_rule_at_the_last_record_is_no_stop_and_a_stop_survives_a_checkpoint() {
    // Records at step 0 and at the end only: the rule is met first at the end.
    let two_records = ensemble().record_every(400);
    let mut e = Ensemble::new(&problem(), &two_records, &interacting(), cpu()).unwrap();
    e.stop_when(StopRules {
        best_phi_below: Some(1e9),
        ..StopRules::default()
    })
    .unwrap();
    e.run().unwrap();
    assert_eq!(e.history().steps(), [0, 400]);
    assert_eq!((e.step(), e.stopped()), (400, None));

    let mut timed = Ensemble::new(&problem(), &ensemble(), &interacting(), cpu()).unwrap();
    let rules = StopRules {
        max_time_s: Some(1e-9),
        ..StopRules::default()
    };
    timed.stop_when(rules).unwrap();
    timed.run().unwrap();
    let stop = timed.stopped().expect("stopped at the first record");
    let dir = tempfile::tempdir().unwrap();
    timed.checkpoint(dir.path()).unwrap();
    let mut resumed = Ensemble::new(&problem(), &ensemble(), &interacting(), cpu()).unwrap();
    resumed.stop_when(rules).unwrap();
    resumed.resume_from(dir.path()).unwrap();
    assert_eq!(resumed.stopped(), Some(stop));
    resumed.run().unwrap();
    assert_eq!(resumed.step(), stop.step);
    // Forgetting the stop lets it go on.
    resumed.clear_stop();
    resumed.stop_when(StopRules::default()).unwrap();
    resumed.run().unwrap();
    assert_eq!(resumed.step(), 400);
}

/// In an experiment each method stops on its own: the interacting method reaches
/// consensus and stops; SGLD without interaction does not and runs to the end.
/// summary.json says so per method.
#[test]
fn each_method_of_a_run_stops_on_its_own() {
    let sgld = MethodConfig::euler("SGLD", 0.005, 30.0);
    // Strong enough to pull the agents out of Rastrigin's wells together.
    let mf = interacting().lambda(40.0);
    let spreads = |m: &MethodConfig| {
        let mut e = Ensemble::new(&problem(), &ensemble(), m, cpu()).unwrap();
        e.run().unwrap();
        let h = e.history().clone();
        (0..h.len())
            .map(|i| median(&h, i, Stat::Spread))
            .collect::<Vec<f64>>()
    };
    let (pulled, plain) = (spreads(&mf), spreads(&sgld));
    let level = 0.5 * (pulled[0] + pulled[pulled.len() - 1]);
    // Without interaction the agents stay apart: the level is never crossed.
    assert!(plain.iter().all(|&s| s >= level), "{level} {plain:?}");
    let config = Config {
        problem: problem(),
        ensemble: ensemble(),
        methods: vec![mf, sgld],
        stop: StopRules {
            spread_below: Some(level),
            ..StopRules::default()
        },
    };
    let text = config.to_toml();
    assert!(
        text.contains("[stop]") && text.contains("spread_below = "),
        "{text}"
    );
    assert_eq!(Config::from_toml_str(&text, "round trip").unwrap(), config);
    let r = experiment::run(&config, cpu(), &mut Silent).unwrap();
    let mf = &r.methods[0];
    let stop = mf.stopped.expect("MF-SGLD reaches consensus");
    assert_eq!(stop.reason, StopReason::SpreadBelow);
    assert_eq!(mf.steps, stop.step);
    assert_eq!(mf.history.steps().last(), Some(&stop.step));
    assert!(r.methods[1].stopped.is_none());
    assert_eq!(r.methods[1].steps, 400);
    let dir = tempfile::tempdir().unwrap();
    sgld_swarm::output::write_all(dir.path(), &r).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["methods"][0]["stopped"]["reason"], "spread_below");
    assert_eq!(summary["methods"][0]["stopped"]["step"], stop.step);
    assert!(summary["methods"][1].get("stopped").is_none());
}

/// Bad rules are refused by field, in TOML and in the library.
#[test]
fn bad_rules_name_their_field() {
    let base = Config {
        problem: problem(),
        ensemble: ensemble(),
        methods: vec![interacting()],
        stop: StopRules::default(),
    }
    .to_toml();
    for (table, field) in [
        ("[stop]\nmax_time_s = 0.0\n", "stop.max_time_s"),
        ("[stop]\nspread_below = -1.0\n", "stop.spread_below"),
        (
            "[stop]\nstagnation = { records = 0, rel_tol = 0.1 }\n",
            "stop.stagnation.records",
        ),
        (
            "[stop]\nstagnation = { records = 3, rel_tol = -0.1 }\n",
            "stop.stagnation.rel_tol",
        ),
        ("[stop]\nbest_phi = 1.0\n", "best_phi"),
    ] {
        let e = Config::from_toml_str(&format!("{base}\n{table}"), "test")
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{table}: {e}");
    }
    let mut e = Ensemble::new(&problem(), &ensemble(), &interacting(), cpu()).unwrap();
    let err = e
        .stop_when(StopRules {
            max_time_s: Some(f64::NAN),
            ..StopRules::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("stop.max_time_s"), "{err}");
}

/// A step plan's constants are those of the method at each step: the
/// schedule's formula (DESIGN section 2.6) through `StepConstants::new`.
#[test]
fn a_plan_gives_each_steps_constants() {
    let steps = 7;
    let m = MethodConfig::homogenized("HOM", 0.01, 1.0, 0.1, 0.2, 4)
        .ramp(Ramped::Dt, Ramp::geometric(0.001))
        .ramp(Ramped::Beta, Ramp::linear(9.0));
    let plan = StepPlan::new(&m, steps);
    assert!(plan.varies());
    for n in 0..steps + 2 {
        let t = (n.min(steps - 1)) as f64 / (steps - 1) as f64;
        let dt = if n == 0 {
            0.01
        } else if n >= steps - 1 {
            0.001
        } else {
            0.01 * (0.001f64 / 0.01).powf(t)
        };
        let beta = if n == 0 {
            1.0
        } else if n >= steps - 1 {
            9.0
        } else {
            1.0 * (1.0 - t) + 9.0 * t
        };
        let want = StepConstants::new(&MethodConfig {
            dt,
            beta,
            ramps: Default::default(),
            ..m.clone()
        });
        assert_eq!(plan.at(n), want, "step {n}");
        // What the definition of the homogenized noise gives, spelled out.
        assert_eq!(
            want.noise,
            (2.0 * (dt / 4.0) / (beta * 0.1)).sqrt() as f32,
            "step {n}"
        );
    }
    let constant = StepPlan::new(&interacting(), steps);
    assert!(!constant.varies());
    assert_eq!(constant.at(5), StepConstants::new(&interacting()));
}

/// Schedules in TOML: read, written back, and checked at both ends by field.
#[test]
fn schedules_in_toml() {
    let mut m = interacting();
    m = m
        .ramp(Ramped::Beta, Ramp::geometric(300.0))
        .ramp(Ramped::Lambda, Ramp::linear(0.5));
    let config = Config {
        problem: problem(),
        ensemble: ensemble(),
        methods: vec![
            m,
            MethodConfig::smoothed("smoothed", 0.01, 5.0, 0.5, 4)
                .ramp(Ramped::H, Ramp::linear(0.01)),
        ],
        stop: StopRules::default(),
    };
    let text = config.to_toml();
    // Written as a table of the method: from, to, kind.
    assert!(
        text.contains("[method.beta]\nfrom = 30.0\nto = 300.0\nkind = \"geometric\""),
        "{text}"
    );
    assert_eq!(Config::from_toml_str(&text, "round trip").unwrap(), config);
    let base = "[problem]\npotential = \"rastrigin\"\ndim = 3\n\
                [ensemble]\nruns = 1\nagents = 2\nsteps = 10\ninit = { uniform = [-1.0, 1.0] }\n\
                [[method]]\nname = \"m\"\nscheme = \"euler\"\ndt = 0.01\nBETA\n";
    let ok = base.replace(
        "BETA",
        r#"beta = { from = 30.0, to = 3.0, kind = "linear" }"#,
    );
    let m = &Config::from_toml_str(&ok, "ok").unwrap().methods[0];
    assert_eq!((m.beta, m.ramps.beta), (30.0, Some(Ramp::linear(3.0))));
    for (bad, field) in [
        (
            r#"beta = { from = 30.0, to = -1.0, kind = "linear" }"#,
            "method[0].beta.to",
        ),
        (
            r#"beta = { from = 30.0, to = 3.0, kind = "cubic" }"#,
            "method[0].beta.kind",
        ),
        (r#"beta = { from = 30.0, to = 3.0 }"#, "method[0].beta"),
    ] {
        let e = Config::from_toml_str(&base.replace("BETA", bad), "bad")
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{bad}: {e}");
    }
    // A geometric schedule of lambda from 0 has no ratio.
    let geo0 = MethodConfig::euler("x", 0.01, 1.0).ramp(Ramped::Lambda, Ramp::geometric(1.0));
    let e = geo0.validate(0).unwrap_err().to_string();
    assert!(
        e.contains("method[0].lambda") && e.contains("linear"),
        "{e}"
    );
    // h is the smoothed scheme's; a schedule of it replaces h_factor.
    let e = MethodConfig::euler("x", 0.01, 1.0)
        .ramp(Ramped::H, Ramp::linear(1.0))
        .validate(0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("method[0].h"), "{e}");
    let e = MethodConfig::smoothed("x", 0.01, 1.0, 0.5, 2)
        .continuation(0.9, 0.0)
        .ramp(Ramped::H, Ramp::linear(0.1))
        .validate(0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("h_factor"), "{e}");
    // The last step's constants must fit f32 too.
    let e = MethodConfig::euler("x", 0.01, 1.0)
        .lambda(1e10)
        .ramp(Ramped::Dt, Ramp::linear(1e30))
        .validate(0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("along the schedules"), "{e}");
    // A product that peaks where one field has ended and the other not yet:
    // dt falls while lambda rises, and dt_max lambda_max overflows f32.
    let e = MethodConfig::euler("x", 1e20, 1.0)
        .ramp(Ramped::Dt, Ramp::linear(1e-3))
        .ramp(Ramped::Lambda, Ramp::linear(1e20))
        .validate(0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dt lambda"), "{e}");
}

fn homogenized() -> MethodConfig {
    MethodConfig::homogenized("MF-HOM-SGLD", 0.01, 20.0, 0.1, 0.2, 3)
        .lambda(2.0)
        .ramp(Ramped::Beta, Ramp::geometric(200.0))
}

/// A checkpoint written at any step resumes to the bits of the uninterrupted
/// run, positions, Y and history, for the Euler and the homogenized scheme.
#[test]
fn a_checkpoint_resumes_bit_for_bit() {
    for method in [interacting(), homogenized()] {
        let mut whole = Ensemble::new(&problem(), &ensemble(), &method, cpu()).unwrap();
        whole.run().unwrap();
        for at in [0u64, 7, 10, 233] {
            let dir = tempfile::tempdir().unwrap();
            let mut first = Ensemble::new(&problem(), &ensemble(), &method, cpu()).unwrap();
            first.advance(at).unwrap();
            first.checkpoint(dir.path()).unwrap();
            // A second checkpoint replaces the first; the older arrays go.
            first.checkpoint(dir.path()).unwrap();
            let names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(
                names
                    .iter()
                    .all(|n| n == "checkpoint.json" || n.ends_with("-2.npy")),
                "{names:?}"
            );
            drop(first);
            let mut resumed =
                Ensemble::resume(&problem(), &ensemble(), &method, cpu(), dir.path()).unwrap();
            assert_eq!(resumed.step(), at);
            resumed.run().unwrap();
            let what = format!("{} from step {at}", method.name);
            assert_eq!(bits(&resumed), bits(&whole), "{what}");
            let (a, b) = (
                resumed.fast_variable().unwrap(),
                whole.fast_variable().unwrap(),
            );
            assert_eq!(a, b, "{what}: Y");
            let (ha, hb) = (resumed.history(), whole.history());
            assert_eq!(ha.steps(), hb.steps(), "{what}");
            for i in 0..hb.len() {
                for (x, y) in ha.at(i).unwrap().iter().zip(hb.at(i).unwrap()) {
                    for s in Stat::ALL {
                        assert_eq!(x.get(s).to_bits(), y.get(s).to_bits(), "{what}: record {i}");
                    }
                }
            }
        }
    }
}

/// A checkpoint of another ensemble, of another format, damaged, or missing
/// is refused with what differs; none of them changes the ensemble.
#[test]
fn foreign_or_damaged_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Ensemble::new(&problem(), &ensemble(), &interacting(), cpu()).unwrap();
    e.advance(20).unwrap();
    e.checkpoint(dir.path()).unwrap();
    let resume = |m: &MethodConfig, ens: &EnsembleConfig| {
        Ensemble::resume(&problem(), ens, m, cpu(), dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let other = resume(&interacting().lambda(5.0), &ensemble());
    assert!(
        other.contains("another ensemble") && other.contains("lambda = 5"),
        "{other}"
    );
    let other = resume(&interacting(), &ensemble().seed(12));
    assert!(other.contains("seed = 12"), "{other}");
    // Another shift of the same potential.
    let shifted = ProblemConfig::new(PotentialKind::Rastrigin, 3).shift(vec![0.5, 0.0, 0.0]);
    let err = Ensemble::resume(&shifted, &ensemble(), &interacting(), cpu(), dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("values"), "{err}");
    // Another potential.
    let p = Quadratic::new(vec![1.0; 3], Shift::zero(3));
    let mut q = Ensemble::with_potential(p, &ensemble(), &interacting(), cpu()).unwrap();
    let err = q.resume_from(dir.path()).unwrap_err().to_string();
    assert!(err.contains("quadratic"), "{err}");
    assert_eq!(q.step(), 0);

    let manifest = dir.path().join("checkpoint.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"format\": 1", "\"format\": 2")).unwrap();
    let err = resume(&interacting(), &ensemble());
    assert!(
        err.contains("format 2") && err.contains("format 1"),
        "{err}"
    );
    std::fs::write(&manifest, &text[..text.len() / 2]).unwrap();
    let err = resume(&interacting(), &ensemble());
    assert!(
        err.contains("damaged") || err.contains("not a checkpoint"),
        "{err}"
    );
    std::fs::write(&manifest, &text).unwrap();
    assert!(resume(&interacting(), &ensemble()).is_empty());

    // One flipped byte in an array.
    let x = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("x-"))
        .unwrap();
    let mut bytes = std::fs::read(&x).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&x, bytes).unwrap();
    let err = resume(&interacting(), &ensemble());
    assert!(
        err.contains("checksum") && err.contains("x-0-1.npy"),
        "{err}"
    );

    let empty = tempfile::tempdir().unwrap();
    let err = Ensemble::resume(&problem(), &ensemble(), &interacting(), cpu(), empty.path())
        .err()
        .unwrap();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("nothing to resume"), "{err}");
    assert_eq!(err.exit_code(), 2);
}

/// A user's potential checkpoints and resumes the same way.
#[test]
fn a_users_potential_resumes_too() {
    let p = Rastrigin::new(Shift::zero(3));
    let mut whole =
        Ensemble::with_potential(p.clone(), &ensemble(), &interacting(), cpu()).unwrap();
    whole.run().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut first =
        Ensemble::with_potential(p.clone(), &ensemble(), &interacting(), cpu()).unwrap();
    first.advance(123).unwrap();
    first.checkpoint(dir.path()).unwrap();
    let mut again = Ensemble::with_potential(p, &ensemble(), &interacting(), cpu()).unwrap();
    again.resume_from(dir.path()).unwrap();
    again.run().unwrap();
    assert_eq!(bits(&again), bits(&whole));
}

/// Sets a flag at the `after`-th record it is told of, as Ctrl-C would.
struct InterruptAt {
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    after: usize,
    seen: usize,
}

impl experiment::Progress for InterruptAt {
    fn record(&mut self, _: usize, _: &str, _: u64, _: &[sgld_swarm::diagnostics::RunStats]) {
        self.seen += 1;
        if self.seen == self.after {
            self.flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// A whole experiment (2-D, so with trajectories) interrupted in its first or
/// its second method returns what was done, `complete: false`, and resumes from
/// its checkpoint to the uninterrupted run's positions, trajectories and
/// records, bit for bit.
#[test]
fn an_interrupted_experiment_resumes_to_the_same_results() {
    use experiment::Lifecycle;
    let config = Config {
        problem: ProblemConfig::new(PotentialKind::SixHumpCamel, 2),
        ensemble: EnsembleConfig::new(2, 16, 300)
            .seed(4)
            .record_every(10)
            .init_uniform(-2.0, 2.0),
        methods: vec![
            interacting(),
            MethodConfig::homogenized("HOM-SGLD", 0.005, 10.0, 0.1, 0.2, 3),
        ],
        stop: StopRules::default(),
    };
    let whole = experiment::run(&config, cpu(), &mut Silent).unwrap();
    assert!(whole.complete);
    // 31 records per method: early in the first, late in the first, in the second.
    for after in [3, 30, 45] {
        let dir = tempfile::tempdir().unwrap();
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let lifecycle = Lifecycle {
            checkpoint_dir: Some(dir.path().join("checkpoint")),
            checkpoint_every: Some(Duration::ZERO),
            interrupt: Some(flag.clone()),
            resume: false,
        };
        let mut progress = InterruptAt {
            flag,
            after,
            seen: 0,
        };
        let cut = experiment::run_with(&config, cpu(), &mut progress, &lifecycle).unwrap();
        assert!(!cut.complete, "interrupted after {after} records");
        assert_eq!(cut.methods.len(), if after > 31 { 2 } else { 1 });
        assert!(cut.methods.last().unwrap().steps < 300);
        let resume = Lifecycle {
            interrupt: None,
            resume: true,
            ..lifecycle
        };
        let done = experiment::run_with(&config, cpu(), &mut Silent, &resume).unwrap();
        assert!(done.complete);
        assert_eq!(done.methods.len(), whole.methods.len());
        for (a, b) in done.methods.iter().zip(&whole.methods) {
            let what = format!("{} after {after} records", a.name);
            assert_eq!(a.steps, b.steps, "{what}");
            assert_eq!(a.positions, b.positions, "{what}");
            assert!(a.trajectories.is_some(), "{what}");
            assert_eq!(a.trajectories, b.trajectories, "{what}");
            assert_eq!(a.history.steps(), b.history.steps(), "{what}");
            for i in 0..b.history.len() {
                assert_eq!(a.history.at(i), b.history.at(i), "{what}: record {i}");
            }
        }
        // A configuration that differs is refused by line.
        let mut other = config.clone();
        other.ensemble.seed = 5;
        let err = match experiment::run_with(&other, cpu(), &mut Silent, &resume) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("resumed another configuration"),
        };
        assert!(
            err.contains("seed = 5") && err.contains("seed = 4"),
            "{err}"
        );
    }
}
