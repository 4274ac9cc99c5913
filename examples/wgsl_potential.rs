//! Your own potential on the GPU: the same function in Rust (for the CPU engine
//! and the diagnostics) and in WGSL (for the GPU kernels). Runs on a GPU when
//! there is one, on the CPU otherwise, and says which.
//!
//! `cargo run --release --example wgsl_potential`

use sgld_swarm::diagnostics::Stat;
use sgld_swarm::potential::Potential;
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, Taming};

/// A tilted double well in every coordinate, `sum_k 0.25 (x_k^2 - 1)^2 - 0.2 x_k`.
struct Tilted {
    dim: usize,
}

/// The minimiser of one coordinate: the largest root of x^3 - x - 0.2.
const X_STAR: f64 = 1.088_033_645_454_979_6;

impl Potential for Tilted {
    fn dim(&self) -> usize {
        self.dim
    }
    fn value(&self, x: &[f64]) -> f64 {
        x.iter()
            .map(|v| 0.25 * (v * v - 1.0).powi(2) - 0.2 * v)
            .sum()
    }
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for (gk, v) in g.iter_mut().zip(x) {
            *gk = v * (v * v - 1.0) - 0.2;
        }
    }
    fn separable(&self) -> bool {
        true
    }
    fn grad_coord(&self, _k: usize, _c: [f32; 2], v: f32) -> f32 {
        v * (v * v - 1.0) - 0.2
    }
    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![vec![X_STAR; self.dim]]
    }
}

/// The WGSL twin. A separable module defines `SEPARABLE = true` and `grad_coord`
/// (`k` the coordinate, `c` its `coord_consts(k)` of the Rust potential); a non-separable one defines
/// `SEPARABLE = false` and `potential_grad(x, g)` over `array<f32, DIM>`.
const TILTED_WGSL: &str = r#"
const SEPARABLE: bool = true;

fn grad_coord(k: u32, c: vec2<f32>, v: f32) -> f32 {
    return v * (v * v - 1.0) - 0.2;
}
"#;

fn main() -> Result<(), sgld_swarm::Error> {
    let ensemble = EnsembleConfig::new(16, 1024, 3000)
        .seed(2)
        .init_uniform(-2.0, 0.0);
    // Started in the shallower left well: beta = 4 lets agents cross the barrier.
    let method =
        MethodConfig::homogenized("HOM-SGLD", 0.01, 4.0, 0.1, 0.2, 10).taming(Taming::Coordinate);
    let mut e = Ensemble::with_wgsl_potential(
        Tilted { dim: 8 },
        TILTED_WGSL,
        &ensemble,
        &method,
        Options::default(),
    )?;
    if let Some(note) = e.backend_note() {
        eprintln!("note: {note}");
    }
    e.run()?;
    let last = e.history().len() - 1;
    println!(
        "{} on {}: distance to x* of the best agent {:.3}, of the median agent {:.3} \
         (medians over {} runs)",
        method.name,
        e.device(),
        e.history().over_runs(last, Stat::Best).unwrap().median,
        e.history().over_runs(last, Stat::Median).unwrap().median,
        ensemble.runs
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
