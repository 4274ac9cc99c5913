//! MPI processes as ranks (feature `mpi`, rsmpi over the system's MPI): the
//! world communicator's `MPI_Allgather` and `MPI_Allgatherv`.

use super::Collective;
use crate::error::{Error, Result};
use mpi::datatype::PartitionMut;
use mpi::traits::*;
use std::sync::Mutex;

/// Keeps MPI initialised; dropping it finalises MPI (after every rank has
/// dropped its own).
pub struct MpiGuard(#[allow(dead_code, reason = "held for its Drop")] mpi::environment::Universe);

/// The ranks of an MPI communicator (`MPI_COMM_WORLD`, one per process of
/// `mpirun -n P`, or one of the program's own).
pub struct MpiRanks {
    world: mpi::topology::SimpleCommunicator,
    rank: usize,
    size: usize,
    local_rank: usize,
    /// MPI is initialised at `MPI_THREAD_SERIALIZED`: one call at a time.
    serial: Mutex<()>,
}

// SAFETY: the communicator is a handle to MPI's world communicator, valid
// until MPI is finalised (the guard outlives every use in the binary). MPI is
// initialised at MPI_THREAD_SERIALIZED or above, which allows calls from any
// thread one at a time; `serial` makes them one at a time.
unsafe impl Send for MpiRanks {}
// SAFETY: as above: every call through `&self` takes `serial` first.
unsafe impl Sync for MpiRanks {}

impl MpiRanks {
    /// Initialises MPI for this process (`MPI_THREAD_SERIALIZED`) and returns
    /// the world's ranks with the guard that finalises MPI when dropped: keep
    /// it while the ranks are in use.
    pub fn initialize() -> Result<(MpiGuard, MpiRanks)> {
        let (universe, threading) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or_else(|| Error::Mpi("MPI was initialised already in this process".into()))?;
        if threading < mpi::Threading::Serialized {
            return Err(Error::Mpi(format!(
                "the MPI library offers only {threading:?} threading; MPI_THREAD_SERIALIZED is needed"
            )));
        }
        let ranks = MpiRanks::with_communicator(universe.world());
        Ok((MpiGuard(universe), ranks))
    }

    /// The ranks of `comm`, a communicator of a program that initialised MPI
    /// itself (at `MPI_THREAD_SERIALIZED` or above) and keeps it initialised
    /// while these ranks are used: an ensemble over a part of its processes.
    pub fn with_communicator(comm: mpi::topology::SimpleCommunicator) -> Self {
        let local_rank = comm.split_shared(comm.rank()).rank() as usize;
        MpiRanks {
            rank: comm.rank() as usize,
            size: comm.size() as usize,
            local_rank,
            world: comm,
            serial: Mutex::new(()),
        }
    }

    /// Ends every rank at once with `code` as the exit status (`MPI_Abort`):
    /// after a failure that only this rank saw, so that no rank is left waiting.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    fn gather<T: Equivalence + Default + Clone>(&self, mine: &[T]) -> (Vec<T>, Vec<usize>) {
        let _one_at_a_time = self.serial.lock().unwrap_or_else(|p| p.into_inner());
        let mut counts = vec![0i32; self.size];
        // Ensemble::new refuses ensembles whose gathers exceed max_gather.
        let n = i32::try_from(mine.len()).expect("a rank's share fits MPI's int count");
        self.world.all_gather_into(&n, &mut counts[..]);
        let displs: Vec<i32> = counts
            .iter()
            .scan(0i32, |at, &c| {
                let d = *at;
                *at += c;
                Some(d)
            })
            .collect();
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if total == 0 {
            // Nothing to move (MPI refuses an empty receive buffer's pointer).
            return (Vec::new(), vec![0; self.size]);
        }
        let mut all = vec![T::default(); total];
        {
            let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(mine, &mut partition);
        }
        (all, counts.iter().map(|&c| c as usize).collect())
    }
}

impl Collective for MpiRanks {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn local_rank(&self) -> usize {
        self.local_rank
    }

    fn max_gather(&self) -> usize {
        i32::MAX as usize
    }

    fn all_gather_f64(&self, mine: &[f64]) -> Vec<f64> {
        self.gather(mine).0
    }

    fn all_gather_f32(&self, mine: &[f32]) -> Vec<f32> {
        self.gather(mine).0
    }

    fn all_gather_bytes(&self, mine: &[u8]) -> Vec<Vec<u8>> {
        let (all, counts) = self.gather(mine);
        let mut at = 0;
        counts
            .iter()
            .map(|&c| {
                at += c;
                all[at - c..at].to_vec()
            })
            .collect()
    }
}
