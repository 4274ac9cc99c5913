//! The engine a rank drives when an ensemble is split over ranks
//! ([`crate::ranks`], docs/DESIGN.md section 6.2): its own slice of the agents
//! on a local engine (CPU or GPU), seen from the [`super::Driver`] as the whole
//! ensemble. After every segment the ranks agree on how it went (a failure on
//! any rank ends every rank with that rank's message; the earliest bad value
//! over all ranks is every rank's), each record's statistics are gathered on
//! every rank, and positions are gathered whole, so that every rank's driver,
//! stopping rules and observers see what one process would.

use super::{BadValue, Engine};
use crate::diagnostics::{History, RunStats, run_stats};
use crate::engine::Shape;
use crate::error::Result;
use crate::ranks::{Ranks, Slice, Status, first_failure};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// An interruption over ranks: the flag a rank's user sets (a signal handler's)
/// is passed on with each segment's report, and `agreed` is set on every rank
/// after the segment in which any rank saw its flag set; the driver reads
/// `agreed`, so that every rank stops at the same step.
#[derive(Default)]
pub(crate) struct Relay {
    pub(crate) flag: Mutex<Option<Arc<AtomicBool>>>,
    pub(crate) agreed: Arc<AtomicBool>,
}

/// A rank's slice of a split ensemble, driven as the whole.
pub(crate) struct Distributed {
    local: Box<dyn Engine>,
    ranks: Ranks,
    slice: Slice,
    /// The whole ensemble's shape.
    shape: Shape,
    keep_snapshots: bool,
    /// The shortest of every rank's longest segment, so that all ranks step
    /// through the same segments.
    max_segment: u64,
    relay: Arc<Relay>,
}

/// `RunStats` as the five f64 gathered per run.
const STATS: usize = 5;

impl Distributed {
    /// `local` holds `slice` of an ensemble of `shape`; the ranks agree on the
    /// segments they take.
    pub(crate) fn new(
        local: Box<dyn Engine>,
        ranks: Ranks,
        slice: Slice,
        shape: Shape,
        keep_snapshots: bool,
        relay: Arc<Relay>,
    ) -> Self {
        // Whole runs need nothing from other ranks between records: a
        // segment runs up to the next record in the local engine's own
        // segments, and the ranks agree once per segment. A split run's ranks
        // exchange inside every step: they take the same segments.
        let max_segment = if slice.split {
            ranks
                .all_gather_bytes(&local.max_segment().to_le_bytes())
                .iter()
                .map(|b| u64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
                .min()
                .unwrap_or(1)
        } else {
            u64::MAX
        };
        Self {
            local,
            ranks,
            slice,
            shape,
            keep_snapshots,
            max_segment,
            relay,
        }
    }

    /// Steps `n0..n1` in the local engine's segments, up to the first bad
    /// value (the earliest over all ranks is then the one one process finds:
    /// each rank's first is its earliest).
    fn local_segments(&mut self, n0: u64, n1: u64) -> Result<Option<BadValue>> {
        let max = self.local.max_segment().max(1);
        let mut n = n0;
        while n < n1 {
            let end = n1.min(n.saturating_add(max));
            if let Some(bad) = self.local.segment(n, end)? {
                return Ok(Some(bad));
            }
            n = end;
        }
        Ok(None)
    }

    /// This rank's statistics of its whole runs at the record just made.
    fn local_stats(&mut self, step: u64) -> Result<Vec<f64>> {
        let mut h = History::new(self.slice.runs);
        self.local.record(step, &mut h)?;
        self.local.flush(&mut h)?;
        let stats = h.at(h.len() - 1).expect("the record just made");
        Ok(stats
            .iter()
            .flat_map(|s| [s.best, s.worst, s.median, s.best_phi, s.spread])
            .collect())
    }
}

impl Engine for Distributed {
    fn segment(&mut self, n0: u64, n1: u64) -> Result<Option<BadValue>> {
        let local = self.local_segments(n0, n1);
        let interrupted = self
            .relay
            .flag
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed));
        let status = match &local {
            Ok(None) => Vec::new(),
            Ok(Some(b)) => Status::Bad {
                step: b.step,
                agent: b.agent as u64,
                value: b.value,
            }
            .encode(),
            Err(e) => Status::Failed {
                code: e.exit_code(),
                message: e.to_string(),
            }
            .encode(),
        };
        // The first byte: whether this rank was interrupted.
        let report: Vec<u8> = std::iter::once(interrupted as u8).chain(status).collect();
        let all: Vec<Vec<u8>> = self
            .ranks
            .all_gather_bytes(&report)
            .into_iter()
            .map(|mut b| {
                if b.first() == Some(&1) {
                    self.relay.agreed.store(true, Ordering::Relaxed);
                }
                b.remove(0);
                b
            })
            .collect();
        let failure = first_failure(&all);
        if failure.is_some() {
            self.ranks.mark_failed();
        }
        local?;
        if let Some(e) = failure {
            return Err(e);
        }
        // The earliest (step, agent) over every rank, as one process finds it.
        Ok(all
            .iter()
            .filter_map(|b| match Status::decode(b) {
                Some(Status::Bad { step, agent, value }) => Some(BadValue {
                    step,
                    agent: agent as usize,
                    value,
                }),
                _ => None,
            })
            .min_by_key(|b| (b.step, b.agent)))
    }

    fn max_segment(&self) -> u64 {
        self.max_segment
    }

    fn record(&mut self, step: u64, history: &mut History) -> Result<()> {
        let s = self.shape;
        // A split run's statistics need all of its agents: they come from the
        // gathered positions, computed alike on every rank. Whole runs'
        // statistics are their own rank's, gathered.
        let mine = if self.slice.split {
            Ok(Vec::new())
        } else {
            self.local_stats(step)
        };
        let mine = self.ranks.agree(mine)?;
        let x = if self.slice.split || self.keep_snapshots {
            Some(self.positions()?)
        } else {
            None
        };
        let stats: Vec<RunStats> = match &x {
            Some(x) if self.slice.split => {
                run_stats(self.local.potential(), x, s.runs, s.agents, s.dim)
            }
            _ => self
                .ranks
                .all_gather_f64(&mine)
                .chunks_exact(STATS)
                .map(|v| RunStats {
                    best: v[0],
                    worst: v[1],
                    median: v[2],
                    best_phi: v[3],
                    spread: v[4],
                })
                .collect(),
        };
        history.push(step, stats, x.as_deref().filter(|_| self.keep_snapshots));
        Ok(())
    }

    fn positions(&self) -> Result<Vec<f32>> {
        let mine = self.ranks.agree(self.local.positions())?;
        Ok(self.ranks.all_gather_f32(&mine))
    }

    fn fast(&self) -> Result<Option<Vec<f32>>> {
        // Whether there is a Y is the scheme's: the same on every rank.
        Ok(self
            .ranks
            .agree(self.local.fast())?
            .map(|y| self.ranks.all_gather_f32(&y)))
    }

    fn set_state(&mut self, x: &[f32], y: Option<&[f32]>) -> Result<()> {
        let mine = self.slice.range(self.shape.agents, self.shape.dim);
        let local = self.local.set_state(&x[mine.clone()], y.map(|y| &y[mine]));
        self.ranks.agree(local)
    }

    fn records_eagerly(&self) -> bool {
        true
    }

    fn agree(&self, local: Result<()>) -> Result<()> {
        self.ranks.agree(local)
    }

    fn agreed_elapsed(&self, elapsed: std::time::Duration) -> std::time::Duration {
        let all = self.ranks.all_gather_f64(&[elapsed.as_secs_f64()]);
        std::time::Duration::from_secs_f64(all.into_iter().fold(0.0, f64::max))
    }

    fn potential(&self) -> &dyn crate::potential::Potential {
        self.local.potential()
    }

    fn backend(&self) -> &'static str {
        self.local.backend()
    }

    fn device(&self) -> String {
        format!(
            "{} (rank {} of {} ranks, {})",
            self.local.device(),
            self.ranks.rank(),
            self.ranks.size(),
            if self.slice.split {
                "runs split into 256-agent tiles"
            } else {
                "whole runs per rank"
            }
        )
    }
}
