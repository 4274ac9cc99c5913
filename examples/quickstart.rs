//! Build an MF-HOM-SGLD ensemble in code, run it, and read the positions.
//!
//! `cargo run --release --example quickstart`

use ndarray::{Array3, Axis};
use sgld_swarm::diagnostics::Stat;
use sgld_swarm::potential::{Potential, Rough, Shift};
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, Taming};

fn main() -> Result<(), sgld_swarm::Error> {
    // The paper's rough potential in 10 dimensions, minimum at 0.
    let potential = Rough::new(0.01, Shift::zero(10));
    // 8 independent runs of 50 agents, 1000 outer steps, from U[-10, 10]^10.
    let ensemble = EnsembleConfig::new(8, 50, 1000)
        .seed(1)
        .init_uniform(-10.0, 10.0);
    // Algorithm 1 of the paper with its Figure 2 parameters.
    let method = MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 20)
        .lambda(3.0)
        .taming(Taming::Coordinate);

    let mut swarm =
        Ensemble::with_potential(potential.clone(), &ensemble, &method, Options::default())?;
    if let Some(note) = swarm.backend_note() {
        eprintln!("note: {note}");
    }
    swarm.run()?;

    let x: Array3<f32> = swarm.positions()?; // [runs, agents, dim]
    println!("positions: {:?}", x.shape());
    for (r, run) in x.axis_iter(Axis(0)).enumerate() {
        let best = run
            .axis_iter(Axis(0))
            .map(|agent| potential.distance(&agent.iter().map(|&v| v as f64).collect::<Vec<_>>()))
            .fold(f64::INFINITY, f64::min);
        println!("run {r}: best agent at distance {best:.3} from x* = 0");
    }
    let last = swarm.history().len() - 1;
    let best = swarm.history().over_runs(last, Stat::Best).unwrap();
    println!(
        "median over runs of the best distance: {:.3} (min {:.3}, max {:.3}); {:.2e} units/s",
        best.median,
        best.min,
        best.max,
        swarm.units_per_step() * swarm.step() as f64 / swarm.elapsed().as_secs_f64()
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
