//! The theory tools against simulation: the effective potential's gradient
//! against HOM-SGLD's inner loop with X held fixed, and the mean-field stationary
//! states against MF-SGLD ensembles.

use sgld_swarm::potential::{DoubleWell, Shift};
use sgld_swarm::theory::effective::{Quadrature, effective, homogenized_drift};
use sgld_swarm::theory::mean_field::MeanField1d;
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, Taming};

/// The gradient of Phi_{beta,gamma} is the drift (x - E[Y | x]) / gamma that the
/// homogenized scheme's inner loop estimates. Double well, beta = 3, gamma = 0.2,
/// inner step h = delta / eps = 1e-3, 1e7 inner steps (about 5e4 relaxation
/// times of Y, whose pull is 1 / gamma = 5). The tolerance is 5 standard errors
/// (from batch means) plus the inner Euler step's bias: the law it samples differs
/// from the exact one by O(h) in its mean; 4 h / gamma = 0.02 bounds that here (the
/// differences seen are below 0.003).
#[test]
fn effective_gradient_is_the_homogenized_drift() {
    let p = DoubleWell::new(Shift::zero(1));
    let (beta, gamma) = (3.0, 0.2);
    // dt = 0.02, M = 20, eps = 1: delta = 1e-3 = h.
    let m = MethodConfig::homogenized("HOM-SGLD", 0.02, beta, 1.0, gamma, 20);
    for x in [-1.4, -0.3, 0.5, 1.1] {
        let e = effective(&p, &[x], beta, gamma, &Quadrature::default()).unwrap();
        let (drift, se) = homogenized_drift(&p, &[x], &m, 10_000_000, 7).unwrap();
        let tol = 5.0 * se[0] + 4.0 * 1e-3 / gamma;
        assert!(
            (drift[0] - e.grad[0]).abs() < tol,
            "x = {x}: drift {} (se {}) vs gradient {}, tolerance {tol}",
            drift[0],
            se[0],
            e.grad[0]
        );
    }
}

/// The long-time empirical mean of MF-SGLD with many agents started in the
/// right-hand well: the stable nonzero stationary state m* at twice the critical
/// lambda, 0 at a quarter of it. Double well, beta = 5, 2000 agents, dt = 0.01,
/// 12000 steps (t = 120: the Kramers time of the barrier, about 15, divided by
/// 1 - beta lambda Var = 0.75 for the decay of the mean), the mean averaged over
/// the last 2000 steps. The tolerance 0.06 allows the mean's fluctuation (sd
/// about sqrt(Var / N) = 0.02, less once time averaged), the Euler step's O(dt)
/// bias (about 0.01) and the O(1/N) one.
#[test]
fn mean_field_ensembles_settle_at_the_stable_state() {
    let p = DoubleWell::new(Shift::zero(1));
    let beta = 5.0;
    let mf = MeanField1d::new(&p, beta, (-4.0, 4.0), 4001).unwrap();
    let lc = mf.critical_lambda((1e-3, 20.0)).unwrap();
    for (lambda, want) in [
        (2.0 * lc, {
            let s = mf.stationary_state_in(2.0 * lc, (0.05, 2.0)).unwrap();
            assert!(s.stable && s.m > 0.3, "{s:?}");
            s.m
        }),
        (0.25 * lc, 0.0),
    ] {
        let ens = EnsembleConfig::new(1, 2000, 12000)
            .seed(5)
            .init_uniform(0.5, 1.5);
        let method = MethodConfig::euler("MF-SGLD", 0.01, beta)
            .lambda(lambda)
            .taming(Taming::None);
        let problem = sgld_swarm::ProblemConfig {
            potential: sgld_swarm::PotentialKind::DoubleWell,
            dim: 1,
            shift: None,
        };
        let options = Options {
            backend: sgld_swarm::Backend::Cpu,
            ..Options::default()
        };
        let mut e = Ensemble::new(&problem, &ens, &method, options).unwrap();
        e.advance(10000).unwrap();
        let mut sum = 0.0;
        for _ in 0..200 {
            e.advance(10).unwrap();
            let x = e.positions().unwrap();
            sum += x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        }
        let mean = sum / 200.0;
        assert!(
            (mean - want).abs() < 0.06,
            "lambda = {lambda} (critical {lc}): simulated mean {mean}, stationary state {want}"
        );
    }
}
