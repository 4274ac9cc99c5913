//! What the agents of a run are pulled towards at the start of a step
//! (docs/DESIGN.md section 2.7): the run's mean, its cost-weighted mean
//! `m_alpha`, or, for the l1 interaction, each agent's sign sum. Computed from
//! the positions before any agent moves, so every agent of a step sees the same
//! targets whatever the chunking.

use super::*;
use crate::engine::{MEAN_TILE, SplitRun};
use std::borrow::Cow;

/// The targets of every run, kept between steps so that a step allocates
/// nothing.
pub(super) struct Targets {
    /// Run means (plain or weighted), `[runs][dim]`; empty without interaction
    /// or for l1.
    pub(super) means: Vec<f32>,
    /// l1: each agent's `s_ik = (#{j: X_jk < X_ik} - #{j: X_jk > X_ik}) / N`,
    /// `[runs][agents][dim]`; empty otherwise.
    pub(super) signs: Vec<f32>,
    /// Each tile's partial sums, `[runs][tiles][record]` (section 2.7): the
    /// plain mean's record is the tile's `d` sums; the weighted mean's is its
    /// least cost, its total weight and its `d` weighted sums.
    partials: Vec<f64>,
    /// Weighted: `alpha Phi(X_i)` of every agent, in f64.
    costs: Vec<f64>,
    /// Weighted: `Phi(X_i)` in f32, where the potential has an f32 value.
    values: Vec<f32>,
    /// The instructions the f32 values are compiled for.
    simd: Simd,
    /// l1: the signs coordinate-major, `[runs][dim][agents]` (of the whole run
    /// when it is split), before they are laid out by agent.
    columns: Vec<f32>,
    /// l1 on a split run: the whole run's signs, by agent.
    run_signs: Vec<f32>,
    /// A part of one run: the ranks that hold the rest.
    split: Option<SplitRun>,
    /// The plain mean's tile sums in `partials` are those of the current
    /// positions: the step that moved them took them as it finished
    /// (`CpuEngine::pass`, or a run on the resident path at the end of its
    /// segment), so the next `compute` needs no pass over X.
    sums_fresh: bool,
}

impl Targets {
    /// Space for the targets of `method` over `shape` (a part of one run when
    /// `split`).
    pub(super) fn new(
        method: &MethodConfig,
        shape: Shape,
        simd: Simd,
        split: Option<SplitRun>,
    ) -> Result<Self> {
        let d = shape.dim;
        let rd = shape.runs * d;
        let all = shape.runs * shape.agents * d;
        let tiles = shape.mean_tiles();
        // l1 on a part of a run sorts the whole run's columns.
        let run_len = split.as_ref().map_or(all, |s| s.run_agents * d);
        let mut t = Self {
            means: Vec::new(),
            signs: Vec::new(),
            partials: Vec::new(),
            costs: Vec::new(),
            values: Vec::new(),
            simd,
            columns: Vec::new(),
            run_signs: Vec::new(),
            split,
            sums_fresh: false,
        };
        match (method.interacting(), method.interaction) {
            (false, _) => {}
            (true, Interaction::L1) => {
                t.signs = try_alloc(all, "the l1 interaction's signs")?;
                t.columns = try_alloc(run_len, "the l1 interaction's sorted columns")?;
                if t.split.is_some() {
                    t.run_signs = try_alloc(run_len, "the l1 interaction's signs of the run")?;
                }
            }
            (true, Interaction::Mean) => {
                t.means = try_alloc(rd, "the run means")?;
                t.partials = vec![0.0; tiles * d];
            }
            (true, Interaction::Weighted { .. }) => {
                t.means = try_alloc(rd, "the weighted run means")?;
                t.partials = vec![0.0; tiles * (d + 2)];
                t.costs = vec![0.0; shape.runs * shape.agents];
                t.values = vec![0.0; t.costs.len()];
            }
        }
        Ok(t)
    }

    /// Whether the method interacts (the targets change every step).
    pub(super) fn active(&self) -> bool {
        !self.means.is_empty() || !self.signs.is_empty()
    }

    /// The targets of positions `x` for a step with constants `c`.
    pub(super) fn compute<P: Potential>(
        &mut self,
        p: &P,
        x: &[f32],
        shape: Shape,
        c: &StepConstants,
    ) {
        if !self.signs.is_empty() {
            self.signs_l1(x, shape);
        } else if !self.costs.is_empty() {
            self.weighted_costs(p, x, shape, c.alpha);
            self.weighted_partials(x, shape);
            let (partials, tiles, _) =
                run_partials(&self.partials, self.split.as_ref(), shape, shape.dim + 2);
            weighted_means(&partials, tiles, shape.dim, &mut self.means);
        } else if !self.means.is_empty() {
            if !std::mem::take(&mut self.sums_fresh) {
                self.mean_partials(x, shape);
            }
            let (partials, tiles, n) =
                run_partials(&self.partials, self.split.as_ref(), shape, shape.dim);
            plain_means(&partials, tiles, n, shape.dim, &mut self.means);
        }
    }

    /// Each tile's sums of its agents' coordinates, in f64 in agent order.
    fn mean_partials(&mut self, x: &[f32], shape: Shape) {
        let d = shape.dim;
        // A no-op but where a step that had borrowed them panicked (a
        // potential's panic caught by the caller) and never gave them back.
        self.partials.resize(shape.mean_tiles() * d, 0.0);
        self.partials
            .par_chunks_mut(d)
            .enumerate()
            .for_each(|(rt, acc)| {
                let agents = tile_agents(rt, shape);
                tile_sums(acc, &x[agents.start * d..agents.end * d]);
            });
    }

    /// Whether the step may take the tile sums itself (the plain mean; the
    /// weighted one also needs each agent's cost first).
    pub(super) fn sums_foldable(&self) -> bool {
        !self.means.is_empty() && self.costs.is_empty()
    }

    /// The plain mean's tile sums, `[runs][tiles][d]`, lent to the step that
    /// fills them with those of the positions it leaves; given back with
    /// [`Self::give_back_sums`].
    pub(super) fn lend_sums(&mut self) -> Vec<f64> {
        std::mem::take(&mut self.partials)
    }

    /// The tile sums back, those of the current positions.
    pub(super) fn give_back_sums(&mut self, sums: Vec<f64>) {
        self.partials = sums;
        self.sums_fresh = true;
    }

    /// The positions were replaced: the next `compute` sums them again.
    pub(super) fn mark_sums_stale(&mut self) {
        self.sums_fresh = false;
    }

    /// `alpha Phi(X_i)` of every agent, in f64: `Phi` is
    /// [`Potential::value_f32`] where the potential has it, else
    /// [`Potential::value`].
    fn weighted_costs<P: Potential>(&mut self, p: &P, x: &[f32], shape: Shape, alpha: f64) {
        let (n, d) = (shape.agents, shape.dim);
        if p.batched() {
            // One call per run, in agent order (a Python potential's calls are
            // serial anyway).
            for (r, costs) in self.costs.chunks_mut(n).enumerate() {
                let points: Vec<f64> = x[r * n * d..(r + 1) * n * d]
                    .iter()
                    .map(|&v| v as f64)
                    .collect();
                p.value_batch(&points, costs);
            }
            self.costs.iter_mut().for_each(|v| *v *= alpha);
        } else if p.value_f32_batch(&x[..0], &mut []) {
            // (An empty batch: the call says whether the potential has f32 values.)
            // The potential's f32 values, in batches (each agent's sum is its
            // own, so any split gives the same bits).
            let simd = self.simd;
            self.values
                .par_chunks_mut(256)
                .zip(x.par_chunks(256 * d))
                .for_each(|(out, xs)| values_f32(simd, p, xs, out));
            for (c, &v) in self.costs.iter_mut().zip(&self.values) {
                *c = alpha * v as f64;
            }
        } else {
            self.costs
                .par_iter_mut()
                .zip(x.par_chunks_exact(d))
                .for_each_init(
                    || vec![0.0f64; d],
                    |point, (cost, agent)| {
                        // The potential's f32 value where it has one (the GPU's
                        // own sum), else its f64 value.
                        *cost = alpha
                            * match p.value_f32(agent) {
                                Some(v) => v as f64,
                                None => {
                                    for (q, &v) in point.iter_mut().zip(agent) {
                                        *q = v as f64;
                                    }
                                    p.value(point)
                                }
                            };
                    },
                );
        }
    }

    /// Each tile's record for `m_alpha`: its least cost `c_t`, `W_t = sum_j
    /// w_j` and `S_t = sum_j w_j X_j` with `w_j = exp(-(c_j - c_t))`, in f64 in
    /// agent order. A tile whose costs all overflowed weighs nothing.
    fn weighted_partials(&mut self, x: &[f32], shape: Shape) {
        let d = shape.dim;
        let costs = &self.costs;
        self.partials
            .par_chunks_mut(d + 2)
            .enumerate()
            .for_each(|(rt, record)| {
                let agents = tile_agents(rt, shape);
                let tile_costs = &costs[agents.clone()];
                let least = tile_costs.iter().copied().fold(f64::INFINITY, f64::min);
                record.fill(0.0);
                record[0] = least;
                if least == f64::INFINITY {
                    // Every cost overflowed (a NaN among them is kept).
                    record[1] = tile_costs
                        .iter()
                        .copied()
                        .find(|c| c.is_nan())
                        .unwrap_or(0.0);
                    return;
                }
                let (total, sums) = record[1..].split_first_mut().expect("d + 2 entries");
                for (agent, &cost) in x[agents.start * d..agents.end * d]
                    .chunks_exact(d)
                    .zip(tile_costs)
                {
                    let w = exp_or_zero(least - cost);
                    *total += w;
                    for (a, &v) in sums.iter_mut().zip(agent) {
                        *a += w * v as f64;
                    }
                }
            });
    }

    /// The l1 interaction's sign sums of this engine's agents (of the whole run,
    /// gathered from every rank, when it holds a part of one).
    fn signs_l1(&mut self, x: &[f32], shape: Shape) {
        match &self.split {
            None => sign_sums(x, shape, &mut self.columns, &mut self.signs),
            Some(s) => {
                let all = s.ranks.all_gather_f32(x);
                let (n, d) = (s.run_agents, shape.dim);
                let run = Shape {
                    runs: 1,
                    agents: n,
                    dim: d,
                };
                sign_sums(
                    &all[s.run * n * d..(s.run + 1) * n * d],
                    run,
                    &mut self.columns,
                    &mut self.run_signs,
                );
                let mine = s.first_agent_in_run * d..s.first_agent_in_run * d + self.signs.len();
                self.signs.copy_from_slice(&self.run_signs[mine]);
            }
        }
    }

    /// What agent `g` is pulled towards in a step.
    #[inline]
    pub(super) fn pull(&self, g: usize, shape: Shape) -> Pull<'_> {
        let d = shape.dim;
        if !self.signs.is_empty() {
            Pull::Signs(&self.signs[g * d..(g + 1) * d])
        } else if !self.means.is_empty() {
            let r = g / shape.agents;
            Pull::Toward(&self.means[r * d..(r + 1) * d])
        } else {
            Pull::None
        }
    }
}

/// The partial records of the tiles of this engine's runs, with the tiles
/// per run and the agents per run: its own, or, for a part of a run, the
/// run's from every rank (in rank order, which is tile order).
fn run_partials<'a>(
    partials: &'a [f64],
    split: Option<&SplitRun>,
    shape: Shape,
    record: usize,
) -> (Cow<'a, [f64]>, usize, usize) {
    match split {
        None => (
            Cow::Borrowed(partials),
            shape.agents.div_ceil(MEAN_TILE),
            shape.agents,
        ),
        Some(s) => {
            let all = s.ranks.all_gather_f64(partials);
            let tiles = s.run_agents.div_ceil(MEAN_TILE);
            let run = s.run * tiles * record..(s.run + 1) * tiles * record;
            (Cow::Owned(all[run].to_vec()), tiles, s.run_agents)
        }
    }
}

/// The local agents of tile `rt` (`run * tiles + tile`): a run's tiles are its
/// agents in order, `MEAN_TILE` at a time.
pub(super) fn tile_agents(rt: usize, shape: Shape) -> std::ops::Range<usize> {
    let n = shape.agents;
    let tiles = n.div_ceil(MEAN_TILE);
    let (r, t) = (rt / tiles, rt % tiles);
    r * n + t * MEAN_TILE..r * n + ((t + 1) * MEAN_TILE).min(n)
}

/// `acc` = the sums of the coordinates of the agents in `x` (`[agents][d]`),
/// in f64 in agent order (section 2.7's tile sums).
pub(super) fn tile_sums(acc: &mut [f64], x: &[f32]) {
    acc.fill(0.0);
    for agent in x.chunks_exact(acc.len()) {
        for (a, &v) in acc.iter_mut().zip(agent) {
            *a += v as f64;
        }
    }
}

/// `exp(t)`, but 0 below -746 (NaN stays NaN): exp underflows to 0 below
/// -745.13 (half the least subnormal), the same bits without libm's slow path.
#[inline]
fn exp_or_zero(t: f64) -> f64 {
    if t < -746.0 { 0.0 } else { t.exp() }
}

/// `m_r = (sum_t S_t) / N`: the tiles' sums added in tile order in f64 and
/// rounded once (`partials` `[runs][tiles][d]`).
fn plain_means(partials: &[f64], tiles: usize, n: usize, d: usize, means: &mut [f32]) {
    let run_mean = |(r, mean): (usize, &mut [f32])| {
        let run = &partials[r * tiles * d..(r + 1) * tiles * d];
        for (k, m) in mean.iter_mut().enumerate() {
            let mut s = 0.0f64;
            for t in 0..tiles {
                s += run[t * d + k];
            }
            *m = (s / n as f64) as f32;
        }
    };
    // A few thousand adds (2500 in the bench: 50 runs x 50 coordinates x 1
    // tile) cost less on this thread than a parallel loop's start and end.
    if partials.len() < SERIAL_BELOW {
        means.chunks_mut(d).enumerate().for_each(run_mean);
    } else {
        means.par_chunks_mut(d).enumerate().for_each(run_mean);
    }
}

/// Below this many tile sums the run means are added up on the calling
/// thread: at most 16384 adds, 22 us at 3 GHz even as one chain of dependent
/// 4-cycle adds (many tiles per run), against tens of microseconds for a
/// parallel loop's start and end on a loaded machine.
const SERIAL_BELOW: usize = 1 << 14;

/// `m_alpha,r = sum_t f_t S_t / sum_t f_t W_t` with `f_t = exp(c_min - c_t)`:
/// a log-sum-exp merge of the tiles' records `[c_t, W_t, S_t]`, added in tile
/// order in f64 and rounded once. With one tile `f = 1`: the run's own sums.
fn weighted_means(partials: &[f64], tiles: usize, d: usize, means: &mut [f32]) {
    let rec = d + 2;
    means.par_chunks_mut(d).enumerate().for_each_init(
        || vec![0.0f64; d],
        |sums, (r, mean)| {
            let run = &partials[r * tiles * rec..(r + 1) * tiles * rec];
            let least = (0..tiles)
                .map(|t| run[t * rec])
                .fold(f64::INFINITY, f64::min);
            let mut total = 0.0f64;
            sums.fill(0.0);
            for record in run.chunks_exact(rec) {
                // A tile whose costs all overflowed (`inf - inf`) weighs 0,
                // as its agents do; a NaN in its sums still reaches the mean.
                let t = least - record[0];
                let f = if t >= -746.0 { t.exp() } else { 0.0 };
                total += f * record[1];
                for (s, &v) in sums.iter_mut().zip(&record[2..]) {
                    *s += f * v;
                }
            }
            for (m, &s) in mean.iter_mut().zip(sums.iter()) {
                *m = (s / total) as f32;
            }
        },
    );
}

/// The l1 sign sums of the agents of `x` (`shape`): per run and coordinate,
/// the values sorted once, then for each agent the counts below and above its
/// own value by binary search (ties count in neither: `sign(0) = 0`), `s =
/// f32(below - above) / f32(N)` (both counts exact below 2^24); `columns` is
/// scratch, `[runs][dim][agents]`.
fn sign_sums(x: &[f32], shape: Shape, columns: &mut [f32], signs: &mut [f32]) {
    let (n, d) = (shape.agents, shape.dim);
    columns.par_chunks_mut(n).enumerate().for_each_init(
        Vec::new,
        |sorted: &mut Vec<f32>, (rk, col)| {
            let (r, k) = (rk / d, rk % d);
            let value = |i: usize| x[(r * n + i) * d + k];
            sorted.clear();
            sorted.extend((0..n).map(value));
            sorted.sort_unstable_by(f32::total_cmp);
            for (i, s) in col.iter_mut().enumerate() {
                let v = value(i);
                let below = sorted.partition_point(|&u| u < v);
                let above = n - sorted.partition_point(|&u| u <= v);
                *s = (below as i64 - above as i64) as f32 / n as f32;
            }
        },
    );
    let columns = &*columns;
    signs.par_chunks_mut(d).enumerate().for_each(|(g, agent)| {
        let (r, i) = (g / n, g % n);
        for (k, s) in agent.iter_mut().enumerate() {
            *s = columns[(r * d + k) * n + i];
        }
    });
}

/// `Phi` in f32 of the agents of `xs` into `out`, compiled for `simd`'s
/// instructions (every level gives the same bits: no fused multiply-add).
fn values_f32<P: Potential>(simd: Simd, p: &P, xs: &[f32], out: &mut [f32]) {
    match simd {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the engine checked that the CPU has AVX-512F.
        Simd::Avx512 => unsafe { values_avx512(p, xs, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the engine checked that the CPU has AVX2.
        Simd::Avx2 => unsafe { values_avx2(p, xs, out) },
        _ => {
            p.value_f32_batch(xs, out);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn values_avx2<P: Potential>(p: &P, xs: &[f32], out: &mut [f32]) {
    p.value_f32_batch(xs, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn values_avx512<P: Potential>(p: &P, xs: &[f32], out: &mut [f32]) {
    p.value_f32_batch(xs, out);
}

/// The interaction term of one agent: `lambda dt` times [`Pull::at`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Pull<'a> {
    /// No interaction (`lambda = 0` throughout): the term is `lambda dt (X_k -
    /// 0)` with `lambda dt = 0`, as the paper's SGLD.
    None,
    /// Towards a point (the run's mean or weighted mean): `X_k - m_k`.
    Toward(&'a [f32]),
    /// The l1 interaction: `s_k`.
    Signs(&'a [f32]),
}

impl<'a> Pull<'a> {
    /// The factor of `lambda dt` for coordinate `k` at position `xv`.
    #[inline(always)]
    pub(super) fn at(self, k: usize, xv: f32) -> f32 {
        match self {
            Pull::None => xv - 0.0,
            Pull::Toward(m) => xv - m[k],
            Pull::Signs(s) => s[k],
        }
    }

    /// The point pulled towards (CBO's consensus point), if there is one.
    pub(super) fn point(self) -> Option<&'a [f32]> {
        match self {
            Pull::Toward(m) => Some(m),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EnsembleConfig;
    use crate::engine::cpu::{CpuEngine, CpuPath};
    use crate::potential::{Rough, Shift};

    /// The tile sums a step takes of the positions it leaves (`CpuEngine::segment`:
    /// a pass's chunks, or, for MF-SGLD on 40 runs, the resident path's runs)
    /// are section 2.7's, written out here: each run's agents in tiles of 256 from
    /// its first, and each tile's sum of each coordinate in f64 in agent order.
    /// Runs of 300 agents (tiles of 256 and 44, a chunk of one tile each) and 40
    /// runs of 10 (chunks of two or more tiles), on the lane and agent paths,
    /// with both schemes. The next `compute` reads them instead of passing over
    /// X, and positions set from outside are summed again.
    #[test]
    fn folded_tile_sums_are_the_definition() {
        let d = 7;
        // Both shapes have at least 4 tiles per thread of this pool: the step
        // takes the sums.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let methods = [
            MethodConfig::euler("MF-SGLD", 0.01, 1.0)
                .lambda(3.0)
                .taming(Taming::Coordinate),
            MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 5)
                .lambda(3.0)
                .taming(Taming::Coordinate),
        ];
        let engine = |e: &EnsembleConfig, m: &MethodConfig, path| {
            CpuEngine::new(Rough::new(0.01, Shift::zero(d)), e, m, false, path).unwrap()
        };
        for (runs, agents) in [(5, 300), (40, 10)] {
            let e = EnsembleConfig::new(runs, agents, 4)
                .seed(11)
                .init_uniform(-3.0, 3.0);
            for m in &methods {
                for path in [CpuPath::Auto, CpuPath::Agent] {
                    let what = format!("{} ({path:?}), {runs} x {agents}", m.name);
                    let mut eng = engine(&e, m, path);
                    assert!(!eng.targets.sums_fresh, "{what}: no step has run yet");
                    for n in 0..3 {
                        pool.install(|| eng.segment(n, n + 1));
                        assert!(eng.targets.sums_fresh, "{what}: step {n} took the sums");
                        let x = &eng.x;
                        let mut rt = 0;
                        for r in 0..runs {
                            for t0 in (0..agents).step_by(256) {
                                for k in 0..d {
                                    let mut s = 0.0f64;
                                    for a in t0..(t0 + 256).min(agents) {
                                        s += x[(r * agents + a) * d + k] as f64;
                                    }
                                    assert!(s.is_finite(), "{what}: tamed steps stay finite");
                                    let got = eng.targets.partials[rt * d + k];
                                    assert_eq!(
                                        got.to_bits(),
                                        s.to_bits(),
                                        "{what}, step {n}: tile {rt}, k {k}"
                                    );
                                }
                                rt += 1;
                            }
                        }
                        assert_eq!(rt * d, eng.targets.partials.len(), "{what}: every tile");
                    }
                    // Positions set from outside (while the step's sums are
                    // fresh): the next step sums them again, as an engine that
                    // starts from them.
                    let x = eng.x.iter().map(|v| 0.5 * v).collect::<Vec<_>>();
                    let y = eng.y.iter().map(|v| 0.25 * v).collect::<Vec<_>>();
                    let y = (!y.is_empty()).then_some(&y[..]);
                    let mut fresh = engine(&e, m, path);
                    for en in [&mut eng, &mut fresh] {
                        en.set_state(&x, y).unwrap();
                        pool.install(|| en.segment(3, 4));
                    }
                    for (i, (a, b)) in eng.x.iter().zip(&fresh.x).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "{what}: after set_state, {i}");
                    }
                    // `compute` reads the sums the step took: given other
                    // positions, it leaves them as they are, once.
                    let taken = eng.targets.partials.clone();
                    let zeros = vec![0.0f32; eng.x.len()];
                    let (consts, shape) = (eng.consts, eng.shape);
                    eng.targets.compute(&eng.potential, &zeros, shape, &consts);
                    assert_eq!(eng.targets.partials, taken, "{what}: no pass over X");
                    eng.targets.compute(&eng.potential, &zeros, shape, &consts);
                    assert!(
                        eng.targets.partials.iter().all(|&v| v == 0.0),
                        "{what}: the next compute passes over X"
                    );
                }
            }
        }
    }
}
