//! A potential of your own that is not separable, through a whole experiment:
//! several methods from the same initial positions, written to a folder as the
//! command line writes a configuration's run (`config.toml`, `history.csv`,
//! `positions-*.npy`, `summary.json`, the plots). Then the same potential with a
//! WGSL twin on the GPU, when there is one.
//!
//! `cargo run --release --example custom_experiment [-- OUT_DIR]`

use sgld_swarm::experiment::{Silent, run_with_potential};
use sgld_swarm::potential::{Potential, check_gradient};
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, Taming, output};

/// A banana valley in 2-D with a coupling no coordinate sees alone:
/// `Phi(x) = (x0^2 - x1)^2 + 0.1 (x0 - 1)^2`, minimum 0 at (1, 1).
#[derive(Clone)]
struct Banana;

impl Potential for Banana {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, x: &[f64]) -> f64 {
        (x[0] * x[0] - x[1]).powi(2) + 0.1 * (x[0] - 1.0).powi(2)
    }
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        let r = x[0] * x[0] - x[1];
        g[0] = 4.0 * x[0] * r + 0.2 * (x[0] - 1.0);
        g[1] = -2.0 * r;
    }
    fn reference_points(&self) -> Vec<Vec<f64>> {
        vec![vec![1.0, 1.0]]
    }
    fn name(&self) -> String {
        "banana".into()
    }
}

/// Its WGSL twin: not separable, so `potential_grad` over the whole agent.
const BANANA_WGSL: &str = r#"
const SEPARABLE: bool = false;

fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {
    let r = (*x)[0] * (*x)[0] - (*x)[1];
    (*g)[0] = 4.0 * (*x)[0] * r + 0.2 * ((*x)[0] - 1.0);
    (*g)[1] = -2.0 * r;
}
"#;

fn main() -> Result<(), sgld_swarm::Error> {
    let out = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sgld-swarm-banana"));
    run(&out)
}

fn run(out: &std::path::Path) -> Result<(), sgld_swarm::Error> {
    let worst = check_gradient(&Banana, &[0.3, -0.7], 1e-5)?;
    println!(
        "gradient check: worst coordinate {} off by {:.1e}",
        worst.coordinate, worst.error
    );

    let ensemble = EnsembleConfig::new(10, 40, 600)
        .seed(7)
        .init_box(vec![-2.0, -1.0], vec![0.0, 3.0]);
    let methods = [
        MethodConfig::euler("SGLD", 0.005, 20.0),
        MethodConfig::euler("MF-SGLD", 0.005, 20.0).lambda(1.0),
        MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 20.0, 0.05, 0.2, 8)
            .lambda(1.0)
            .taming(Taming::Coordinate),
    ];
    let result = run_with_potential(Banana, &ensemble, &methods, Options::default(), &mut Silent)?;
    let written = output::write_all(out, &result)?;
    println!("wrote {} files to {}", written.files.len(), out.display());
    for m in &result.methods {
        println!(
            "{:<12} best agent {:.3} from (1, 1) (median over runs)",
            m.name,
            m.history
                .last(sgld_swarm::diagnostics::Stat::Best)
                .unwrap()
                .median
        );
    }

    // The same potential on the GPU through its WGSL twin (the CPU without one).
    let mut gpu = Ensemble::with_wgsl_potential(
        Banana,
        BANANA_WGSL,
        &ensemble,
        &methods[2],
        Options::default(),
    )?;
    gpu.run()?;
    println!(
        "{} with the WGSL twin on {}: best agent {:.3} from (1, 1)",
        methods[2].name,
        gpu.backend(),
        gpu.history()
            .last(sgld_swarm::diagnostics::Stat::Best)
            .unwrap()
            .median
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        let dir = tempfile::tempdir().unwrap();
        super::run(dir.path()).unwrap();
        assert!(dir.path().join("summary.json").is_file());
    }
}
