//! The loop over a run's methods, one after the other (so that memory holds one
//! method's arrays), with its lifecycle: each method stops on its own rules,
//! checkpoints are written on a timer and at the end, an interruption stops at
//! the next segment boundary and returns what was done, and a run continues from
//! its checkpoint exactly where it was (docs/DESIGN.md sections 5.3 and 5.4).

use super::{ExperimentResult, GIB, MethodResult, Progress, TRAJECTORY_BUDGET, trajectory_bytes};
use crate::checkpoint::{self, Manifest, MethodEntry, MethodState, ToWrite};
use crate::config::{EnsembleConfig, MethodConfig, ProblemConfig, StopRules};
use crate::ensemble::{Ensemble, Options};
use crate::error::{Error, Result};
use crate::potential::Potential;
use ndarray::Array4;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How a run lives through time: checkpoints, interruption, resuming.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// The checkpoint folder (the command line uses `<out>/checkpoint`); `None`:
    /// no checkpoints.
    pub checkpoint_dir: Option<PathBuf>,
    /// How often to write a checkpoint into `checkpoint_dir` (checked between
    /// pieces of about 1% of a method's steps); one is also written when the
    /// run ends or is interrupted (zero: only then). `None`: none is written
    /// (a resume still reads `checkpoint_dir`).
    pub checkpoint_every: Option<Duration>,
    /// Once set (by a signal handler), the method running stops at the next
    /// segment boundary, a checkpoint is written, and the run returns what was
    /// done with `complete: false`.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Continue from the checkpoint in `checkpoint_dir`, which must have been
    /// written by a run of the same configuration.
    pub resume: bool,
}

impl Lifecycle {
    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

/// Builds one ensemble for a method with the options given.
pub(super) type Build<'a> = dyn Fn(&MethodConfig, Options) -> Result<Ensemble> + 'a;

/// The checkpoint being kept: where, and the entries of the methods that have
/// ended and been written once (their arrays stay from generation to generation).
struct Keeper<'a> {
    dir: &'a Path,
    config: &'a str,
    kept: Vec<Option<MethodEntry>>,
    last: Instant,
}

impl Keeper<'_> {
    /// [`Keeper::write`]; a failure (a full disk, say) does not stop the run,
    /// whose results are still to be written: it becomes a note, and the
    /// previous checkpoint stays whole.
    fn write_or_note(
        &mut self,
        results: &[MethodResult],
        current: Option<&MethodState>,
        engine: &(String, String),
        progress: &mut dyn Progress,
        notes: &mut Vec<String>,
    ) {
        if let Err(e) = self.write(results, current, engine) {
            let note = format!(
                "the checkpoint in {} was not updated: {e}",
                self.dir.display()
            );
            progress.warning(&note);
            notes.push(note);
            // Not again at once.
            self.last = Instant::now();
        }
    }

    /// Writes the ended methods (`results`) and the one running (`current`,
    /// its state taken by the caller: over ranks every rank gives its part,
    /// and a failure there is every rank's, not a note).
    fn write(
        &mut self,
        results: &[MethodResult],
        current: Option<&MethodState>,
        engine: &(String, String),
    ) -> Result<()> {
        let states: Vec<Option<MethodState>> = results
            .iter()
            .enumerate()
            .map(|(i, r)| match self.kept.get(i) {
                Some(Some(_)) => None,
                _ => Some(state_of(r)),
            })
            .collect();
        let mut list: Vec<ToWrite<'_>> = states
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Some(s) => ToWrite::State(s),
                None => ToWrite::Kept(self.kept[i].as_ref().expect("kept")),
            })
            .collect();
        if let Some(s) = current {
            list.push(ToWrite::State(s));
        }
        let manifest = checkpoint::write(self.dir, self.config, &engine.0, &engine.1, &list)?;
        self.kept = (0..results.len())
            .map(|i| Some(manifest.methods[i].clone()))
            .collect();
        self.last = Instant::now();
        Ok(())
    }
}

/// The checkpoint state of a method that has ended.
fn state_of(r: &MethodResult) -> MethodState {
    MethodState {
        name: r.name.clone(),
        step: r.history.steps().last().copied().unwrap_or(0).max(r.steps),
        elapsed: Duration::from_secs_f64(r.elapsed_s),
        done: true,
        stopped: r.stopped,
        error: r.error.clone().map(|e| (e, r.steps)),
        x: r.positions.clone(),
        y: None,
        history: r.history.clone(),
    }
}

/// A method that had ended, from its checkpoint state.
fn result_of(method: &MethodConfig, state: MethodState, units_per_step: f64) -> MethodResult {
    let elapsed_s = state.elapsed.as_secs_f64();
    let trajectories = trajectories_of(&state);
    MethodResult {
        name: method.name.clone(),
        slug: method.slug(),
        steps: state.error.as_ref().map_or(state.step, |e| e.1),
        elapsed_s,
        units_per_s: units_per_s(units_per_step * state.step as f64, elapsed_s),
        exchange_s: None,
        positions: state.x,
        trajectories,
        error: state.error.map(|e| e.0),
        stopped: state.stopped,
        history: state.history,
    }
}

fn trajectories_of(state: &MethodState) -> Option<Array4<f32>> {
    let snaps = state.history.snapshots();
    if snaps.is_empty() {
        return None;
    }
    let s = state.x.shape();
    let per = s[0] * s[1] * s[2];
    Array4::from_shape_vec((snaps.len() / per, s[0], s[1], s[2]), snaps.to_vec()).ok()
}

fn units_per_s(units: f64, elapsed_s: f64) -> f64 {
    if elapsed_s > 0.0 {
        units / elapsed_s
    } else {
        0.0
    }
}

/// The checkpoint to continue from, checked against this run.
fn resumable(dir: &Path, config: &str, methods: &[MethodConfig]) -> Result<Manifest> {
    let manifest = checkpoint::read_manifest(dir)?.ok_or_else(|| Error::Checkpoint {
        path: dir.to_path_buf(),
        message: format!(
            "no {} there: the run wrote no checkpoint yet (start it again with `run`)",
            checkpoint::MANIFEST
        ),
    })?;
    if let Some(d) = checkpoint::first_difference(&manifest.config, config) {
        return Err(Error::Checkpoint {
            path: dir.to_path_buf(),
            message: format!("it was written by a run of another configuration: {d}"),
        });
    }
    let names_agree = manifest.methods.len() <= methods.len()
        && manifest
            .methods
            .iter()
            .zip(methods)
            .all(|(e, m)| e.name == m.name);
    // Every method but the last has ended.
    let n = manifest.methods.len();
    let ended_before_last = manifest
        .methods
        .iter()
        .take(n.saturating_sub(1))
        .all(|e| e.done);
    if !names_agree || !ended_before_last {
        return Err(Error::Checkpoint {
            path: dir.join(checkpoint::MANIFEST),
            message: "its methods do not match its configuration (damaged?)".into(),
        });
    }
    Ok(manifest)
}

/// Runs `method_configs` one after the other, each built by `build`.
#[allow(clippy::too_many_arguments, reason = "the parts of a run, passed once")]
pub(super) fn run_methods(
    problem: Option<ProblemConfig>,
    potential: Arc<dyn Potential>,
    ensemble: &EnsembleConfig,
    method_configs: &[MethodConfig],
    stop: StopRules,
    config_text: &str,
    options: Options,
    progress: &mut dyn Progress,
    lifecycle: &Lifecycle,
    build: &Build<'_>,
) -> Result<ExperimentResult> {
    let dim = potential.dim();
    let mut notes = Vec::new();
    // 2-D problems keep their trajectories for the paths plot, unless they would
    // take more memory than is reasonable to hold.
    let trajectory_bytes = trajectory_bytes(ensemble);
    let keep_2d = dim == 2 && trajectory_bytes <= TRAJECTORY_BUDGET;
    if dim == 2 && !keep_2d && !options.keep_trajectories {
        notes.push(format!(
            "trajectories are not kept: they would take {:.1} GiB (more than {:.0} GiB); \
             raise ensemble.record_every or lower runs x agents to keep them",
            trajectory_bytes / GIB,
            TRAJECTORY_BUDGET / GIB
        ));
    }
    let options = Options {
        keep_trajectories: options.keep_trajectories || keep_2d,
        ..options
    };
    let steps = ensemble.steps;
    let shape = [ensemble.runs, ensemble.agents, dim];
    let units_of = |m: &MethodConfig| {
        (ensemble.runs * ensemble.agents * dim) as f64 * m.scheme.inner_len() as f64
    };
    // Advance in pieces for the progress bar: about 1% of the run, or a record interval.
    let piece = ensemble.record_every.min(steps.div_ceil(100)).max(1);
    let count = method_configs.len();
    let mut methods: Vec<MethodResult> = Vec::with_capacity(count);
    let mut engine_info: Option<(String, String)> = None;
    let mut backend_note = None;
    let writes = lifecycle.checkpoint_every.is_some();
    // Over ranks, rank 0 writes the checkpoint (the whole state, as one process
    // would); the others give their parts of it.
    let root = options.ranks.as_ref().is_none_or(|r| r.is_root());
    let mut keeper = lifecycle
        .checkpoint_dir
        .as_deref()
        .filter(|_| writes && root)
        .map(|dir| Keeper {
            dir,
            config: config_text,
            kept: Vec::new(),
            last: Instant::now(),
        });
    // What the checkpoint holds: the methods that ended, then the one running.
    let ranks = options.ranks.as_ref().filter(|r| r.size() > 1);
    let resumed = match (&lifecycle.checkpoint_dir, lifecycle.resume) {
        (Some(dir), true) => Some(crate::ranks::agree(
            ranks,
            resumable(dir, config_text, method_configs),
        )?),
        (None, true) => {
            return Err(Error::Config(crate::ConfigError {
                field: "Lifecycle::checkpoint_dir".into(),
                value: "None".into(),
                allowed: "must name the checkpoint folder to resume from".into(),
            }));
        }
        _ => None,
    };
    let mut running_state = None;
    if let (Some(manifest), Some(dir)) = (&resumed, &lifecycle.checkpoint_dir) {
        engine_info = Some((manifest.backend.clone(), manifest.device.clone()));
        // Every rank reads the checkpoint (a folder all of them see); a
        // failure on any is every rank's.
        let states: Result<Vec<MethodState>> = (0..manifest.methods.len())
            .map(|i| checkpoint::load(dir, manifest, i, shape))
            .collect();
        let states = crate::ranks::agree(ranks, states)?;
        for (i, (entry, state)) in manifest.methods.iter().zip(states).enumerate() {
            if entry.done {
                methods.push(result_of(
                    &method_configs[i],
                    state,
                    units_of(&method_configs[i]),
                ));
            } else {
                running_state = Some(state);
            }
        }
        if let Some(k) = &mut keeper {
            k.kept = manifest
                .methods
                .iter()
                .filter(|e| e.done)
                .cloned()
                .map(Some)
                .collect();
        }
    }
    let mut complete = true;
    let mut told = false;
    for (index, method) in method_configs.iter().enumerate().skip(methods.len()) {
        let mut e = build(method, options.clone())?;
        if let Some(flag) = &lifecycle.interrupt {
            e.interrupt_on(flag.clone());
        }
        e.stop_when(stop)?;
        if let (Some(state), Some(dir)) = (running_state.take(), &lifecycle.checkpoint_dir) {
            e.restore(state, dir)?;
        }
        if !told {
            told = true;
            progress.engine(e.backend(), &e.device(), e.backend_note());
            backend_note = e.backend_note().map(str::to_string);
        }
        // The engine that runs now is the one the outputs name.
        engine_info = Some((e.backend().to_string(), e.device()));
        progress.start(index, count, &method.name, steps);
        progress.advance(e.step());
        // Records restored from a checkpoint were delivered before.
        let mut delivered = if e.step() > 0 { e.history().len() } else { 0 };
        let mut deliver = |e: &Ensemble, progress: &mut dyn Progress| {
            let h = e.history();
            for i in delivered..h.len() {
                let stats = h.at(i).expect("a record of the history");
                progress.record(index, &method.name, h.steps()[i], stats);
            }
            delivered = h.len();
        };
        deliver(&e, progress);
        let mut error = None;
        let mut steps_done = None;
        // Over ranks, whether to stop or write a checkpoint is agreed, so that
        // every rank makes the same calls: an interruption on any rank stops
        // all, and rank 0's timer times the checkpoints.
        let ranks = e.ranks().cloned();
        let agreed = |mine: bool| ranks.as_ref().map_or(mine, |r| r.any(mine));
        let exchanged = || ranks.as_ref().map_or(Duration::ZERO, |r| r.exchange_time());
        let mut exchange = Duration::ZERO;
        while e.step() < steps && e.stopped().is_none() && !agreed(lifecycle.interrupted()) {
            let before = exchanged();
            let advanced = e.advance(piece.min(steps - e.step()));
            exchange += exchanged() - before;
            deliver(&e, progress);
            match advanced {
                Ok(()) => progress.advance(e.step()),
                Err(err @ Error::Diverged { step, .. }) => {
                    error = Some(err.to_string());
                    steps_done = Some(step);
                    break;
                }
                Err(other) => return Err(other),
            }
            if let Some(every) = lifecycle.checkpoint_every.filter(|e| !e.is_zero()) {
                let due = keeper.as_ref().is_some_and(|k| k.last.elapsed() >= every);
                if agreed(due) {
                    let info = engine_info.clone().expect("set above");
                    // Over ranks every rank gives its part of the state; rank
                    // 0 writes it.
                    let state = e.state()?;
                    if let Some(k) = &mut keeper {
                        k.write_or_note(&methods, Some(&state), &info, progress, &mut notes);
                    }
                }
            }
        }
        progress.finish(error.as_deref());
        let ended = error.is_some() || e.step() >= steps || e.stopped().is_some();
        if !ended {
            // Interrupted.
            complete = false;
            // Where it was left: in the checkpoint as running, in the outputs as
            // reached so far.
            let info = engine_info.clone().expect("set above");
            if writes && lifecycle.checkpoint_dir.is_some() {
                let state = e.state()?;
                if let Some(k) = &mut keeper {
                    k.write_or_note(&methods, Some(&state), &info, progress, &mut notes);
                }
            }
        }
        let elapsed_s = e.elapsed().as_secs_f64();
        let units = e.units_per_step() * e.step() as f64;
        methods.push(MethodResult {
            slug: method.slug(),
            name: method.name.clone(),
            steps: steps_done.unwrap_or(e.step()),
            elapsed_s,
            units_per_s: units_per_s(units, elapsed_s),
            exchange_s: ranks.is_some().then_some(exchange.as_secs_f64()),
            history: e.history().clone(),
            positions: e.positions()?,
            trajectories: e.trajectories(),
            error,
            stopped: e.stopped(),
        });
        if !complete {
            break;
        }
    }
    if complete {
        if let (Some(k), Some(info)) = (&mut keeper, &engine_info) {
            k.write_or_note(&methods, None, info, progress, &mut notes);
        }
    }
    let (backend, device) = engine_info.expect("validated methods are not empty");
    Ok(ExperimentResult {
        problem,
        ensemble: ensemble.clone(),
        method_configs: method_configs.to_vec(),
        stop,
        potential,
        backend,
        device,
        backend_note,
        notes,
        methods,
        complete,
    })
}
