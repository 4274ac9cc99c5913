//! Per-run statistics of an ensemble (DESIGN section 5) and their history over the
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

/// The statistics by name, in the order of the outputs' columns.
pub const STAT_NAMES: [&str; 5] = ["best", "worst", "median", "best_phi", "spread"];

impl RunStats {
    pub fn get(&self, name: &str) -> f64 {
        match name {
            "best" => self.best,
            "worst" => self.worst,
            "median" => self.median,
            "best_phi" => self.best_phi,
            "spread" => self.spread,
            _ => panic!("unknown statistic {name}"),
        }
    }
}

/// The median, minimum and maximum of one statistic over runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OverRuns {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The median of a non-empty slice (the mean of the two middle values for an even
/// length); NaN sorts last.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
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
            for agent in run.chunks_exact(dim) {
                for (p, &v) in point.iter_mut().zip(agent) {
                    *p = v as f64;
                }
                dists.push(potential.distance(&point));
                best_phi = best_phi.min(potential.value(&point));
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

    /// The recorded steps, in order.
    pub fn steps(&self) -> &[u64] {
        &self.steps
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The statistics of every run at record `i`.
    pub fn at(&self, i: usize) -> &[RunStats] {
        &self.stats[i * self.runs..(i + 1) * self.runs]
    }

    /// Median, min and max over runs of statistic `name` at record `i`.
    pub fn over_runs(&self, i: usize, name: &str) -> OverRuns {
        let mut v: Vec<f64> = self.at(i).iter().map(|s| s.get(name)).collect();
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        OverRuns {
            median: median(&mut v),
            min,
            max,
        }
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
}
