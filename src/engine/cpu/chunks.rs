//! How a step's agents are cut into chunks, rayon's work items: by size, or, where
//! the step takes the plain mean's tile sums, by whole tiles (docs/PERFORMANCE.md,
//! "CPU, fifth round"). Any chunking gives the same numbers.

use super::interaction;
use crate::engine::Shape;

/// The chunks of a step over `shape`, and whether they take the plain mean's
/// tile sums (`foldable`: the targets are the plain mean).
///
/// Each chunk takes the tile sums of the positions it has just moved, while
/// they are in its cache, so that the next step's means need no parallel pass
/// of their own over X. Chunks are then made of whole tiles, and only where
/// there are enough tiles for them to spread evenly; not on the batch path
/// (`batched`), whose batches (the potential's calls) keep their size.
pub(super) fn chunk_bounds(
    shape: Shape,
    batched: bool,
    foldable: bool,
) -> (Vec<ChunkBounds>, bool) {
    let threads = rayon::current_num_threads();
    let fold_sums = foldable && !batched && shape.mean_tiles() >= MIN_TILES_PER_THREAD * threads;
    // Agents per chunk.
    let total = shape.runs * shape.agents;
    let chunk = if batched {
        // Batches as large as the GPU's tiles: a batched potential's calls
        // cost more than its arithmetic (and a Python one's are serial).
        total.clamp(1, 512)
    } else {
        total.div_ceil(8 * threads).clamp(1, 512)
    };
    let bounds = if fold_sums {
        tile_chunks(shape, chunk)
    } else {
        (0..total.div_ceil(chunk))
            .map(|i| ChunkBounds {
                agents: i * chunk..((i + 1) * chunk).min(total),
                tiles: 0..0,
            })
            .collect()
    };
    (bounds, fold_sums)
}

/// With the plain mean, the step takes the tile sums where the ensemble has at
/// least this many tiles per thread: chunks of whole tiles are then within a
/// tile of even (a quarter of a thread's share at worst), where rayon's chunks
/// of any size are within an agent.
const MIN_TILES_PER_THREAD: usize = 4;

/// A chunk of agents, stepped as one work item.
pub(super) struct Chunk<'a> {
    /// The local index of its first agent.
    pub(super) first: usize,
    pub(super) x: &'a mut [f32],
    /// Empty for Euler.
    pub(super) y: &'a mut [f32],
    /// Its tiles' sums, `[tiles][d]`, when it takes them (else empty).
    pub(super) sums: &'a mut [f64],
    /// Those tiles (`run * tiles + tile`; empty when it takes none).
    pub(super) tiles: std::ops::Range<usize>,
}

impl Chunk<'_> {
    /// Its tiles' sums of its positions (after the step: those the next
    /// step's means read).
    pub(super) fn take_tile_sums(self, shape: Shape) {
        let d = shape.dim;
        for (acc, tile) in self.sums.chunks_exact_mut(d).zip(self.tiles) {
            let agents = interaction::tile_agents(tile, shape);
            let local = agents.start - self.first..agents.end - self.first;
            interaction::tile_sums(acc, &self.x[local.start * d..local.end * d]);
        }
    }
}

/// Where a chunk lies.
pub(super) struct ChunkBounds {
    /// Its agents.
    agents: std::ops::Range<usize>,
    /// The tiles whose sums it takes (empty when it takes none).
    tiles: std::ops::Range<usize>,
}

/// Chunks of whole mean tiles, each as many whole tiles as fit in `chunk`
/// agents, and at least one.
fn tile_chunks(shape: Shape, chunk: usize) -> Vec<ChunkBounds> {
    let tiles = shape.mean_tiles();
    let mut out = Vec::new();
    let mut t0 = 0;
    while t0 < tiles {
        let start = interaction::tile_agents(t0, shape).start;
        let mut t1 = t0 + 1;
        while t1 < tiles && interaction::tile_agents(t1, shape).end - start <= chunk {
            t1 += 1;
        }
        out.push(ChunkBounds {
            agents: start..interaction::tile_agents(t1 - 1, shape).end,
            tiles: t0..t1,
        });
        t0 = t1;
    }
    out
}

/// `x`, `y` (when not empty) and `sums` (when not empty, `[tiles][d]`) cut into
/// the chunks `bounds` names, which cover the agents in order. (A step's two
/// small allocations, these chunks and their bounds.)
pub(super) fn split_chunks<'a>(
    mut x: &'a mut [f32],
    mut y: &'a mut [f32],
    mut sums: &'a mut [f64],
    bounds: &[ChunkBounds],
    d: usize,
) -> Vec<Chunk<'a>> {
    bounds
        .iter()
        .map(|b| Chunk {
            first: b.agents.start,
            x: take_front(&mut x, b.agents.len() * d),
            y: take_front(&mut y, b.agents.len() * d),
            sums: take_front(&mut sums, b.tiles.len() * d),
            tiles: b.tiles.clone(),
        })
        .collect()
}

/// The first `len` entries of `v` (none when `v` is empty), cut off it.
fn take_front<'a, T>(v: &mut &'a mut [T], len: usize) -> &'a mut [T] {
    if v.is_empty() {
        return &mut [];
    }
    let (head, tail) = std::mem::take(v).split_at_mut(len);
    *v = tail;
    head
}
