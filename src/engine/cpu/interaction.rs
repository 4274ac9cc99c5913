//! What the agents of a run are pulled towards at the start of a step
//! (docs/DESIGN.md section 2.7): the run's mean, its cost-weighted mean
//! `m_alpha`, or, for the l1 interaction, each agent's sign sum. Computed from
//! the positions before any agent moves, so every agent of a step sees the same
//! targets whatever the chunking.

use super::*;

/// The targets of every run, kept between steps so that a step allocates
/// nothing.
pub(super) struct Targets {
    /// Run means (plain or weighted), `[runs][dim]`; empty without interaction
    /// or for l1.
    pub(super) means: Vec<f32>,
    /// l1: each agent's `s_ik = (#{j: X_jk < X_ik} - #{j: X_jk > X_ik}) / N`,
    /// `[runs][agents][dim]`; empty otherwise.
    pub(super) signs: Vec<f32>,
    /// Their f64 sums (mean and weighted).
    sums: Vec<f64>,
    /// Weighted: `alpha Phi(X_i)` of every agent, in f64.
    costs: Vec<f64>,
    /// Weighted: `Phi(X_i)` in f32, where the potential has an f32 value.
    values: Vec<f32>,
    /// The instructions the f32 values are compiled for.
    simd: Simd,
    /// l1: the signs coordinate-major, `[runs][dim][agents]`, before they are
    /// laid out by agent.
    columns: Vec<f32>,
}

impl Targets {
    /// Space for the targets of `method` over `shape`.
    pub(super) fn new(method: &MethodConfig, shape: Shape, simd: Simd) -> Result<Self> {
        let rd = shape.runs * shape.dim;
        let all = shape.runs * shape.agents * shape.dim;
        let (means, signs, columns, costs) = match (method.interacting(), method.interaction) {
            (false, _) => (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
            (true, Interaction::L1) => (
                Vec::new(),
                try_alloc(all, "the l1 interaction's signs")?,
                try_alloc(all, "the l1 interaction's sorted columns")?,
                Vec::new(),
            ),
            (true, Interaction::Mean) => (
                try_alloc(rd, "the run means")?,
                Vec::new(),
                Vec::new(),
                Vec::new(),
            ),
            (true, Interaction::Weighted { .. }) => (
                try_alloc(rd, "the weighted run means")?,
                Vec::new(),
                Vec::new(),
                vec![0.0; shape.runs * shape.agents],
            ),
        };
        Ok(Self {
            sums: vec![0.0; means.len()],
            means,
            signs,
            values: vec![0.0; costs.len()],
            costs,
            columns,
            simd,
        })
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
            self.weighted_means(p, x, shape, c.alpha);
        } else if !self.means.is_empty() {
            self.plain_means(x, shape);
        }
    }

    /// `m_r`: the mean over agents of each run, summed in f64 in agent order.
    fn plain_means(&mut self, x: &[f32], shape: Shape) {
        let (n, d) = (shape.agents, shape.dim);
        self.means
            .par_chunks_mut(d)
            .zip(self.sums.par_chunks_mut(d))
            .enumerate()
            .for_each(|(r, (mean, acc))| {
                acc.fill(0.0);
                for agent in x[r * n * d..(r + 1) * n * d].chunks_exact(d) {
                    for (a, &v) in acc.iter_mut().zip(agent) {
                        *a += v as f64;
                    }
                }
                for (m, &a) in mean.iter_mut().zip(acc.iter()) {
                    *m = (a / n as f64) as f32;
                }
            });
    }

    /// `m_alpha`: `sum_i w_i X_i / sum_i w_i` with `w_i = exp(-(alpha Phi(X_i) -
    /// c_min))`, `c_min` the run's smallest `alpha Phi`, all in f64 in agent
    /// order; `Phi` is [`Potential::value_f32`] where the potential has it,
    /// else [`Potential::value`]. The shift changes no ratio and keeps the arg-min agent's weight 1,
    /// so the sum is at least 1: `alpha Phi` of any size neither overflows nor
    /// gives 0/0.
    fn weighted_means<P: Potential>(&mut self, p: &P, x: &[f32], shape: Shape, alpha: f64) {
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
        let costs = &self.costs;
        self.means
            .par_chunks_mut(d)
            .zip(self.sums.par_chunks_mut(d))
            .enumerate()
            .for_each(|(r, (mean, acc))| {
                let run_costs = &costs[r * n..(r + 1) * n];
                let least = run_costs.iter().copied().fold(f64::INFINITY, f64::min);
                acc.fill(0.0);
                let mut total = 0.0f64;
                for (agent, &cost) in x[r * n * d..(r + 1) * n * d].chunks_exact(d).zip(run_costs) {
                    // exp underflows to 0 below -745.13 (half the least
                    // subnormal), the same bits without libm's slow path.
                    let t = least - cost;
                    let w = if t < -746.0 { 0.0 } else { t.exp() };
                    total += w;
                    for (a, &v) in acc.iter_mut().zip(agent) {
                        *a += w * v as f64;
                    }
                }
                for (m, &a) in mean.iter_mut().zip(acc.iter()) {
                    *m = (a / total) as f32;
                }
            });
    }

    /// The l1 interaction's sign sums: per run and coordinate, the values
    /// sorted once, then for each agent the counts below and above its own
    /// value by binary search (ties count in neither: `sign(0) = 0`), `s =
    /// f32(below - above) / f32(N)` (both counts exact below 2^24).
    fn signs_l1(&mut self, x: &[f32], shape: Shape) {
        let (n, d) = (shape.agents, shape.dim);
        self.columns.par_chunks_mut(n).enumerate().for_each_init(
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
        let columns = &self.columns;
        self.signs
            .par_chunks_mut(d)
            .enumerate()
            .for_each(|(g, agent)| {
                let (r, i) = (g / n, g % n);
                for (k, s) in agent.iter_mut().enumerate() {
                    *s = columns[(r * d + k) * n + i];
                }
            });
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
