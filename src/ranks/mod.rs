//! An ensemble split over processes (docs/DESIGN.md section 6.2): the few
//! collectives the engines need ([`Collective`]), a handle that counts the time
//! and bytes they take ([`Ranks`]), which agents each rank holds
//! ([`layout`]), ranks as threads of one process ([`Threads`], for tests and
//! for trying a decomposition without MPI) and, with the feature `mpi`, MPI
//! processes (`MpiRanks`).
//!
//! Every rank runs the same [`crate::Ensemble`] calls in the same order; each
//! holds its slice of the agents on its own engine, and the positions,
//! records and errors it returns are those of the whole ensemble, byte for
//! byte those of one process.

pub mod layout;
#[cfg(feature = "mpi")]
mod mpi;
mod threads;

pub use layout::Slice;
#[cfg(feature = "mpi")]
pub use mpi::{MpiGuard, MpiRanks};
pub use threads::Threads;

use crate::error::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The collectives a split ensemble uses, over a fixed group of ranks. Every
/// rank calls the same collectives in the same order; each returns when every
/// rank has contributed.
pub trait Collective: Send + Sync {
    /// This rank, in `0..size()`.
    fn rank(&self) -> usize;

    /// The number of ranks.
    fn size(&self) -> usize;

    /// This rank's index among the ranks on its machine (which GPU it takes).
    fn local_rank(&self) -> usize {
        self.rank()
    }

    /// Every rank's `mine`, concatenated in rank order (lengths may differ).
    fn all_gather_f64(&self, mine: &[f64]) -> Vec<f64>;

    /// Every rank's `mine`, concatenated in rank order (lengths may differ).
    fn all_gather_f32(&self, mine: &[f32]) -> Vec<f32>;

    /// Every rank's `mine`, one entry per rank, in rank order.
    fn all_gather_bytes(&self, mine: &[u8]) -> Vec<Vec<u8>>;

    /// The most values one all-gather moves in all (MPI counts in `int`).
    fn max_gather(&self) -> usize {
        usize::MAX
    }
}

/// `local`, agreed over `ranks` if there are any ([`Ranks::agree`]).
pub fn agree<T>(ranks: Option<&Ranks>, local: Result<T>) -> Result<T> {
    match ranks {
        Some(r) => r.agree(local),
        None => local,
    }
}

/// A rank's handle on its group: the [`Collective`], plus the time and bytes its
/// collectives took (for docs/SCALING.md's compute/exchange split). Cheap to
/// clone; every clone shares the counters.
#[derive(Clone)]
pub struct Ranks {
    comm: Arc<dyn Collective>,
    exchange_ns: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    /// Set once an agreement has ended in an error: every rank knows of it.
    failed: Arc<AtomicBool>,
}

impl std::fmt::Debug for Ranks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ranks(rank {} of {})", self.rank(), self.size())
    }
}

impl Ranks {
    /// A handle on `comm`.
    pub fn new(comm: impl Collective + 'static) -> Self {
        Self {
            comm: Arc::new(comm),
            exchange_ns: Arc::default(),
            received: Arc::default(),
            failed: Arc::default(),
        }
    }

    /// Whether an agreement ([`Ranks::agree`], or a segment's reports) has
    /// ended in an error, which every rank then returns: no rank waits for
    /// another, and each can end normally. An error without one may have left
    /// other ranks waiting (MPI's answer is `MPI_Abort`).
    pub fn agreed_failure(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_failed(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }

    /// [`Collective::max_gather`].
    pub fn max_gather(&self) -> usize {
        self.comm.max_gather()
    }

    /// This rank, in `0..size()`.
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.comm.size()
    }

    /// This rank's index among the ranks on its machine.
    pub fn local_rank(&self) -> usize {
        self.comm.local_rank()
    }

    /// Whether this is rank 0, which writes the outputs.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Wall-clock time spent in collectives so far (waiting for other ranks
    /// included).
    pub fn exchange_time(&self) -> Duration {
        Duration::from_nanos(self.exchange_ns.load(Ordering::Relaxed))
    }

    /// Bytes this rank has received from collectives so far (its own share
    /// included).
    pub fn received_bytes(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    fn timed<T>(&self, bytes: impl Fn(&T) -> usize, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.exchange_ns
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.received
            .fetch_add(bytes(&out) as u64, Ordering::Relaxed);
        out
    }

    /// [`Collective::all_gather_f64`], timed.
    pub fn all_gather_f64(&self, mine: &[f64]) -> Vec<f64> {
        self.timed(
            |v: &Vec<f64>| v.len() * 8,
            || self.comm.all_gather_f64(mine),
        )
    }

    /// [`Collective::all_gather_f32`], timed.
    pub fn all_gather_f32(&self, mine: &[f32]) -> Vec<f32> {
        self.timed(
            |v: &Vec<f32>| v.len() * 4,
            || self.comm.all_gather_f32(mine),
        )
    }

    /// [`Collective::all_gather_bytes`], timed.
    pub fn all_gather_bytes(&self, mine: &[u8]) -> Vec<Vec<u8>> {
        self.timed(
            |v: &Vec<Vec<u8>>| v.iter().map(Vec::len).sum(),
            || self.comm.all_gather_bytes(mine),
        )
    }

    /// Whether `mine` holds on any rank.
    pub fn any(&self, mine: bool) -> bool {
        self.all_gather_bytes(&[mine as u8])
            .iter()
            .any(|v| v == &[1])
    }

    /// `local`, once every rank has said how its part went: this rank's own
    /// error if it failed, else the first failing rank's as [`Error::Rank`], else
    /// `local`. Every rank returns an error or none does, so none is left
    /// waiting in a collective the others have left.
    pub fn agree<T>(&self, local: Result<T>) -> Result<T> {
        let status = match &local {
            Ok(_) => Vec::new(),
            Err(e) => Status::Failed {
                code: e.exit_code(),
                message: e.to_string(),
            }
            .encode(),
        };
        let all = self.all_gather_bytes(&status);
        let failure = first_failure(&all);
        if failure.is_some() {
            self.mark_failed();
        }
        let v = local?;
        match failure {
            Some(e) => Err(e),
            None => Ok(v),
        }
    }
}

/// What a rank reports after a piece of work: nothing (it went well), a bad
/// value (a divergence, agreed on separately), or a failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Status {
    Bad { step: u64, agent: u64, value: f32 },
    Failed { code: u8, message: String },
}

impl Status {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Status::Bad { step, agent, value } => {
                let mut v = vec![1u8];
                v.extend(step.to_le_bytes());
                v.extend(agent.to_le_bytes());
                v.extend(value.to_le_bytes());
                v
            }
            Status::Failed { code, message } => {
                let mut v = vec![2u8, *code];
                v.extend(message.as_bytes());
                v
            }
        }
    }

    /// `None` for an empty report (all went well).
    pub(crate) fn decode(b: &[u8]) -> Option<Status> {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        match b.first()? {
            1 => Some(Status::Bad {
                step: u64_at(1),
                agent: u64_at(9),
                value: f32::from_le_bytes(b[17..21].try_into().expect("4 bytes")),
            }),
            _ => Some(Status::Failed {
                code: b[1],
                message: String::from_utf8_lossy(&b[2..]).into_owned(),
            }),
        }
    }
}

/// The first rank's failure among the reports, as [`Error::Rank`].
pub(crate) fn first_failure(all: &[Vec<u8>]) -> Option<Error> {
    all.iter()
        .enumerate()
        .find_map(|(rank, b)| match Status::decode(b) {
            Some(Status::Failed { code, message }) => Some(Error::Rank {
                rank,
                code,
                message,
            }),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure on one rank comes back from every rank: its own error there,
    /// `Error::Rank` naming it (with its exit status) on the others.
    #[test]
    fn a_failure_on_one_rank_reaches_every_rank() {
        let got: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = Threads::group(3)
                .into_iter()
                .map(|t| {
                    s.spawn(move || {
                        let r = Ranks::new(t);
                        let local: Result<()> = if r.rank() == 1 {
                            Err(crate::ConfigError {
                                field: "f".into(),
                                value: "1".into(),
                                allowed: "no".into(),
                            }
                            .into())
                        } else {
                            Ok(())
                        };
                        let e = r.agree(local).unwrap_err();
                        assert_eq!(e.exit_code(), 2);
                        e.to_string()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let own = "invalid configuration: f = 1: no";
        assert_eq!(got[1], own);
        for r in [0, 2] {
            assert_eq!(got[r], format!("rank 1 failed: {own}"));
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            Status::Bad {
                step: 7,
                agent: 1 << 33,
                value: f32::NAN,
            },
            Status::Failed {
                code: 3,
                message: "disk full".into(),
            },
        ] {
            let back = Status::decode(&s.encode()).unwrap();
            match (&s, &back) {
                (
                    Status::Bad { step, agent, value },
                    Status::Bad {
                        step: s2,
                        agent: a2,
                        value: v2,
                    },
                ) => {
                    assert_eq!((step, agent, value.to_bits()), (s2, a2, v2.to_bits()))
                }
                _ => assert_eq!(s, back),
            }
        }
        assert_eq!(Status::decode(&[]), None);
    }
}
