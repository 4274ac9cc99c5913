//! The batch path, for potentials that want many agents' gradients at once
//! (`Potential::batched`: one evaluated in Python, say): step by step over a
//! chunk of agents, the gradients of all of them in one call
//! (`Potential::grad_batch_f32`), then each agent's update with the agent
//! path's own functions, so the two paths give the same bits for the same
//! gradients.

use super::*;

/// Steps `n0..n1` for the chunk of agents starting at global agent `first`.
pub(super) fn batch_path<P: Potential>(
    ctx: &Ctx<P>,
    x: &mut [f32],
    y: &mut [f32],
    first: usize,
    n0: u64,
    n1: u64,
) -> Bad {
    let d = ctx.shape.dim;
    let c = ctx.c;
    let count = x.len() / d;
    let mut z = vec![0.0f32; d.div_ceil(4) * 4];
    let mut grads = vec![0.0f32; x.len()];
    let mut sums = vec![0.0f32; if c.homogenized { x.len() } else { 0 }];
    // Smoothed schemes: the perturbed points and their gradients.
    let (mut xi, mut points, mut gs) = match c.smoothing {
        Some(_) => (
            vec![0.0f32; z.len()],
            vec![0.0f32; x.len()],
            vec![0.0f32; x.len()],
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let pull_of = |g: usize| ctx.targets.pull(g, ctx.shape);
    let mut bad: Bad = None;
    for n in n0..n1 {
        if c.homogenized {
            sums.fill(0.0);
            for m in 0..c.inner_len {
                ctx.p.grad_batch_f32(y, &mut grads);
                for a in 0..count {
                    let g = first + a;
                    let at = a * d..(a + 1) * d;
                    noise(&mut z, ctx.key, ctx.base + g, n, m);
                    let grad = &mut grads[at.clone()];
                    tame_all(c.taming, c.grad_step, grad);
                    inner_step(
                        &c,
                        &mut y[at.clone()],
                        &x[at.clone()],
                        grad,
                        &z,
                        m,
                        &mut sums[at],
                    );
                }
            }
            for a in 0..count {
                let at = a * d..(a + 1) * d;
                outer_from_average(&c, &mut x[at.clone()], &sums[at], pull_of(first + a));
            }
        } else {
            match c.smoothing {
                None => ctx.p.grad_batch_f32(x, &mut grads),
                Some(sm) => {
                    // g = (1/S) sum_s grad Phi(X + sqrt(h_n) xi_s), summed in s order.
                    let sh = sm.sqrt_variance();
                    grads.fill(0.0);
                    for smp in 0..sm.samples {
                        for a in 0..count {
                            let g = first + a;
                            rng::normals_into(
                                &mut xi,
                                ctx.key,
                                (ctx.base + g) as u32,
                                n as u32,
                                rng::DOMAIN_SMOOTHING,
                                smp,
                            );
                            for k in 0..d {
                                points[a * d + k] = x[a * d + k] + sh * xi[k];
                            }
                        }
                        ctx.p.grad_batch_f32(&points, &mut gs);
                        for (acc, v) in grads.iter_mut().zip(&gs) {
                            *acc += *v;
                        }
                    }
                    grads.iter_mut().for_each(|v| *v *= sm.inv_s);
                }
            }
            for a in 0..count {
                let g = first + a;
                let at = a * d..(a + 1) * d;
                noise(&mut z, ctx.key, ctx.base + g, n, 0);
                let grad = &mut grads[at.clone()];
                tame_all(c.taming, c.grad_step, grad);
                euler_step(&c, &mut x[at], grad, pull_of(g), &z);
            }
        }
        // The earliest (step, agent): the first step with a bad agent, and its
        // first agent.
        if bad.is_none() {
            bad = x.chunks_exact(d).enumerate().find_map(|(a, xa)| {
                xa.iter()
                    .copied()
                    .find(|&v| is_bad(v))
                    .map(|v| (n + 1, first + a, v))
            });
        }
    }
    bad
}
