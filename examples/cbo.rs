//! Consensus-based optimisation of a potential of your own, given by its value
//! alone: no gradient, no trait to implement, a few lines.
//!
//! `cargo run --release --example cbo`

use sgld_swarm::config::CboNoise;
use sgld_swarm::potential::ValueFn;
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options};

fn main() -> sgld_swarm::Result<()> {
    // A bumpy bowl in 8 dimensions, a local minimum every 2/3 along each axis,
    // the global one at (0.5, ..., 0.5): sum (y^2 + 0.5 (1 - cos(3 pi y))) with
    // y = x - 0.5. No gradient needed.
    let d = 8;
    let bowl = ValueFn::new(d, |x| {
        x.iter()
            .map(|v| {
                let y = v - 0.5;
                y * y + 0.5 * (1.0 - (3.0 * std::f64::consts::PI * y).cos())
            })
            .sum()
    })
    .minimum(vec![0.5; d])
    .named("bumpy-bowl");

    // 20 independent runs of 100 agents from U[-3, 3]^d, 1000 steps.
    let ensemble = EnsembleConfig::new(20, 100, 1000)
        .seed(7)
        .init_uniform(-3.0, 3.0);
    // dt, lambda, sigma, alpha: the noise explores while the pull towards the
    // weighted mean at alpha = 1000 (about the best agent) gathers the swarm.
    let cbo = MethodConfig::cbo("CBO", 0.01, 1.0, 4.0, 1000.0).noise(CboNoise::Anisotropic);

    let mut swarm = Ensemble::with_potential(bowl, &ensemble, &cbo, Options::default())?;
    swarm.run()?;

    // Each run's consensus: its agents' mean (they have gathered).
    let x = swarm.positions()?;
    let mut worst = 0.0f64;
    for run in x.outer_iter() {
        let mean = run.mean_axis(ndarray::Axis(0)).expect("agents");
        let err = mean
            .iter()
            .map(|&v| (v as f64 - 0.5).abs())
            .fold(0.0, f64::max);
        worst = worst.max(err);
    }
    println!(
        "{} runs on {}: every run's consensus within {worst:.2e} of the minimum (max-norm)",
        x.shape()[0],
        swarm.device()
    );
    assert!(worst < 0.25, "a run missed the minimum by {worst}");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main().unwrap();
    }
}
