//! Stepping with state in and out: a staged run that cools down. The first
//! stage explores the Rastrigin landscape hot (beta = 0.05), and its runs'
//! means settle near the global minimum; the second starts from where the first
//! ended, cools to beta = 5 and pulls each agent harder toward its run's mean
//! (lambda = 5); the fast variable and the run
//! means are read on the way. The stream is addressed by (agent, step), so a
//! stage that starts from given positions draws exactly what it would have.
//!
//! `cargo run --release --example staged`

use sgld_swarm::diagnostics::Stat;
use sgld_swarm::potential::{Rastrigin, Shift};
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, Taming};

fn main() -> Result<(), sgld_swarm::Error> {
    // A built-in given as a value runs on the GPU when there is one.
    let potential = Rastrigin::new(Shift::zero(6));
    let ensemble = EnsembleConfig::new(8, 64, 1000)
        .seed(11)
        .init_normal(vec![3.0], vec![1.0]);
    let hot = MethodConfig::homogenized("HOM-SGLD hot", 0.01, 0.05, 0.05, 0.2, 10)
        .lambda(0.5)
        .taming(Taming::Coordinate);
    let mut first =
        Ensemble::with_potential(potential.clone(), &ensemble, &hot, Options::default())?;
    first.run()?;
    let x = first.positions()?;
    let y = first
        .fast_variable()?
        .expect("the homogenized scheme has Y");
    let means = first.run_means()?;
    println!(
        "stage 1 ({}): median agent {:.3} from x*, run 0's mean at {:.3} from 0",
        first.backend(),
        first.history().last(Stat::Median).unwrap().median,
        means.row(0).iter().map(|m| m * m).sum::<f64>().sqrt(),
    );

    // Stage 2: colder, a longer inner loop and a stronger pull, from stage 1's X
    // and Y. It starts
    // at step 0 again, so it takes another seed: with the same one it would
    // redraw stage 1's noise, step for step.
    let cold = MethodConfig::homogenized("HOM-SGLD cold", 0.01, 5.0, 0.05, 0.2, 20)
        .lambda(5.0)
        .taming(Taming::Coordinate);
    let next = ensemble.clone().seed(12);
    let mut second = Ensemble::with_potential(potential, &next, &cold, Options::default())?;
    second.set_state(x.view(), y.view())?;
    let start = second.history().last(Stat::Median).unwrap().median;
    second.run()?;
    println!(
        "stage 2: median agent {:.3} from x* at its start (stage 1's end), {:.3} after cooling",
        start,
        second.history().last(Stat::Median).unwrap().median,
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
