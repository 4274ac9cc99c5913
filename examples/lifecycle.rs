//! A run's lifecycle from the library: an observer of your own that watches
//! every record, an annealing schedule of beta, a stopping rule for consensus,
//! and a checkpoint that a new ensemble resumes from, step for step the same as
//! if nothing had stopped it.
//!
//! `cargo run --release --example lifecycle`

use sgld_swarm::diagnostics::{OverRuns, RunStats, Stat};
use sgld_swarm::potential::{Ackley, Shift};
use sgld_swarm::{
    Ensemble, EnsembleConfig, MethodConfig, Observer, Options, Ramp, Ramped, StopRules, Taming,
};

/// Keeps the median over runs of the best value at each record.
#[derive(Default)]
struct BestTrace {
    trace: Vec<(u64, f64)>,
}

impl Observer for BestTrace {
    fn record(
        &mut self,
        step: u64,
        stats: &[RunStats],
        _positions: Option<&[f32]>,
    ) -> sgld_swarm::Result<()> {
        self.trace
            .push((step, OverRuns::of(stats, Stat::BestPhi).median));
        Ok(())
    }
}

fn main() -> Result<(), sgld_swarm::Error> {
    let potential = Ackley::new(Shift::new(vec![1.5; 4]));
    let ensemble = EnsembleConfig::new(4, 64, 3000)
        .seed(3)
        .record_every(50)
        .init_uniform(-5.0, 5.0);
    // Hot at first, ten times colder by the last step; the pull to the run's mean
    // grows from nothing.
    let method = MethodConfig::euler("annealed MF-SGLD", 0.01, 2.0)
        .ramp(Ramped::Beta, Ramp::geometric(20.0))
        .ramp(Ramped::Lambda, Ramp::linear(5.0))
        .taming(Taming::Coordinate);
    let consensus = StopRules {
        spread_below: Some(0.15),
        ..StopRules::default()
    };

    // Half of the run, then a checkpoint (as a crash would leave it).
    let dir = std::env::temp_dir().join(format!("sgld-swarm-lifecycle-{}", std::process::id()));
    let mut first =
        Ensemble::with_potential(potential.clone(), &ensemble, &method, Options::default())?;
    first.stop_when(consensus)?;
    let watch = first.observe(BestTrace::default())?;
    first.advance(1500)?;
    first.checkpoint(&dir)?;
    let seen = first
        .observer::<BestTrace>(watch)
        .expect("attached above")
        .trace
        .len();
    println!("{} records watched up to step {}", seen, first.step());

    // A new ensemble continues from the checkpoint...
    let mut resumed =
        Ensemble::with_potential(potential.clone(), &ensemble, &method, Options::default())?;
    resumed.resume_from(&dir)?;
    resumed.stop_when(consensus)?;
    resumed.run()?;
    // ...to the same positions as one that was never stopped.
    let mut whole = Ensemble::with_potential(potential, &ensemble, &method, Options::default())?;
    whole.stop_when(consensus)?;
    let watch = whole.observe(BestTrace::default())?;
    whole.run()?;
    assert_eq!(resumed.positions()?, whole.positions()?);
    assert_eq!(resumed.step(), whole.step());
    match whole.stopped() {
        Some(s) => println!(
            "consensus: stopped at step {} ({})",
            s.step,
            s.reason.name()
        ),
        None => println!("ran all {} steps", whole.step()),
    }
    let trace = &whole
        .observer::<BestTrace>(watch)
        .expect("attached above")
        .trace;
    let (step, best) = trace.last().expect("step 0 is recorded");
    println!(
        "median best value {best:.4} at step {step} ({} records)",
        trace.len()
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main().unwrap();
    }
}
