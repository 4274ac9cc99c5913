//! The ResNet's minibatch gradient in f32 with the minibatch's samples in lanes:
//! `W` samples go through the layers together, so the compiler turns each line of
//! the forward and backward passes into SIMD instructions over samples (an
//! agent's weights are the same in every lane). Compiled for portable, AVX2 and
//! AVX-512F code without fused multiply-add, like the engine's lane path
//! (`src/engine/cpu/lanes.rs`), so every level gives the same bits.
//!
//! The arithmetic is [`ResNet::loss`]'s (the definition, in f64) in f32, with
//! `fastmath::tanh` for the activations and the classifier's gradient written as
//! `-ln p_label`'s: `d/d o_label = -q`, `d/d o_other = q`, `q = 1 / (1 +
//! exp(o_label - o_other))`, which keeps a confident sample's small gradient to
//! its relative precision (`p - onehot` would round it to a multiple of 2^-24).
//!
//! A minibatch is cut into groups of `W` samples in its order, the last padded
//! with copies of the group's first sample whose output gradient is zero (so they
//! add exact zeros). Each parameter's gradient is summed per lane over the groups,
//! then over the lanes in a fixed pairwise tree.
#![allow(
    clippy::needless_range_loop,
    reason = "lane loops index several arrays in step, as the engine's lane path"
)]

use super::resnet::{Integrator, ResNet};
use crate::engine::cpu::Simd;
use crate::fastmath::{exp, tanh};

/// Samples advanced together: two AVX2 registers or one AVX-512 register per
/// value, so that two independent chains hide the latency of `tanh`'s division.
/// A constant of the arithmetic (it fixes the order of the sums), not a tuning
/// knob of one instruction set.
pub const W: usize = 16;

type Lanes = [f32; W];

/// Buffers reused from one minibatch to the next on a thread: the forward pass's
/// states (`8 L` lane vectors for the Verlet network, `4 L` for Euler) and the
/// per-lane gradient sums (`6 L + 6`).
#[derive(Debug, Default)]
pub struct Scratch {
    trace: Vec<Lanes>,
    acc: Vec<Lanes>,
}

/// Writes the gradient of the mean cross-entropy over the samples `idx` of `(xs,
/// ys)` at the parameters `theta` into `g`, in f32 with `level`'s instructions
/// (every level gives the same bits; one this CPU lacks runs the portable build).
/// `theta` and `g` have `net.params()` values; `idx` is not empty and its entries
/// index `xs` and `ys`, whose labels are 0 or 1.
#[allow(clippy::too_many_arguments, reason = "one minibatch's inputs")]
pub fn gradient(
    level: Simd,
    net: &ResNet,
    theta: &[f32],
    xs: &[[f64; 2]],
    ys: &[u8],
    idx: &[usize],
    g: &mut [f32],
    scratch: &mut Scratch,
) {
    assert!(
        theta.len() == net.params() && g.len() == net.params() && !idx.is_empty(),
        "the network's gradient takes {} parameters and a minibatch",
        net.params()
    );
    // A level this CPU lacks runs the portable build (the same bits), so that no
    // caller can reach an instruction the CPU does not have.
    let level = if level.supported() {
        level
    } else {
        Simd::Portable
    };
    let args = Args {
        net,
        theta,
        xs,
        ys,
        idx,
    };
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level.supported()` checked above that the CPU has AVX-512F.
        Simd::Avx512 => unsafe { gradient_avx512(&args, g, scratch) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level.supported()` checked above that the CPU has AVX2.
        Simd::Avx2 => unsafe { gradient_avx2(&args, g, scratch) },
        _ => gradient_portable(&args, g, scratch),
    }
}

struct Args<'a> {
    net: &'a ResNet,
    theta: &'a [f32],
    xs: &'a [[f64; 2]],
    ys: &'a [u8],
    idx: &'a [usize],
}

/// Compiled for AVX2 (8 lanes per instruction); FMA stays off.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gradient_avx2(a: &Args, g: &mut [f32], scratch: &mut Scratch) {
    gradient_portable(a, g, scratch)
}

/// Compiled for AVX-512F (a lane group per register).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn gradient_avx512(a: &Args, g: &mut [f32], scratch: &mut Scratch) {
    gradient_portable(a, g, scratch)
}

#[inline(always)]
fn gradient_portable(a: &Args, g: &mut [f32], s: &mut Scratch) {
    let l = a.net.layers;
    let h = a.net.layer_step as f32;
    let verlet = a.net.scheme == Integrator::Verlet;
    let per_layer = if verlet { 8 } else { 4 };
    // Every state is written by the forward pass before the backward pass reads it.
    s.trace.resize(per_layer * l, [0.0; W]);
    s.acc.clear();
    s.acc.resize(6 * l + 6, [0.0; W]);
    let scale = 1.0 / a.idx.len() as f32;
    let head = &a.theta[6 * l..6 * l + 6];
    for group in a.idx.chunks(W) {
        let mut y0: Lanes = [0.0; W];
        let mut y1: Lanes = [0.0; W];
        // +1 for label 1, -1 for label 0; the sample's weight in the mean (0 for padding).
        let mut sign: Lanes = [0.0; W];
        let mut weight: Lanes = [0.0; W];
        for lane in 0..W {
            let (i, w) = match group.get(lane) {
                Some(&i) => (i, scale),
                None => (group[0], 0.0),
            };
            y0[lane] = a.xs[i][0] as f32;
            y1[lane] = a.xs[i][1] as f32;
            sign[lane] = if a.ys[i] == 1 { 1.0 } else { -1.0 };
            weight[lane] = w;
        }
        if verlet {
            forward_verlet(a.theta, h, &mut s.trace, &mut y0, &mut y1);
        } else {
            forward_euler(a.theta, h, &mut s.trace, &mut y0, &mut y1);
        }
        // The classifier softmax(W Y_L + c) and the gradient of -ln p_label.
        let (w0, w1, w2, w3, c0, c1) = (head[0], head[1], head[2], head[3], head[4], head[5]);
        let mut gy0: Lanes = [0.0; W];
        let mut gy1: Lanes = [0.0; W];
        let (acc_layers, acc_head) = s.acc.split_at_mut(6 * l);
        for i in 0..W {
            let o0 = (w0 * y0[i] + w1 * y1[i]) + c0;
            let o1 = (w2 * y0[i] + w3 * y1[i]) + c1;
            let q = 1.0 / (1.0 + exp(sign[i] * (o1 - o0)));
            let d0 = sign[i] * q * weight[i];
            let d1 = -d0;
            acc_head[0][i] += d0 * y0[i];
            acc_head[1][i] += d0 * y1[i];
            acc_head[2][i] += d1 * y0[i];
            acc_head[3][i] += d1 * y1[i];
            acc_head[4][i] += d0;
            acc_head[5][i] += d1;
            gy0[i] = w0 * d0 + w2 * d1;
            gy1[i] = w1 * d0 + w3 * d1;
        }
        if verlet {
            backward_verlet(a.theta, h, &s.trace, acc_layers, gy0, gy1);
        } else {
            backward_euler(a.theta, h, &s.trace, acc_layers, gy0, gy1);
        }
    }
    // The lanes' sums in a fixed tree: lane i gets lane i + half, halving.
    for (out, acc) in g.iter_mut().zip(&mut s.acc) {
        let mut half = W / 2;
        while half > 0 {
            for i in 0..half {
                acc[i] += acc[i + half];
            }
            half /= 2;
        }
        *out = acc[0];
    }
}

/// The layer `j`'s weights `(k0, k1, k2, k3, b0, b1)`.
#[inline(always)]
fn layer(theta: &[f32], j: usize) -> (f32, f32, f32, f32, f32, f32) {
    let k = &theta[6 * j..6 * j + 6];
    (k[0], k[1], k[2], k[3], k[4], k[5])
}

/// `Z_{j+1/2} = Z_{j-1/2} - h tanh(K_j^T Y_j + b_j)`, `Y_{j+1} = Y_j + h tanh(K_j
/// Z_{j+1/2} + b_j)`; the trace keeps `Y_j`, `Z_{j+1/2}` and both `tanh`s.
#[inline(always)]
fn forward_verlet(theta: &[f32], h: f32, trace: &mut [Lanes], y0: &mut Lanes, y1: &mut Lanes) {
    let mut z0: Lanes = [0.0; W];
    let mut z1: Lanes = [0.0; W];
    for (j, t) in trace.chunks_exact_mut(8).enumerate() {
        let (k0, k1, k2, k3, b0, b1) = layer(theta, j);
        let [ty0, ty1, tz0, tz1, tu0, tu1, tv0, tv1] = t else {
            unreachable!("chunks of 8")
        };
        for i in 0..W {
            let su0 = tanh((k0 * y0[i] + k2 * y1[i]) + b0);
            let su1 = tanh((k1 * y0[i] + k3 * y1[i]) + b1);
            z0[i] -= h * su0;
            z1[i] -= h * su1;
            let sv0 = tanh((k0 * z0[i] + k1 * z1[i]) + b0);
            let sv1 = tanh((k2 * z0[i] + k3 * z1[i]) + b1);
            ty0[i] = y0[i];
            ty1[i] = y1[i];
            tz0[i] = z0[i];
            tz1[i] = z1[i];
            tu0[i] = su0;
            tu1[i] = su1;
            tv0[i] = sv0;
            tv1[i] = sv1;
            y0[i] += h * sv0;
            y1[i] += h * sv1;
        }
    }
}

/// Backpropagation through [`forward_verlet`] from `gy = dLoss/dY_L`, adding each
/// layer's parameter gradients into `acc` (6 per layer).
#[inline(always)]
fn backward_verlet(
    theta: &[f32],
    h: f32,
    trace: &[Lanes],
    acc: &mut [Lanes],
    mut gy0: Lanes,
    mut gy1: Lanes,
) {
    let mut gz0: Lanes = [0.0; W];
    let mut gz1: Lanes = [0.0; W];
    for (j, (t, ga)) in trace
        .chunks_exact(8)
        .zip(acc.chunks_exact_mut(6))
        .enumerate()
        .rev()
    {
        let (k0, k1, k2, k3, _, _) = layer(theta, j);
        // Copies: the vectoriser then sees that nothing below aliases.
        let [ty0, ty1, tz0, tz1, tu0, tu1, tv0, tv1] =
            [t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]];
        let mut d = [[0.0f32; W]; 6];
        for i in 0..W {
            // Y_{j+1} = Y_j + h tanh(K_j Z_{j+1/2} + b_j).
            let dv0 = h * gy0[i] * ((1.0 - tv0[i]) * (1.0 + tv0[i]));
            let dv1 = h * gy1[i] * ((1.0 - tv1[i]) * (1.0 + tv1[i]));
            gz0[i] += k0 * dv0 + k2 * dv1;
            gz1[i] += k1 * dv0 + k3 * dv1;
            // Z_{j+1/2} = Z_{j-1/2} - h tanh(K_j^T Y_j + b_j).
            let du0 = -h * gz0[i] * ((1.0 - tu0[i]) * (1.0 + tu0[i]));
            let du1 = -h * gz1[i] * ((1.0 - tu1[i]) * (1.0 + tu1[i]));
            d[0][i] = dv0 * tz0[i] + ty0[i] * du0;
            d[1][i] = dv0 * tz1[i] + ty0[i] * du1;
            d[2][i] = dv1 * tz0[i] + ty1[i] * du0;
            d[3][i] = dv1 * tz1[i] + ty1[i] * du1;
            d[4][i] = dv0 + du0;
            d[5][i] = dv1 + du1;
            gy0[i] += k0 * du0 + k1 * du1;
            gy1[i] += k2 * du0 + k3 * du1;
        }
        add_layer(ga, &d);
    }
}

/// `acc[p] += d[p]`, lane by lane, for a layer's 6 parameters.
#[inline(always)]
fn add_layer(acc: &mut [Lanes], d: &[Lanes; 6]) {
    for (a, d) in acc.iter_mut().zip(d) {
        for i in 0..W {
            a[i] += d[i];
        }
    }
}

/// `Y_{j+1} = Y_j + h tanh(K_j Y_j + b_j)`; the trace keeps `Y_j` and the `tanh`.
#[inline(always)]
fn forward_euler(theta: &[f32], h: f32, trace: &mut [Lanes], y0: &mut Lanes, y1: &mut Lanes) {
    for (j, t) in trace.chunks_exact_mut(4).enumerate() {
        let (k0, k1, k2, k3, b0, b1) = layer(theta, j);
        let [ty0, ty1, ts0, ts1] = t else {
            unreachable!("chunks of 4")
        };
        for i in 0..W {
            let s0 = tanh((k0 * y0[i] + k1 * y1[i]) + b0);
            let s1 = tanh((k2 * y0[i] + k3 * y1[i]) + b1);
            ty0[i] = y0[i];
            ty1[i] = y1[i];
            ts0[i] = s0;
            ts1[i] = s1;
            y0[i] += h * s0;
            y1[i] += h * s1;
        }
    }
}

/// Backpropagation through [`forward_euler`].
#[inline(always)]
fn backward_euler(
    theta: &[f32],
    h: f32,
    trace: &[Lanes],
    acc: &mut [Lanes],
    mut gy0: Lanes,
    mut gy1: Lanes,
) {
    for (j, (t, ga)) in trace
        .chunks_exact(4)
        .zip(acc.chunks_exact_mut(6))
        .enumerate()
        .rev()
    {
        let (k0, k1, k2, k3, _, _) = layer(theta, j);
        let [ty0, ty1, ts0, ts1] = [t[0], t[1], t[2], t[3]];
        let mut d = [[0.0f32; W]; 6];
        for i in 0..W {
            let da0 = h * gy0[i] * ((1.0 - ts0[i]) * (1.0 + ts0[i]));
            let da1 = h * gy1[i] * ((1.0 - ts1[i]) * (1.0 + ts1[i]));
            d[0][i] = da0 * ty0[i];
            d[1][i] = da0 * ty1[i];
            d[2][i] = da1 * ty0[i];
            d[3][i] = da1 * ty1[i];
            d[4][i] = da0;
            d[5][i] = da1;
            gy0[i] += k0 * da0 + k2 * da1;
            gy1[i] += k1 * da0 + k3 * da1;
        }
        add_layer(ga, &d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::PhiloxRng;
    use rand_core::Rng;

    fn normal(r: &mut PhiloxRng) -> f64 {
        let u = |r: &mut PhiloxRng| (r.next_u32() >> 8) as f64 / 16_777_216.0 + 1e-9;
        (-2.0 * u(r).ln()).sqrt() * (std::f64::consts::TAU * u(r)).cos()
    }

    /// The paper's depth and step, random weights of sd 0.7 (layers neither
    /// saturated nor trivial), 200 points of two classes, and minibatches with
    /// repeats of 1, 7, 16, 50 (padded lanes) and 64 samples.
    fn case(scheme: Integrator, seed: u32) -> (ResNet, Vec<f32>, Vec<[f64; 2]>, Vec<u8>) {
        let net = ResNet::paper(scheme);
        let mut r = PhiloxRng::new(21, seed);
        let theta = (0..net.params())
            .map(|_| (0.7 * normal(&mut r)) as f32)
            .collect();
        let xs = (0..200)
            .map(|_| [normal(&mut r), 1.5 * normal(&mut r)])
            .collect();
        let ys = (0..200).map(|_| (r.next_u32() & 1) as u8).collect();
        (net, theta, xs, ys)
    }

    fn minibatch(r: &mut PhiloxRng, len: usize) -> Vec<usize> {
        (0..len).map(|_| r.next_u32() as usize % 200).collect()
    }

    /// The f32 lanes against the definition, `ResNet::loss` in f64 at the same
    /// (f32) parameters, entry by entry, relative to the scale of the entry's
    /// layer: the largest over the layer's 6 parameters of the mean over the
    /// minibatch of the absolute per-sample gradients. Per sample, not of the sum,
    /// because a sum of terms of both signs cancels below the rounding of its
    /// terms; per layer, because an entry `da_a y_b` with `y_b` crossing zero is
    /// small beside the rounding of `y`, which is relative to the whole state.
    /// Each sample's gradient passes through 2 L = 256 layers of about 20 f32
    /// roundings (2^-24 each) and 4 tanh (5e-7 each), amplified by the network's
    /// conditioning (forward Euler with weights of sd 0.7 grows perturbations by
    /// about e^(L h 0.7) = 90): 256 x 20 x 6e-8 x 90 = 3e-2 if every error added
    /// up in one direction; independent, about the square root of the count,
    /// 3e-4, the bound asserted. Measured: 2.8e-5 (Euler, one sample), below 1e-6
    /// for a minibatch of 7 or more; a wrong sign or term anywhere in the
    /// backward pass moves an entry by its whole size.
    #[test]
    fn lanes_match_the_f64_definition() {
        let mut worst = 0.0f64;
        for (seed, scheme) in [Integrator::Verlet, Integrator::Euler]
            .into_iter()
            .enumerate()
        {
            let (net, theta, xs, ys) = case(scheme, seed as u32);
            let t64: Vec<f64> = theta.iter().map(|&v| v as f64).collect();
            let p = net.params();
            let mut r = PhiloxRng::new(22, seed as u32);
            for len in [1, 7, 16, 50, 64] {
                let idx = minibatch(&mut r, len);
                let mut g = vec![0.0f32; p];
                gradient(
                    Simd::Portable,
                    &net,
                    &theta,
                    &xs,
                    &ys,
                    &idx,
                    &mut g,
                    &mut Scratch::default(),
                );
                let mut want = vec![0.0f64; p];
                net.loss(&t64, &xs, &ys, &idx, Some(&mut want));
                let mut own = vec![0.0f64; p];
                let mut one = vec![0.0f64; p];
                for &i in &idx {
                    net.loss(&t64, &xs, &ys, &[i], Some(&mut one));
                    for k in 0..p {
                        own[k] += one[k].abs() / len as f64;
                    }
                }
                for k in 0..p {
                    let layer = &own[k / 6 * 6..k / 6 * 6 + 6];
                    let scale = layer.iter().fold(0.0f64, |m, &v| m.max(v));
                    let err = (g[k] as f64 - want[k]).abs() / scale;
                    worst = worst.max(err);
                    assert!(
                        scale > 0.0 && err < 3e-4,
                        "{scheme:?}, batch {len}, parameter {k}: lanes {} vs definition {} \
                         (the layer's scale {scale:e})",
                        g[k],
                        want[k],
                    );
                }
            }
        }
        assert!(
            worst > 0.0,
            "f32 and f64 agreed to the bit: is the f64 path run?"
        );
    }

    /// Every instruction set this CPU has gives the portable build's bits (no
    /// multiply-add is fused, and the sums' order is fixed by `W`), and one
    /// scratch reused over networks and minibatches of other sizes changes
    /// nothing.
    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let mut scratch = Scratch::default();
        for (seed, scheme) in [Integrator::Euler, Integrator::Verlet]
            .into_iter()
            .enumerate()
        {
            let (net, theta, xs, ys) = case(scheme, 10 + seed as u32);
            let mut r = PhiloxRng::new(23, seed as u32);
            for len in [3, 33] {
                let idx = minibatch(&mut r, len);
                let run = |level: Simd, scratch: &mut Scratch| {
                    let mut g = vec![0.0f32; net.params()];
                    gradient(level, &net, &theta, &xs, &ys, &idx, &mut g, scratch);
                    g.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                };
                let want = run(Simd::Portable, &mut Scratch::default());
                for level in Simd::ALL.into_iter().filter(|l| l.supported()) {
                    assert_eq!(
                        run(level, &mut scratch),
                        want,
                        "{scheme:?}, batch {len}, {}",
                        level.name()
                    );
                }
            }
        }
    }

    /// A NaN weight gives a NaN gradient (the engine's divergence check sees it),
    /// and the padding of a short group adds exact zeros: a minibatch of one
    /// sample equals the same sample's gradient computed with the group full of
    /// copies of it, divided by W. Both integrators.
    #[test]
    fn nan_propagates_and_padding_adds_nothing() {
        for (seed, scheme) in [Integrator::Verlet, Integrator::Euler]
            .into_iter()
            .enumerate()
        {
            let (net, mut theta, xs, ys) = case(scheme, 30 + seed as u32);
            let p = net.params();
            let mut one = vec![0.0f32; p];
            let mut full = vec![0.0f32; p];
            let mut s = Scratch::default();
            gradient(
                Simd::Portable,
                &net,
                &theta,
                &xs,
                &ys,
                &[5],
                &mut one,
                &mut s,
            );
            gradient(
                Simd::Portable,
                &net,
                &theta,
                &xs,
                &ys,
                &[5; W],
                &mut full,
                &mut s,
            );
            for k in 0..p {
                // Every lane of `full` holds the same value v / W (the scale 1/W is
                // a power of two, exact), and the tree adds W equal values:
                // exactly v.
                assert_eq!(
                    one[k].to_bits(),
                    full[k].to_bits(),
                    "{scheme:?} parameter {k}"
                );
            }
            theta[6 * 40 + 1] = f32::NAN;
            gradient(
                Simd::Portable,
                &net,
                &theta,
                &xs,
                &ys,
                &[5, 6],
                &mut one,
                &mut s,
            );
            assert!(
                one.iter().any(|v| v.is_nan()),
                "{scheme:?}: a NaN weight must show"
            );
        }
    }
}
