//! The lane path: `LANES` blocks of 4 coordinates (each an agent's block, the unit
//! a GPU invocation owns) advance together, so the compiler turns Philox,
//! Box-Muller and the gradient into SIMD instructions; compiled for portable,
//! AVX2 and AVX-512F code without fused multiply-add, so every level gives the
//! same bits. Mirrors `shaders/step_block.wgsl`.
#![allow(
    clippy::needless_range_loop,
    reason = "keeps the loops comparable to the shaders"
)]

use super::*;

/// Blocks of 4 coordinates advanced together on the lane path.
const LANES: usize = 16;

/// `level` has been checked with [`Simd::supported`] when the engine was built.
pub(super) fn dispatch_lanes<P: Potential>(
    level: Simd,
    ctx: &Ctx<P>,
    x: &mut [f32],
    y: &mut [f32],
    first: usize,
    n0: u64,
    n1: u64,
) -> Bad {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the engine checked that the CPU has AVX-512F.
        Simd::Avx512 => unsafe { lanes_avx512(ctx, x, y, first, n0, n1) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the engine checked that the CPU has AVX2.
        Simd::Avx2 => unsafe { lanes_avx2(ctx, x, y, first, n0, n1) },
        _ => lanes_portable(ctx, x, y, first, n0, n1),
    }
}

/// The lane path compiled for AVX2 (8 f32 lanes per instruction instead of 4).
/// FMA stays off, so no multiply-add is fused and the bits equal the portable
/// build's.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn lanes_avx2<P: Potential>(
    ctx: &Ctx<P>,
    x: &mut [f32],
    y: &mut [f32],
    first: usize,
    n0: u64,
    n1: u64,
) -> Bad {
    lanes_portable(ctx, x, y, first, n0, n1)
}

/// The lane path compiled for AVX-512F (16 lanes, a whole lane group per register).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn lanes_avx512<P: Potential>(
    ctx: &Ctx<P>,
    x: &mut [f32],
    y: &mut [f32],
    first: usize,
    n0: u64,
    n1: u64,
) -> Bad {
    lanes_portable(ctx, x, y, first, n0, n1)
}

#[inline(always)]
fn lanes_portable<P: Potential>(
    ctx: &Ctx<P>,
    x: &mut [f32],
    y: &mut [f32],
    first: usize,
    n0: u64,
    n1: u64,
) -> Bad {
    if ctx.c.cbo.is_some() {
        return cbo_lanes(ctx, x, first, n0, n1);
    }
    match (ctx.c.taming, ctx.c.homogenized) {
        (Taming::Coordinate, true) => {
            lanes_path::<P, CoordinateTaming, true>(ctx, x, y, first, n0, n1)
        }
        (Taming::Coordinate, false) => {
            lanes_path::<P, CoordinateTaming, false>(ctx, x, y, first, n0, n1)
        }
        (_, true) => lanes_path::<P, NoTaming, true>(ctx, x, y, first, n0, n1),
        (_, false) => lanes_path::<P, NoTaming, false>(ctx, x, y, first, n0, n1),
    }
}

/// CBO with anisotropic noise (DESIGN section 2.8) over a chunk of agents
/// starting at global agent `first`: every coordinate moves on its own, `v = X -
/// m` and `X - lambda dt v + (sigma sqrt(dt) v) Z`, in the agent path's order,
/// so the lanes need nothing of the potential (the weights are computed before
/// the step).
#[inline(always)]
fn cbo_lanes<P: Potential>(ctx: &Ctx<P>, x: &mut [f32], first: usize, n0: u64, n1: u64) -> Bad {
    let (d, n_agents) = (ctx.shape.dim, ctx.shape.agents);
    let blocks = d.div_ceil(4);
    let jobs = (x.len() / d) * blocks;
    let c = ctx.c;
    let mut bad: Bad = None;
    // With d a multiple of 4, a full group's 64 coordinates are x[4 group..][..64]
    // in lane order: loaded, checked and stored without per-lane bookkeeping
    // (the same arithmetic as the general loop below, so the same bits).
    let whole = if d % 4 == 0 { jobs / LANES * LANES } else { 0 };
    for group in (0..whole).step_by(LANES) {
        let base = 4 * group;
        let mut c0 = [0u32; LANES];
        let mut c1 = [0u32; LANES];
        let mut xs = [[0.0f32; LANES]; 4];
        let mut ms = [[0.0f32; LANES]; 4];
        // Lane l is job group + l: block b of local agent a, stepped along
        // without a division per lane.
        let (mut a, mut b) = (group / blocks, group % blocks);
        let mut run_mean = ((first + a) / n_agents) * d;
        for l in 0..LANES {
            let g = first + a;
            c0[l] = b as u32;
            c1[l] = (ctx.base + g) as u32;
            let block = &x[base + 4 * l..base + 4 * l + 4];
            let mean = &ctx.means[run_mean + 4 * b..run_mean + 4 * b + 4];
            for w in 0..4 {
                xs[w][l] = block[w];
                ms[w][l] = mean[w];
            }
            b += 1;
            if b == blocks {
                (a, b) = (a + 1, 0);
                run_mean = ((first + a) / n_agents) * d;
            }
        }
        for n in n0..n1 {
            let words = rng::philox4x32_10_lanes(
                &c0,
                &c1,
                n as u32,
                rng::counter_word3(rng::DOMAIN_NOISE, 0),
                ctx.key,
            );
            let z = rng::normals_lanes(&words);
            let mut any_bad = false;
            for w in 0..4 {
                for l in 0..LANES {
                    let v = xs[w][l] - ms[w][l];
                    xs[w][l] = xs[w][l] - c.lambda_dt * v + c.noise * v * z[w][l];
                    any_bad |= is_bad(xs[w][l]);
                }
            }
            if any_bad && bad.is_none_or(|(step, _, _)| n + 1 < step) {
                for l in 0..LANES {
                    for w in 0..4 {
                        if is_bad(xs[w][l]) {
                            let here = Some((n + 1, first + (base + 4 * l + w) / d, xs[w][l]));
                            bad = earliest(bad, here);
                        }
                    }
                }
            }
        }
        for (l, block) in x[base..base + 4 * LANES].chunks_exact_mut(4).enumerate() {
            for w in 0..4 {
                block[w] = xs[w][l];
            }
        }
    }
    for group in (whole..jobs).step_by(LANES) {
        let mut c0 = [0u32; LANES];
        let mut c1 = [0u32; LANES];
        let mut idx = [[usize::MAX; LANES]; 4];
        let mut xs = [[0.0f32; LANES]; 4];
        let mut ms = [[0.0f32; LANES]; 4];
        for l in 0..LANES {
            let j = group + l;
            if j >= jobs {
                continue;
            }
            let (a, b) = (j / blocks, j % blocks);
            let g = first + a;
            c0[l] = b as u32;
            c1[l] = (ctx.base + g) as u32;
            for w in 0..4 {
                let k = 4 * b + w;
                if k < d {
                    let i = a * d + k;
                    idx[w][l] = i;
                    xs[w][l] = x[i];
                    ms[w][l] = ctx.means[(g / n_agents) * d + k];
                }
            }
        }
        let mut group_bad: Bad = None;
        for n in n0..n1 {
            let words = rng::philox4x32_10_lanes(
                &c0,
                &c1,
                n as u32,
                rng::counter_word3(rng::DOMAIN_NOISE, 0),
                ctx.key,
            );
            let z = rng::normals_lanes(&words);
            for w in 0..4 {
                for l in 0..LANES {
                    let v = xs[w][l] - ms[w][l];
                    xs[w][l] = xs[w][l] - c.lambda_dt * v + c.noise * v * z[w][l];
                }
            }
            if group_bad.is_none() {
                group_bad = first_bad(&xs, &idx, n, first, d);
            }
        }
        bad = earliest(bad, group_bad);
        for w in 0..4 {
            for l in 0..LANES {
                let i = idx[w][l];
                if i != usize::MAX {
                    x[i] = xs[w][l];
                }
            }
        }
    }
    bad
}

/// The earliest (step, agent) among a lane group's coordinates after step `n`
/// (`idx[w][l]`: the coordinate's index in the chunk, `usize::MAX` where the
/// lane has none), and its value.
#[inline(always)]
fn first_bad(
    xs: &[[f32; LANES]; 4],
    idx: &[[usize; LANES]; 4],
    n: u64,
    first: usize,
    d: usize,
) -> Bad {
    let mut bad: Bad = None;
    for w in 0..4 {
        for l in 0..LANES {
            if idx[w][l] != usize::MAX && is_bad(xs[w][l]) {
                bad = earliest(bad, Some((n + 1, first + idx[w][l] / d, xs[w][l])));
            }
        }
    }
    bad
}

/// The lane path over a chunk of agents starting at global agent `first`.
#[inline(always)]
fn lanes_path<P: Potential, T: Tame, const HOM: bool>(
    ctx: &Ctx<P>,
    x: &mut [f32],
    y: &mut [f32],
    first: usize,
    n0: u64,
    n1: u64,
) -> Bad {
    let (d, n_agents) = (ctx.shape.dim, ctx.shape.agents);
    let blocks = d.div_ceil(4);
    let jobs = (x.len() / d) * blocks;
    let c = ctx.c;
    let mut bad: Bad = None;
    for group in (0..jobs).step_by(LANES) {
        // Gather: lane l owns block b of local agent a.
        let mut c0 = [0u32; LANES];
        let mut c1 = [0u32; LANES];
        let mut idx = [[usize::MAX; LANES]; 4];
        let mut xs = [[0.0f32; LANES]; 4];
        let mut ys = [[0.0f32; LANES]; 4];
        let mut ms = [[0.0f32; LANES]; 4];
        let mut k0 = [[0.0f32; LANES]; 4];
        let mut k1 = [[0.0f32; LANES]; 4];
        // Each lane's coordinate index, for potentials whose gradient depends on it.
        let mut ks = [[0usize; LANES]; 4];
        // Lane l is job group + l: block b of local agent a, stepped along
        // without a division per lane (with interaction this gather runs
        // every step).
        let (mut a, mut b) = (group / blocks, group % blocks);
        let mut run_mean = ((first + a) / n_agents) * d;
        // A lane whose block has 4 coordinates (all but an agent's last when
        // 4 does not divide d) needs no `k < d` test, and its scatter none of
        // `idx`: about 8% of an Euler step on the 2-core VM (docs/PERFORMANCE.md).
        let lanes = LANES.min(jobs - group);
        let mut whole = [false; LANES];
        for l in 0..lanes {
            let g = first + a;
            c0[l] = b as u32;
            c1[l] = (ctx.base + g) as u32;
            whole[l] = 4 * b + 4 <= d;
            if whole[l] {
                let i = a * d + 4 * b;
                for w in 0..4 {
                    idx[w][l] = i + w;
                    xs[w][l] = x[i + w];
                    if HOM {
                        ys[w][l] = y[i + w];
                    }
                    if !ctx.means.is_empty() {
                        ms[w][l] = ctx.means[run_mean + 4 * b + w];
                    }
                    [k0[w][l], k1[w][l]] = ctx.coord_consts[4 * b + w];
                    ks[w][l] = 4 * b + w;
                }
            } else {
                for w in 0..4 {
                    let k = 4 * b + w;
                    if k < d {
                        let i = a * d + k;
                        idx[w][l] = i;
                        xs[w][l] = x[i];
                        if HOM {
                            ys[w][l] = y[i];
                        }
                        if !ctx.means.is_empty() {
                            ms[w][l] = ctx.means[run_mean + k];
                        }
                        [k0[w][l], k1[w][l]] = ctx.coord_consts[k];
                        ks[w][l] = k;
                    }
                }
            }
            b += 1;
            if b == blocks {
                (a, b) = (a + 1, 0);
                run_mean = ((first + a) / n_agents) * d;
            }
        }

        let mut group_bad: Bad = None;
        for n in n0..n1 {
            let mut any_bad = false;
            if HOM {
                let mut sum = [[0.0f32; LANES]; 4];
                for m in 0..c.inner_len {
                    let words = rng::philox4x32_10_lanes(
                        &c0,
                        &c1,
                        n as u32,
                        rng::counter_word3(rng::DOMAIN_NOISE, m),
                        ctx.key,
                    );
                    let z = rng::normals_lanes(&words);
                    let averaged = m + 1 >= c.burn_in;
                    for w in 0..4 {
                        for l in 0..LANES {
                            let yv = ys[w][l];
                            let g = ctx.p.grad_coord(ks[w][l], [k0[w][l], k1[w][l]], yv);
                            let yn = yv - T::tame(c.grad_step, g)
                                + c.y_pull * (xs[w][l] - yv)
                                + c.noise * z[w][l];
                            ys[w][l] = yn;
                            sum[w][l] += if averaged { yn } else { 0.0 };
                        }
                    }
                }
                for w in 0..4 {
                    for l in 0..LANES {
                        let xv = xs[w][l];
                        xs[w][l] = xv
                            - c.dt_over_gamma * (xv - sum[w][l] * c.inv_m)
                            - c.lambda_dt * (xv - ms[w][l]);
                        any_bad |= is_bad(xs[w][l]);
                    }
                }
            } else {
                let words = rng::philox4x32_10_lanes(
                    &c0,
                    &c1,
                    n as u32,
                    rng::counter_word3(rng::DOMAIN_NOISE, 0),
                    ctx.key,
                );
                let z = rng::normals_lanes(&words);
                let mut gr = [[0.0f32; LANES]; 4];
                match c.smoothing {
                    None => {
                        for w in 0..4 {
                            for l in 0..LANES {
                                gr[w][l] =
                                    ctx.p.grad_coord(ks[w][l], [k0[w][l], k1[w][l]], xs[w][l]);
                            }
                        }
                    }
                    Some(sm) => {
                        // As the agent path: perturbed gradients summed in s order.
                        let sh = sm.sqrt_variance();
                        for smp in 0..sm.samples {
                            let words = rng::philox4x32_10_lanes(
                                &c0,
                                &c1,
                                n as u32,
                                rng::counter_word3(rng::DOMAIN_SMOOTHING, smp),
                                ctx.key,
                            );
                            let xi = rng::normals_lanes(&words);
                            for w in 0..4 {
                                for l in 0..LANES {
                                    let p = xs[w][l] + sh * xi[w][l];
                                    gr[w][l] += ctx.p.grad_coord(ks[w][l], [k0[w][l], k1[w][l]], p);
                                }
                            }
                        }
                        for row in gr.iter_mut() {
                            for v in row.iter_mut() {
                                *v *= sm.inv_s;
                            }
                        }
                    }
                }
                for w in 0..4 {
                    for l in 0..LANES {
                        let xv = xs[w][l];
                        xs[w][l] =
                            xv - T::tame(c.grad_step, gr[w][l]) - c.lambda_dt * (xv - ms[w][l])
                                + c.noise * z[w][l];
                        any_bad |= is_bad(xs[w][l]);
                    }
                }
            }
            // Lanes without a coordinate hold 0, never bad: the exact search
            // runs only when some lane is.
            if any_bad && group_bad.is_none() {
                group_bad = first_bad(&xs, &idx, n, first, d);
            }
        }
        bad = earliest(bad, group_bad);

        // Scatter.
        for l in 0..lanes {
            if whole[l] {
                let i = idx[0][l];
                for w in 0..4 {
                    x[i + w] = xs[w][l];
                    if HOM {
                        y[i + w] = ys[w][l];
                    }
                }
            } else {
                for w in 0..4 {
                    let i = idx[w][l];
                    if i != usize::MAX {
                        x[i] = xs[w][l];
                        if HOM {
                            y[i] = ys[w][l];
                        }
                    }
                }
            }
        }
    }
    bad
}
