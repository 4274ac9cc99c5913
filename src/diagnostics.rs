//! Per-run statistics of an ensemble (docs/DESIGN.md section 5) and their history over the
//! recorded steps.

use crate::potential::Potential;
use rayon::prelude::*;
use serde::Serialize;

/// The statistics of one run at one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunStats {
    /// `min_i dist(X_i)`: the distance of the best agent to the nearest reference point.
    pub best: f64,
    /// `max_i dist(X_i)`.
    pub worst: f64,
    /// `median_i dist(X_i)`.
    pub median: f64,
    /// `min_i Phi(X_i)`.
    pub best_phi: f64,
    /// `max_i ||X_i - m_r||`: how far the agents are from their consensus.
    pub spread: f64,
}

/// One of the per-run statistics of [`RunStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// `min_i dist(X_i)`.
    Best,
    /// `max_i dist(X_i)`.
    Worst,
    /// `median_i dist(X_i)`.
    Median,
    /// `min_i Phi(X_i)`.
    BestPhi,
    /// `max_i ||X_i - m_r||`.
    Spread,
}

impl Stat {
    /// Every statistic, in the order of the outputs' columns.
    pub const ALL: [Stat; 5] = [
        Stat::Best,
        Stat::Worst,
        Stat::Median,
        Stat::BestPhi,
        Stat::Spread,
    ];

    /// The name in `history.csv` and `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Stat::Best => "best",
            Stat::Worst => "worst",
            Stat::Median => "median",
            Stat::BestPhi => "best_phi",
            Stat::Spread => "spread",
        }
    }
}

impl std::str::FromStr for Stat {
    type Err = crate::error::ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stat::ALL
            .into_iter()
            .find(|stat| stat.name() == s)
            .ok_or_else(|| crate::error::ConfigError {
                field: "statistic".into(),
                value: format!("{s:?}"),
                allowed: format!("must be one of {}", Stat::ALL.map(Stat::name).join(", ")),
            })
    }
}

impl RunStats {
    /// The value of `stat`.
    pub fn get(&self, stat: Stat) -> f64 {
        match stat {
            Stat::Best => self.best,
            Stat::Worst => self.worst,
            Stat::Median => self.median,
            Stat::BestPhi => self.best_phi,
            Stat::Spread => self.spread,
        }
    }
}

/// The median, minimum and maximum of one statistic over runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OverRuns {
    /// The median over runs (the mean of the two middle values for an even `R`).
    pub median: f64,
    /// The smallest value over runs (NaN values are skipped).
    pub min: f64,
    /// The largest value over runs (NaN values are skipped).
    pub max: f64,
}

impl OverRuns {
    /// `stat` over the runs of one record.
    pub fn of(stats: &[RunStats], stat: Stat) -> Self {
        let mut v: Vec<f64> = stats.iter().map(|s| s.get(stat)).collect();
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        OverRuns {
            median: median(&mut v),
            min,
            max,
        }
    }
}

/// The median of a slice (the mean of the two middle values for an even length;
/// NaN for an empty one); NaN sorts last.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

/// Statistics of every run of positions `x` (`[runs][agents][dim]`, flattened).
pub fn run_stats<P: Potential + ?Sized>(
    potential: &P,
    x: &[f32],
    runs: usize,
    agents: usize,
    dim: usize,
) -> Vec<RunStats> {
    (0..runs)
        .into_par_iter()
        .map(|r| {
            let run = &x[r * agents * dim..(r + 1) * agents * dim];
            let mut mean = vec![0.0f64; dim];
            for agent in run.chunks_exact(dim) {
                for (m, &v) in mean.iter_mut().zip(agent) {
                    *m += v as f64;
                }
            }
            for m in &mut mean {
                *m /= agents as f64;
            }
            let mut point = vec![0.0f64; dim];
            let mut dists = Vec::with_capacity(agents);
            let mut best_phi = f64::INFINITY;
            let mut spread = 0.0f64;
            // A batched potential's values in one call per run, in agent order.
            let values = potential.batched().then(|| {
                let points: Vec<f64> = run.iter().map(|&v| v as f64).collect();
                let mut values = vec![0.0f64; agents];
                potential.value_batch(&points, &mut values);
                values
            });
            for (i, agent) in run.chunks_exact(dim).enumerate() {
                for (p, &v) in point.iter_mut().zip(agent) {
                    *p = v as f64;
                }
                dists.push(potential.distance(&point));
                let value = match &values {
                    Some(v) => v[i],
                    None => potential.value(&point),
                };
                best_phi = best_phi.min(value);
                let s2: f64 = point
                    .iter()
                    .zip(&mean)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                spread = spread.max(s2.sqrt());
            }
            let best = dists.iter().copied().fold(f64::INFINITY, f64::min);
            let worst = dists.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            RunStats {
                best,
                worst,
                median: median(&mut dists),
                best_phi,
                spread,
            }
        })
        .collect()
}

/// Diagnostics recorded over a method's steps, and optionally the positions there.
#[derive(Debug, Clone, Default)]
pub struct History {
    runs: usize,
    steps: Vec<u64>,
    stats: Vec<RunStats>,
    /// Positions at each record, one after the other (when kept).
    snapshots: Vec<f32>,
}

impl History {
    /// An empty history for an ensemble of `runs` runs.
    pub fn new(runs: usize) -> Self {
        Self {
            runs,
            ..Self::default()
        }
    }

    /// Reserves room for `records` snapshots of `len` positions up front, so that
    /// a run whose trajectories do not fit in memory fails before it starts.
    pub fn reserve_snapshots(&mut self, records: u64, len: usize) -> crate::Result<()> {
        let total = (records as u128) * (len as u128);
        let fail = || crate::Error::Alloc {
            what: format!("the trajectories ({records} records of {len} positions)"),
            bytes: total * 4,
        };
        let total = usize::try_from(total).map_err(|_| fail())?;
        self.snapshots.try_reserve_exact(total).map_err(|_| fail())
    }

    /// Adds the statistics of every run at `step` (and the positions, if kept).
    pub fn push(&mut self, step: u64, stats: Vec<RunStats>, snapshot: Option<&[f32]>) {
        assert_eq!(stats.len(), self.runs);
        self.steps.push(step);
        self.stats.extend(stats);
        if let Some(s) = snapshot {
            self.snapshots.extend_from_slice(s);
        }
    }

    /// Removes the last record (its statistics and snapshot), if there is one.
    pub(crate) fn pop_last(&mut self) {
        if self.steps.pop().is_some() {
            let n = self.stats.len() - self.runs;
            self.stats.truncate(n);
            let per = self.snapshots.len() / (self.steps.len() + 1);
            if per > 0 {
                self.snapshots.truncate(self.snapshots.len() - per);
            }
        }
    }

    /// The number of runs each record holds.
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// The recorded steps, in order.
    pub fn steps(&self) -> &[u64] {
        &self.steps
    }

    /// The number of records so far.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether nothing has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The statistics of every run at record `i` (`None` past the last record).
    pub fn at(&self, i: usize) -> Option<&[RunStats]> {
        let start = i.checked_mul(self.runs)?;
        self.stats.get(start..start.checked_add(self.runs)?)
    }

    /// Median, min and max over runs of `stat` at record `i` (`None` past the
    /// last record).
    pub fn over_runs(&self, i: usize, stat: Stat) -> Option<OverRuns> {
        Some(OverRuns::of(self.at(i)?, stat))
    }

    /// [`History::over_runs`] at the last record (`None` before any record).
    pub fn last(&self, stat: Stat) -> Option<OverRuns> {
        self.over_runs(self.len().checked_sub(1)?, stat)
    }

    /// Positions at each record (`[records][R][N][d]` flattened), when they were kept.
    pub fn snapshots(&self) -> &[f32] {
        &self.snapshots
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::potential::{Quadratic, Shift};

    #[test]
    fn statistics_of_a_small_ensemble() {
        let p = Quadratic::new(vec![1.0, 1.0], Shift::zero(2));
        // One run, three agents at distances 1, 2 and 5 from 0; mean (1, 0).
        let x = [1.0, 0.0, 0.0, 2.0, 2.0, -2.0];
        let s = run_stats(&p, &x, 1, 3, 2)[0];
        assert_eq!(s.best, 1.0);
        assert_eq!(s.worst, 8f64.sqrt());
        assert_eq!(s.median, 2.0);
        assert_eq!(s.best_phi, 0.5);
        // Distances from (1, 0): 0, sqrt(5), sqrt(5).
        assert_eq!(s.spread, 5f64.sqrt());
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn accessors_are_total() {
        let mut h = History::new(2);
        assert!(h.last(Stat::Best).is_none());
        let s = RunStats {
            best: 1.0,
            worst: 2.0,
            median: 1.5,
            best_phi: 0.0,
            spread: 3.0,
        };
        h.push(0, vec![s, RunStats { best: 3.0, ..s }], None);
        assert_eq!(h.last(Stat::Best).unwrap().max, 3.0);
        assert!(h.over_runs(1, Stat::Best).is_none());
        assert!(h.at(1).is_none());
        assert!(h.over_runs(usize::MAX, Stat::Best).is_none());
        assert!(median(&mut []).is_nan());
        let mut empty = History::new(0);
        empty.push(0, Vec::new(), None);
        assert!(empty.last(Stat::Best).unwrap().median.is_nan());
        assert_eq!("best_phi".parse::<Stat>().unwrap(), Stat::BestPhi);
        let e = "bset".parse::<Stat>().unwrap_err().to_string();
        assert!(e.contains("\"bset\"") && e.contains("best_phi"), "{e}");
    }
}
