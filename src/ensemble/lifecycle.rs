//! A run's lifecycle on one ensemble: stopping rules, interruption, and
//! checkpoints with exact resume (docs/DESIGN.md sections 5.3 to 5.5).

use super::{Ensemble, Options};
use crate::checkpoint::{self, MethodState, ToWrite};
use crate::config::{EnsembleConfig, MethodConfig, ProblemConfig, StopRules, Stopped};
use crate::engine::RestoredState;
use crate::error::{Error, Result};
use ndarray::Array3;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

impl Ensemble {
    /// Stops the ensemble at the first record where one of `rules` holds
    /// (checked at every record on its per-run statistics; docs/DESIGN.md
    /// section 5.3); later advances then do nothing until
    /// [`Ensemble::clear_stop`]. A stop that happened (or came with a
    /// checkpoint) stays.
    ///
    /// ```
    /// use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, StopRules};
    /// use sgld_swarm::potential::{Quadratic, Shift};
    ///
    /// let p = Quadratic::new(vec![1.0; 2], Shift::zero(2));
    /// let ensemble = EnsembleConfig::new(2, 32, 10_000).record_every(10).init_uniform(-3.0, 3.0);
    /// let method = MethodConfig::euler("MF-SGLD", 0.01, 50.0).lambda(5.0);
    /// let mut e = Ensemble::with_potential(p, &ensemble, &method, Options::default())?;
    /// e.stop_when(StopRules { spread_below: Some(1.0), ..StopRules::default() })?;
    /// e.run()?;
    /// let stopped = e.stopped().expect("the agents reach consensus");
    /// assert!(stopped.step < 10_000 && stopped.step % 10 == 0);
    /// # Ok::<(), sgld_swarm::Error>(())
    /// ```
    pub fn stop_when(&mut self, rules: StopRules) -> Result<()> {
        rules.validate()?;
        self.driver.stop_when(rules);
        Ok(())
    }

    /// Where and why a stopping rule ended the ensemble, if one did.
    pub fn stopped(&self) -> Option<Stopped> {
        self.driver.stopped()
    }

    /// Forgets the stop, so that the ensemble advances past it (the rules stay:
    /// change them with [`Ensemble::stop_when`] first if they would stop it at
    /// the next record again).
    pub fn clear_stop(&mut self) {
        self.driver.clear_stop();
    }

    /// Ends every advance at the next segment boundary once `flag` is set (by a
    /// signal handler, another thread); the ensemble stays whole, and clearing
    /// the flag lets it go on.
    pub fn interrupt_on(&mut self, flag: Arc<AtomicBool>) {
        if self.ranks.is_some() {
            // Over ranks the flag travels with each segment's report, and every
            // rank stops after the segment in which any rank saw it set.
            *self.relay.flag.lock().unwrap_or_else(|p| p.into_inner()) = Some(flag);
            // Every rank makes this call at the same step: a new flag starts
            // unset everywhere.
            self.relay
                .agreed
                .store(false, std::sync::atomic::Ordering::Relaxed);
            self.driver.interrupt_on(self.relay.agreed.clone());
        } else {
            self.driver.interrupt_on(flag);
        }
    }

    /// The state a checkpoint holds: positions, `Y`, step, history, time, stop.
    pub fn state(&self) -> Result<MethodState> {
        let shape = (self.ensemble.runs, self.ensemble.agents, self.dim);
        let array = |v: Vec<f32>| Array3::from_shape_vec(shape, v).expect("the ensemble's shape");
        Ok(MethodState {
            name: self.method.name.clone(),
            step: self.step(),
            elapsed: self.elapsed(),
            done: self.step() >= self.ensemble.steps || self.stopped().is_some(),
            stopped: self.stopped(),
            error: self
                .driver
                .divergence()
                .map(|bad| (self.driver.diverged_error(bad).to_string(), bad.step)),
            x: array(self.driver.positions()?),
            y: self.driver.fast()?.map(array),
            history: self.driver.history().clone(),
        })
    }

    /// The text that identifies this ensemble's configuration in a checkpoint.
    fn checkpoint_config(&self) -> String {
        checkpoint::identity(
            self.potential(),
            &self.ensemble,
            std::slice::from_ref(&self.method),
        )
    }

    /// Writes a checkpoint of the ensemble into the folder `dir` (created if
    /// need be; docs/DESIGN.md section 5.4): atomically, so that a kill at any
    /// moment leaves the previous one whole. [`Ensemble::resume_from`] continues
    /// from it exactly.
    pub fn checkpoint(&self, dir: &Path) -> Result<()> {
        let state = self.state()?;
        // Over ranks, rank 0 writes the whole state, as one process would.
        let written = if self.is_root() {
            checkpoint::write(
                dir,
                &self.checkpoint_config(),
                self.backend(),
                &self.device(),
                &[ToWrite::State(&state)],
            )
            .map(|_| ())
        } else {
            Ok(())
        };
        self.agree(written)
    }

    /// Puts the state of the checkpoint in `dir` into this ensemble, which must
    /// have been built with the same potential, ensemble and method (on either
    /// engine): the next steps are exactly those the checkpointed ensemble
    /// would have taken. A missing, damaged or foreign checkpoint is an error
    /// that says which.
    pub fn resume_from(&mut self, dir: &Path) -> Result<()> {
        // Over ranks every rank reads it (a folder all of them see), and a
        // failure on any is every rank's.
        let state = self.read_checkpoint(dir);
        let state = self.agree(state)?;
        self.restore(state, dir)
    }

    /// The state of the one-method checkpoint in `dir`, checked against this
    /// ensemble.
    fn read_checkpoint(&self, dir: &Path) -> Result<MethodState> {
        let manifest = checkpoint::read_manifest(dir)?.ok_or_else(|| Error::Checkpoint {
            path: dir.to_path_buf(),
            message: format!("no {} there: nothing to resume", checkpoint::MANIFEST),
        })?;
        if let Some(d) = checkpoint::first_difference(&manifest.config, &self.checkpoint_config()) {
            return Err(Error::Checkpoint {
                path: dir.to_path_buf(),
                message: format!("it was written for another ensemble: {d}"),
            });
        }
        if manifest.methods.len() != 1 {
            return Err(Error::Checkpoint {
                path: dir.to_path_buf(),
                message: format!(
                    "it holds {} methods: a run's checkpoint, resumed with `sgld-swarm resume`",
                    manifest.methods.len()
                ),
            });
        }
        let shape = [self.ensemble.runs, self.ensemble.agents, self.dim];
        let state = checkpoint::load(dir, &manifest, 0, shape)?;
        if let Some((message, _)) = &state.error {
            return Err(Error::Checkpoint {
                path: dir.to_path_buf(),
                message: format!("the ensemble had diverged: {message}"),
            });
        }
        Ok(state)
    }

    /// An ensemble on a built-in potential, continued from the checkpoint in
    /// `dir` ([`Ensemble::new`], then [`Ensemble::resume_from`]).
    pub fn resume(
        problem: &ProblemConfig,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        options: Options,
        dir: &Path,
    ) -> Result<Self> {
        let mut e = Self::new(problem, ensemble, method, options)?;
        e.resume_from(dir)?;
        Ok(e)
    }

    /// Puts `state` (read from the checkpoint in `dir`, shapes checked) back.
    pub(crate) fn restore(&mut self, state: MethodState, dir: &Path) -> Result<()> {
        let damaged = |message: String| Error::Checkpoint {
            path: dir.join(checkpoint::MANIFEST),
            message,
        };
        if self.method.scheme.is_homogenized() != state.y.is_some() {
            return Err(damaged(format!(
                "the fast variable Y of {} is {} (damaged?)",
                self.method.name,
                if state.y.is_some() {
                    "there but not used"
                } else {
                    "missing"
                }
            )));
        }
        if state.step > self.ensemble.steps {
            return Err(damaged(format!(
                "{} is at step {}, past the configuration's {} (damaged?)",
                self.method.name, state.step, self.ensemble.steps
            )));
        }
        self.driver.restore(RestoredState {
            x: state.x.iter().copied().collect(),
            y: state.y.map(|y| y.iter().copied().collect()),
            step: state.step,
            history: state.history,
            elapsed: state.elapsed,
            stopped: state.stopped,
        })
    }
}
