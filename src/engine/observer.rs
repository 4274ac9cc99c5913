//! Observers: code of the caller's that the driver calls at every record and
//! when a run reaches its last step, with the record's step and per-run
//! statistics, and the positions when the observer asks for them.

use crate::diagnostics::RunStats;
use crate::error::Result;

/// Watches an ensemble as it runs ([`crate::Ensemble::observe`]).
///
/// `record` is called once for every record, in step order: for the records
/// made before the observer was attached as soon as it is, then at each record
/// as the ensemble reaches it. Positions (`[runs][agents][dim]` flattened) come
/// with a record only when [`Observer::wants_positions`] says so, and only for a
/// record of the step the ensemble is at (an earlier record's positions are
/// gone unless trajectories are kept). Asking for them costs a read from the
/// device at every record on the GPU; not asking costs nothing, since the
/// statistics are read anyway. An error from the observer stops the advance
/// and comes back from it; the ensemble stays at that record and can go on,
/// and the record is not delivered again. A record that
/// [`crate::Ensemble::set_positions`] replaces is delivered again.
///
/// ```
/// use sgld_swarm::diagnostics::{RunStats, Stat};
/// use sgld_swarm::potential::{Rastrigin, Shift};
/// use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Observer, Options, Result};
///
/// /// The median over runs of the best agent's distance, at each record.
/// struct BestDistance(Vec<(u64, f64)>);
///
/// impl Observer for BestDistance {
///     fn record(&mut self, step: u64, stats: &[RunStats], _: Option<&[f32]>) -> Result<()> {
///         let mut best: Vec<f64> = stats.iter().map(|s| s.get(Stat::Best)).collect();
///         best.sort_by(f64::total_cmp);
///         self.0.push((step, best[best.len() / 2]));
///         Ok(())
///     }
/// }
///
/// let e = EnsembleConfig::new(3, 16, 20).record_every(5);
/// let m = MethodConfig::euler("SGLD", 0.01, 2.0);
/// let mut ens = Ensemble::with_potential(Rastrigin::new(Shift::zero(2)), &e, &m, Options::default())?;
/// let seen = ens.observe(BestDistance(Vec::new()))?;
/// ens.run()?;
/// let steps: Vec<u64> = ens.observer::<BestDistance>(seen).unwrap().0.iter().map(|r| r.0).collect();
/// assert_eq!(steps, [0, 5, 10, 15, 20]);
/// # Ok::<(), sgld_swarm::Error>(())
/// ```
pub trait Observer: Send + std::any::Any {
    /// Whether `record` wants the positions (default: no).
    fn wants_positions(&self) -> bool {
        false
    }

    /// One record: its step, each run's statistics, and the positions when
    /// asked for and still there.
    fn record(&mut self, step: u64, stats: &[RunStats], positions: Option<&[f32]>) -> Result<()>;

    /// The ensemble has reached its configured last step, or a stopping rule
    /// ended it there (called once).
    fn finish(&mut self, step: u64) -> Result<()> {
        let _ = step;
        Ok(())
    }
}

/// An observer attached to an ensemble, to get it back with
/// [`crate::Ensemble::observer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserverId(pub(crate) usize);
