//! The one stepping loop: every engine advances through it. The driver owns the
//! schedule (segments up to the next record or the final step), the records and
//! the history, divergence detection's report, and the state after a divergence;
//! engines only advance segments, record and read back (the [`Engine`] trait).
//! Observers are called from here ([`Observer`]), stopping rules are checked at
//! records ([`StopRules`]), an interruption ends an advance between segments,
//! and a checkpoint's state is put back ([`Driver::restore`]).

use super::{BadValue, Engine, Observer, ObserverId, Schedule, Shape};
use crate::config::{StopRules, Stopped};
use crate::diagnostics::History;
use crate::error::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// An engine driven from step 0 through its records.
pub struct Driver {
    engine: Box<dyn Engine>,
    method: String,
    /// What a divergence's message suggests (the scheme's).
    hint: &'static str,
    shape: Shape,
    schedule: Schedule,
    step: u64,
    history: History,
    /// The divergence that stopped the ensemble, repeated by every later call.
    diverged: Option<BadValue>,
    observers: Vec<Box<dyn Observer>>,
    /// Records of the history delivered to the observers so far.
    observed: usize,
    /// Whether the observers have been told that the last step was reached.
    finished: bool,
    stop: StopRules,
    /// The rule that stopped the ensemble; later advances do nothing.
    stopped: Option<Stopped>,
    /// Wall-clock time spent advancing.
    elapsed: Duration,
    /// Set from elsewhere (a signal handler) to end an advance at the next
    /// segment boundary.
    interrupt: Option<Arc<AtomicBool>>,
}

impl Driver {
    /// Drives `engine` (at step 0) for the method called `method`, recording at
    /// every multiple of `record_every` and at `final_step`; records step 0 now.
    /// `snapshots`: positions at each record are kept (`records` of them).
    pub(crate) fn new(
        engine: Box<dyn Engine>,
        method: &str,
        hint: &'static str,
        shape: Shape,
        schedule: Schedule,
        snapshots: Option<u64>,
    ) -> Result<Self> {
        let mut history = History::new(shape.runs);
        let reserved = match snapshots {
            Some(records) => history.reserve_snapshots(records, shape.len().unwrap_or(usize::MAX)),
            None => Ok(()),
        };
        // Over ranks, before the first record's collectives.
        engine.agree(reserved)?;
        let mut driver = Self {
            engine,
            method: method.to_string(),
            hint,
            shape,
            schedule,
            step: 0,
            history,
            diverged: None,
            observers: Vec::new(),
            observed: 0,
            finished: false,
            stop: StopRules::default(),
            stopped: None,
            elapsed: Duration::ZERO,
            interrupt: None,
        };
        driver.engine.record(0, &mut driver.history)?;
        driver.engine.flush(&mut driver.history)?;
        Ok(driver)
    }

    /// Advances `steps` outer steps in segments, recording at every multiple of
    /// the record interval and at the final step. A divergence stops the
    /// ensemble: the error names the method, run, agent and the first step whose
    /// positions were bad; [`Driver::step`] stays at the start of the segment in
    /// which it happened, the positions are unspecified, the records before it
    /// are kept, and every later call returns the same error. A stopping rule
    /// that holds at a record ends the advance there, and later calls do nothing
    /// ([`Driver::stopped`]); an interruption ends it at the next segment
    /// boundary.
    pub fn advance(&mut self, steps: u64) -> Result<()> {
        if let Some(bad) = self.diverged {
            return Err(self.diverged_error(bad));
        }
        if self.stopped.is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let result = self.advance_from(steps, started);
        self.elapsed += started.elapsed();
        result
    }

    fn advance_from(&mut self, steps: u64, started: Instant) -> Result<()> {
        let end = self.schedule.end(self.step, steps)?;
        let max_len = self.engine.max_segment().max(1);
        // Stopping rules read every record as it is made.
        let eager =
            !self.observers.is_empty() || !self.stop.is_empty() || self.engine.records_eagerly();
        while self.step < end && !self.interrupted() {
            let seg_end = self.schedule.segment_end(self.step, end, max_len);
            if let Some(bad) = self.engine.segment(self.step, seg_end)? {
                self.engine.flush(&mut self.history)?;
                self.diverged = Some(bad);
                self.notify()?;
                return Err(self.diverged_error(bad));
            }
            self.step = seg_end;
            if self.schedule.records_at(self.step) {
                self.engine.record(self.step, &mut self.history)?;
                if eager {
                    // At the record's step, so that its positions can be read.
                    self.engine.flush(&mut self.history)?;
                    self.notify()?;
                    let mut elapsed = self.elapsed + started.elapsed();
                    if self.stop.max_time_s.is_some() {
                        // Every rank stops at the same record.
                        elapsed = self.engine.agreed_elapsed(elapsed);
                    }
                    // A method that reached its last step ran to the end: no stop.
                    let before_end = self.step < self.schedule.final_step;
                    if let Some(reason) = before_end
                        .then(|| self.stop.check(&self.history, elapsed))
                        .flatten()
                    {
                        self.stopped = Some(Stopped {
                            step: self.step,
                            reason,
                        });
                        break;
                    }
                }
            }
        }
        self.engine.flush(&mut self.history)?;
        self.notify()?;
        let ended = self.step == self.schedule.final_step || self.stopped.is_some();
        if ended && !self.finished && !self.observers.is_empty() {
            self.finished = true;
            let finished = self
                .observers
                .iter_mut()
                .try_for_each(|o| o.finish(self.step));
            self.engine.agree(finished)?;
        }
        Ok(())
    }

    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Ends every later advance at the next segment boundary once `flag` is set.
    pub(crate) fn interrupt_on(&mut self, flag: Arc<AtomicBool>) {
        self.interrupt = Some(flag);
    }

    /// Sets the stopping rules (a stop that happened stays).
    pub(crate) fn stop_when(&mut self, rules: StopRules) {
        self.stop = rules;
    }

    /// Forgets the stop, so that the ensemble can advance past it.
    pub(crate) fn clear_stop(&mut self) {
        self.stopped = None;
    }

    /// The rule that stopped the ensemble, if one did.
    pub fn stopped(&self) -> Option<Stopped> {
        self.stopped
    }

    /// Wall-clock time spent advancing.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Puts back a checkpoint's state: positions (and `Y`), the step, the
    /// history so far, the time spent and the stop, as if the ensemble had
    /// advanced here. Observers attached later get the history's records.
    pub(crate) fn restore(&mut self, state: RestoredState) -> Result<()> {
        self.engine.flush(&mut self.history)?;
        self.engine.set_state(&state.x, state.y.as_deref())?;
        self.step = state.step;
        self.history = state.history;
        self.observed = self.history.len();
        self.elapsed = state.elapsed;
        self.stopped = state.stopped;
        // The restored state is whole, whatever happened to the one it replaces.
        self.diverged = None;
        self.finished = false;
        Ok(())
    }

    /// Attaches `observer` and delivers it the records made so far.
    pub(crate) fn observe(&mut self, observer: Box<dyn Observer>) -> Result<ObserverId> {
        self.engine.flush(&mut self.history)?;
        self.notify()?;
        self.observers.push(observer);
        let id = self.observers.len() - 1;
        let mut delivered = Ok(());
        for i in 0..self.history.len() {
            delivered = self.deliver(i, id..id + 1);
            if delivered.is_err() {
                break;
            }
        }
        self.engine.agree(delivered)?;
        Ok(ObserverId(id))
    }

    /// The observer `id`, if it is an `O`.
    pub(crate) fn observer<O: Observer>(&self, id: ObserverId) -> Option<&O> {
        let o: &dyn std::any::Any = self.observers.get(id.0)?.as_ref();
        o.downcast_ref()
    }

    /// [`Driver::notify_here`], agreed over the ranks the ensemble is split
    /// over (an observer's error on any rank stops every rank at that record).
    fn notify(&mut self) -> Result<()> {
        let here = self.notify_here();
        self.engine.agree(here)
    }

    /// Delivers the records not yet delivered to every observer; the positions
    /// of the one at the current step to those that want them.
    fn notify_here(&mut self) -> Result<()> {
        if self.observers.is_empty() {
            self.observed = self.history.len();
            return Ok(());
        }
        while self.observed < self.history.len() {
            // Delivered once, even when an observer fails.
            self.observed += 1;
            self.deliver(self.observed - 1, 0..self.observers.len())?;
        }
        Ok(())
    }

    /// Delivers record `i` to the observers `to`, every one of them even when
    /// one fails (the first error comes back); the positions, read once, to
    /// those that want them while the ensemble is at the record's step.
    fn deliver(&mut self, i: usize, to: std::ops::Range<usize>) -> Result<()> {
        let step = self.history.steps()[i];
        let wants = self.observers[to.clone()]
            .iter()
            .any(|o| o.wants_positions());
        let positions = if wants && step == self.step && self.diverged.is_none() {
            Some(self.engine.positions()?)
        } else {
            None
        };
        let stats = self.history.at(i).expect("a record of the history");
        let mut failed = None;
        for o in &mut self.observers[to] {
            let p = positions.as_deref().filter(|_| o.wants_positions());
            if let Err(e) = o.record(step, stats, p) {
                failed.get_or_insert(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    pub(crate) fn diverged_error(&self, bad: BadValue) -> Error {
        Error::Diverged {
            method: self.method.clone(),
            hint: self.hint,
            run: bad.agent / self.shape.agents,
            agent: bad.agent % self.shape.agents,
            step: bad.step,
            value: bad.value,
        }
    }

    /// Outer steps done.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The divergence that stopped the ensemble, if one did.
    pub fn divergence(&self) -> Option<BadValue> {
        self.diverged
    }

    /// The diagnostics recorded so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The engine's positions.
    pub fn positions(&self) -> Result<Vec<f32>> {
        self.engine.positions()
    }

    /// The engine's fast variable `Y`, if its scheme has one.
    pub fn fast(&self) -> Result<Option<Vec<f32>>> {
        self.engine.fast()
    }

    /// Replaces the state (see [`Engine::set_state`]); `x` and `y` have been
    /// checked. When the current step has been recorded, its record is replaced
    /// by one of the new state, so the history never shows positions the
    /// ensemble did not have. After a divergence this is the divergence error.
    pub(crate) fn set_state(&mut self, x: &[f32], y: Option<&[f32]>) -> Result<()> {
        if let Some(bad) = self.diverged {
            return Err(self.diverged_error(bad));
        }
        self.engine.flush(&mut self.history)?;
        self.engine.set_state(x, y)?;
        if self.history.steps().last() == Some(&self.step) {
            self.history.pop_last();
            self.engine.record(self.step, &mut self.history)?;
            self.engine.flush(&mut self.history)?;
            // Observers get the replaced record again.
            self.observed = self.observed.min(self.history.len() - 1);
            self.notify()?;
        }
        Ok(())
    }

    /// The potential the engine steps on.
    pub fn potential(&self) -> &dyn crate::potential::Potential {
        self.engine.potential()
    }

    /// `"cpu"` or `"gpu"`.
    pub fn backend(&self) -> &'static str {
        self.engine.backend()
    }

    /// The device, in words.
    pub fn device(&self) -> String {
        self.engine.device()
    }
}

/// What [`Driver::restore`] puts back.
pub(crate) struct RestoredState {
    pub x: Vec<f32>,
    pub y: Option<Vec<f32>>,
    pub step: u64,
    pub history: History,
    pub elapsed: Duration,
    pub stopped: Option<Stopped>,
}
