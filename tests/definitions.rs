//! The update rules of DESIGN section 2, written out here from their definitions
//! with the random stream of DESIGN section 3 (key from the seed, counter
//! `[k / 4, g, n, (domain << 28) | sub]`, uniforms `(f32(w >> 8) + 0.5) 2^-24`,
//! Box-Muller pairs), and compared bit for bit with the CPU engine on both of its
//! paths (the lane path of separable potentials and the agent path).
//!
//! The f32 operations are those of `src/engine/cpu/` (mod.rs, lanes.rs), in its order (no fused
//! multiply-add anywhere), and the step constants are computed in f64 and rounded
//! once, as `StepConstants::new` does; so any difference, even of one ulp, is a
//! change of the scheme or of the stream, which is what these tests pin. The
//! special functions of Box-Muller (`ln`, `sincos`) are the crate's
//! `fastmath` ones, which the contract lets each implementation choose.
#![allow(
    clippy::needless_range_loop,
    reason = "coordinates index several arrays"
)]

use sgld_swarm::config::{
    CboNoise, EnsembleConfig, Interaction, MethodConfig, Ramp, RampKind, Ramped, Scheme, Taming,
};
use sgld_swarm::engine::cpu::{CpuPath, Simd};
use sgld_swarm::potential::{Potential, Quadratic, Rosenbrock, Rough, Shift};
use sgld_swarm::{Backend, Ensemble, Options, fastmath, rng};

/// A seed above 2^32, so that both key words matter.
const SEED: u64 = 0x0000_0007_9E37_79B9;
const RUNS: usize = 2;
/// 5 agents x 2 blocks x 2 runs = 20 lane jobs: one full group of 16 and a partial one.
const AGENTS: usize = 5;
const STEPS: u64 = 4;
const BOX: (f64, f64) = (-2.0, 2.0);

/// Key from the seed: low word first.
fn key() -> [u32; 2] {
    [SEED as u32, (SEED >> 32) as u32]
}

/// The uniform of a Philox word.
fn uniform(w: u32) -> f32 {
    ((w >> 8) as f32 + 0.5) * (1.0 / 16_777_216.0)
}

/// The standard normals of global agent `g`, outer step `n`, in `domain` with
/// `sub`, for coordinates `0..d`: word `j` of the block at counter
/// `[k / 4, g, n, (domain << 28) | sub]` belongs to coordinate `4 (k / 4) + j`;
/// words (0, 1) and (2, 3) make Box-Muller pairs `(rho cos theta, rho sin theta)`.
fn normals(g: usize, n: u64, domain: u32, sub: u32, d: usize) -> Vec<f32> {
    let mut z = vec![0.0f32; d];
    for k in 0..d {
        let b = k / 4;
        let w = rng::philox4x32_10([b as u32, g as u32, n as u32, (domain << 28) | sub], key());
        let j = k % 4;
        let (a, bb) = (j & !1, j | 1);
        let rho = (-2.0 * fastmath::ln(uniform(w[a]))).sqrt();
        let (s, c) = fastmath::sincos(core::f32::consts::TAU * uniform(w[bb]));
        z[k] = if j % 2 == 0 { rho * c } else { rho * s };
    }
    z
}

/// Initial positions from stream domain 1: `X_k = lo + (hi - lo) u_k`, `u_k` from
/// word `k % 4` of counter `[k / 4, g, 0, 1 << 28]`.
fn initial(d: usize) -> Vec<f32> {
    let (lo, width) = (BOX.0 as f32, (BOX.1 - BOX.0) as f32);
    let mut x = vec![0.0f32; RUNS * AGENTS * d];
    for g in 0..RUNS * AGENTS {
        for k in 0..d {
            let w = rng::philox4x32_10([(k / 4) as u32, g as u32, 0, 1 << 28], key());
            x[g * d + k] = lo + width * uniform(w[k % 4]);
        }
    }
    x
}

/// `m_r(n)`: the mean over the agents of each run (not over all runs), summed in
/// f64 in agent order and rounded once.
fn run_means(x: &[f32], d: usize) -> Vec<f32> {
    let mut means = vec![0.0f32; RUNS * d];
    for r in 0..RUNS {
        for k in 0..d {
            let mut s = 0.0f64;
            for i in 0..AGENTS {
                s += x[(r * AGENTS + i) * d + k] as f64;
            }
            means[r * d + k] = (s / AGENTS as f64) as f32;
        }
    }
    means
}

/// `Phi` of an f32 point as the weights read it, in f64.
type Value<'a> = &'a dyn Fn(&[f32]) -> f64;

/// `Phi` as the weighted mean reads it (DESIGN section 2.7): the potential's
/// f32 value where it has one (`value_f32`, the separable built-ins' sum of
/// their WGSL twin's terms), else its f64 value of the point.
fn weighing<P: Potential>(p: &P) -> impl Fn(&[f32]) -> f64 + '_ {
    move |x| match p.value_f32(x) {
        Some(v) => v as f64,
        None => p.value(&x.iter().map(|&v| v as f64).collect::<Vec<_>>()),
    }
}

/// `m_alpha` of each run (DESIGN section 2.7): `w_i = exp(-(c_i - c_min))` with
/// `c_i = alpha Phi(X_i)` in f64 and `c_min` the run's least, then `sum_i w_i
/// X_i / sum_i w_i` summed in f64 in agent order and rounded once.
fn weighted_means(x: &[f32], d: usize, alpha: f64, value: Value) -> Vec<f32> {
    let mut means = vec![0.0f32; RUNS * d];
    for r in 0..RUNS {
        let agent = |i: usize| &x[(r * AGENTS + i) * d..(r * AGENTS + i + 1) * d];
        let costs: Vec<f64> = (0..AGENTS).map(|i| alpha * value(agent(i))).collect();
        let least = costs.iter().copied().fold(f64::INFINITY, f64::min);
        let w: Vec<f64> = costs.iter().map(|c| (-(c - least)).exp()).collect();
        let total: f64 = w.iter().sum();
        for k in 0..d {
            let mut s = 0.0f64;
            for i in 0..AGENTS {
                s += w[i] * agent(i)[k] as f64;
            }
            means[r * d + k] = (s / total) as f32;
        }
    }
    means
}

/// The factor of `lambda dt` in agent `g`'s coordinate `k` at step `n`, at
/// `[g * d + k]` (DESIGN section 2.7): `X_ik - m_rk` (mean), `X_ik - m_alpha,rk`
/// (weighted), or `(1/N) sum_j sign(X_ik - X_jk)` with `sign(0) = 0`, the sum
/// an integer rounded once to f32 and divided by `N` in f32 (l1).
fn pull_terms(m: &MethodConfig, value: Option<Value>, x: &[f32], d: usize, n: u64) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    let point = match m.interaction {
        Interaction::Mean => run_means(x, d),
        Interaction::Weighted { alpha } => {
            let alpha = scheduled(alpha, m.ramps.alpha, n);
            weighted_means(x, d, alpha, value.expect("the weighted mean needs Phi"))
        }
        Interaction::L1 => {
            for g in 0..RUNS * AGENTS {
                let r = g / AGENTS;
                for k in 0..d {
                    let xv = x[g * d + k];
                    let mut s = 0i64;
                    for j in 0..AGENTS {
                        let other = x[(r * AGENTS + j) * d + k];
                        s += if xv > other {
                            1
                        } else if xv < other {
                            -1
                        } else {
                            0
                        };
                    }
                    out[g * d + k] = s as f32 / AGENTS as f32;
                }
            }
            return out;
        }
    };
    for g in 0..RUNS * AGENTS {
        let r = g / AGENTS;
        for k in 0..d {
            out[g * d + k] = x[g * d + k] - point[r * d + k];
        }
    }
    out
}

/// `T_h(g)` of DESIGN section 2.
fn tame(taming: Taming, h: f32, g: &[f32]) -> Vec<f32> {
    match taming {
        Taming::None => g.iter().map(|&v| h * v).collect(),
        Taming::Coordinate => g
            .iter()
            .map(|&v| {
                let hg = h * v;
                hg / (1.0 + hg.abs())
            })
            .collect(),
        Taming::Norm => {
            let norm = g.iter().map(|v| v * v).sum::<f32>().sqrt();
            g.iter().map(|&v| h * v / (1.0 + h * norm)).collect()
        }
    }
}

/// The gradient the definition uses, `grad Phi` in f32.
type Grad<'a> = &'a dyn Fn(&[f32], &mut [f32]);

/// The homogenized scheme of DESIGN section 2, from `x` (and `Y(0, 0) = X(0)`),
/// returning `X(n)` for `n = 1..=STEPS`:
///
/// ```text
/// delta = dt / M, L = burn_in + M - 1, h = delta / eps
/// Y_i(n, 0) = Y_i(n-1, L)
/// Y_i(n, m+1) = Y_i(n, m) - T_h(grad Phi(Y_i(n, m))) + (h/gamma) (X_i(n) - Y_i(n, m))
///               + sqrt(2 delta / (beta eps)) Z_i(n, m)          (Z: domain 0, sub = m)
/// Ybar_i(n) = (1/M) sum_{j = burn_in..L} Y_i(n, j)
/// X_i(n+1) = X_i(n) - (dt/gamma) (X_i(n) - Ybar_i(n)) - dt lambda (X_i(n) - m_r(n))
/// ```
fn homogenized(
    m: &MethodConfig,
    grad: Grad,
    value: Option<Value>,
    x0: &[f32],
    d: usize,
) -> Vec<Vec<f32>> {
    let Scheme::Homogenized {
        eps,
        gamma,
        inner_steps,
        burn_in,
    } = m.scheme
    else {
        panic!("{} is not homogenized", m.name);
    };
    let inv_m = (1.0 / inner_steps as f64) as f32;
    let inner_len = burn_in + inner_steps - 1;

    let mut x = x0.to_vec();
    let mut y = x0.to_vec();
    let mut out = Vec::new();
    let mut gr = vec![0.0f32; d];
    for n in 0..STEPS {
        // With schedules, the values of step n (DESIGN section 2.6).
        let dt = scheduled(m.dt, m.ramps.dt, n);
        let beta = scheduled(m.beta, m.ramps.beta, n);
        let lambda = scheduled(m.lambda, m.ramps.lambda, n);
        let delta = dt / inner_steps as f64;
        let h64 = delta / eps;
        let h = h64 as f32;
        let noise = (2.0 * delta / (beta * eps)).sqrt() as f32;
        let h_over_gamma = (h64 / gamma) as f32;
        let dt_over_gamma = (dt / gamma) as f32;
        let lambda_dt = (dt * lambda) as f32;
        let pull = pull_terms(m, value, &x, d, n);
        for g in 0..RUNS * AGENTS {
            let xa = &mut x[g * d..(g + 1) * d];
            let ya = &mut y[g * d..(g + 1) * d];
            let mut sum = vec![0.0f32; d];
            for sub in 0..inner_len {
                let z = normals(g, n, 0, sub, d);
                grad(ya, &mut gr);
                let t = tame(m.taming, h, &gr);
                for k in 0..d {
                    let yv = ya[k];
                    ya[k] = yv - t[k] + h_over_gamma * (xa[k] - yv) + noise * z[k];
                    // Iterate j = sub + 1 is averaged from j = burn_in on.
                    if sub + 1 >= burn_in {
                        sum[k] += ya[k];
                    }
                }
            }
            for k in 0..d {
                let xv = xa[k];
                xa[k] = xv - dt_over_gamma * (xv - sum[k] * inv_m) - lambda_dt * pull[g * d + k];
            }
        }
        out.push(x.clone());
    }
    out
}

/// The Euler scheme of DESIGN section 2, returning `X(n)` for `n = 1..=STEPS`:
///
/// ```text
/// X_i(n+1) = X_i(n) - T_dt(grad Phi(X_i(n))) - dt lambda (X_i(n) - m_r(n))
///            + sqrt(2 dt / beta) Z_i(n, 0)                       (Z: domain 0, sub = 0)
/// ```
///
/// With schedules (DESIGN section 2.6), `dt`, `beta` and `lambda` are those of
/// step `n` ([`scheduled`]), and the constants are computed from them in f64 and
/// rounded once, at every step.
fn euler(
    m: &MethodConfig,
    grad: Grad,
    value: Option<Value>,
    x0: &[f32],
    d: usize,
) -> Vec<Vec<f32>> {
    assert_eq!(m.scheme, Scheme::Euler);
    let mut x = x0.to_vec();
    let mut out = Vec::new();
    let mut gr = vec![0.0f32; d];
    for n in 0..STEPS {
        let dt = scheduled(m.dt, m.ramps.dt, n);
        let beta = scheduled(m.beta, m.ramps.beta, n);
        let lambda = scheduled(m.lambda, m.ramps.lambda, n);
        let h = dt as f32;
        let noise = (2.0 * dt / beta).sqrt() as f32;
        let lambda_dt = (dt * lambda) as f32;
        let pull = pull_terms(m, value, &x, d, n);
        for g in 0..RUNS * AGENTS {
            let xa = &mut x[g * d..(g + 1) * d];
            let z = normals(g, n, 0, 0, d);
            grad(xa, &mut gr);
            let t = tame(m.taming, h, &gr);
            for k in 0..d {
                let xv = xa[k];
                xa[k] = xv - t[k] - lambda_dt * pull[g * d + k] + noise * z[k];
            }
        }
        out.push(x.clone());
    }
    out
}

/// A scheduled value at outer step `n` of a run of `STEPS` steps (DESIGN
/// section 2.6), written out: `from` at `n = 0`, `to` from `n = STEPS - 1` on,
/// and between them, with `t = n / (STEPS - 1)`, `from (1 - t) + to t` (linear)
/// or `from (to / from)^t` (geometric), in f64.
fn scheduled(from: f64, ramp: Option<Ramp>, n: u64) -> f64 {
    let Some(r) = ramp else {
        return from;
    };
    let last = STEPS - 1;
    if n == 0 {
        return from;
    }
    if n >= last {
        return r.to;
    }
    let t = n as f64 / last as f64;
    match r.kind {
        RampKind::Linear => from * (1.0 - t) + r.to * t,
        RampKind::Geometric => from * (r.to / from).powf(t),
    }
}

/// Which engine paths to compare with: the agent path always, and the lane path
/// compiled for every instruction set this CPU has when the lane path applies
/// (separable potential, taming `none` or `coordinate`).
fn paths(lanes_apply: bool) -> Vec<CpuPath> {
    let mut p = vec![CpuPath::Agent, CpuPath::Auto];
    if lanes_apply {
        for level in Simd::ALL {
            if level.supported() {
                p.push(CpuPath::Lanes(level));
            } else {
                eprintln!("SKIPPED: {} instructions (not on this CPU)", level.name());
            }
        }
    }
    p
}

/// Runs the engine on `potential` step by step and compares `X(n)` after each step
/// with `want[n - 1]`, bit for bit (tolerance 0 ulp: same operations, same order).
fn compare<P: Potential + Clone + 'static>(
    potential: &P,
    m: &MethodConfig,
    lanes_apply: bool,
    want: &[Vec<f32>],
) {
    let d = potential.dim();
    let e = EnsembleConfig::new(RUNS, AGENTS, STEPS)
        .seed(SEED)
        .init_uniform(BOX.0, BOX.1)
        .record_every(1);
    let x0 = initial(d);
    for path in paths(lanes_apply) {
        let options = Options {
            backend: Backend::Cpu,
            cpu_path: path,
            ..Options::default()
        };
        let mut ens = Ensemble::with_potential(potential.clone(), &e, m, options).unwrap();
        let what = format!(
            "{} on {} ({path:?}, {})",
            m.name,
            potential.name(),
            ens.device()
        );
        // The path asked for is the path taken.
        let on_lanes = ens.device().contains("lane path");
        match path {
            CpuPath::Agent => assert!(!on_lanes, "{what}"),
            CpuPath::Lanes(_) => assert!(on_lanes, "{what}"),
            CpuPath::Auto => assert_eq!(on_lanes, lanes_apply, "{what}"),
        }
        assert_bits(&flat(&ens), &x0, &format!("{what}, initial positions"));
        for (n, w) in want.iter().enumerate() {
            ens.advance(1).unwrap();
            assert_bits(&flat(&ens), w, &format!("{what}, X({})", n + 1));
        }
    }
}

fn flat(ens: &Ensemble) -> Vec<f32> {
    ens.positions().unwrap().iter().copied().collect()
}

fn assert_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            a.to_bits() == b.to_bits(),
            "{what}: index {i} (agent {}, coordinate {}): engine {a:e}, definition {b:e}, \
             tolerance 0 ulp (bit for bit)",
            i / (want.len() / (RUNS * AGENTS)),
            i % (want.len() / (RUNS * AGENTS)),
        );
    }
}

/// `burn_in = 3`, `M = 4` (so `L = 6`, the last 4 iterates averaged), `lambda > 0`:
/// the fast variable's noise is `sqrt(2 delta / (beta eps))` (0.158 here, not
/// `sqrt(2 dt / (beta eps))` = 0.316), the inner steps draw stream slots
/// `sub = m` (0..6), Y carries over from one outer step to the next, the mean is
/// each run's own, and the gradient of every inner step is tamed.
fn homogenized_method(name: &str, taming: Taming) -> MethodConfig {
    let mut m = MethodConfig::homogenized(name, 0.005, 2.0, 0.05, 0.1, 4)
        .lambda(3.0)
        .taming(taming);
    if let Scheme::Homogenized { burn_in, .. } = &mut m.scheme {
        *burn_in = 3;
    }
    m
}

/// The homogenized scheme (MF-HOM-SGLD, burn_in = 3, coordinate and norm taming)
/// is its definition, bit for bit, after each of 4 outer steps, on the lane path
/// and the agent path: a separable quadratic whose gradient is written out here
/// (`a_k (x_k - s_k)`, with `h a |y|` up to 0.2, so coordinate taming changes the
/// step by up to 20%), the rough potential (whose gradients of 1e2 to 1e3 make
/// taming dominate), and the non-separable Rosenbrock (agent path only).
#[test]
fn homogenized_steps_are_their_definition() {
    let d = 5;
    let x0 = initial(d);
    let a = [0.5, 1.0, 2.0, 4.0, 3.0];
    let s = [0.25, -0.5, 0.0, 1.0, -1.0];
    let quad = Quadratic::new(a.to_vec(), Shift::new(s.to_vec()));
    let quad_grad = |x: &[f32], g: &mut [f32]| {
        for k in 0..x.len() {
            g[k] = a[k] as f32 * (x[k] - s[k] as f32);
        }
    };
    let rough = Rough::new(0.01, Shift::new(s.to_vec()));
    let rough_grad = |x: &[f32], g: &mut [f32]| rough.grad_f32(x, g);
    let rosen = Rosenbrock::new(Shift::new(s[..3].to_vec()));
    let rosen_grad = |x: &[f32], g: &mut [f32]| rosen.grad_f32(x, g);
    let x0_3 = initial(3);

    for taming in [Taming::Coordinate, Taming::Norm] {
        let m = homogenized_method(&format!("MF-HOM-SGLD {}", taming.name()), taming);
        // The lane path takes `none` and `coordinate` taming only.
        let lanes = taming != Taming::Norm;
        compare(&quad, &m, lanes, &homogenized(&m, &quad_grad, None, &x0, d));
        compare(
            &rough,
            &m,
            lanes,
            &homogenized(&m, &rough_grad, None, &x0, d),
        );
        compare(
            &rosen,
            &m,
            false,
            &homogenized(&m, &rosen_grad, None, &x0_3, 3),
        );
    }
}

/// The Euler scheme with interaction (MF-SGLD) is its definition, bit for bit:
/// norm taming (`dt g / (1 + dt ||g||)`, agent path) on the rough potential and on
/// Rosenbrock, and coordinate taming on the quadratic on both paths.
#[test]
fn euler_steps_are_their_definition() {
    let d = 5;
    let x0 = initial(d);
    let s = [0.25, -0.5, 0.0, 1.0, -1.0];
    let rough = Rough::new(0.01, Shift::new(s.to_vec()));
    let rough_grad = |x: &[f32], g: &mut [f32]| rough.grad_f32(x, g);
    let rosen = Rosenbrock::new(Shift::new(s[..3].to_vec()));
    let rosen_grad = |x: &[f32], g: &mut [f32]| rosen.grad_f32(x, g);
    let a = [0.5, 1.0, 2.0, 4.0, 3.0];
    let quad = Quadratic::new(a.to_vec(), Shift::new(s.to_vec()));
    let quad_grad = |x: &[f32], g: &mut [f32]| {
        for k in 0..x.len() {
            g[k] = a[k] as f32 * (x[k] - s[k] as f32);
        }
    };

    let norm = MethodConfig::euler("MF-SGLD norm", 0.01, 2.0)
        .lambda(3.0)
        .taming(Taming::Norm);
    compare(
        &rough,
        &norm,
        false,
        &euler(&norm, &rough_grad, None, &x0, d),
    );
    compare(
        &rosen,
        &norm,
        false,
        &euler(&norm, &rosen_grad, None, &initial(3), 3),
    );
    // dt = 0.05: dt a |y| reaches 0.6, so coordinate taming matters.
    let coord = MethodConfig::euler("MF-SGLD coordinate", 0.05, 2.0)
        .lambda(3.0)
        .taming(Taming::Coordinate);
    compare(
        &quad,
        &coord,
        true,
        &euler(&coord, &quad_grad, None, &x0, d),
    );
}

/// Schedules of dt, beta and lambda (DESIGN section 2.6) step by their
/// definition, bit for bit: MF-SGLD whose dt grows linearly, whose beta grows
/// geometrically tenfold and whose lambda grows from 0 (so the interaction
/// starts at step 1), on both CPU paths (quadratic, coordinate taming) and the
/// agent path (rough, norm taming); and MF-HOM-SGLD with all three scheduled.
#[test]
fn scheduled_steps_are_their_definition() {
    let d = 5;
    let x0 = initial(d);
    let s = [0.25, -0.5, 0.0, 1.0, -1.0];
    let a = [0.5, 1.0, 2.0, 4.0, 3.0];
    let quad = Quadratic::new(a.to_vec(), Shift::new(s.to_vec()));
    let quad_grad = |x: &[f32], g: &mut [f32]| {
        for k in 0..x.len() {
            g[k] = a[k] as f32 * (x[k] - s[k] as f32);
        }
    };
    let rough = Rough::new(0.01, Shift::new(s.to_vec()));
    let rough_grad = |x: &[f32], g: &mut [f32]| rough.grad_f32(x, g);
    let m = MethodConfig::euler("scheduled MF-SGLD", 0.01, 2.0)
        .ramp(Ramped::Dt, Ramp::linear(0.05))
        .ramp(Ramped::Beta, Ramp::geometric(20.0))
        .ramp(Ramped::Lambda, Ramp::linear(3.0))
        .taming(Taming::Coordinate);
    let want = euler(&m, &quad_grad, None, &x0, d);
    // The schedule is not the constant method (the test would not see it otherwise).
    let constant = MethodConfig {
        ramps: Default::default(),
        ..m.clone()
    };
    assert_ne!(want, euler(&constant, &quad_grad, None, &x0, d));
    compare(&quad, &m, true, &want);
    let norm = m.clone().taming(Taming::Norm);
    compare(
        &rough,
        &norm,
        false,
        &euler(&norm, &rough_grad, None, &x0, d),
    );
    // The homogenized scheme, whose inner step and noise follow dt and beta.
    let hom = homogenized_method("scheduled MF-HOM-SGLD", Taming::Coordinate)
        .ramp(Ramped::Dt, Ramp::geometric(0.001))
        .ramp(Ramped::Beta, Ramp::linear(10.0))
        .ramp(Ramped::Lambda, Ramp::linear(0.5));
    compare(
        &quad,
        &hom,
        true,
        &homogenized(&hom, &quad_grad, None, &x0, d),
    );
}

/// The cost-weighted mean and the l1 interaction (DESIGN section 2.7) step by
/// their definitions, bit for bit: weighted MF-SGLD with `alpha` scheduled
/// geometrically from 2 to 20 on both CPU paths (quadratic) and with norm
/// taming on the agent path (Rosenbrock), weighted MF-HOM-SGLD (rough), and
/// the l1 interaction, which takes the agent path, for both schemes.
#[test]
fn weighted_and_l1_steps_are_their_definition() {
    let d = 5;
    let x0 = initial(d);
    let s = [0.25, -0.5, 0.0, 1.0, -1.0];
    let a = [0.5, 1.0, 2.0, 4.0, 3.0];
    let quad = Quadratic::new(a.to_vec(), Shift::new(s.to_vec()));
    let quad_grad = |x: &[f32], g: &mut [f32]| {
        for k in 0..x.len() {
            g[k] = a[k] as f32 * (x[k] - s[k] as f32);
        }
    };
    let quad_value = weighing(&quad);
    let rough = Rough::new(0.01, Shift::new(s.to_vec()));
    let rough_grad = |x: &[f32], g: &mut [f32]| rough.grad_f32(x, g);
    let rough_value = weighing(&rough);
    let rosen = Rosenbrock::new(Shift::new(s[..3].to_vec()));
    let rosen_grad = |x: &[f32], g: &mut [f32]| rosen.grad_f32(x, g);
    let rosen_value = weighing(&rosen);

    let weighted = MethodConfig::euler("weighted MF-SGLD", 0.05, 2.0)
        .lambda(3.0)
        .weighted(2.0)
        .ramp(Ramped::Alpha, Ramp::geometric(20.0))
        .taming(Taming::Coordinate);
    let want = euler(&weighted, &quad_grad, Some(&quad_value), &x0, d);
    // The weights matter: the plain mean gives other positions.
    let plain = weighted.clone().interaction(Interaction::Mean);
    let plain = MethodConfig {
        ramps: Default::default(),
        ..plain
    };
    assert_ne!(want, euler(&plain, &quad_grad, None, &x0, d));
    compare(&quad, &weighted, true, &want);
    let norm = weighted.clone().taming(Taming::Norm);
    let x3 = initial(3);
    compare(
        &rosen,
        &norm,
        false,
        &euler(&norm, &rosen_grad, Some(&rosen_value), &x3, 3),
    );
    let hom = homogenized_method("weighted MF-HOM-SGLD", Taming::Coordinate).weighted(5.0);
    compare(
        &rough,
        &hom,
        true,
        &homogenized(&hom, &rough_grad, Some(&rough_value), &x0, d),
    );

    // l1: the agent path, whichever path is asked for.
    let l1 = MethodConfig::euler("l1 MF-SGLD", 0.05, 2.0)
        .lambda(3.0)
        .l1();
    compare(&quad, &l1, false, &euler(&l1, &quad_grad, None, &x0, d));
    let hom_l1 = homogenized_method("l1 MF-HOM-SGLD", Taming::Coordinate).l1();
    compare(
        &rough,
        &hom_l1,
        false,
        &homogenized(&hom_l1, &rough_grad, None, &x0, d),
    );
}

/// Ties in the l1 interaction count in neither direction (`sign(0) = 0`):
/// positions on a grid of 0.5, so that most coordinates tie with others of
/// their run, step by the definition bit for bit; and with one agent per run
/// the l1 pull is 0, so l1 MF-SGLD is SGLD bit for bit.
#[test]
fn l1_ties_count_as_zero() {
    let d = 5;
    let s = [0.25, -0.5, 0.0, 1.0, -1.0];
    let a = [0.5, 1.0, 2.0, 4.0, 3.0];
    let quad = Quadratic::new(a.to_vec(), Shift::new(s.to_vec()));
    let quad_grad = |x: &[f32], g: &mut [f32]| {
        for k in 0..x.len() {
            g[k] = a[k] as f32 * (x[k] - s[k] as f32);
        }
    };
    let tied: Vec<f32> = initial(d).iter().map(|v| (v * 2.0).round() / 2.0).collect();
    let distinct = |k: usize| {
        let mut c: Vec<u32> = (0..AGENTS).map(|i| tied[i * d + k].to_bits()).collect();
        c.sort();
        c.dedup();
        c.len()
    };
    assert!(
        (0..d).any(|k| distinct(k) < AGENTS),
        "the grid makes ties (else the test would not see them)"
    );
    let l1 = MethodConfig::euler("l1 MF-SGLD", 0.05, 2.0)
        .lambda(3.0)
        .l1();
    let want = euler(&l1, &quad_grad, None, &tied, d);
    let e = EnsembleConfig::new(RUNS, AGENTS, STEPS)
        .seed(SEED)
        .init_uniform(BOX.0, BOX.1)
        .record_every(1);
    let mut ens = Ensemble::with_potential(quad.clone(), &e, &l1, cpu_options()).unwrap();
    let view = ndarray::ArrayView3::from_shape((RUNS, AGENTS, d), &tied).unwrap();
    ens.set_positions(view).unwrap();
    for (n, w) in want.iter().enumerate() {
        ens.advance(1).unwrap();
        assert_bits(&flat(&ens), w, &format!("l1 with ties, X({})", n + 1));
    }

    // One agent per run: nothing to pull towards.
    let one = EnsembleConfig::new(3, 1, STEPS)
        .seed(SEED)
        .init_uniform(-2.0, 2.0);
    let sgld = MethodConfig::euler("SGLD", 0.05, 2.0);
    let mut a1 = Ensemble::with_potential(quad.clone(), &one, &l1, cpu_options()).unwrap();
    let mut a0 = Ensemble::with_potential(quad, &one, &sgld, cpu_options()).unwrap();
    a1.run().unwrap();
    a0.run().unwrap();
    let (p1, p0) = (flat(&a1), flat(&a0));
    assert_eq!(p1.len(), 3 * d);
    for (x, y) in p1.iter().zip(&p0) {
        assert_eq!(x.to_bits(), y.to_bits(), "N = 1: l1 {x:e}, SGLD {y:e}");
    }
}

fn cpu_options() -> Options {
    Options {
        backend: Backend::Cpu,
        ..Options::default()
    }
}

/// Consensus-based optimisation of DESIGN section 2.8, returning `X(n)` for
/// `n = 1..=STEPS`:
///
/// ```text
/// v_i = X_i(n) - m_alpha,r(n)
/// X_i(n+1) = X_i(n) - dt lambda v_i + sigma sqrt(dt) B(v_i) Z_i(n, 0)   (Z: domain 0, sub = 0)
/// B(v) = diag(v) (anisotropic) or |v|_2 I (isotropic, summed in coordinate order)
/// ```
///
/// with `sigma sqrt(dt)` and `dt lambda` computed in f64 and rounded once.
fn cbo(m: &MethodConfig, value: Value, x0: &[f32], d: usize) -> Vec<Vec<f32>> {
    let Scheme::Cbo { sigma, noise } = m.scheme else {
        panic!("{} is not CBO", m.name);
    };
    let mut x = x0.to_vec();
    let mut out = Vec::new();
    for n in 0..STEPS {
        let dt = scheduled(m.dt, m.ramps.dt, n);
        let lambda = scheduled(m.lambda, m.ramps.lambda, n);
        let sigma_sqrt_dt = (sigma * dt.sqrt()) as f32;
        let lambda_dt = (dt * lambda) as f32;
        let point = match m.interaction {
            Interaction::Weighted { alpha } => {
                weighted_means(&x, d, scheduled(alpha, m.ramps.alpha, n), value)
            }
            Interaction::Mean => run_means(&x, d),
            Interaction::L1 => panic!("CBO has a consensus point"),
        };
        for g in 0..RUNS * AGENTS {
            let r = g / AGENTS;
            let xa = &mut x[g * d..(g + 1) * d];
            let z = normals(g, n, 0, 0, d);
            let v: Vec<f32> = (0..d).map(|k| xa[k] - point[r * d + k]).collect();
            let norm = v.iter().map(|e| e * e).sum::<f32>().sqrt();
            for k in 0..d {
                let b = match noise {
                    CboNoise::Anisotropic => v[k],
                    CboNoise::Isotropic => norm,
                };
                xa[k] = xa[k] - lambda_dt * v[k] + sigma_sqrt_dt * b * z[k];
            }
        }
        out.push(x.clone());
    }
    out
}

/// CBO steps by its definition, bit for bit, with anisotropic noise (the lane
/// path, on any potential: it takes no gradient) and isotropic noise (the agent
/// path), `alpha` and `lambda` scheduled, on the rough potential and on
/// Rosenbrock; and with the plain mean as its consensus point.
#[test]
fn cbo_steps_are_their_definition() {
    let d = 5;
    let x0 = initial(d);
    let s = [0.25, -0.5, 0.0, 1.0, -1.0];
    let rough = Rough::new(0.01, Shift::new(s.to_vec()));
    let rough_value = weighing(&rough);
    let rosen = Rosenbrock::new(Shift::new(s[..3].to_vec()));
    let rosen_value = weighing(&rosen);
    let aniso = MethodConfig::cbo("CBO", 0.05, 1.0, 0.8, 5.0)
        .ramp(Ramped::Alpha, Ramp::geometric(50.0))
        .ramp(Ramped::Lambda, Ramp::linear(2.0));
    compare(&rough, &aniso, true, &cbo(&aniso, &rough_value, &x0, d));
    let iso = aniso.clone().noise(CboNoise::Isotropic);
    let want = cbo(&iso, &rough_value, &x0, d);
    assert_ne!(want, cbo(&aniso, &rough_value, &x0, d));
    compare(&rough, &iso, false, &want);
    compare(
        &rosen,
        &iso,
        false,
        &cbo(&iso, &rosen_value, &initial(3), 3),
    );
    let plain =
        MethodConfig::cbo("CBO (plain mean)", 0.05, 1.0, 0.8, 5.0).interaction(Interaction::Mean);
    compare(&rough, &plain, true, &cbo(&plain, &rough_value, &x0, d));
    // d = 8, a multiple of 4 (the lane path's contiguous case; its whole
    // groups are checked against the agent path below).
    let s8 = [0.25, -0.5, 0.0, 1.0, -1.0, 0.5, 0.75, -0.25];
    let rough8 = Rough::new(0.01, Shift::new(s8.to_vec()));
    let rough8_value = weighing(&rough8);
    compare(
        &rough8,
        &aniso,
        true,
        &cbo(&aniso, &rough8_value, &initial(8), 8),
    );
    // Anisotropic CBO takes the lane path on a non-separable potential too.
    compare(
        &rosen,
        &aniso,
        true,
        &cbo(&aniso, &rosen_value, &initial(3), 3),
    );
}

/// With `alpha Phi` near 1e4 (`exp(-1e4)` is 0 in f64, so unshifted weights
/// would give 0/0), the weighted mean is finite and is the run's arg-min
/// agent: CBO with `sigma = 0` and `lambda dt = 1` moves every agent onto it,
/// `X - (X - m)`, which is `m` up to the rounding of the two subtractions (at
/// most one ulp of the larger of `|X|` and `|m|` each).
#[test]
fn weighted_mean_with_huge_costs_is_the_arg_min_agent() {
    let d = 5;
    let quad = Quadratic::new(vec![1.0; d], Shift::zero(d));
    let e = EnsembleConfig::new(RUNS, AGENTS, 1)
        .seed(SEED)
        .init_uniform(BOX.0, BOX.1);
    let x0 = initial(d);
    let phi = |i: usize| {
        quad.value(
            &x0[i * d..(i + 1) * d]
                .iter()
                .map(|&v| v as f64)
                .collect::<Vec<_>>(),
        )
    };
    let least = (0..RUNS * AGENTS).map(phi).fold(f64::INFINITY, f64::min);
    let alpha = 1e4 / least.max(1e-3);
    let m = MethodConfig::cbo("CBO", 1.0, 1.0, 0.0, alpha);
    let mut ens = Ensemble::with_potential(quad.clone(), &e, &m, cpu_options()).unwrap();
    ens.run().unwrap();
    let x = flat(&ens);
    for r in 0..RUNS {
        let best = (r * AGENTS..(r + 1) * AGENTS)
            .min_by(|&i, &j| phi(i).total_cmp(&phi(j)))
            .unwrap();
        assert!(alpha * phi(best) >= 1e4 * 0.99, "alpha Phi is near 1e4");
        for i in r * AGENTS..(r + 1) * AGENTS {
            for k in 0..d {
                let (got, want) = (x[i * d + k], x0[best * d + k]);
                let tol = 2.0 * f32::EPSILON * x0[i * d + k].abs().max(want.abs());
                assert!(
                    (got - want).abs() <= tol,
                    "run {r} agent {i} coordinate {k}: {got:e}, arg-min agent {best}: {want:e}"
                );
            }
        }
    }
}

/// CBO's whole lane groups (d a multiple of 4: 16 blocks loaded and stored as
/// one range of 64 coordinates) against the agent path, which is its
/// definition above, bit for bit: 2 runs x 64 agents at d = 8, so that every
/// chunk of the rayon split (8 agents a chunk on two threads, 16 on one) holds
/// whole groups. A diverging run (the plain mean with sigma^2 dt = 40, whose
/// spread grows each step) names the same run, agent and step on both paths.
#[test]
fn cbo_whole_lane_groups_match_the_agent_path() {
    let d = 8;
    let p = Rough::new(0.01, Shift::new(vec![0.25; d]));
    let e = EnsembleConfig::new(2, 64, 6)
        .seed(SEED)
        .init_uniform(-2.0, 2.0);
    let run = |m: &MethodConfig, e: &EnsembleConfig, path| {
        let options = Options {
            backend: Backend::Cpu,
            cpu_path: path,
            ..Options::default()
        };
        let mut ens = Ensemble::with_potential(p.clone(), e, m, options).unwrap();
        let device = ens.device();
        (ens.run().map(|_| flat(&ens)), device)
    };
    let m =
        MethodConfig::cbo("CBO", 0.05, 1.0, 0.8, 5.0).ramp(Ramped::Alpha, Ramp::geometric(50.0));
    let (agent, _) = run(&m, &e, CpuPath::Agent);
    let (lanes, device) = run(&m, &e, CpuPath::Auto);
    assert!(device.contains("lane path"), "{device}");
    let (agent, lanes) = (agent.unwrap(), lanes.unwrap());
    assert_eq!(agent.len(), 2 * 64 * d);
    for (i, (a, l)) in agent.iter().zip(&lanes).enumerate() {
        assert_eq!(
            a.to_bits(),
            l.to_bits(),
            "coordinate {i} (agent {}): agent path {a:e}, lane path {l:e} (tolerance 0)",
            i / d
        );
    }
    let wild = MethodConfig::cbo("CBO", 0.1, 1.0, 20.0, 5.0).interaction(Interaction::Mean);
    let long = EnsembleConfig::new(2, 64, 200)
        .seed(SEED)
        .init_uniform(-2.0, 2.0);
    let report = |r: sgld_swarm::Result<Vec<f32>>| match r {
        Err(sgld_swarm::Error::Diverged {
            run, agent, step, ..
        }) => (run, agent, step),
        other => panic!("expected a divergence, got {:?}", other.map(|x| x.len())),
    };
    let (a, _) = run(&wild, &long, CpuPath::Agent);
    let (l, _) = run(&wild, &long, CpuPath::Auto);
    assert_eq!(report(a), report(l));
}

/// The run means of a run of `n > 256` agents (DESIGN section 2.7): each
/// 256-agent tile's sums in f64 in agent order, the tiles' sums added in tile
/// order, divided by `N` and rounded once (`weights` `None`); or, weighted,
/// each tile's least cost `c_t`, `W_t = sum_j exp(c_t - c_j)` and `S_t = sum_j
/// exp(c_t - c_j) X_j`, merged as `sum_t exp(c_min - c_t) S_t / sum_t
/// exp(c_min - c_t) W_t` in tile order.
fn tiled_mean(x: &[f32], n: usize, d: usize, costs: Option<&[f64]>) -> Vec<f32> {
    let tiles: Vec<std::ops::Range<usize>> = (0..n.div_ceil(256))
        .map(|t| 256 * t..(256 * (t + 1)).min(n))
        .collect();
    let least_of = |agents: &std::ops::Range<usize>| {
        costs.map_or(0.0, |c| {
            c[agents.clone()]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
        })
    };
    let c_min = tiles.iter().map(least_of).fold(f64::INFINITY, f64::min);
    (0..d)
        .map(|k| {
            let (mut s, mut total) = (0.0f64, 0.0f64);
            for agents in &tiles {
                let c_t = least_of(agents);
                let (mut s_t, mut w_t) = (0.0f64, 0.0f64);
                for j in agents.clone() {
                    let w = costs.map_or(1.0, |c| (c_t - c[j]).exp());
                    w_t += w;
                    s_t += if costs.is_some() {
                        w * x[j * d + k] as f64
                    } else {
                        x[j * d + k] as f64
                    };
                }
                match costs {
                    None => s += s_t,
                    Some(_) => {
                        let f = (c_min - c_t).exp();
                        total += f * w_t;
                        s += f * s_t;
                    }
                }
            }
            match costs {
                None => (s / n as f64) as f32,
                Some(_) => (s / total) as f32,
            }
        })
        .collect()
}

/// One run of 600 agents (three tiles, the last partial), one CBO step with
/// the plain mean and with the weighted mean, against section 2.7's tile
/// order written out. The plain mean's positions are chosen so that the order
/// shows: `+2^60` first, `-2^60` last and ones between. Added agent by agent
/// in f64 the ones vanish (each is below half an ulp of `2^60`) and the mean
/// is 0; the tiles' sums are `2^60`, `256` and `87 - 2^60`, which rounds to
/// `128 - 2^60` (ulp 128 below `2^60`), so the mean is `384 / 600`.
#[test]
fn run_means_of_several_tiles_add_the_tiles_in_order() {
    let (n, d) = (600, 3);
    let potential = Rough::new(0.01, Shift::zero(d));
    let value = weighing(&potential);
    let ensemble = EnsembleConfig::new(1, n, 1).seed(SEED);
    let mut ordered = vec![1.0f32; n * d];
    ordered[..d].fill(2f32.powi(60));
    ordered[(n - 1) * d..].fill(-(2f32.powi(60)));
    let spread: Vec<f32> = (0..n * d)
        .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
        .collect();
    let plain = MethodConfig::cbo("CBO mean", 0.05, 1.0, 0.8, 5.0).interaction(Interaction::Mean);
    let weighted = MethodConfig::cbo("CBO weighted", 0.05, 1.0, 0.8, 5.0);
    for (method, x0) in [(&plain, &ordered), (&weighted, &spread), (&plain, &spread)] {
        let costs: Option<Vec<f64>> = match method.interaction {
            Interaction::Weighted { alpha } => {
                Some(x0.chunks_exact(d).map(|a| alpha * value(a)).collect())
            }
            _ => None,
        };
        let m = tiled_mean(x0, n, d, costs.as_deref());
        if costs.is_none() && x0 == &ordered {
            assert_eq!(m, vec![(384.0f64 / 600.0) as f32; d], "the tiles' order");
        }
        let (lambda_dt, noise) = ((0.05f64 * 1.0) as f32, (0.8 * 0.05f64.sqrt()) as f32);
        let mut want = x0.clone();
        for g in 0..n {
            let z = normals(g, 0, 0, 0, d);
            for k in 0..d {
                let v = want[g * d + k] - m[k];
                want[g * d + k] = want[g * d + k] - lambda_dt * v + noise * v * z[k];
            }
        }
        for path in paths(true) {
            let options = Options {
                cpu_path: path,
                ..cpu_options()
            };
            let mut e =
                Ensemble::with_potential(potential.clone(), &ensemble, method, options).unwrap();
            e.set_positions(ndarray::ArrayView3::from_shape((1, n, d), x0).unwrap())
                .unwrap();
            e.advance(1).unwrap();
            assert_bits(&flat(&e), &want, &format!("{} ({path:?})", method.name));
        }
    }
}
