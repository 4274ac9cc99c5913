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

mod resident;

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
    if ctx.resident {
        // `x` is one run; the lane path never sees `norm` taming.
        return match ctx.c.taming {
            Taming::Coordinate => {
                resident::resident_run::<P, CoordinateTaming>(ctx, x, first, n0, n1)
            }
            _ => resident::resident_run::<P, NoTaming>(ctx, x, first, n0, n1),
        };
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
        let (mut start, mut len) = ([0usize; LANES], [0usize; LANES]);
        let mut xs = [[0.0f32; LANES]; 4];
        let mut ms = [[0.0f32; LANES]; 4];
        for l in 0..LANES.min(jobs - group) {
            let j = group + l;
            let (a, b) = (j / blocks, j % blocks);
            let g = first + a;
            c0[l] = b as u32;
            c1[l] = (ctx.base + g) as u32;
            (start[l], len[l]) = (a * d + 4 * b, (d - 4 * b).min(4));
            let run_mean = (g / n_agents) * d + 4 * b;
            let (xb, mb) = (&x[start[l]..][..len[l]], &ctx.means[run_mean..][..len[l]]);
            for w in 0..len[l] {
                xs[w][l] = xb[w];
                ms[w][l] = mb[w];
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
                group_bad = first_bad(&xs, &start, &len, n, first, d);
            }
        }
        bad = earliest(bad, group_bad);
        for l in 0..LANES {
            let xb = &mut x[start[l]..][..len[l]];
            for w in 0..len[l] {
                xb[w] = xs[w][l];
            }
        }
    }
    bad
}

/// One Euler step of a lane group from step `n` (with interaction, towards
/// `ms`): draws, the gradient (smoothed where the method is), the update.
/// Returns whether some lane holds a bad value (lanes without a coordinate
/// may: [`first_bad`] looks at the coordinates only). Shared by the lane path
/// and the resident path, so that both compute the same bits.
#[inline(always)]
#[allow(
    clippy::too_many_arguments,
    reason = "a group's state, as the lane path holds it"
)]
fn euler_lanes<P: Potential, T: Tame>(
    ctx: &Ctx<P>,
    c0: &[u32; LANES],
    c1: &[u32; LANES],
    n: u64,
    xs: &mut [[f32; LANES]; 4],
    ms: &[[f32; LANES]; 4],
    k0: &[[f32; LANES]; 4],
    k1: &[[f32; LANES]; 4],
    ks: &[[usize; LANES]; 4],
) -> bool {
    let c = ctx.c;
    let mut any_bad = false;
    let words = rng::philox4x32_10_lanes(
        c0,
        c1,
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
                    gr[w][l] = ctx.p.grad_coord(ks[w][l], [k0[w][l], k1[w][l]], xs[w][l]);
                }
            }
        }
        Some(sm) => {
            // As the agent path: perturbed gradients summed in s order.
            let sh = sm.sqrt_variance();
            for smp in 0..sm.samples {
                let words = rng::philox4x32_10_lanes(
                    c0,
                    c1,
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
            xs[w][l] = xv - T::tame(c.grad_step, gr[w][l]) - c.lambda_dt * (xv - ms[w][l])
                + c.noise * z[w][l];
            any_bad |= is_bad(xs[w][l]);
        }
    }
    any_bad
}

/// The earliest (step, agent) among a lane group's coordinates after step `n`,
/// and its value (the agent's first bad coordinate's). Lane `l` holds the `len[l]` coordinates (4; fewer in an
/// agent's last block when 4 does not divide d; none past the chunk's end) that
/// start at index `start[l]` of the chunk.
#[inline(always)]
fn first_bad(
    xs: &[[f32; LANES]; 4],
    start: &[usize; LANES],
    len: &[usize; LANES],
    n: u64,
    first: usize,
    d: usize,
) -> Bad {
    // Lane by lane, each lane's coordinates in order: of an agent's bad
    // values, the first coordinate's is kept (`earliest` keeps the first of
    // equals), however its blocks fall into groups.
    let mut bad: Bad = None;
    for l in 0..LANES {
        for w in 0..len[l] {
            if is_bad(xs[w][l]) {
                bad = earliest(bad, Some((n + 1, first + (start[l] + w) / d, xs[w][l])));
            }
        }
    }
    bad
}

/// A whole lane group's coordinate constants and indices in lane order:
/// `k0[w][l]`, `k1[w][l]` and `ks[w][l]` for coordinate `w` of lane `l`'s block
/// (0 where the block has fewer than 4 coordinates).
pub(super) struct GroupConsts {
    k0: [[f32; LANES]; 4],
    k1: [[f32; LANES]; 4],
    ks: [[usize; LANES]; 4],
}

/// The most entries of [`group_consts`]' table (1 KiB each, one per block a
/// whole group can start at: `blocks / gcd(LANES, blocks)` with `blocks =
/// ceil(d / 4)`): 4 MiB, passed for d above 16384 at the earliest, where each
/// agent's own coordinates take 64 KiB or more.
const MAX_GROUP_CONSTS: usize = 4096;

/// Greatest common divisor (Euclid); at least 1 when `a` is.
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The constants of every whole lane group, built once per engine so that a
/// step's gather copies none of them (two scalar stores per coordinate, which
/// the Euler step with interaction paid every step). A group of chunk-local
/// jobs `j0..j0 + LANES` depends only on its first block `j0 % blocks` (chunks
/// hold whole agents), a multiple of `gcd(LANES, blocks)` since `j0` is a
/// multiple of `LANES`: entry `(j0 % blocks) / gcd(LANES, blocks)`. Empty (every
/// group gathers) when the table would pass [`MAX_GROUP_CONSTS`] entries.
pub(super) fn group_consts(coord_consts: &[[f32; 2]]) -> Vec<GroupConsts> {
    let d = coord_consts.len();
    let (blocks, step) = (d.div_ceil(4), gcd(LANES, d.div_ceil(4)));
    if blocks / step > MAX_GROUP_CONSTS {
        return Vec::new();
    }
    (0..blocks)
        .step_by(step)
        .map(|b0| {
            let mut t = GroupConsts {
                k0: [[0.0; LANES]; 4],
                k1: [[0.0; LANES]; 4],
                ks: [[0; LANES]; 4],
            };
            for l in 0..LANES {
                let b = (b0 + l) % blocks;
                for w in 0..4 {
                    let k = 4 * b + w;
                    if k < d {
                        [t.k0[w][l], t.k1[w][l]] = coord_consts[k];
                        t.ks[w][l] = k;
                    }
                }
            }
            t
        })
        .collect()
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
    // Once per chunk: a division chain per group would cost a few cycles a unit.
    let table_step = gcd(LANES, blocks);
    for group in (0..jobs).step_by(LANES) {
        // Gather: lane l owns block b of local agent a.
        let mut c0 = [0u32; LANES];
        let mut c1 = [0u32; LANES];
        // Lane l's coordinates: `len[l]` of them from index `start[l]` of the chunk.
        let (mut start, mut len) = ([0usize; LANES], [0usize; LANES]);
        let mut xs = [[0.0f32; LANES]; 4];
        let mut ys = [[0.0f32; LANES]; 4];
        let mut ms = [[0.0f32; LANES]; 4];
        // The coordinate constants and indices (for potentials whose gradient
        // depends on the index): gathered for a group that is not whole,
        // from the engine's table for one that is.
        let mut k0 = [[0.0f32; LANES]; 4];
        let mut k1 = [[0.0f32; LANES]; 4];
        let mut ks = [[0usize; LANES]; 4];
        let lanes = LANES.min(jobs - group);
        let table = (lanes == LANES && !ctx.group_consts.is_empty())
            .then(|| &ctx.group_consts[(group % blocks) / table_step]);
        // Lane l is job group + l: block b of local agent a, stepped along
        // without a division per lane (with interaction this gather runs
        // every step).
        let (mut a, mut b) = (group / blocks, group % blocks);
        let mut run_mean = ((first + a) / n_agents) * d;
        // Lane l's block is copied through slices of its length `$len`: a
        // literal 4 for a whole block (all but an agent's last when 4 does not
        // divide d) unrolls with constant indices and no bounds check per
        // coordinate: 13% fewer instructions in an Euler step than indexing
        // each coordinate (docs/PERFORMANCE.md).
        macro_rules! gather {
            ($l:expr, $k:expr, $len:expr) => {{
                let (l, i, k) = ($l, start[$l], $k);
                let xb = &x[i..][..$len];
                for w in 0..$len {
                    xs[w][l] = xb[w];
                }
                if table.is_none() {
                    let consts = &ctx.coord_consts[k..][..$len];
                    for w in 0..$len {
                        [k0[w][l], k1[w][l]] = consts[w];
                        ks[w][l] = k + w;
                    }
                }
                if HOM {
                    let yb = &y[i..][..$len];
                    for w in 0..$len {
                        ys[w][l] = yb[w];
                    }
                }
                if !ctx.means.is_empty() {
                    let mb = &ctx.means[run_mean + k..][..$len];
                    for w in 0..$len {
                        ms[w][l] = mb[w];
                    }
                }
            }};
        }
        for l in 0..lanes {
            let g = first + a;
            c0[l] = b as u32;
            c1[l] = (ctx.base + g) as u32;
            (start[l], len[l]) = (a * d + 4 * b, (d - 4 * b).min(4));
            if len[l] == 4 {
                gather!(l, 4 * b, 4);
            } else {
                gather!(l, 4 * b, len[l]);
            }
            b += 1;
            if b == blocks {
                (a, b) = (a + 1, 0);
                run_mean = ((first + a) / n_agents) * d;
            }
        }

        // Copied, not borrowed: through a reference that may point at either,
        // the homogenized inner loop ran 8% slower (modelled).
        if let Some(t) = table {
            (k0, k1, ks) = (t.k0, t.k1, t.ks);
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
                    // The gradient and the update in separate loops: one loop
                    // would make each lane's chain of dependent operations as
                    // long as both, and the out-of-order window would hold
                    // fewer lanes' chains (+16% on the rough potential,
                    // with Box-Muller's loops cut likewise; docs/PERFORMANCE.md,
                    // "CPU, seventh round").
                    let mut gr = [[0.0f32; LANES]; 4];
                    for w in 0..4 {
                        for l in 0..LANES {
                            gr[w][l] = ctx.p.grad_coord(ks[w][l], [k0[w][l], k1[w][l]], ys[w][l]);
                        }
                    }
                    for w in 0..4 {
                        for l in 0..LANES {
                            let yv = ys[w][l];
                            let g = gr[w][l];
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
                any_bad = euler_lanes::<P, T>(ctx, &c0, &c1, n, &mut xs, &ms, &k0, &k1, &ks);
            }
            // Lanes without a coordinate hold 0, never bad: the exact search
            // runs only when some lane is.
            if any_bad && group_bad.is_none() {
                group_bad = first_bad(&xs, &start, &len, n, first, d);
            }
        }
        bad = earliest(bad, group_bad);

        // Scatter, unrolled for whole blocks as the gather.
        macro_rules! scatter {
            ($l:expr, $len:expr) => {{
                let (l, i) = ($l, start[$l]);
                let xb = &mut x[i..][..$len];
                for w in 0..$len {
                    xb[w] = xs[w][l];
                }
                if HOM {
                    let yb = &mut y[i..][..$len];
                    for w in 0..$len {
                        yb[w] = ys[w][l];
                    }
                }
            }};
        }
        for l in 0..lanes {
            if len[l] == 4 {
                scatter!(l, 4);
            } else {
                scatter!(l, len[l]);
            }
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The group of chunk-local jobs `j0..j0 + LANES` (`j0` a multiple of
    /// LANES) reads entry `(j0 % blocks) / gcd(LANES, blocks)`, as `lanes_path`
    /// does, and finds in lane `l` the constants and index of each coordinate of
    /// block `(j0 + l) % blocks` (zero past d): for groups over three agents' worth
    /// of blocks, with d whose block count divides 16, shares a factor with it,
    /// or is odd.
    #[test]
    fn group_consts_are_each_lanes_coordinates() {
        for d in [1usize, 3, 4, 8, 10, 22, 50, 64, 65] {
            let consts: Vec<[f32; 2]> = (0..d).map(|k| [k as f32, -(k as f32) - 0.5]).collect();
            let blocks = d.div_ceil(4);
            let table = group_consts(&consts);
            assert_eq!(table.len(), blocks / gcd(LANES, blocks), "d = {d}");
            for j0 in (0..3 * blocks * LANES).step_by(LANES) {
                let t = &table[(j0 % blocks) / gcd(LANES, blocks)];
                for l in 0..LANES {
                    let b = (j0 + l) % blocks;
                    for w in 0..4 {
                        let k = 4 * b + w;
                        let (want, want_k) = if k < d { (consts[k], k) } else { ([0.0; 2], 0) };
                        let at = format!("d = {d}, group at job {j0}, lane {l}, w {w}");
                        assert_eq!([t.k0[w][l], t.k1[w][l]], want, "{at}");
                        assert_eq!(t.ks[w][l], want_k, "{at}");
                    }
                }
            }
        }
    }

    /// A table of exactly 4096 entries is built (d = 4 x 65536: 65536 blocks, a
    /// multiple of 16, so 4096 entries); one of 4097 is not (d = 4 x 4097: 4097
    /// blocks, odd), and its groups gather.
    #[test]
    fn group_consts_has_a_bound() {
        assert_eq!(
            group_consts(&vec![[0.0; 2]; 4 * 65536]).len(),
            MAX_GROUP_CONSTS
        );
        assert!(group_consts(&vec![[0.0; 2]; 4 * 4097]).is_empty());
    }
}
