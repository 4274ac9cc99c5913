//! Which agents each of `P` ranks holds (docs/DESIGN.md section 6.2): whole
//! runs when there are at least as many runs as ranks, otherwise whole
//! 256-agent tiles of a run, so that a run's mean is the same sum of tile
//! partial sums on any number of ranks.

use crate::engine::MEAN_TILE;
use crate::error::ConfigError;

/// The agents one rank holds: agents `first_agent_in_run..first_agent_in_run +
/// agents` of runs `first_run..first_run + runs` (a part of one run when
/// `split`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// The first run it holds agents of.
    pub first_run: usize,
    /// How many runs (1 when split).
    pub runs: usize,
    /// Its first agent's index within the run (0 unless split).
    pub first_agent_in_run: usize,
    /// Agents per run it holds (`N` unless split).
    pub agents: usize,
    /// Whether the ensemble's runs are split across ranks (fewer runs than
    /// ranks): then every rank exchanges tile partial sums every step.
    pub split: bool,
}

impl Slice {
    /// The global index `r N + i` of its first agent, `N` agents per run.
    pub fn first_agent(&self, run_agents: usize) -> usize {
        self.first_run * run_agents + self.first_agent_in_run
    }

    /// Its positions' range in the ensemble's `[runs][agents][dim]` array.
    pub fn range(&self, run_agents: usize, dim: usize) -> std::ops::Range<usize> {
        let first = self.first_agent(run_agents) * dim;
        first..first + self.runs * self.agents * dim
    }
}

/// The slices of `ranks` ranks over `runs x agents` agents, in rank order (and
/// so in the order of the agents). With at least as many runs as ranks, rank
/// `p` holds runs `floor(p R / P)..floor((p + 1) R / P)`; otherwise run `r`
/// goes to ranks `floor(r P / R)..floor((r + 1) P / R)`, which share its
/// `ceil(N / 256)` tiles as evenly as whole tiles allow. An error when some
/// rank would hold no tile.
pub fn slices(runs: usize, agents: usize, ranks: usize) -> Result<Vec<Slice>, ConfigError> {
    let tiles = agents.div_ceil(MEAN_TILE);
    if ranks == 0 || runs == 0 || agents == 0 || ranks > runs.saturating_mul(tiles) {
        return Err(ConfigError {
            field: "ranks".into(),
            value: ranks.to_string(),
            allowed: format!(
                "{runs} runs x {agents} agents split over at most {} ranks (whole runs, or \
                 whole tiles of {MEAN_TILE} agents of a run); start fewer ranks",
                runs.saturating_mul(tiles)
            ),
        });
    }
    if runs >= ranks {
        return Ok((0..ranks)
            .map(|p| {
                let first_run = p * runs / ranks;
                Slice {
                    first_run,
                    runs: (p + 1) * runs / ranks - first_run,
                    first_agent_in_run: 0,
                    agents,
                    split: false,
                }
            })
            .collect());
    }
    let mut out = Vec::with_capacity(ranks);
    for r in 0..runs {
        let (p0, p1) = (r * ranks / runs, (r + 1) * ranks / runs);
        let k = p1 - p0;
        for j in 0..k {
            let (t0, t1) = (j * tiles / k, (j + 1) * tiles / k);
            let first = t0 * MEAN_TILE;
            out.push(Slice {
                first_run: r,
                runs: 1,
                first_agent_in_run: first,
                agents: (t1 * MEAN_TILE).min(agents) - first,
                split: true,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every agent is held by exactly one rank, in rank order, each slice is
    /// non-empty, and a split slice starts on a tile.
    #[test]
    fn slices_cover_every_agent_once_in_order() {
        for runs in 1..6 {
            for agents in [1, 255, 256, 257, 600, 1024] {
                for ranks in 1..9 {
                    let Ok(all) = slices(runs, agents, ranks) else {
                        assert!(ranks > runs * agents.div_ceil(MEAN_TILE));
                        continue;
                    };
                    assert_eq!(all.len(), ranks);
                    let mut next = 0;
                    for s in &all {
                        assert!(s.runs > 0 && s.agents > 0, "{runs} {agents} {ranks}: {s:?}");
                        assert_eq!(s.first_agent(agents), next);
                        assert_eq!(s.split, runs < ranks);
                        if s.split {
                            assert_eq!(s.runs, 1);
                            assert_eq!(s.first_agent_in_run % MEAN_TILE, 0);
                        }
                        next += s.runs * s.agents;
                        if s.split && s.first_agent_in_run + s.agents < agents {
                            assert_eq!(s.agents % MEAN_TILE, 0);
                        }
                    }
                    assert_eq!(next, runs * agents);
                }
            }
        }
    }

    #[test]
    fn too_many_ranks_is_an_error_naming_the_most() {
        let e = slices(1, 600, 4).unwrap_err();
        assert_eq!(e.field, "ranks");
        assert!(e.allowed.contains("at most 3 ranks"), "{e}");
        assert!(slices(1, 600, 3).is_ok());
    }
}
