//! Bring your own potential: a tilted double well with a narrow global minimum,
//! and the four methods of the paper on it.
//!
//! `cargo run --release --example custom_potential`

use sgld_swarm::diagnostics::Stat;
use sgld_swarm::potential::Potential;
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, Taming};

/// `Phi(x) = sum_k 0.5 (x_k^2 - 1)^2 - 0.3 x_k + 0.5 exp(-20 (x_k - 1)^2) sin^2(20 x_k)`:
/// a separable landscape with a shallow left well and a deeper right well that is
/// covered in ripples.
#[derive(Clone)]
struct RippledWell {
    dim: usize,
    /// The global minimiser of one coordinate, found once on a fine grid.
    minimiser: f64,
}

impl RippledWell {
    fn new(dim: usize) -> Self {
        let mut p = Self {
            dim,
            minimiser: 0.0,
        };
        let mut best = f64::INFINITY;
        for i in 0..=400_000 {
            let x = -2.0 + 4.0 * i as f64 / 400_000.0;
            let v = p.value(&[x]);
            if v < best {
                (best, p.minimiser) = (v, x);
            }
        }
        p
    }
}

impl Potential for RippledWell {
    fn dim(&self) -> usize {
        self.dim
    }

    fn value(&self, x: &[f64]) -> f64 {
        x.iter()
            .map(|&v| {
                let r = (20.0 * v).sin();
                0.5 * (v * v - 1.0).powi(2) - 0.3 * v
                    + 0.5 * (-20.0 * (v - 1.0).powi(2)).exp() * r * r
            })
            .sum()
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for (gk, &v) in g.iter_mut().zip(x) {
            let e = (-20.0 * (v - 1.0).powi(2)).exp();
            let (s, c) = (20.0 * v).sin_cos();
            *gk = 2.0 * v * (v * v - 1.0) - 0.3
                + 0.5 * e * (-40.0 * (v - 1.0) * s * s + 40.0 * s * c);
        }
    }

    // Optional: declaring the potential separable lets the CPU engine vectorise.
    fn separable(&self) -> bool {
        true
    }

    fn grad_coord(&self, _k: usize, _consts: [f32; 2], v: f32) -> f32 {
        let e = (-20.0 * (v - 1.0) * (v - 1.0)).exp();
        let (s, c) = (20.0 * v).sin_cos();
        2.0 * v * (v * v - 1.0) - 0.3 + 0.5 * e * (-40.0 * (v - 1.0) * s * s + 40.0 * s * c)
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![vec![self.minimiser; self.dim]]
    }

    fn name(&self) -> String {
        "rippled-well".to_string()
    }
}

fn main() -> Result<(), sgld_swarm::Error> {
    let potential = RippledWell::new(4);
    let ensemble = EnsembleConfig::new(20, 40, 1000)
        .seed(3)
        .init_uniform(-1.5, 0.0);
    let methods = [
        MethodConfig::euler("SGLD", 0.01, 8.0),
        MethodConfig::euler("MF-SGLD", 0.01, 8.0).lambda(2.0),
        MethodConfig::homogenized("HOM-SGLD", 0.01, 8.0, 0.05, 0.05, 20),
        MethodConfig::homogenized("MF-HOM-SGLD", 0.01, 8.0, 0.05, 0.05, 20).lambda(2.0),
    ];
    println!("x* = {:.4} in every coordinate", potential.minimiser);
    for method in methods {
        let method = method.taming(Taming::Coordinate);
        let mut e =
            Ensemble::with_potential(potential.clone(), &ensemble, &method, Options::default())?;
        e.run()?;
        let last = e.history().len() - 1;
        let best = e.history().over_runs(last, Stat::Best).unwrap();
        let median = e.history().over_runs(last, Stat::Median).unwrap();
        println!(
            "{:<12} best agent {:.3}, median agent {:.3} from x* (medians over {} runs)",
            method.name, best.median, median.median, ensemble.runs
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main().unwrap();
    }
}
