//! Ranks as threads of one process: the same collectives as MPI's, through
//! shared memory, so that a decomposition can be run and checked (in tests,
//! byte for byte against one process) without an MPI installation.

use super::Collective;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How a rank's collective ends when another rank's thread panicked.
const BROKEN: &str = "another rank's thread panicked";

/// The group's meeting point: a round counter (a reusable barrier) and the
/// slots of the gather in progress.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// Ranks that have arrived at the current meeting.
    arrived: usize,
    /// Meetings completed so far.
    round: u64,
    /// Set when a rank's thread panics: every meeting then fails, so that the
    /// other ranks end with a message rather than wait for it forever.
    broken: bool,
    slots: Vec<Vec<u8>>,
}

/// One rank of a group of threads; [`Threads::group`] makes the group, one
/// value per thread.
pub struct Threads {
    rank: usize,
    size: usize,
    shared: Arc<Shared>,
}

impl Threads {
    /// `size` ranks, in rank order, each to be moved to its own thread: a
    /// collective returns once every rank of the group has called it. A rank
    /// whose thread panics breaks the group: the others' collectives panic
    /// too, saying so, instead of waiting for it.
    pub fn group(size: usize) -> Vec<Threads> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                arrived: 0,
                round: 0,
                broken: false,
                slots: vec![Vec::new(); size],
            }),
            changed: Condvar::new(),
        });
        (0..size)
            .map(|rank| Threads {
                rank,
                size,
                shared: shared.clone(),
            })
            .collect()
    }

    /// `f(ranks)` on each of `size` ranks, each on its own thread of this
    /// process; the results in rank order. A panic on any rank is resumed
    /// here (the other ranks end at their next collective).
    pub fn run<T: Send>(size: usize, f: impl Fn(super::Ranks) -> T + Sync) -> Vec<T> {
        std::thread::scope(|s| {
            let handles: Vec<_> = Self::group(size)
                .into_iter()
                .map(|t| {
                    let f = &f;
                    s.spawn(move || f(super::Ranks::new(t)))
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
            // The first rank's own panic, rather than the others' report of it.
            let own = |e: &Box<dyn std::any::Any + Send>| {
                !e.downcast_ref::<String>()
                    .is_some_and(|m| m.ends_with(BROKEN))
            };
            if results.iter().any(Result::is_err) {
                let mut panics: Vec<_> = results.into_iter().filter_map(Result::err).collect();
                let first = panics.iter().position(own).unwrap_or(0);
                std::panic::resume_unwind(panics.swap_remove(first));
            }
            results.into_iter().map(|r| r.expect("no panic")).collect()
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A rank that panicked while holding the lock broke the group anyway.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until every rank has arrived (or panics if a rank broke the
    /// group), holding the lock on return.
    fn meet<'a>(&self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let round = state.round;
        state.arrived += 1;
        if state.arrived == self.size {
            state.arrived = 0;
            state.round += 1;
            self.shared.changed.notify_all();
        } else {
            while state.round == round && !state.broken {
                state = self
                    .shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
        // A meeting that completed stands; the next one reports the break.
        if state.round == round && state.broken {
            drop(state);
            panic!("rank {}: {BROKEN}", self.rank);
        }
        state
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.lock().broken = true;
            self.shared.changed.notify_all();
        }
    }
}

impl Collective for Threads {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather_f64(&self, mine: &[f64]) -> Vec<f64> {
        self.all_gather_bytes(bytemuck::cast_slice(mine))
            .iter()
            .flat_map(|b| bytemuck::pod_collect_to_vec::<u8, f64>(b))
            .collect()
    }

    fn all_gather_f32(&self, mine: &[f32]) -> Vec<f32> {
        self.all_gather_bytes(bytemuck::cast_slice(mine))
            .iter()
            .flat_map(|b| bytemuck::pod_collect_to_vec::<u8, f32>(b))
            .collect()
    }

    fn all_gather_bytes(&self, mine: &[u8]) -> Vec<Vec<u8>> {
        // Everyone has read the previous round before anyone writes this one.
        let mut state = self.meet(self.lock());
        state.slots[self.rank] = mine.to_vec();
        let state = self.meet(state);
        state.slots.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_are_in_rank_order_round_after_round() {
        let handles: Vec<_> = Threads::group(3)
            .into_iter()
            .map(|t| {
                std::thread::spawn(move || {
                    (0..50)
                        .map(|round| {
                            let mine = vec![(10 * t.rank() + round) as f64; t.rank() + 1];
                            t.all_gather_f64(&mine)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (round, got) in h.join().unwrap().into_iter().enumerate() {
                let want: Vec<f64> = (0..3)
                    .flat_map(|r| vec![(10 * r + round) as f64; r + 1])
                    .collect();
                assert_eq!(got, want);
            }
        }
    }

    /// A rank whose thread panics (here before its second gather) ends the
    /// others' next collective with a panic that says so, not a wait forever.
    #[test]
    fn a_panicking_rank_breaks_the_group() {
        let handles: Vec<_> = Threads::group(3)
            .into_iter()
            .map(|t| {
                std::thread::spawn(move || {
                    t.all_gather_bytes(&[t.rank() as u8]);
                    if t.rank() == 1 {
                        panic!("rank 1 fails");
                    }
                    t.all_gather_bytes(&[t.rank() as u8]);
                })
            })
            .collect();
        for (rank, h) in handles.into_iter().enumerate() {
            let err = h.join().expect_err("every rank ends with a panic");
            let message = err
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap();
            let want = if rank == 1 {
                "rank 1 fails".to_string()
            } else {
                format!("rank {rank}: another rank's thread panicked")
            };
            assert_eq!(message, want);
        }
    }

    /// `Threads::run` resumes the panic of the rank that failed, not the
    /// others' report of it.
    #[test]
    fn run_resumes_the_failing_ranks_panic() {
        let err = std::panic::catch_unwind(|| {
            Threads::run(3, |r| {
                if r.rank() == 2 {
                    panic!("rank 2 fails");
                }
                r.all_gather_bytes(&[1]);
            })
        })
        .unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"rank 2 fails"));
    }
}
