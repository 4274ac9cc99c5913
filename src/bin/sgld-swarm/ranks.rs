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

    /// How this process ends after `error` (printed as `message`) with exit
    /// status `code`. In one process, or after a failure the ranks agreed on
    /// (every rank returns it, so none is left waiting): rank 0 prints it
    /// (another rank's as "rank k failed: ..."), and every rank exits with
    /// `code`. A failure only this rank knows of may leave the others waiting
    /// in a collective: it prints it with its rank and ends every rank with
    /// `MPI_Abort`.
    pub(crate) fn fail(&self, message: &str, code: u8) -> std::process::ExitCode {
        match &self.ranks {
            Some(r) if !r.agreed_failure() => {
                eprintln!("error: on rank {} of {}: {message}", r.rank(), r.size());
                abort(code)
            }
            _ => {
                if self.is_root() {
                    eprintln!("error: {message}");
                }
                std::process::ExitCode::from(code)
            }
        }
    }
}

/// Ends every rank at once with exit status `code` (`MPI_Abort`).
#[cfg(feature = "mpi")]
fn abort(code: u8) -> ! {
    use mpi::traits::Communicator;
    mpi::topology::SimpleCommunicator::world().abort(code as i32)
}

#[cfg(not(feature = "mpi"))]
fn abort(code: u8) -> ! {
    std::process::exit(code as i32)
}

/// A panic on one rank ends every rank (`MPI_Abort` after the message), rather
/// than leaving the others waiting for it (feature `mpi`, two or more ranks).
pub(crate) fn abort_on_panic(started: &Started) {
    if started.ranks.is_some() {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            abort(101);
        }));
    }
}
