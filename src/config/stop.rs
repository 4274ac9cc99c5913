//! Stopping rules (TOML table `[stop]`): when a method ends before
//! `ensemble.steps`. They are checked at every record, on the record's per-run
//! statistics, so a stop always falls on a recorded step (docs/DESIGN.md
//! section 5.3).

use super::validate::{err, num};
use crate::diagnostics::{History, OverRuns, Stat};
use crate::error::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// When each method of a configuration stops early; every rule is optional and
/// the first that holds at a record stops the method there.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct StopRules {
    /// Wall-clock seconds of advancing, > 0 (the time is read at records).
    pub max_time_s: Option<f64>,
    /// Stop once the median over runs of `best_phi` is below this.
    pub best_phi_below: Option<f64>,
    /// Stop once the median over runs of `spread` (consensus) is below this, > 0.
    pub spread_below: Option<f64>,
    /// Stop when the median `best_phi` stops improving.
    pub stagnation: Option<Stagnation>,
}

/// No improvement of the median over runs of `best_phi` by more than
/// `rel_tol |b|` over `records` records, `b` the value `records` records back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stagnation {
    /// `K`, >= 1.
    pub records: u64,
    /// `r`, >= 0.
    pub rel_tol: f64,
}

/// Which rule stopped a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `max_time_s`.
    MaxTimeS,
    /// `best_phi_below`.
    BestPhiBelow,
    /// `spread_below`.
    SpreadBelow,
    /// `stagnation`.
    Stagnation,
}

impl StopReason {
    /// The rule's name in `[stop]` and `summary.json`.
    pub fn name(&self) -> &'static str {
        match self {
            StopReason::MaxTimeS => "max_time_s",
            StopReason::BestPhiBelow => "best_phi_below",
            StopReason::SpreadBelow => "spread_below",
            StopReason::Stagnation => "stagnation",
        }
    }

    /// The reason called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            StopReason::MaxTimeS,
            StopReason::BestPhiBelow,
            StopReason::SpreadBelow,
            StopReason::Stagnation,
        ]
        .into_iter()
        .find(|r| r.name() == name)
    }
}

/// Where and why a method stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stopped {
    /// The recorded step it stopped at.
    pub step: u64,
    /// The rule that held there.
    pub reason: StopReason,
}

impl StopRules {
    /// Whether no rule is set.
    pub fn is_empty(&self) -> bool {
        *self == StopRules::default()
    }

    /// Checks every value (field names under `stop.`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(t) = self.max_time_s {
            if !(t.is_finite() && t > 0.0) {
                return Err(err(
                    "stop.max_time_s",
                    num(t),
                    "must be a number of seconds > 0",
                ));
            }
        }
        if let Some(b) = self.best_phi_below {
            if !b.is_finite() {
                return Err(err(
                    "stop.best_phi_below",
                    num(b),
                    "must be a finite number",
                ));
            }
        }
        if let Some(s) = self.spread_below {
            if !(s.is_finite() && s > 0.0) {
                return Err(err(
                    "stop.spread_below",
                    num(s),
                    "must be a finite number > 0 (the spread is >= 0)",
                ));
            }
        }
        if let Some(s) = self.stagnation {
            if s.records == 0 {
                return Err(err("stop.stagnation.records", 0, "must be an integer >= 1"));
            }
            if !(s.rel_tol.is_finite() && s.rel_tol >= 0.0) {
                return Err(err(
                    "stop.stagnation.rel_tol",
                    num(s.rel_tol),
                    "must be a finite number >= 0",
                ));
            }
        }
        Ok(())
    }

    /// The first rule that holds at the newest record of `history`, after
    /// `elapsed` of advancing; checked in the order best_phi_below,
    /// spread_below, stagnation, max_time_s.
    pub fn check(&self, history: &History, elapsed: Duration) -> Option<StopReason> {
        let last = history.len().checked_sub(1)?;
        let median = |i: usize, stat: Stat| history.at(i).map(|s| OverRuns::of(s, stat).median);
        let below = |limit: Option<f64>, stat: Stat| {
            limit.is_some_and(|l| median(last, stat).is_some_and(|m| m < l))
        };
        if below(self.best_phi_below, Stat::BestPhi) {
            return Some(StopReason::BestPhiBelow);
        }
        if below(self.spread_below, Stat::Spread) {
            return Some(StopReason::SpreadBelow);
        }
        if let Some(s) = self.stagnation {
            let k = usize::try_from(s.records).unwrap_or(usize::MAX);
            if last >= k {
                let back = median(last - k, Stat::BestPhi)?;
                let best = (last - k + 1..=last)
                    .filter_map(|i| median(i, Stat::BestPhi))
                    .fold(f64::INFINITY, f64::min);
                if back - best <= s.rel_tol * back.abs() {
                    return Some(StopReason::Stagnation);
                }
            }
        }
        if self.max_time_s.is_some_and(|t| elapsed.as_secs_f64() >= t) {
            return Some(StopReason::MaxTimeS);
        }
        None
    }
}
