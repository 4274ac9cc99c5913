//! The CPU reference engine: the update rule of docs/DESIGN.md section 2 in f32, parallel
//! over agents with rayon, written to be read beside the GPU step kernels.
//!
//! Two paths compute the same numbers. Separable potentials with `none` or
//! `coordinate` taming take the lane path: `LANES` blocks of 4 coordinates (each an
//! agent's block, the unit a GPU invocation owns) advance together, so the
//! compiler turns Philox, Box-Muller and the gradient into SIMD instructions.
//! Everything else takes the agent path, one agent at a time with the potential's
//! full gradient. Each agent's arithmetic is the same on both paths and depends on
//! nothing but its own data, the run means and the stream, so results are
//! identical whatever the thread count or chunking.
#![allow(
    clippy::needless_range_loop,
    reason = "keeps the loops comparable to the shaders"
)]

use super::{
    BadValue, Engine, Placement, Shape, StepConstants, StepPlan, check_size, initial_positions_at,
    is_bad, try_alloc,
};
use crate::config::{CboNoise, EnsembleConfig, Interaction, MethodConfig, Taming};
use crate::diagnostics::{History, run_stats};
use crate::env::Var;
use crate::error::{Result, Unsupported};
use crate::potential::{Draw, Potential};
use crate::rng;
use rayon::prelude::*;

mod batch;
mod chunks;
mod interaction;
mod lanes;

use interaction::{Pull, Targets};

use lanes::{GroupConsts, dispatch_lanes};

/// Which of the two paths an engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuPath {
    /// The lane path where it applies, with the widest instructions the CPU has
    /// (or those named by `SGLD_SWARM_SIMD`); the agent path elsewhere.
    Auto,
    /// One agent at a time (always applies); for checks that compare the paths.
    Agent,
    /// The lane path where it applies, compiled for the given instructions.
    Lanes(Simd),
}

/// The instructions the lane path is compiled for. Every level computes the same
/// bits (no fused multiply-add anywhere); wider ones are faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simd {
    /// Whatever the build targets (SSE2 on x86-64).
    Portable,
    /// AVX2: 8 f32 lanes per instruction.
    Avx2,
    /// AVX-512F: 16 f32 lanes per instruction.
    Avx512,
}

impl Simd {
    /// Every level, narrowest first.
    pub const ALL: [Simd; 3] = [Simd::Portable, Simd::Avx2, Simd::Avx512];

    /// The level's name as `SGLD_SWARM_SIMD` takes it: `portable`, `avx2` or
    /// `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Simd::Portable => "portable",
            Simd::Avx2 => "avx2",
            Simd::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run it.
    pub fn supported(self) -> bool {
        match self {
            Simd::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The widest level this CPU supports.
    pub fn best() -> Self {
        *Self::ALL
            .iter()
            .rev()
            .find(|s| s.supported())
            .unwrap_or(&Simd::Portable)
    }

    /// The level `SGLD_SWARM_SIMD` names (`auto`, `portable`, `avx2`, `avx512`), or
    /// the best one when it is unset.
    pub fn selected() -> Result<Self> {
        let Some(v) = Var::Simd.get() else {
            return Ok(Self::best());
        };
        if v == "auto" {
            return Ok(Self::best());
        }
        let level = Self::ALL
            .into_iter()
            .find(|s| s.name() == v)
            .ok_or_else(|| Var::Simd.invalid(&v, "must be one of auto, portable, avx2, avx512"))?;
        if !level.supported() {
            return Err(Unsupported::Simd {
                asked_by: format!("SGLD_SWARM_SIMD = {v:?}"),
                level: level.name(),
                best: Self::best().name(),
            }
            .into());
        }
        Ok(level)
    }
}

/// The CPU engine for potential `P`.
pub struct CpuEngine<P: Potential> {
    potential: P,
    /// The constants of step 0 (scheme, taming, `L`, and every value unless
    /// something is scheduled).
    consts: StepConstants,
    plan: StepPlan,
    shape: Shape,
    /// The global index of agent 0 (the stream's agent index; nonzero for a
    /// rank's slice of a split ensemble).
    first_agent: usize,
    key: [u32; 2],
    x: Vec<f32>,
    /// The fast variable Y (homogenized schemes only; empty for Euler).
    y: Vec<f32>,
    /// What each agent is pulled towards (interacting methods only).
    targets: Targets,
    keep_snapshots: bool,
    /// `Some(level)` on the lane path, `None` on the agent or batch path.
    lanes: Option<Simd>,
    /// On the batch path (a batched potential that is not stochastic).
    batched: bool,
    /// A separable potential's `coord_consts(k)` for every `k`, gathered
    /// once (empty for other potentials).
    coord_consts: Vec<[f32; 2]>,
    /// The same in lane order for every whole lane group (lane path only).
    group_consts: Vec<GroupConsts>,
    /// The resident path applies: the Euler step on the lane path pulled towards
    /// the plain mean of whole runs held here, with constant step constants
    /// (`lanes::resident`).
    resident: bool,
}

/// The resident path takes a segment when there are at least this many runs per
/// thread (each run one work item): whole runs then spread over the threads
/// within a quarter of a thread's share of even, as the chunks of whole tiles do.
const RESIDENT_RUNS_PER_THREAD: usize = 4;

/// The resident path takes runs of at most this many coordinates (512 KiB of
/// positions, about 1 MiB of lane groups): a run's groups must stay in the
/// core's caches across the steps of a segment. On the 2-core development VM
/// the path gained 24% with runs of 250k coordinates and lost half the rate
/// with 500k and more (docs/PERFORMANCE.md, "CPU, sixth round"); this bound
/// leaves room for cores with a smaller share of cache.
const RESIDENT_MAX_RUN: usize = 1 << 17;

/// The first bad value an agent met: (steps done, global agent, value).
type Bad = Option<(u64, usize, f32)>;

fn earliest(a: Bad, b: Bad) -> Bad {
    match (a, b) {
        (Some(p), Some(q)) => Some(if (q.0, q.1) < (p.0, p.1) { q } else { p }),
        (p, None) => p,
        (None, q) => q,
    }
}

impl<P: Potential> CpuEngine<P> {
    /// An engine at step 0 with positions drawn from `ensemble.init`; `keep_snapshots`
    /// keeps the positions at every record (for trajectories). Configs are taken
    /// as validated.
    pub fn new(
        potential: P,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        keep_snapshots: bool,
        path: CpuPath,
    ) -> Result<Self> {
        Self::placed(
            potential,
            ensemble,
            method,
            keep_snapshots,
            path,
            Placement::default(),
        )
    }

    /// [`CpuEngine::new`] for a slice of a larger ensemble: `ensemble` gives the
    /// slice's runs and agents, `placement` where they sit (the stream's agent
    /// indices) and, for a part of one run, the ranks holding the rest.
    pub fn placed(
        potential: P,
        ensemble: &EnsembleConfig,
        method: &MethodConfig,
        keep_snapshots: bool,
        path: CpuPath,
        placement: Placement,
    ) -> Result<Self> {
        let shape = Shape {
            runs: ensemble.runs,
            agents: ensemble.agents,
            dim: potential.dim(),
        };
        let plan = StepPlan::new(method, ensemble.steps);
        let consts = *plan.first();
        let copies = if consts.homogenized { 2 } else { 1 };
        let len = check_size(shape, copies)?;
        let mut x = try_alloc(len, "the positions X")?;
        let y = if consts.homogenized {
            try_alloc(len, "the fast variable Y")?
        } else {
            Vec::new()
        };
        // The weighted mean's f32 values take the lane path's instructions
        // (any level gives the same bits); nothing else asks for a level here.
        let weighted = matches!(method.interaction, Interaction::Weighted { .. });
        let simd = match path {
            _ if !weighted => Simd::Portable,
            CpuPath::Lanes(level) if level.supported() => level,
            CpuPath::Auto => Simd::selected()?,
            _ => Simd::Portable,
        };
        // A part of a run takes its means from every rank holding the rest.
        let whole_runs = placement.split.is_none();
        let targets = Targets::new(method, shape, simd, placement.split)?;
        initial_positions_at(
            &mut x,
            shape,
            &ensemble.init,
            ensemble.seed,
            placement.first_agent,
        )?;
        // A batched potential takes the batch path (it is evaluated elsewhere,
        // never lane by lane), unless it is separable: then `grad_coord` is the
        // engines' only gradient (DESIGN section 4), on the lane or agent path.
        // CBO takes no gradient: the agent path, whose step calls no potential.
        let cbo = consts.cbo.is_some();
        let batched =
            potential.batched() && !potential.stochastic() && !potential.separable() && !cbo;
        // The lane path pulls towards a run's point (mean or weighted mean), and
        // runs CBO with anisotropic noise on any potential (it takes no
        // gradient; each coordinate moves on its own).
        let lanes_apply = match consts.cbo {
            Some(noise) => noise == CboNoise::Anisotropic,
            None => {
                potential.separable()
                    && !potential.stochastic()
                    && !batched
                    && consts.taming != Taming::Norm
                    && method.interaction != Interaction::L1
            }
        };
        let lanes = match path {
            CpuPath::Agent => None,
            CpuPath::Auto => lanes_apply.then(Simd::selected).transpose()?,
            CpuPath::Lanes(level) => {
                if !level.supported() {
                    return Err(Unsupported::Simd {
                        asked_by: "Options::cpu_path".into(),
                        level: level.name(),
                        best: Simd::best().name(),
                    }
                    .into());
                }
                lanes_apply.then_some(level)
            }
        };
        let mut engine = Self {
            potential,
            consts,
            plan,
            shape,
            first_agent: placement.first_agent,
            key: rng::key_from_seed(ensemble.seed),
            y,
            x,
            targets,
            keep_snapshots,
            lanes,
            batched,
            coord_consts: Vec::new(),
            group_consts: Vec::new(),
            resident: false,
        };
        if engine.potential.separable() && !engine.potential.stochastic() {
            engine.coord_consts = (0..shape.dim)
                .map(|k| engine.potential.coord_consts(k))
                .collect();
            // CBO's lanes read no constants.
            if engine.lanes.is_some() && engine.consts.cbo.is_none() {
                engine.group_consts = lanes::group_consts(&engine.coord_consts);
            }
        }
        engine.resident = engine.lanes.is_some()
            && !engine.consts.homogenized
            && engine.consts.cbo.is_none()
            && engine.targets.sums_foldable()
            && whole_runs
            && !engine.plan.varies()
            && shape.agents * shape.dim <= RESIDENT_MAX_RUN;
        if engine.consts.homogenized {
            // Y(0, 0) = X(0).
            engine.y.copy_from_slice(&engine.x);
        }
        Ok(engine)
    }

    /// Steps `n0..n1` for every agent: on the resident path where it applies,
    /// else in one pass over the agents, or, with interaction or a schedule, a
    /// pass a step.
    fn segment(&mut self, n0: u64, n1: u64) -> Bad {
        if self.resident_now() {
            return self.resident_segment(n0, n1);
        }
        if self.targets.active() || self.plan.varies() {
            return (n0..n1).find_map(|n| self.pass(n, n + 1));
        }
        self.pass(n0, n1)
    }

    /// Whether the resident path takes this segment: it applies, and there are
    /// enough runs to keep every thread busy (each run is one work item).
    fn resident_now(&self) -> bool {
        self.resident && self.shape.runs >= RESIDENT_RUNS_PER_THREAD * rayon::current_num_threads()
    }

    /// Steps `n0..n1` on the resident path: each run is a work item that keeps
    /// its positions in lanes for the whole segment and takes its own means.
    fn resident_segment(&mut self, n0: u64, n1: u64) -> Bad {
        let c = self.consts;
        // The means of step n0; the runs take the later ones themselves.
        self.targets
            .compute(&self.potential, &self.x, self.shape, &c);
        let level = self.lanes.expect("the resident path is a lane path");
        let (shape, agents, d) = (self.shape, self.shape.agents, self.shape.dim);
        let tiles = agents.div_ceil(crate::engine::MEAN_TILE);
        // Each run takes its tiles' sums of the positions it leaves, as the
        // chunks of a pass do, for the next segment's first means.
        let mut sums = self.targets.lend_sums();
        let ctx = Ctx {
            p: &self.potential,
            c,
            key: self.key,
            base: self.first_agent,
            shape: self.shape,
            means: &self.targets.means,
            targets: &self.targets,
            resident: true,
            coord_consts: &self.coord_consts,
            group_consts: &self.group_consts,
        };
        let bad = self
            .x
            .par_chunks_mut(agents * d)
            .zip(sums.par_chunks_mut(tiles * d))
            .enumerate()
            .map(|(r, (run, run_sums))| {
                let bad = dispatch_lanes(level, &ctx, run, &mut [], r * agents, n0, n1);
                chunks::Chunk {
                    first: r * agents,
                    x: run,
                    y: &mut [],
                    sums: run_sums,
                    tiles: r * tiles..(r + 1) * tiles,
                }
                .take_tile_sums(shape);
                bad
            })
            .reduce(|| None, earliest);
        self.targets.give_back_sums(sums);
        bad
    }

    /// One pass over the agents for steps `n0..n1`; with interaction or a
    /// schedule, `n1 = n0 + 1`.
    fn pass(&mut self, n0: u64, n1: u64) -> Bad {
        let c = if self.plan.varies() {
            debug_assert_eq!(n1, n0 + 1);
            self.plan.at(n0)
        } else {
            self.consts
        };
        if self.targets.active() {
            debug_assert_eq!(n1, n0 + 1);
            self.targets
                .compute(&self.potential, &self.x, self.shape, &c);
        }
        let shape = self.shape;
        let d = shape.dim;
        let (bounds, fold_sums) =
            chunks::chunk_bounds(shape, self.batched, self.targets.sums_foldable());
        let mut sums = if fold_sums {
            self.targets.lend_sums()
        } else {
            Vec::new()
        };
        let chunks = chunks::split_chunks(&mut self.x, &mut self.y, &mut sums, &bounds, d);
        let ctx = Ctx {
            p: &self.potential,
            c,
            key: self.key,
            base: self.first_agent,
            shape,
            means: &self.targets.means,
            targets: &self.targets,
            resident: false,
            coord_consts: &self.coord_consts,
            group_consts: &self.group_consts,
        };
        let (lanes, batched) = (self.lanes, self.batched);
        let bad = chunks
            .into_par_iter()
            .map(|ch: chunks::Chunk| -> Bad {
                let bad = match lanes {
                    Some(level) => dispatch_lanes(level, &ctx, ch.x, ch.y, ch.first, n0, n1),
                    None if batched => batch::batch_path(&ctx, ch.x, ch.y, ch.first, n0, n1),
                    None => agents_path(&ctx, ch.x, ch.y, ch.first, n0, n1),
                };
                ch.take_tile_sums(shape);
                bad
            })
            .reduce(|| None, earliest);
        if fold_sums {
            self.targets.give_back_sums(sums);
        }
        bad
    }
}

impl<P: Potential> Engine for CpuEngine<P> {
    fn segment(&mut self, n0: u64, n1: u64) -> Result<Option<BadValue>> {
        Ok(
            CpuEngine::segment(self, n0, n1).map(|(step, agent, value)| BadValue {
                step,
                agent: self.first_agent + agent,
                value,
            }),
        )
    }

    fn max_segment(&self) -> u64 {
        // With interaction the run means change every step, with a schedule the
        // constants: a pass a step, unless the runs take their own means on the
        // resident path. Any segment is taken (`segment` steps it a pass at a
        // time where it must); the longest saves the driver's calls.
        if self.resident || (!self.targets.active() && !self.plan.varies()) {
            u64::MAX
        } else {
            1
        }
    }

    fn record(&mut self, step: u64, history: &mut History) -> Result<()> {
        let s = self.shape;
        let stats = run_stats(&self.potential, &self.x, s.runs, s.agents, s.dim);
        history.push(step, stats, self.keep_snapshots.then_some(&self.x[..]));
        Ok(())
    }

    fn positions(&self) -> Result<Vec<f32>> {
        Ok(self.x.clone())
    }

    fn fast(&self) -> Result<Option<Vec<f32>>> {
        Ok(self.consts.homogenized.then(|| self.y.clone()))
    }

    fn set_state(&mut self, x: &[f32], y: Option<&[f32]>) -> Result<()> {
        self.x.copy_from_slice(x);
        // The tile sums the last step left are those of the positions replaced.
        self.targets.mark_sums_stale();
        if self.consts.homogenized {
            self.y.copy_from_slice(y.unwrap_or(x));
        }
        Ok(())
    }

    fn potential(&self) -> &dyn Potential {
        &self.potential
    }

    fn backend(&self) -> &'static str {
        "cpu"
    }

    fn device(&self) -> String {
        format!(
            "{}, {} threads, {}",
            cpu_model(),
            rayon::current_num_threads(),
            match self.lanes {
                Some(level) => format!("lane path, {}", level.name()),
                None if self.batched => "batch path".to_string(),
                None => "agent path".to_string(),
            }
        )
    }
}

/// The processor's name where the system says it (Linux), else "CPU".
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "CPU".to_string())
}

/// What every chunk needs, shared read-only.
struct Ctx<'a, P> {
    p: &'a P,
    c: StepConstants,
    key: [u32; 2],
    /// The global index of local agent 0: the stream's agent index of local
    /// agent `g` is `base + g`.
    base: usize,
    shape: Shape,
    /// The run's points pulled towards, for the lane path (mean or weighted).
    means: &'a [f32],
    targets: &'a Targets,
    /// The resident path: each call steps one whole run for the segment.
    resident: bool,
    /// A separable potential's constants of every coordinate.
    coord_consts: &'a [[f32; 2]],
    /// The same in lane order for every whole lane group (empty off the lane path).
    group_consts: &'a [GroupConsts],
}

/// The taming `T_h(g)` of one coordinate for `none` and `coordinate` (the lane path
/// never sees `norm`).
trait Tame {
    fn tame(h: f32, g: f32) -> f32;
}
struct NoTaming;
struct CoordinateTaming;
impl Tame for NoTaming {
    #[inline(always)]
    fn tame(h: f32, g: f32) -> f32 {
        h * g
    }
}
impl Tame for CoordinateTaming {
    #[inline(always)]
    fn tame(h: f32, g: f32) -> f32 {
        let hg = h * g;
        hg / (1.0 + hg.abs())
    }
}

/// `T_h(g)` in place for a whole gradient.
fn tame_all(taming: Taming, h: f32, g: &mut [f32]) {
    match taming {
        Taming::None => g.iter_mut().for_each(|v| *v = NoTaming::tame(h, *v)),
        Taming::Coordinate => g
            .iter_mut()
            .for_each(|v| *v = CoordinateTaming::tame(h, *v)),
        Taming::Norm => {
            let norm = g.iter().map(|v| v * v).sum::<f32>().sqrt();
            let scale = 1.0 + h * norm;
            g.iter_mut().for_each(|v| *v = h * *v / scale);
        }
    }
}

/// Standard normals `Z_g(n, sub)` for all `d` coordinates (`z.len()` a multiple of 4).
fn noise(z: &mut [f32], key: [u32; 2], g: usize, n: u64, sub: u32) {
    rng::normals_into(z, key, g as u32, n as u32, rng::DOMAIN_NOISE, sub);
}

/// The inner step `m` of one agent's `Y` (DESIGN section 2.3), `t` the tamed
/// gradient at `Y`; the new iterate is added to `sum` from `burn_in` on.
/// Shared by the agent and batch paths, so that they compute the same bits.
#[inline(always)]
fn inner_step(
    c: &StepConstants,
    ya: &mut [f32],
    xa: &[f32],
    t: &[f32],
    z: &[f32],
    m: u32,
    sum: &mut [f32],
) {
    let averaged = m + 1 >= c.burn_in;
    for k in 0..ya.len() {
        let yv = ya[k];
        let yn = yv - t[k] + c.y_pull * (xa[k] - yv) + c.noise * z[k];
        ya[k] = yn;
        sum[k] += if averaged { yn } else { 0.0 };
    }
}

/// The homogenized scheme's update of one agent's `X` from the average of `Y`.
#[inline(always)]
fn outer_from_average(c: &StepConstants, xa: &mut [f32], sum: &[f32], pull: Pull) {
    for k in 0..xa.len() {
        let xv = xa[k];
        xa[k] = xv - c.dt_over_gamma * (xv - sum[k] * c.inv_m) - c.lambda_dt * pull.at(k, xv);
    }
}

/// The Euler (and smoothed) update of one agent's `X`, `t` the tamed gradient.
#[inline(always)]
fn euler_step(c: &StepConstants, xa: &mut [f32], t: &[f32], pull: Pull, z: &[f32]) {
    for k in 0..xa.len() {
        let xv = xa[k];
        xa[k] = xv - t[k] - c.lambda_dt * pull.at(k, xv) + c.noise * z[k];
    }
}

/// The CBO update of one agent's `X` (DESIGN section 2.8): `v = X - m`, then
/// `X_k - lambda dt v_k + sigma sqrt(dt) b_k Z_k` with `b_k = v_k`
/// (anisotropic) or `|v|_2` (isotropic, summed in coordinate order).
#[inline(always)]
fn cbo_step(
    c: &StepConstants,
    noise: CboNoise,
    xa: &mut [f32],
    m: &[f32],
    z: &[f32],
    v: &mut [f32],
) {
    for k in 0..xa.len() {
        v[k] = xa[k] - m[k];
    }
    let norm = match noise {
        CboNoise::Anisotropic => 0.0,
        CboNoise::Isotropic => v.iter().map(|e| e * e).sum::<f32>().sqrt(),
    };
    for k in 0..xa.len() {
        let b = match noise {
            CboNoise::Anisotropic => v[k],
            CboNoise::Isotropic => norm,
        };
        xa[k] = xa[k] - c.lambda_dt * v[k] + c.noise * b * z[k];
    }
}

/// The agent path over a chunk of agents starting at global agent `first`.
fn agents_path<P: Potential>(
    ctx: &Ctx<P>,
    x: &mut [f32],
    y: &mut [f32],
    first: usize,
    n0: u64,
    n1: u64,
) -> Bad {
    let d = ctx.shape.dim;
    let c = ctx.c;
    let stochastic = ctx.p.stochastic();
    // A separable potential's gradient is always its `grad_coord`, on this path
    // as on the lane path and the GPU, so that the two paths cannot differ
    // (docs/DESIGN.md section 4): its `grad_f32` is never called.
    let separable: Option<&[[f32; 2]]> =
        (ctx.p.separable() && !stochastic).then_some(ctx.coord_consts);
    let mut z = vec![0.0f32; d.div_ceil(4) * 4];
    let mut grad = vec![0.0f32; d];
    let mut sum = vec![0.0f32; d];
    // Smoothed schemes: the perturbations, the perturbed point, its gradient.
    let (mut xi, mut point, mut gs) = match c.smoothing {
        Some(_) => (vec![0.0f32; z.len()], vec![0.0f32; d], vec![0.0f32; d]),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let mut bad: Bad = None;
    for (a, xa) in x.chunks_exact_mut(d).enumerate() {
        let g = first + a;
        // A stochastic potential's minibatch is addressed by (agent, step, sub).
        let grad_at = |x: &[f32], out: &mut [f32], n: u64, sub: u32| {
            if stochastic {
                let draw = Draw {
                    key: ctx.key,
                    agent: (ctx.base + g) as u32,
                    step: n as u32,
                    sub,
                };
                ctx.p.grad_minibatch_f32(x, out, draw);
            } else if let Some(consts) = &separable {
                for k in 0..x.len() {
                    out[k] = ctx.p.grad_coord(k, consts[k], x[k]);
                }
            } else {
                ctx.p.grad_f32(x, out);
            }
        };
        let pull = ctx.targets.pull(g, ctx.shape);
        let mut agent_bad: Bad = None;
        for n in n0..n1 {
            if c.homogenized {
                let ya = &mut y[a * d..(a + 1) * d];
                sum.fill(0.0);
                for m in 0..c.inner_len {
                    noise(&mut z, ctx.key, ctx.base + g, n, m);
                    grad_at(ya, &mut grad, n, m);
                    tame_all(c.taming, c.grad_step, &mut grad);
                    inner_step(&c, ya, xa, &grad, &z, m, &mut sum);
                }
                outer_from_average(&c, xa, &sum, pull);
            } else if let Some(cbo) = c.cbo {
                noise(&mut z, ctx.key, ctx.base + g, n, 0);
                let m = pull.point().expect("CBO methods pull towards a point");
                cbo_step(&c, cbo, xa, m, &z, &mut grad);
            } else {
                noise(&mut z, ctx.key, ctx.base + g, n, 0);
                match c.smoothing {
                    None => grad_at(xa, &mut grad, n, 0),
                    Some(sm) => {
                        // g = (1/S) sum_s grad Phi(X + sqrt(h_n) xi_s), summed in s order.
                        let sh = sm.sqrt_variance();
                        grad.fill(0.0);
                        for smp in 0..sm.samples {
                            rng::normals_into(
                                &mut xi,
                                ctx.key,
                                (ctx.base + g) as u32,
                                n as u32,
                                rng::DOMAIN_SMOOTHING,
                                smp,
                            );
                            for k in 0..d {
                                point[k] = xa[k] + sh * xi[k];
                            }
                            grad_at(&point, &mut gs, n, smp);
                            for k in 0..d {
                                grad[k] += gs[k];
                            }
                        }
                        grad.iter_mut().for_each(|v| *v *= sm.inv_s);
                    }
                }
                tame_all(c.taming, c.grad_step, &mut grad);
                euler_step(&c, xa, &grad, pull, &z);
            }
            if agent_bad.is_none() {
                if let Some(v) = xa.iter().copied().find(|&v| is_bad(v)) {
                    agent_bad = Some((n + 1, g, v));
                }
            }
        }
        bad = earliest(bad, agent_bad);
    }
    bad
}
