//! The paper's section 6.2 network as a potential: SGLD trains 8 parameter
//! vectors of the width-2, 128-layer Hamiltonian (Verlet) ResNet on the two
//! concentric ellipses (minibatches of 50 from stream domain 2), then the
//! ensemble's averaged prediction classifies new points.
//!
//!     cargo run --release --example ellipses        # about 10 s on 2 cores
//!
//! `STEPS`, `DT`, `BETA` and `INIT` (the half-width of the uniform initial
//! weights) override the defaults: 1500 steps of dt = 2 at beta = 1e4 from
//! U[-1, 1]. Weights of order 1 are needed at the start: near 0 every layer is
//! close to the identity and the gradient reaching the deep layers is small, so
//! SGLD stays at the majority class for thousands of steps.

use sgld_swarm::nn::data::{EllipsesConfig, generate};
use sgld_swarm::nn::loss::EllipsesLoss;
use sgld_swarm::nn::resnet::{Integrator, ResNet};
use sgld_swarm::{Backend, Ensemble, EnsembleConfig, MethodConfig, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (train, test) = generate(&EllipsesConfig {
        train: 500,
        test: 2000,
        noise: 0.0,
        seed: 1,
    })?;
    let net = ResNet::paper(Integrator::Verlet);
    let loss = EllipsesLoss::new(net, train, 50)?;
    let steps = std::env::var("STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    let agents = 8;
    let init: f64 = std::env::var("INIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let ensemble = EnsembleConfig::new(1, agents, steps)
        .seed(3)
        .record_every(steps)
        .init_uniform(-init, init);
    let dt: f64 = std::env::var("DT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let beta: f64 = std::env::var("BETA")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1e4);
    let method = MethodConfig::euler("SGLD", dt, beta);
    // A hardware GPU when there is one (the network's own kernels), else the CPU.
    let options = Options {
        backend: Backend::Auto,
        ..Options::default()
    };
    let mut swarm = Ensemble::with_network(loss.clone(), &ensemble, &method, options)?;
    println!("training on the {}: {}", swarm.backend(), swarm.device());
    let t = std::time::Instant::now();
    swarm.run()?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "trained {agents} agents for {steps} steps in {secs:.1} s: {:.2e} samples x agents per second through the gradient",
        (steps as usize * agents * loss.batch) as f64 / secs
    );
    let x = swarm.positions()?;
    let d = loss.net.params();
    let thetas: Vec<Vec<f64>> = (0..agents)
        .map(|a| (0..d).map(|k| x[[0, a, k]] as f64).collect())
        .collect();
    for (a, th) in thetas.iter().enumerate() {
        println!(
            "agent {a}: train loss {:.4}, train accuracy {:.3}, test accuracy {:.3}",
            sgld_swarm::potential::Potential::value(&loss, th),
            loss.accuracy(th, &loss.train),
            loss.accuracy(th, &test)
        );
    }
    // The ensemble's prediction: class probabilities averaged over the agents.
    let right = test
        .x
        .iter()
        .zip(&test.y)
        .filter(|(p, y)| {
            let mean1: f64 = thetas
                .iter()
                .map(|th| loss.net.predict(th, **p)[1])
                .sum::<f64>()
                / agents as f64;
            (mean1 > 0.5) as u8 == **y
        })
        .count();
    println!(
        "averaged prediction: test accuracy {:.3}",
        right as f64 / test.len() as f64
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main().unwrap();
    }
}
