//! The host memory a run will take, counted before anything is allocated, so that
//! a run too large for the machine is refused with the numbers instead of being
//! killed by the operating system half-way.

use crate::config::{EnsembleConfig, MethodConfig, Scheme};
use crate::error::{Error, Result};

/// Named parts of a run's memory, in bytes.
#[derive(Debug, Default, Clone)]
pub struct Footprint {
    parts: Vec<(&'static str, u128)>,
}

impl Footprint {
    /// Adds `bytes` for `what` (parts of the same name add up).
    pub fn add(&mut self, what: &'static str, bytes: u128) -> &mut Self {
        match self.parts.iter_mut().find(|(w, _)| *w == what) {
            Some((_, b)) => *b = b.saturating_add(bytes),
            None => self.parts.push((what, bytes)),
        }
        self
    }

    /// The whole.
    pub fn total(&self) -> u128 {
        self.parts
            .iter()
            .fold(0u128, |t, (_, b)| t.saturating_add(*b))
    }

    /// What one method's engine allocates on the host for `dim` coordinates per
    /// agent: X, Y (homogenized), the run means and their f64 sums (with
    /// interaction), the statistics of every record, and with `keep_snapshots`
    /// the positions at every record plus the copy handed out at the end; and the
    /// copy of X that reading the positions makes.
    pub fn engine(
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        dim: usize,
        keep_snapshots: bool,
    ) -> Self {
        let len = ensemble.runs as u128 * ensemble.agents as u128 * dim as u128;
        let records = (ensemble.steps / ensemble.record_every.max(1) + 2) as u128;
        let mut f = Self::default();
        f.add("positions X", len * 4);
        if matches!(method.scheme, Scheme::Homogenized { .. }) {
            f.add("fast variable Y", len * 4);
        }
        if method.interacting() {
            f.add("run means", ensemble.runs as u128 * dim as u128 * 12);
        }
        f.add("recorded statistics", records * ensemble.runs as u128 * 40);
        if keep_snapshots {
            f.add("trajectories", 2 * records * len * 4);
        }
        f.add("positions read back", len * 4);
        // The potential's shift and a point per agent in f64 for diagnostics.
        f.add("potential", dim as u128 * 16);
        f
    }

    /// Refuses the run if it needs more than the machine has available (where
    /// the platform says; elsewhere only sizes past the address space).
    pub fn check(&self) -> Result<()> {
        let needed = self.total();
        let available = available_bytes();
        let limit = available.unwrap_or(isize::MAX as u128);
        if needed <= limit {
            return Ok(());
        }
        let gib = |b: u128| b as f64 / (1u64 << 30) as f64;
        let parts = self
            .parts
            .iter()
            .filter(|(_, b)| *b > 0)
            .map(|(w, b)| format!("{w} {:.2} GiB", gib(*b)))
            .collect::<Vec<_>>()
            .join(", ");
        Err(Error::Memory {
            needed,
            available: available.unwrap_or(limit),
            parts,
        })
    }
}

/// Memory available to a new allocation without swapping, from the operating
/// system (`MemAvailable` on Linux; `None` where it is not known).
pub fn available_bytes() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MethodConfig;

    #[test]
    fn footprint_counts_y_only_for_homogenized_schemes() {
        let e = EnsembleConfig::new(10, 100, 100);
        let euler = Footprint::engine(&e, &MethodConfig::euler("a", 0.1, 1.0), 5, false);
        let hom = Footprint::engine(
            &e,
            &MethodConfig::homogenized("b", 0.1, 1.0, 0.1, 0.1, 4),
            5,
            false,
        );
        assert_eq!(hom.total() - euler.total(), 10 * 100 * 5 * 4);
    }

    #[test]
    fn a_run_past_the_machine_is_refused_with_numbers() {
        // 1000 x 1000 x 3750 homogenized: two arrays of 15 GB, as in the report
        // that led to this check; times 1000 so that no machine has it.
        let e = EnsembleConfig::new(1000, 1000, 10);
        let m = MethodConfig::homogenized("b", 0.1, 1.0, 0.1, 0.1, 4);
        let msg = Footprint::engine(&e, &m, 3_750_000, false)
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("positions X") && msg.contains("fast variable Y") && msg.contains("GiB"),
            "{msg}"
        );
    }
}
