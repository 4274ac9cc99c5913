//! Ranks as threads of one process: the same collectives as MPI's, through
//! shared memory, so that a decomposition can be run and checked (in tests,
//! byte for byte against one process) without an MPI installation.

use super::Collective;
use std::sync::{Arc, Barrier, Mutex};

struct Shared {
    barrier: Barrier,
    slots: Mutex<Vec<Vec<u8>>>,
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
    /// collective returns once every rank of the group has called it.
    pub fn group(size: usize) -> Vec<Threads> {
        let shared = Arc::new(Shared {
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size)
            .map(|rank| Threads {
                rank,
                size,
                shared: shared.clone(),
            })
            .collect()
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
        self.shared.barrier.wait();
        self.shared.slots.lock().expect("no rank panics holding it")[self.rank] = mine.to_vec();
        self.shared.barrier.wait();
        self.shared
            .slots
            .lock()
            .expect("no rank panics holding it")
            .clone()
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
}
