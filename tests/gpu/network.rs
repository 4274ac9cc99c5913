//! The network of Figure 3 on the GPU against the CPU: its minibatch gradient,
//! training with every method the GPU runs, and divergence reports.

use super::*;

/// A 4-layer Verlet network on 50 training points, minibatches of 10: small
/// enough for a few steps on a software adapter.
pub(super) fn small_loss() -> sgld_swarm::nn::loss::EllipsesLoss {
    use sgld_swarm::nn::data::{EllipsesConfig, generate};
    use sgld_swarm::nn::loss::EllipsesLoss;
    use sgld_swarm::nn::resnet::{Integrator, ResNet};
    let (train, _) = generate(&EllipsesConfig {
        train: 50,
        test: 1,
        noise: 0.0,
        seed: 6,
    })
    .unwrap();
    let net = ResNet {
        scheme: Integrator::Verlet,
        layers: 4,
        layer_step: 0.4,
    };
    EllipsesLoss::new(net, train, 10).unwrap()
}

/// The network's GPU engine reports a divergence as the CPU engine does, from
/// the same device-side flags as the step kernels: the earliest step and, at
/// that step, the first agent. The mean-field pull with `lambda dt = 3` doubles
/// each agent's distance from its run mean every step, and the noise
/// (`sqrt(2 dt / beta) = 1000`) sets those distances, the same draws on both
/// engines; the gradient (of order 1, f32 on both, summed in other orders) moves them by
/// nothing the 2^50-fold growth to the limit of 1e20 could reorder.
#[test]
fn network_divergence_names_the_same_step_and_agent() {
    use sgld_swarm::{Ensemble, EnsembleConfig, Error, MethodConfig};
    let Some(_ctx) = context() else { return };
    let loss = small_loss();
    let e = EnsembleConfig::new(2, 5, 200)
        .seed(3)
        .init_uniform(-1.0, 1.0);
    for m in [
        MethodConfig::euler("MF-SGLD", 2.0, 4e-6).lambda(1.5),
        MethodConfig::homogenized("MF-HOM-SGLD", 2.0, 4e-6, 1.0, 10.0, 3).lambda(1.5),
    ] {
        let fail = |options| {
            let mut ens = Ensemble::with_network(loss.clone(), &e, &m, options).unwrap();
            match ens.run() {
                Err(Error::Diverged {
                    run, agent, step, ..
                }) => (run, agent, step),
                other => panic!("{}: expected a divergence, got {other:?}", m.name),
            }
        };
        let cpu = fail(cpu_options());
        assert!(cpu.2 > 16, "{}: diverged at step {} already", m.name, cpu.2);
        assert_eq!(cpu, fail(gpu_options()), "{}", m.name);
    }
}

/// The ResNet's minibatch loss and gradient on the GPU against the CPU's (f64),
/// for both discretizations of the paper's 128-layer network and a 13-layer
/// Verlet network (the chunked reduction's last chunk then holds 5 layers of 8),
/// with each version of the kernel, and a minibatch of
/// 100 (two rounds of the kernel's 64 invocations), three agents with random
/// weights of order 1. The GPU works in f32 and sums in another order: over 128
/// layers the relative rounding grows to about 128 x 6e-8 = 1e-5 of the
/// gradient's scale, and WGSL's `tanh` (the spec bounds it through `exp`, a few
/// ulp for these arguments) adds about as much again per layer: 1e-4. Each
/// entry is held to 1e-4 of its own scale, the mean over the minibatch of the
/// absolute per-sample gradients (what the rounding is relative to), not of the
/// largest entry: entries span 5e-5 to 0.5 here, so a scale shared by all would
/// let the small ones be wrong by their whole size. On lavapipe the largest
/// error is 1.8e-6 of its own scale. The minibatches must be the same draws: a
/// wrong index would move the loss by far more than that.
#[test]
fn resnet_gradient_matches_the_cpu() {
    use sgld_swarm::gpu::resnet::{NetKernel, ResNetGrad};
    use sgld_swarm::nn::data::{EllipsesConfig, generate};
    use sgld_swarm::nn::loss::EllipsesLoss;
    use sgld_swarm::nn::resnet::{Integrator, ResNet};
    use sgld_swarm::potential::{Draw, Potential};
    let Some(ctx) = context() else { return };
    let ctx = std::sync::Arc::new(ctx);
    let (train, _) = generate(&EllipsesConfig {
        train: 300,
        test: 1,
        noise: 0.05,
        seed: 4,
    })
    .unwrap();
    let nets = [
        ResNet::paper(Integrator::Verlet),
        ResNet::paper(Integrator::Euler),
        ResNet {
            layers: 13,
            ..ResNet::paper(Integrator::Verlet)
        },
    ];
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mut chunked_bits = None;
    for (net, kernel) in nets.into_iter().flat_map(|n| {
        [
            (n, NetKernel::Chunked),
            (n, NetKernel::Staged),
            (n, NetKernel::Trace),
            (n, NetKernel::Tree),
        ]
    }) {
        let scheme = (net.scheme, net.layers, kernel);
        let loss = EllipsesLoss::new(net, train.clone(), 100).unwrap();
        let p = loss.dim();
        let mut r = sgld_swarm::rng::PhiloxRng::new(5, 0);
        let thetas: Vec<f32> = (0..3 * p)
            .map(|_| {
                use rand_core::Rng;
                (r.next_u32() >> 8) as f32 / 16_777_216.0 * 2.0 - 1.0
            })
            .collect();
        let draw = Draw {
            key: [7, 8],
            agent: 10,
            step: 3,
            sub: 2,
        };
        let gpu = ResNetGrad::with_kernel(ctx.clone(), &loss, kernel).unwrap();
        let (g, l) = gpu.gradients(&thetas, draw).unwrap();
        // Staging the parameters, loading ahead and keeping the trace in a
        // storage buffer change where values come from, not the arithmetic:
        // the same bits as the chunked kernel. (WGSL
        // lets a driver fuse multiply-adds; one that fused the two versions
        // differently would fail here, which is the point: the docs say they
        // give the same bits.)
        match kernel {
            NetKernel::Chunked => chunked_bits = Some((bits(&g), bits(&l))),
            NetKernel::Staged | NetKernel::Trace => assert_eq!(
                chunked_bits.as_ref(),
                Some(&(bits(&g), bits(&l))),
                "{scheme:?}: {} and chunked differ",
                kernel.name()
            ),
            NetKernel::Tree => {}
        }
        for a in 0..3 {
            let d = Draw {
                agent: draw.agent + a as u32,
                ..draw
            };
            let theta = &thetas[a * p..(a + 1) * p];
            let mut cpu = vec![0.0f32; p];
            // The f64 definition (the CPU engine's own f32 lanes are checked
            // against it in src/nn/lanes.rs).
            loss.grad_minibatch_f64(theta, &mut cpu, d);
            let mut idx = Vec::new();
            loss.minibatch(d, &mut idx);
            let t64: Vec<f64> = theta.iter().map(|&v| v as f64).collect();
            let cpu_loss = loss
                .net
                .loss(&t64, &loss.train.x, &loss.train.y, &idx, None);
            assert!(
                (l[a] as f64 - cpu_loss).abs() < 1e-4 * cpu_loss.max(1.0),
                "{scheme:?} agent {a}: loss GPU {} vs CPU {cpu_loss}",
                l[a]
            );
            let own = own_gradient_scales(&loss, &t64, &idx);
            for k in 0..p {
                let (gg, cc) = (g[a * p + k], cpu[k]);
                let tol = 1e-4 * own[k];
                assert!(
                    own[k] > 0.0 && ((gg - cc).abs() as f64) <= tol,
                    "{scheme:?} agent {a} parameter {k}: GPU {gg} vs CPU {cc}, tolerance {tol:e} \
                     (1e-4 of the entry's own scale {:e})",
                    own[k]
                );
            }
        }
    }
}

/// For each parameter, the mean over the minibatch `idx` of the absolute value of
/// the per-sample gradients of the loss (f64): the scale that the f32 rounding of
/// that entry of the minibatch gradient is relative to.
fn own_gradient_scales(
    loss: &sgld_swarm::nn::loss::EllipsesLoss,
    theta: &[f64],
    idx: &[usize],
) -> Vec<f64> {
    let p = theta.len();
    let mut own = vec![0.0f64; p];
    let mut gs = vec![0.0f64; p];
    for &i in idx {
        loss.net
            .loss(theta, &loss.train.x, &loss.train.y, &[i], Some(&mut gs));
        for k in 0..p {
            own[k] += gs[k].abs() / idx.len() as f64;
        }
    }
    own
}

/// `gradients_repeated` (the benchmark's calls on the device, one submit) gives
/// the last call's gradients and losses, bit for bit those of one call at that
/// step; and a different step draws a different minibatch (so that the check
/// could fail).
#[test]
fn repeated_resnet_gradients_are_the_last_calls() {
    use sgld_swarm::gpu::resnet::ResNetGrad;
    use sgld_swarm::potential::Draw;
    let Some(ctx) = context() else { return };
    let loss = small_loss();
    let p = loss.net.params();
    let thetas: Vec<f32> = (0..2 * p)
        .map(|i| ((i * 37) % 17) as f32 / 8.0 - 1.0)
        .collect();
    let gpu = ResNetGrad::new(std::sync::Arc::new(ctx), &loss).unwrap();
    let draw = Draw {
        key: [3, 4],
        agent: 5,
        step: 6,
        sub: 0,
    };
    let repeated = gpu.gradients_repeated(&thetas, draw, 3).unwrap();
    let last = gpu.gradients(&thetas, Draw { step: 8, ..draw }).unwrap();
    let first = gpu.gradients(&thetas, draw).unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&repeated.0), bits(&last.0), "gradients");
    assert_eq!(bits(&repeated.1), bits(&last.1), "losses");
    assert_ne!(
        bits(&first.0),
        bits(&last.0),
        "steps 6 and 8 drew the same minibatches"
    );
}

/// The network trained on the GPU engine against the CPU engine: the same
/// initial weights, minibatches and noise, so after 3 outer steps the positions
/// differ only by the gradient's rounding (f32 on both, summed in other orders and
/// with other tanh: about 1e-6 of the gradient's scale per step, seen up to 5e-7
/// here against the f64 gradient the CPU engine used before). 1e-4 absolute on
/// weights of order 1 allows for growth through the steps, and a wrong minibatch,
/// noise draw or mean moves them by 1e-2 or more (the check below that they
/// moved). SGLD and MF-SGLD, HOM-SGLD and MF-HOM-SGLD, both discretizations,
/// coordinate taming on one; 2 runs of 3 agents on a 16-layer network. The step
/// sizes keep each scheme stable: with lambda dt > 2 the mean-field pull
/// overshoots, and the two engines' roundings part exponentially.
#[test]
fn network_training_matches_the_cpu() {
    use sgld_swarm::nn::data::{EllipsesConfig, generate};
    use sgld_swarm::nn::loss::EllipsesLoss;
    use sgld_swarm::nn::resnet::{Integrator, ResNet};
    use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Taming};
    let Some(_ctx) = context() else { return };
    let (train, _) = generate(&EllipsesConfig {
        train: 200,
        test: 1,
        noise: 0.0,
        seed: 6,
    })
    .unwrap();
    let e = EnsembleConfig::new(2, 3, 3)
        .seed(8)
        .record_every(1)
        .init_uniform(-1.0, 1.0);
    for scheme in [Integrator::Verlet, Integrator::Euler] {
        let loss = EllipsesLoss::new(
            ResNet {
                scheme,
                layers: 16,
                layer_step: 0.4,
            },
            train.clone(),
            40,
        )
        .unwrap();
        for m in [
            MethodConfig::euler("SGLD", 2.0, 1e4),
            MethodConfig::euler("MF-SGLD", 2.0, 1e4)
                .lambda(0.5)
                .taming(Taming::Coordinate),
            MethodConfig::homogenized("HOM-SGLD", 2.0, 1e4, 1.0, 10.0, 3),
            MethodConfig::homogenized("MF-HOM-SGLD", 2.0, 1e4, 1.0, 10.0, 3).lambda(0.2),
        ] {
            let run = |options| {
                let mut ens = Ensemble::with_network(loss.clone(), &e, &m, options).unwrap();
                ens.run().unwrap();
                (ens.positions().unwrap(), ens.backend(), ens.history().len())
            };
            let (g, gb, gh) = run(gpu_options());
            let (c, cb, ch) = run(cpu_options());
            assert_eq!((gb, cb), ("gpu", "cpu"));
            assert_eq!(gh, ch, "records");
            let worst = g
                .iter()
                .zip(c.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst < 1e-4,
                "{scheme:?} {}: largest difference {worst}",
                m.name
            );
            // The test can fail: the weights moved.
            let start = Ensemble::with_network(loss.clone(), &e, &m, cpu_options()).unwrap();
            let x0 = start.positions().unwrap();
            let moved = x0
                .iter()
                .zip(c.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(moved > 1e-2, "{scheme:?} {}: moved only {moved}", m.name);
        }
    }
    // What the network's GPU engine does not run is refused on the GPU, by name.
    let loss = EllipsesLoss::new(ResNet::paper(Integrator::Verlet), train, 10).unwrap();
    for (m, expected) in [
        (
            MethodConfig::euler("SGLD norm", 0.1, 1e4).taming(Taming::Norm),
            "norm taming",
        ),
        (
            MethodConfig::smoothed("SMOOTHED", 0.1, 1e4, 0.1, 2),
            "the smoothed scheme",
        ),
    ] {
        match Ensemble::with_network(loss.clone(), &e, &m, gpu_options()) {
            Err(sgld_swarm::Error::Unsupported(sgld_swarm::Unsupported::NetworkOnGpu { what })) => {
                assert_eq!(what, expected)
            }
            other => panic!("{}: expected NetworkOnGpu, got {:?}", m.name, other.err()),
        }
    }
}
