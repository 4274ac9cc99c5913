//! The processes `mpirun -n P sgld-swarm run ...` starts (feature `mpi`): each
//! runs its slice of the ensemble, rank 0 prints and writes the outputs.

use sgld_swarm::Error;
use sgld_swarm::ranks::Ranks;

/// This process's place among the ranks, and MPI kept initialised while it
/// lives (finalised when dropped, at the end of `main`).
pub(crate) struct Started {
    /// The ranks, when there are two or more.
    pub ranks: Option<Ranks>,
    #[cfg(feature = "mpi")]
    _guard: sgld_swarm::ranks::MpiGuard,
}

impl Started {
    /// Initialises MPI (feature `mpi`; a process started without `mpirun` is
    /// one rank of one). Without the feature: one process.
    pub(crate) fn mpi() -> Result<Self, Error> {
        #[cfg(feature = "mpi")]
        {
            let (guard, world) = sgld_swarm::ranks::MpiRanks::initialize()?;
            let ranks = Ranks::new(world);
            Ok(Self {
                ranks: (ranks.size() > 1).then_some(ranks),
                _guard: guard,
            })
        }
        #[cfg(not(feature = "mpi"))]
        Ok(Self { ranks: None })
    }

    /// Whether this process prints and writes: rank 0, or the only one.
    pub(crate) fn is_root(&self) -> bool {
        self.ranks.as_ref().is_none_or(Ranks::is_root)
    }

    /// Whether this process reports `error`: every rank meets the same bad
    /// input, and a rank's failure reaches every rank as [`Error::Rank`], so
    /// rank 0 reports those; a rank reports a failure of its own.
    pub(crate) fn reports(&self, error: Option<&Error>) -> bool {
        self.is_root()
            || !error.is_some_and(|e| e.is_input_error() || matches!(e, Error::Rank { .. }))
    }
}
