//! The exact statistics of DESIGN section 8, on the quadratic potential where every
//! update is linear. Tolerances come from the sample sizes, stated at each check.
#![allow(
    clippy::needless_range_loop,
    reason = "matrix algebra reads best with indices"
)]

use sgld_swarm::potential::{Quadratic, Shift};
use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig, Options, Scheme};

fn cpu() -> Options {
    Options {
        backend: sgld_swarm::Backend::Cpu,
        ..Options::default()
    }
}

/// Per-coordinate mean and variance over all runs and agents.
fn moments(e: &Ensemble) -> (Vec<f64>, Vec<f64>) {
    let x = e.positions().unwrap();
    let d = e.dim();
    let n = (x.len() / d) as f64;
    let mut mean = vec![0.0; d];
    let mut var = vec![0.0; d];
    for agent in x.as_slice().unwrap().chunks_exact(d) {
        for k in 0..d {
            mean[k] += agent[k] as f64 / n;
        }
    }
    for agent in x.as_slice().unwrap().chunks_exact(d) {
        for k in 0..d {
            var[k] += (agent[k] as f64 - mean[k]).powi(2) / (n - 1.0);
        }
    }
    (mean, var)
}

/// SGLD on `0.5 a x^2` is the AR(1) chain `x' = (1 - a dt) x + sqrt(2 dt / beta) z`,
/// whose stationary variance is `1 / (beta a (1 - a dt / 2))`. With a dt = 0.5 that
/// is 4/3 of the continuous-time value `1 / (beta a)`, so the test sees the
/// discretisation.
#[test]
fn euler_stationary_variance_on_quadratic() {
    let (a, dt, beta) = ([1.0, 2.5], 0.2, 2.0);
    // dt = 0.2: a dt = 0.2 and 0.5; (1 - a dt)^200 < 1e-19, so 200 steps forget the start.
    let ens = EnsembleConfig::new(20, 2000, 200)
        .seed(11)
        .init_uniform(-3.0, 3.0);
    let method = MethodConfig::euler("SGLD", dt, beta);
    let p = Quadratic::new(a.to_vec(), Shift::zero(2));
    let mut e = Ensemble::with_potential(p, &ens, &method, cpu()).unwrap();
    e.run().unwrap();
    let (mean, var) = moments(&e);
    let n = 40_000.0f64;
    for k in 0..2 {
        let want = 1.0 / (beta * a[k] * (1.0 - a[k] * dt / 2.0));
        // Agents are independent: the sample variance has relative standard error
        // sqrt(2 / (n - 1)) = 0.71%; allow 5 of them.
        let tol = 5.0 * (2.0 / (n - 1.0)).sqrt() * want;
        assert!(
            (var[k] - want).abs() < tol,
            "coordinate {k}: variance {} vs {want} (tolerance {tol})",
            var[k]
        );
        // And the mean is 0 within 5 standard errors sqrt(var / n).
        assert!(mean[k].abs() < 5.0 * (want / n).sqrt(), "mean {}", mean[k]);
    }
}

/// Covariance propagation for the deviation of the empirical mean from the
/// noise-free recursion: the state is linear, so the deviation is a linear filter
/// of the averaged noise, whose variance per draw is `noise^2 / (R N)`.
struct Deviation {
    p: [[f64; 3]; 3],
}

impl Deviation {
    fn new() -> Self {
        Self { p: [[0.0; 3]; 3] }
    }

    /// v <- F v + g w, with Var(w) = q.
    fn step(&mut self, f: [[f64; 3]; 3], g: [f64; 3], q: f64) {
        let mut fp = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                fp[i][j] = (0..3).map(|k| f[i][k] * self.p[k][j]).sum();
            }
        }
        for i in 0..3 {
            for j in 0..3 {
                self.p[i][j] = (0..3).map(|k| fp[i][k] * f[j][k]).sum::<f64>() + q * g[i] * g[j];
            }
        }
    }
}

/// The mean over all agents of X follows the noise-free recursion up to the
/// averaged noise, for every scheme and with interaction (which averages out
/// exactly: sum_i (X_i - m_r) = 0). Checked against the recursion evaluated in f64
/// with a tolerance of 5 standard deviations of the propagated noise.
#[test]
fn mean_follows_the_noise_free_recursion_for_every_scheme() {
    let a = 1.5f64;
    let (runs, agents, steps) = (8usize, 500usize, 40u64);
    let ens = EnsembleConfig::new(runs, agents, steps)
        .seed(5)
        .init_uniform(1.0, 3.0);
    let methods = [
        MethodConfig::euler("SGLD", 0.05, 1.0),
        MethodConfig::euler("MF-SGLD", 0.05, 1.0).lambda(2.0),
        MethodConfig::homogenized("HOM-SGLD", 0.05, 1.0, 0.05, 0.2, 10),
        {
            let mut m =
                MethodConfig::homogenized("MF-HOM-SGLD", 0.05, 1.0, 0.05, 0.2, 10).lambda(2.0);
            if let Scheme::Homogenized { burn_in, .. } = &mut m.scheme {
                *burn_in = 3;
            }
            m
        },
        // Smoothed: the perturbed gradient of the quadratic is a (X + sqrt(h_n) xi),
        // so the mean follows Euler's recursion with extra noise (a dt)^2 h_n / S.
        MethodConfig::smoothed("SMOOTHED", 0.05, 1.0, 0.5, 2).continuation(0.9, 0.05),
    ];
    let rn = (runs * agents) as f64;
    for method in methods {
        let p = Quadratic::new(vec![a], Shift::zero(1));
        let mut e = Ensemble::with_potential(p, &ens, &method, cpu()).unwrap();
        let (mean0, _) = moments(&e);
        // The recursion starts from the empirical mean of the initial positions,
        // and Y starts at X.
        let (mut mx, mut my) = (mean0[0], mean0[0]);
        let mut dev = Deviation::new();
        e.run().unwrap();
        let (dt, beta) = (method.dt, method.beta);
        match method.scheme {
            Scheme::Smoothed {
                h,
                samples,
                h_factor,
                h_min,
            } => {
                for n in 0..steps {
                    let hn = (h * h_factor.powf(n as f64)).max(h_min);
                    let noise2 = 2.0 * dt / beta + (a * dt).powi(2) * hn / samples as f64;
                    mx -= dt * a * mx;
                    dev.step(
                        [[1.0 - a * dt, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                        [1.0, 0.0, 0.0],
                        noise2 / rn,
                    );
                }
            }
            Scheme::Euler => {
                let noise2 = 2.0 * dt / beta;
                for _ in 0..steps {
                    mx -= dt * a * mx;
                    dev.step(
                        [[1.0 - a * dt, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                        [1.0, 0.0, 0.0],
                        noise2 / rn,
                    );
                }
            }
            Scheme::Cbo { .. } => unreachable!("CBO has its own definition tests"),
            Scheme::Homogenized {
                eps,
                gamma,
                inner_steps,
                burn_in,
            } => {
                let delta = dt / inner_steps as f64;
                let h = delta / eps;
                let noise2 = 2.0 * delta / (beta * eps);
                let l = burn_in + inner_steps - 1;
                for _ in 0..steps {
                    let mut sum = 0.0;
                    // The deviation's running sum restarts at each outer step.
                    dev.p[2] = [0.0; 3];
                    for i in 0..3 {
                        dev.p[i][2] = 0.0;
                    }
                    for m in 0..l {
                        my = my - h * a * my + h / gamma * (mx - my);
                        let c = if m + 1 >= burn_in { 1.0 } else { 0.0 };
                        sum += c * my;
                        let (ay, bx) = (1.0 - h * a - h / gamma, h / gamma);
                        dev.step(
                            [[1.0, 0.0, 0.0], [bx, ay, 0.0], [c * bx, c * ay, 1.0]],
                            [0.0, 1.0, c],
                            noise2 / rn,
                        );
                    }
                    let w = dt / gamma / inner_steps as f64;
                    mx = mx - dt / gamma * mx + w * sum;
                    dev.step(
                        [[1.0 - dt / gamma, 0.0, w], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                        [0.0, 0.0, 0.0],
                        0.0,
                    );
                }
            }
        }
        let (mean, _) = moments(&e);
        let sd = dev.p[0][0].sqrt();
        // f32 storage adds a relative error of ~1e-7 per step, far below sd.
        assert!(
            (mean[0] - mx).abs() < 5.0 * sd,
            "{}: mean of X {} vs noise-free recursion {mx} (5 sd = {})",
            method.name,
            mean[0],
            5.0 * sd
        );
        // The test can fail: the recursion moved the mean by many sd.
        assert!(
            (mean0[0] - mx).abs() > 50.0 * sd,
            "{}: too little movement",
            method.name
        );
    }
}

/// For small eps the homogenized X is gradient descent on the Moreau envelope of
/// the quadratic, whose curvature is `a / (1 + a gamma)` (DESIGN section 8).
#[test]
fn homogenized_x_contracts_at_the_moreau_rate() {
    let (a, gamma, dt) = (1.0, 0.5, 0.01);
    let steps = 100;
    // beta = 1e8: noise sd per step ~ 1e-5, negligible against the mean's decay.
    let method = MethodConfig::homogenized("HOM-SGLD", dt, 1e8, 1e-3, gamma, 50);
    // h = (dt / M) / eps = 0.2 and h (a + 1/gamma) = 0.6: Y relaxes to E[Y | x] =
    // x / (1 + a gamma) within a few inner steps and lags x by O(dt a h) = 1e-3.
    let ens = EnsembleConfig::new(1, 200, steps)
        .seed(3)
        .init_uniform(1.0, 2.0);
    let p = Quadratic::new(vec![a], Shift::zero(1));
    let mut e = Ensemble::with_potential(p, &ens, &method, cpu()).unwrap();
    let (m0, _) = moments(&e);
    e.run().unwrap();
    let (m1, _) = moments(&e);
    let ratio = m1[0] / m0[0];
    let moreau = (1.0 - dt * a / (1.0 + a * gamma)).powi(steps as i32);
    let plain = (1.0 - dt * a).powi(steps as i32);
    // The first steps start with Y = X (not yet relaxed), which costs a relative
    // error of about (1/0.6 inner steps) / (M steps) per outer step early on: 2%
    // of the rate at most. 0.513 vs 0.366 for plain gradient descent.
    assert!(
        (ratio - moreau).abs() < 0.02 * moreau,
        "contraction {ratio}, Moreau envelope {moreau}, plain gradient {plain}"
    );
}

/// The spread X_i - m_r of mean-field agents contracts at rate a + lambda per unit
/// time (Euler: by 1 - (a + lambda) dt per step).
#[test]
fn mean_field_spread_contracts_at_a_plus_lambda() {
    let (a, lambda, dt) = (1.0, 4.0, 0.01);
    let steps = 50u64;
    let method = MethodConfig::euler("MF-SGLD", dt, 1e10).lambda(lambda);
    let ens = EnsembleConfig::new(3, 64, steps)
        .seed(9)
        .init_uniform(-1.0, 1.0);
    let p = Quadratic::new(vec![a; 3], Shift::zero(3));
    let mut e = Ensemble::with_potential(p, &ens, &method, cpu()).unwrap();
    e.run().unwrap();
    let h = e.history();
    let want = (1.0 - (a + lambda) * dt).powi(steps as i32);
    for r in 0..3 {
        let ratio = h.at(h.len() - 1).unwrap()[r].spread / h.at(0).unwrap()[r].spread;
        // Noise sd sqrt(2 dt / beta) = 1.4e-6 per step against a spread of ~0.1 at
        // the end, and ~50 f32 roundings of 6e-8: 1e-4 relative covers both.
        assert!(
            (ratio - want).abs() < 1e-4 * want,
            "run {r}: spread ratio {ratio}, want {want}"
        );
    }
    // Without interaction it contracts at rate a only.
    let free = (1.0 - a * dt).powi(steps as i32);
    assert!((want - free).abs() > 0.1);
}
