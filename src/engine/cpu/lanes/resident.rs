//! The resident path: the Euler step pulled towards the plain run mean, for a
//! whole segment of steps, with a run's coordinates kept in lanes throughout.
//!
//! On the lane path every step with interaction gathers X and the run means
//! into lanes and scatters X back, since the means change each step; that
//! copying, and a parallel loop per step, held the Euler step at about half
//! the rate of the same kernel without interaction (docs/PERFORMANCE.md, "CPU,
//! sixth round"). Here one work item owns whole runs: it gathers a run once,
//! then for each step takes the run's mean from its lanes and steps every lane
//! group, and scatters once at the end. The mean is the one section 2.7 of
//! docs/DESIGN.md defines, summed in the same order as the engine's tile sums
//! (`interaction::tile_sums`, then `plain_means`), and each group's step is the
//! lane path's own ([`euler_lanes`]), so the positions are bit for bit those
//! of one step at a time.

use super::*;
use crate::engine::MEAN_TILE;

/// A lane group of a run and where its lanes' coordinates live.
struct Group {
    xs: [[f32; LANES]; 4],
    /// The stream's counter words of each lane: its block, its global agent.
    c0: [u32; LANES],
    c1: [u32; LANES],
    /// Lane `l`'s coordinates: `len[l]` of them from index `start[l]` of the run's
    /// positions, coordinates `kb[l]..kb[l] + len[l]` of its agent. (32 bits
    /// each: a run on this path has at most `RESIDENT_MAX_RUN` coordinates, and
    /// a group takes about twice its positions' memory.)
    start: [u32; LANES],
    len: [u32; LANES],
    kb: [u32; LANES],
    /// Lanes that hold a block (all but in a run's last group).
    lanes: usize,
    /// Bit `l`: lane `l` holds the first block of a mean tile's first agent
    /// (not the run's), where the run mean's sums start a tile.
    tile_starts: u32,
    /// The entry of the engine's coordinate-constant table, for a whole group.
    table: Option<usize>,
}

/// Steps `n0..n1` of the run whose positions are `x` (`[agents][d]`, local agent
/// `first` its first), from the run means `ctx.means` of step `n0`. Returns the
/// first bad value by (step, agent); the run's steps end with the step that
/// met it.
#[inline(always)]
pub(in crate::engine::cpu) fn resident_run<P: Potential, T: Tame>(
    ctx: &Ctx<P>,
    x: &mut [f32],
    first: usize,
    n0: u64,
    n1: u64,
) -> Bad {
    let (d, n_agents) = (ctx.shape.dim, ctx.shape.agents);
    debug_assert_eq!(x.len(), n_agents * d);
    debug_assert_eq!(first % n_agents, 0);
    let blocks = d.div_ceil(4);
    let jobs = n_agents * blocks;
    let table_step = gcd(LANES, blocks);
    let r = first / n_agents;
    let mut mean = ctx.means[r * d..(r + 1) * d].to_vec();
    let mut groups = gather(ctx, x, first, jobs, blocks, table_step);
    let mut sums = TileSums {
        tile: vec![0.0; d],
        run: vec![0.0; d],
    };
    let mut bad: Bad = None;
    for n in n0..n1 {
        if n > n0 {
            sums.run_mean(&groups, n_agents, &mut mean);
        }
        for g in groups.iter_mut() {
            let mut k0 = [[0.0f32; LANES]; 4];
            let mut k1 = [[0.0f32; LANES]; 4];
            let mut ks = [[0usize; LANES]; 4];
            match g.table {
                Some(i) => {
                    let t = &ctx.group_consts[i];
                    (k0, k1, ks) = (t.k0, t.k1, t.ks);
                }
                None => {
                    for l in 0..g.lanes {
                        for w in 0..g.len[l] as usize {
                            let k = g.kb[l] as usize + w;
                            [k0[w][l], k1[w][l]] = ctx.coord_consts[k];
                            ks[w][l] = k;
                        }
                    }
                }
            }
            let mut ms = [[0.0f32; LANES]; 4];
            for l in 0..g.lanes {
                let kb = g.kb[l] as usize;
                match mean[kb..].first_chunk::<4>() {
                    Some(mb) if g.len[l] == 4 => {
                        for w in 0..4 {
                            ms[w][l] = mb[w];
                        }
                    }
                    _ => {
                        for w in 0..g.len[l] as usize {
                            ms[w][l] = mean[kb + w];
                        }
                    }
                }
            }
            let any_bad = euler_lanes::<P, T>(ctx, &g.c0, &g.c1, n, &mut g.xs, &ms, &k0, &k1, &ks);
            // Groups are in agent order: the first found in a step is its first.
            if any_bad && bad.is_none() {
                let (start, len) = (g.start.map(|v| v as usize), g.len.map(|v| v as usize));
                bad = first_bad(&g.xs, &start, &len, n, first, d);
            }
        }
        if bad.is_some() {
            break;
        }
    }
    for g in &groups {
        for l in 0..g.lanes {
            for w in 0..g.len[l] as usize {
                x[g.start[l] as usize + w] = g.xs[w][l];
            }
        }
    }
    bad
}

/// The run's lane groups: jobs `16 i..16 i + 16` (job `a blocks + b` is block `b`
/// of local agent `a`), as the lane path groups a chunk that starts at the run.
fn gather<P: Potential>(
    ctx: &Ctx<P>,
    x: &[f32],
    first: usize,
    jobs: usize,
    blocks: usize,
    table_step: usize,
) -> Vec<Group> {
    let d = ctx.shape.dim;
    (0..jobs)
        .step_by(LANES)
        .map(|group| {
            let lanes = LANES.min(jobs - group);
            let mut g = Group {
                xs: [[0.0; LANES]; 4],
                c0: [0; LANES],
                c1: [0; LANES],
                start: [0; LANES],
                len: [0; LANES],
                kb: [0; LANES],
                lanes,
                tile_starts: 0,
                table: (lanes == LANES && !ctx.group_consts.is_empty())
                    .then_some((group % blocks) / table_step),
            };
            for l in 0..lanes {
                let (a, b) = ((group + l) / blocks, (group + l) % blocks);
                if b == 0 && a > 0 && a % MEAN_TILE == 0 {
                    g.tile_starts |= 1 << l;
                }
                g.c0[l] = b as u32;
                g.c1[l] = (ctx.base + first + a) as u32;
                let (start, len) = (a * d + 4 * b, (d - 4 * b).min(4));
                (g.start[l], g.len[l], g.kb[l]) = (start as u32, len as u32, 4 * b as u32);
                for w in 0..len {
                    g.xs[w][l] = x[start + w];
                }
            }
            g
        })
        .collect()
}

/// The run mean's accumulators, kept between steps.
struct TileSums {
    /// The current tile's sums.
    tile: Vec<f64>,
    /// The sums of the tiles before it.
    run: Vec<f64>,
}

impl TileSums {
    /// `mean` = the run mean of the positions in `groups`: each tile's sums in
    /// f64 in agent order, the tiles' sums added in tile order, divided by the
    /// run's agents and rounded once, as `interaction::tile_sums` and
    /// `plain_means` compute it from X. Jobs run in agent order, so each
    /// coordinate's sum meets the agents in order. (Inlined, so that it is
    /// compiled for the lane path's instructions.)
    #[inline(always)]
    fn run_mean(&mut self, groups: &[Group], n_agents: usize, mean: &mut [f32]) {
        self.tile.fill(0.0);
        self.run.fill(0.0);
        for g in groups {
            for l in 0..g.lanes {
                if g.tile_starts & (1 << l) != 0 {
                    self.end_tile();
                }
                let kb = g.kb[l] as usize;
                // A whole block's 4 sums at once, without an index check each.
                match self.tile[kb..].first_chunk_mut::<4>() {
                    Some(t) if g.len[l] == 4 => {
                        for w in 0..4 {
                            t[w] += g.xs[w][l] as f64;
                        }
                    }
                    _ => {
                        for w in 0..g.len[l] as usize {
                            self.tile[kb + w] += g.xs[w][l] as f64;
                        }
                    }
                }
            }
        }
        self.end_tile();
        for (m, &s) in mean.iter_mut().zip(&self.run) {
            *m = (s / n_agents as f64) as f32;
        }
    }

    /// Adds the tile's sums to the run's and starts the next tile.
    #[inline(always)]
    fn end_tile(&mut self) {
        for (s, t) in self.run.iter_mut().zip(self.tile.iter_mut()) {
            *s += *t;
            *t = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EnsembleConfig, MethodConfig, Taming};
    use crate::engine::Placement;
    use crate::engine::cpu::{CpuEngine, CpuPath, Simd};
    use crate::potential::{Rough, Shift};

    /// An engine of the rough potential (delta 0.01) in `d` dimensions, shifted
    /// by a different amount in every coordinate (so that a lane reading
    /// another coordinate's constants steps differently), its agent 0 the
    /// stream's agent `first_agent`.
    fn rough_engine(
        e: &EnsembleConfig,
        m: &MethodConfig,
        d: usize,
        path: CpuPath,
        first_agent: usize,
    ) -> CpuEngine<Rough> {
        let shift = Shift::new((0..d).map(|k| 0.01 * k as f64 - 0.3).collect());
        let placement = Placement {
            first_agent,
            split: None,
        };
        CpuEngine::placed(Rough::new(0.01, shift), e, m, false, path, placement).unwrap()
    }

    /// A segment on the resident path leaves the positions, bit for bit, that
    /// the same segment taken a pass a step does (the definition: each step's
    /// means from the positions before it, section 2.7 of docs/DESIGN.md).
    /// Shapes where a run is one partial lane group (d = 7, 5 agents), has two
    /// mean tiles (300 agents: 256 and 44), has agents' last blocks of 2
    /// coordinates (d = 50) and whole groups read from the constants' table
    /// (d = 100); no taming, coordinate taming, and the smoothed gradient; one
    /// and two threads; agent 0 the stream's agent 0 or 4100 (as a rank holding
    /// whole runs). Every coordinate has its own constant, so a lane that read
    /// another's would move differently.
    #[test]
    fn resident_segments_are_passes_a_step() {
        let methods = [
            MethodConfig::euler("MF-SGLD", 0.01, 1.0)
                .lambda(3.0)
                .taming(Taming::Coordinate),
            MethodConfig::euler("MF-SGLD untamed", 1e-4, 5.0).lambda(0.5),
            MethodConfig::smoothed("MF-smoothed", 0.002, 2.0, 0.05, 3)
                .lambda(2.0)
                .taming(Taming::Coordinate),
        ];
        for (runs, agents, d) in [(8, 5, 7), (8, 300, 9), (12, 5, 50), (9, 3, 100)] {
            let e = EnsembleConfig::new(runs, agents, 9)
                .seed(5)
                .init_uniform(-2.0, 2.0);
            for (m, threads, first_agent) in methods
                .iter()
                .flat_map(|m| [(m, 1, 0), (m, 2, 0), (m, 2, 4100)])
            {
                let what = format!(
                    "{}, {runs} x {agents} x {d}, {threads} threads, from agent {first_agent}",
                    m.name
                );
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let engine = |resident| {
                    let path = CpuPath::Lanes(Simd::best());
                    let mut eng = rough_engine(&e, m, d, path, first_agent);
                    assert!(eng.resident, "{what}: the resident path applies");
                    eng.resident = resident;
                    eng
                };
                let (mut resident, mut passes) = (engine(true), engine(false));
                assert!(pool.install(|| resident.resident_now()), "{what}");
                // Two segments: the second starts from the tile sums the
                // first took.
                for (n0, n1) in [(0, 6), (6, 9)] {
                    let got = pool.install(|| resident.segment(n0, n1));
                    let want = pool.install(|| passes.segment(n0, n1));
                    assert_eq!(got, None, "{what}: steps {n0}..{n1} stay finite");
                    assert_eq!(want, None, "{what}");
                }
                for (i, (a, b)) in resident.x.iter().zip(&passes.x).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "{what}: position {i}");
                }
                let start = rough_engine(&e, m, d, CpuPath::Agent, first_agent);
                assert_ne!(resident.x, start.x, "{what}: the positions moved");
            }
        }
    }

    /// Where the resident path must not apply: the homogenized scheme, CBO,
    /// the weighted mean, l1, no interaction, a schedule (its constants change
    /// every step), the agent path and runs past `RESIDENT_MAX_RUN`
    /// coordinates. (A part of a run, whose means come from other ranks, is
    /// refused by `CpuEngine::placed` itself.)
    #[test]
    fn resident_path_applies_where_it_may() {
        use crate::config::{Interaction, Ramp, Ramped};
        let d = 9;
        let e = EnsembleConfig::new(8, 10, 9);
        let mf = MethodConfig::euler("MF-SGLD", 0.01, 1.0).lambda(3.0);
        let lanes = CpuPath::Lanes(Simd::best());
        let applies =
            |e: &EnsembleConfig, m: &MethodConfig, path| rough_engine(e, m, d, path, 0).resident;
        assert!(applies(&e, &mf, lanes), "MF-SGLD on the lane path");
        let others = [
            (
                "homogenized",
                MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 5).lambda(3.0),
            ),
            ("CBO", MethodConfig::cbo("CBO", 0.01, 1.0, 0.5, 30.0)),
            (
                "weighted mean",
                mf.clone().interaction(Interaction::Weighted { alpha: 1.0 }),
            ),
            ("l1", mf.clone().interaction(Interaction::L1)),
            ("no interaction", mf.clone().lambda(0.0)),
            (
                "a schedule of dt",
                mf.clone().ramp(Ramped::Dt, Ramp::geometric(0.001)),
            ),
        ];
        for (what, m) in &others {
            assert!(!applies(&e, m, lanes), "{what}");
        }
        assert!(!applies(&e, &mf, CpuPath::Agent), "the agent path");
        let big = EnsembleConfig::new(8, RESIDENT_MAX_RUN / d + 1, 1);
        assert!(!applies(&big, &mf, lanes), "runs past RESIDENT_MAX_RUN");
    }

    /// The run mean the resident path takes from its lanes is section 2.7's,
    /// written out here: each tile of 256 agents summed in f64 in agent order,
    /// the tiles' sums added in tile order, divided by the agents and rounded
    /// once. The positions make the order show: +-3e4 in every other agent,
    /// cancelling, between agents of about 1e-6, so the f64 sums round at
    /// 3e4's last bit (3.6e-12) while the mean is of order 1e-8 (the same sums
    /// in one tile differ in 160 of these 218 means; the segments' test above
    /// cannot see such a difference, since a mean moves the positions by
    /// lambda dt m, below their last bit). Runs of 300 (two tiles) and
    /// 600 agents (three), d = 9 and 100 (partial and whole lane groups).
    #[test]
    fn resident_run_means_are_the_definition() {
        for (agents, d) in [(300, 9), (600, 100)] {
            let runs = 2;
            let e = EnsembleConfig::new(runs, agents, 1);
            let m = MethodConfig::euler("MF-SGLD", 0.01, 1.0).lambda(3.0);
            let mut eng = rough_engine(&e, &m, d, CpuPath::Lanes(Simd::best()), 0);
            for (i, v) in eng.x.iter_mut().enumerate() {
                let a = i / d;
                // A fixed scramble of i into [-0.5, 0.5).
                let u = ((i as u64).wrapping_mul(2654435761) % 1000) as f32 / 1000.0 - 0.5;
                *v = match a % 4 {
                    0 => 3.0e4,
                    2 => -3.0e4,
                    _ => 1.0e-6 * u,
                };
            }
            let ctx = Ctx {
                p: &eng.potential,
                c: eng.consts,
                key: eng.key,
                base: 0,
                shape: eng.shape,
                means: &eng.targets.means,
                targets: &eng.targets,
                resident: true,
                coord_consts: &eng.coord_consts,
                group_consts: &eng.group_consts,
            };
            let blocks = d.div_ceil(4);
            let mut differ = 0;
            for r in 0..runs {
                let x = &eng.x[r * agents * d..(r + 1) * agents * d];
                let groups = gather(
                    &ctx,
                    x,
                    r * agents,
                    agents * blocks,
                    blocks,
                    gcd(LANES, blocks),
                );
                let mut sums = TileSums {
                    tile: vec![0.0; d],
                    run: vec![0.0; d],
                };
                let mut mean = vec![0.0f32; d];
                sums.run_mean(&groups, agents, &mut mean);
                for k in 0..d {
                    let mut run = 0.0f64;
                    for t0 in (0..agents).step_by(256) {
                        let mut tile = 0.0f64;
                        for a in t0..(t0 + 256).min(agents) {
                            tile += x[a * d + k] as f64;
                        }
                        run += tile;
                    }
                    let want = (run / agents as f64) as f32;
                    assert_eq!(
                        mean[k].to_bits(),
                        want.to_bits(),
                        "{agents} x {d}: run {r}, k {k}"
                    );
                    // The same sums in one tile: how often the split shows.
                    let one: f64 = (0..agents).map(|a| x[a * d + k] as f64).sum();
                    differ += usize::from((one / agents as f64) as f32 != want);
                }
            }
            assert!(
                differ >= runs * d / 4,
                "{agents} x {d}: the positions show the tiles' order ({differ} of {})",
                runs * d
            );
        }
    }

    /// A run that diverges: the resident path reports the first bad value by
    /// (step, agent), as the passes do, while the other runs stay finite.
    #[test]
    fn resident_segments_report_the_first_bad_value() {
        let d = 9;
        let e = EnsembleConfig::new(8, 20, 9)
            .seed(3)
            .init_uniform(-2.0, 2.0);
        // Untamed, a step of 0.5 on the rough potential (gradients of order
        // y / delta = 200) throws the agents past the divergence limit within
        // a few steps.
        let m = MethodConfig::euler("MF-SGLD", 0.5, 1.0).lambda(1.0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let engine = |resident| {
            let mut eng = rough_engine(&e, &m, d, CpuPath::Lanes(Simd::best()), 0);
            eng.resident = resident;
            eng
        };
        let (mut resident, mut passes) = (engine(true), engine(false));
        let got = pool.install(|| resident.segment(0, 50));
        let want = pool.install(|| passes.segment(0, 50));
        assert!(want.is_some(), "the passes meet a bad value");
        let (g, w) = (got.unwrap(), want.unwrap());
        assert_eq!((g.0, g.1, g.2.to_bits()), (w.0, w.1, w.2.to_bits()));
    }
}
