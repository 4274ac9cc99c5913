//! `sgld-swarm analyze`: the paper's theory for a chosen temperature, as pictures
//! and numbers. Phi against its effective potentials Phi_{beta,gamma} (1-D), the
//! effective potential of the six-hump camel (2-D), and the mean-field
//! bifurcation diagram of the double well with simulated ensemble means on it;
//! `analysis.json` holds the critical lambda and every stationary state.

use crate::BackendArg;
use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;
use sgld_swarm::output::folder::{render_atomically, write_atomically};
use sgld_swarm::potential::{Builtin, Potential};
use sgld_swarm::theory::effective::{Quadrature, effective};
use sgld_swarm::theory::mean_field::{MeanField1d, State};
use sgld_swarm::{
    ConfigError, Ensemble, EnsembleConfig, Error, MethodConfig, Options, PotentialKind,
    ProblemConfig, plot,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct AnalyzeArgs {
    /// The output folder.
    #[arg(long, default_value = "analysis")]
    out: PathBuf,
    /// Inverse temperature beta, for every picture.
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true)]
    beta: f64,
    /// The 1-D potential of the effective-potential picture: rough, double-well,
    /// rastrigin, ackley, styblinski-tang, griewank or quadratic (a = 1).
    #[arg(long, default_value = "rough")]
    potential: String,
    /// delta of the rough potential.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    delta: f64,
    /// The gammas of the 1-D picture, comma-separated; the largest is also the
    /// camel's.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.01,0.05,0.2",
        allow_negative_numbers = true
    )]
    gamma: Vec<f64>,
    /// Points per axis of the camel's contour picture.
    #[arg(long, default_value_t = 100)]
    grid: usize,
    /// The 1-D picture spans [-x-max, x-max].
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    x_max: f64,
    /// The bifurcation diagram spans lambda in [0, this x the critical lambda].
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    lambda_factor: f64,
    /// Values of lambda in the bifurcation diagram.
    #[arg(long, default_value_t = 48)]
    lambdas: usize,
    /// Agents of each simulated MF-SGLD ensemble (0: no simulation).
    #[arg(long, default_value_t = 2000)]
    agents: usize,
    /// Steps of each simulated ensemble (dt = 0.01); the mean is averaged over the
    /// last sixth.
    #[arg(long, default_value_t = 12000)]
    steps: u64,
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
}

/// Points per axis of the camel's picture at most.
const MAX_GRID: usize = 1000;
/// Values of lambda in the bifurcation diagram at most.
const MAX_LAMBDAS: usize = 10_000;

fn bad(field: &str, value: impl ToString, allowed: &str) -> anyhow::Error {
    Error::Config(ConfigError {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    })
    .into()
}

#[derive(Serialize)]
struct Branch {
    lambda: f64,
    states: Vec<State>,
}

#[derive(Serialize)]
struct Simulated {
    lambda: f64,
    agents: usize,
    steps: u64,
    mean: f64,
    backend: String,
}

#[derive(Serialize)]
struct Report {
    beta: f64,
    effective_1d: EffectiveReport,
    mean_field: MeanFieldReport,
}

#[derive(Serialize)]
struct EffectiveReport {
    potential: String,
    gammas: Vec<f64>,
    camel_gamma: f64,
}

#[derive(Serialize)]
struct MeanFieldReport {
    potential: &'static str,
    critical_lambda: f64,
    stationary_states: Vec<Branch>,
    simulated: Vec<Simulated>,
}

fn one_d(name: &str, delta: f64) -> anyhow::Result<Builtin> {
    let potential = match name {
        "rough" => PotentialKind::Rough { delta },
        "double-well" => PotentialKind::DoubleWell,
        "rastrigin" => PotentialKind::Rastrigin,
        "ackley" => PotentialKind::Ackley,
        "styblinski-tang" => PotentialKind::StyblinskiTang,
        "griewank" => PotentialKind::Griewank,
        "quadratic" => PotentialKind::Quadratic { a: vec![1.0] },
        other => {
            return Err(bad(
                "--potential",
                format!("{other:?}"),
                "must be a 1-D built-in: rough, double-well, rastrigin, ackley, \
                 styblinski-tang, griewank or quadratic",
            ));
        }
    };
    Ok(Builtin::from_problem(&ProblemConfig {
        potential,
        dim: 1,
        shift: None,
    }))
}

pub fn analyze(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let finite_positive = |field: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(bad(field, crate::num(v), "must be a finite number > 0"))
        }
    };
    // The ranges in which the pictures mean something and the f32 simulations
    // and f64 quadratures hold their numbers (beta Phi stays far inside f64's
    // exponent range over the pictures' boxes).
    let in_range = |field: &str, v: f64, lo: f64, hi: f64| {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(bad(
                field,
                crate::num(v),
                &format!("must be a number from {lo:e} to {hi:e}"),
            ))
        }
    };
    in_range("--beta", a.beta, 1e-3, 1e4)?;
    in_range("--x-max", a.x_max, 1e-3, 1e3)?;
    in_range("--lambda-factor", a.lambda_factor, 1e-3, 1e3)?;
    finite_positive("--delta", a.delta)?;
    if a.gamma.is_empty() {
        return Err(bad("--gamma", "(none)", "must list at least one gamma"));
    }
    for &g in &a.gamma {
        finite_positive("--gamma", g)?;
    }
    // Each grid point is a 2-D quadrature (about 1 ms), each lambda a fixed-point
    // solve: past these limits a picture takes hours.
    if !(2..=MAX_GRID).contains(&a.grid) {
        return Err(bad(
            "--grid",
            a.grid,
            &format!("must be from 2 to {MAX_GRID} points per axis"),
        ));
    }
    if !(2..=MAX_LAMBDAS).contains(&a.lambdas) {
        return Err(bad(
            "--lambdas",
            a.lambdas,
            &format!("must be from 2 to {MAX_LAMBDAS}"),
        ));
    }
    if a.agents > 0 && !(60..=u32::MAX as u64).contains(&a.steps) {
        return Err(bad("--steps", a.steps, "must be from 60 to 4294967295"));
    }
    if a.agents as u64 > 1 << 32 {
        return Err(bad(
            "--agents",
            a.agents,
            "must be at most 2^32 = 4294967296 (the stream's agent index)",
        ));
    }
    if a.agents > 0 {
        let ensemble = EnsembleConfig::new(1, a.agents, a.steps);
        let method = MethodConfig::euler("MF-SGLD", 0.01, a.beta).lambda(1.0);
        sgld_swarm::engine::memory::Footprint::engine(&ensemble, &method, 1, false)
            .check()
            .map_err(|e| bad("--agents", a.agents, &e.to_string()))?;
    }
    let p1 = one_d(&a.potential, a.delta)?;
    std::fs::create_dir_all(&a.out).map_err(|source| Error::OutputDir {
        path: a.out.clone(),
        source,
    })?;
    let quad = Quadrature::default();
    let camel_gamma = a.gamma.iter().copied().fold(0.0, f64::max);

    // 1-D: Phi and Phi_{beta,gamma}.
    let xs: Vec<f64> = (0..801)
        .map(|i| -a.x_max + 2.0 * a.x_max * i as f64 / 800.0)
        .collect();
    let mut curves = Vec::new();
    let phi = {
        let p = &p1;
        let phi: Vec<f64> = xs.iter().map(|&x| p.value(&[x])).collect();
        for &g in &a.gamma {
            let c = xs
                .par_iter()
                .map(|&x| effective(p, &[x], a.beta, g, &quad).map(|e| e.value))
                .collect::<Result<Vec<f64>, _>>()?;
            curves.push((format!("gamma = {g}"), c));
        }
        phi
    };
    let path = a.out.join("effective-1d.png");
    render_atomically(&path, |p| {
        plot::effective_1d(
            p,
            &format!(
                "{}: Phi and its effective potential, beta = {}",
                p1_name(&p1),
                a.beta
            ),
            &xs,
            &phi,
            &curves,
        )
    })?;
    println!("wrote {}", path.display());

    // 2-D: the six-hump camel and Phi_{beta,gamma}.
    let camel = sgld_swarm::potential::SixHumpCamel::new(sgld_swarm::potential::Shift::zero(2));
    let n = a.grid;
    let bounds = (-2.0, 2.0, -1.2, 1.2);
    let grid: Vec<[f64; 2]> = (0..n * n)
        .map(|c| {
            let (i, j) = (c % n, c / n);
            [
                bounds.0 + (i as f64 + 0.5) * (bounds.1 - bounds.0) / n as f64,
                bounds.2 + (j as f64 + 0.5) * (bounds.3 - bounds.2) / n as f64,
            ]
        })
        .collect();
    let raw: Vec<f64> = grid.iter().map(|x| camel.value(x)).collect();
    let eff = grid
        .par_iter()
        .map(|x| effective(&camel, x, a.beta, camel_gamma, &quad).map(|e| e.value))
        .collect::<Result<Vec<f64>, _>>()?;
    let path = a.out.join("effective-camel.png");
    render_atomically(&path, |p| {
        plot::contours_2d(
            p,
            bounds,
            n,
            &[
                plot::Field {
                    title: "six-hump camel: Phi".into(),
                    values: raw,
                },
                plot::Field {
                    title: format!(
                        "Phi_{{beta,gamma}}, beta = {}, gamma = {camel_gamma}",
                        a.beta
                    ),
                    values: eff,
                },
            ],
            &camel.reference_points(),
        )
    })?;
    println!("wrote {}", path.display());

    // Mean field: the double well's stationary states against lambda.
    let dw = sgld_swarm::potential::DoubleWell::new(sgld_swarm::potential::Shift::zero(1));
    let mf = MeanField1d::new(&dw, a.beta, (-4.0, 4.0), 4001)?;
    let critical = mf
        .critical_lambda((1e-6, 1e4))
        .context("the double well's critical lambda")?;
    let lambdas: Vec<f64> = (0..a.lambdas)
        .map(|i| a.lambda_factor * critical * i as f64 / (a.lambdas - 1) as f64)
        .collect();
    let branches = lambdas
        .par_iter()
        .map(|&l| {
            mf.stationary_states(l, (-2.5, 2.5), 500)
                .map(|states| Branch { lambda: l, states })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut simulated = Vec::new();
    if a.agents > 0 {
        for &l in lambdas.iter().skip(1).step_by(4) {
            let s = simulate(&a, l)?;
            println!(
                "lambda = {:.4}: ensemble mean {:+.4} ({})",
                l, s.mean, s.backend
            );
            simulated.push(s);
        }
    }
    let path = a.out.join("bifurcation.png");
    render_atomically(&path, |p| {
        plot::bifurcation(
            p,
            &format!(
                "double well, beta = {}: stationary states of the mean-field limit",
                a.beta
            ),
            &branches
                .iter()
                .map(|b| (b.lambda, b.states.clone()))
                .collect::<Vec<_>>(),
            critical,
            &simulated
                .iter()
                .map(|s| (s.lambda, s.mean))
                .collect::<Vec<_>>(),
        )
    })?;
    println!("wrote {}", path.display());

    let report = Report {
        beta: a.beta,
        effective_1d: EffectiveReport {
            potential: p1_name(&p1),
            gammas: a.gamma.clone(),
            camel_gamma,
        },
        mean_field: MeanFieldReport {
            potential: "double-well",
            critical_lambda: critical,
            stationary_states: branches,
            simulated,
        },
    };
    let path = a.out.join("analysis.json");
    let json = serde_json::to_string_pretty(&report)? + "\n";
    write_atomically(&path, |w| {
        w.write_all(json.as_bytes()).map_err(|e| e.to_string())
    })?;
    println!("wrote {}", path.display());
    println!(
        "critical lambda (double well, beta = {}): {critical:.6}",
        a.beta
    );
    Ok(ExitCode::SUCCESS)
}

fn p1_name(p: &Builtin) -> String {
    p.name()
}

/// The long-time mean of one MF-SGLD ensemble started in the right-hand well.
fn simulate(a: &AnalyzeArgs, lambda: f64) -> anyhow::Result<Simulated> {
    let problem = ProblemConfig {
        potential: PotentialKind::DoubleWell,
        dim: 1,
        shift: None,
    };
    let ens = EnsembleConfig::new(1, a.agents, a.steps)
        .seed(5)
        .init_uniform(0.5, 1.5);
    let method = MethodConfig::euler("MF-SGLD", 0.01, a.beta).lambda(lambda);
    let options = Options {
        backend: a.backend.into(),
        ..Options::default()
    };
    let mut e = Ensemble::new(&problem, &ens, &method, options)?;
    let tail = a.steps / 6;
    e.advance(a.steps - tail)?;
    let (mut sum, mut n) = (0.0, 0);
    let mut done = 0;
    while done < tail {
        let k = 10.min(tail - done);
        e.advance(k)?;
        done += k;
        let x = e.positions()?;
        sum += x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        n += 1;
    }
    Ok(Simulated {
        lambda,
        agents: a.agents,
        steps: a.steps,
        mean: sum / n as f64,
        backend: e.backend().to_string(),
    })
}
