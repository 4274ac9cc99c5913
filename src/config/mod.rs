//! Configuration: the typed description of an experiment (this file), its
//! validation (`validate.rs`: the one place where bad input becomes a clear
//! error naming the field, the value and what is allowed; nothing downstream
//! re-validates) and its TOML form (`toml_form.rs`).

mod ramp;
mod stop;
mod toml_convert;
mod toml_form;
mod validate;

pub use ramp::{Ramp, RampKind, Ramped, Ramps};
pub use stop::{Stagnation, StopReason, StopRules, Stopped};

pub use toml_convert::{default_record_every, ensemble_and_methods_toml, method_from_table};
pub(crate) use toml_form::{RawSeed, parse_toml};
pub use validate::validate_methods;
pub(crate) use validate::{num, positive};

use serde::Serialize;

/// A whole experiment: one problem, one ensemble shape, one or more methods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The potential and its dimension (TOML table `[problem]`).
    pub problem: ProblemConfig,
    /// Runs, agents, steps, seed, records and initial positions (TOML table
    /// `[ensemble]`), shared by every method.
    pub ensemble: EnsembleConfig,
    /// The methods to run, each from the same initial positions, in the order of
    /// the `[[method]]` tables; at least one.
    pub methods: Vec<MethodConfig>,
    /// When each method stops before `ensemble.steps` (TOML table `[stop]`;
    /// default: never).
    pub stop: StopRules,
}

/// The potential and its dimension (docs/DESIGN.md section 4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemConfig {
    /// The built-in potential `Phi` and its parameters (TOML `problem.potential`,
    /// one of [`POTENTIAL_NAMES`]).
    pub potential: PotentialKind,
    /// The dimension `d` of every agent, >= 1 (TOML `problem.dim`); six-hump-camel
    /// needs 2, rosenbrock at least 2.
    pub dim: usize,
    /// Translate the potential: `Phi(x - shift)`.
    pub shift: Option<Vec<f64>>,
}

/// The built-in potentials with their parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PotentialKind {
    /// `six-hump-camel`: the six-hump camel function, d = 2 only, two global minima.
    SixHumpCamel,
    /// `delta`: the scale of the oscillation (paper: 0.01).
    Rough {
        /// The oscillation's scale in `sum (y_k sin(y_k / delta) + 0.1 y_k)^2`, > 0
        /// (TOML `problem.delta`, default 0.01).
        delta: f64,
    },
    /// `rastrigin`: `10 d + sum (y_k^2 - 10 cos(2 pi y_k))`, minimum 0 at 0.
    Rastrigin,
    /// `ackley`: the Ackley function, minimum 0 at 0.
    Ackley,
    /// `rosenbrock`: the Rosenbrock valley, d >= 2, minimum 0 at `(1, ..., 1)`.
    Rosenbrock,
    /// `styblinski-tang`: `0.5 sum (y_k^4 - 16 y_k^2 + 5 y_k)`, minimum at
    /// `-2.9035340278` in every coordinate.
    StyblinskiTang,
    /// `griewank`: `1 + sum y_k^2 / 4000 - prod cos(y_k / sqrt(k + 1))`, minimum 0 at 0.
    Griewank,
    /// `a`: one curvature, or one per coordinate.
    Quadratic {
        /// The curvatures `a_k` of `0.5 sum a_k y_k^2`: one value for every
        /// coordinate or `d` values, each > 0 (TOML `problem.a`, default 1).
        a: Vec<f64>,
    },
    /// `double-well`: `0.25 sum (y_k^2 - 1)^2`, minima at every sign pattern
    /// `(+-1, ..., +-1)`.
    DoubleWell,
    /// `levy`: the Levy function, minimum 0 at `y = (1, ..., 1)`.
    Levy,
    /// `schwefel`: Schwefel's 2.26, `sum (418.9829 - y_k sin(sqrt|y_k|))`,
    /// minimum 0 at `420.9687` in every coordinate (on `[-500, 500]^d`).
    Schwefel,
    /// `alpine`: Alpine 1, `sum |y_k sin(y_k) + 0.1 y_k|`, minimum 0 at 0 (and
    /// wherever each coordinate is 0 or a root of `sin y = -0.1`).
    Alpine,
    /// `salomon`: `1 - cos(2 pi |y|) + 0.1 |y|`, minimum 0 at 0; not separable.
    Salomon,
}

/// The names accepted in `problem.potential`: those of the table of built-ins
/// (`src/potential/mod.rs`).
pub const POTENTIAL_NAMES: [&str; crate::potential::BUILTIN_NAMES.len()] =
    crate::potential::BUILTIN_NAMES;

/// The ensemble: R runs of N agents, how long, from where, and what to record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnsembleConfig {
    /// `R`: independent runs, >= 1 (TOML `ensemble.runs`).
    pub runs: usize,
    /// `N`: agents per run, >= 1, with `R N <= 2^32` (TOML `ensemble.agents`).
    pub agents: usize,
    /// Outer steps to take, from 1 to `2^32 - 1` (TOML `ensemble.steps`).
    pub steps: u64,
    /// The Philox key of every random number (TOML `ensemble.seed`, default 0;
    /// written as a decimal string above `2^63 - 1`).
    pub seed: u64,
    /// Diagnostics are recorded at step 0, every `record_every` steps, and at the end.
    pub record_every: u64,
    /// Where the agents start (TOML `ensemble.init`).
    pub init: Init,
}

/// Initial positions, drawn from stream domain 1 (docs/DESIGN.md section 3):
/// coordinate `k` of agent `g` from word `k % 4` of block `k / 4` (uniform), or
/// from the normal pair of that block (normal). Positions of your own, from an
/// array, are `Ensemble::set_positions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Init {
    /// Uniform on `[lo, hi]^d`: `X_k = lo + (hi - lo) u_k` in f32.
    Uniform {
        /// The lower end, finite (TOML `ensemble.init = { uniform = [lo, hi] }`).
        lo: f64,
        /// The upper end, `>= lo`, with `hi - lo` within the f32 range.
        hi: f64,
    },
    /// Uniform on a box, one interval per coordinate: `X_k = lo_k + (hi_k - lo_k)
    /// u_k` in f32, the same draws as `Uniform` (TOML `ensemble.init = { box =
    /// { lo = [...], hi = [...] } }`, `dim` entries each).
    Box {
        /// The lower ends, finite, one per coordinate.
        lo: Vec<f64>,
        /// The upper ends, `hi_k >= lo_k`, with `hi_k - lo_k` within the f32 range.
        hi: Vec<f64>,
    },
    /// Normal around a point: `X_k = mean_k + std_k z_k` in f32, `z` the standard
    /// normals of section 3's Box-Muller map on the same words (TOML
    /// `ensemble.init = { normal = { mean = ..., std = ... } }`, each one
    /// number for every coordinate or `dim` of them).
    Normal {
        /// The centre: one value for every coordinate, or `dim` values.
        mean: Vec<f64>,
        /// The standard deviations, `>= 0`: one value, or `dim` values.
        std: Vec<f64>,
    },
}

impl Init {
    /// Entry `k` of a per-coordinate list given as one value or `dim` values.
    pub(crate) fn entry(list: &[f64], k: usize) -> f64 {
        if list.len() == 1 { list[0] } else { list[k] }
    }

    /// A box that holds the initial positions (for `Normal`, 3 standard
    /// deviations around the mean): the smallest lower and largest upper end.
    pub fn extent(&self, dim: usize) -> (f64, f64) {
        match self {
            Init::Uniform { lo, hi } => (*lo, *hi),
            Init::Box { lo, hi } => (
                lo.iter().copied().fold(f64::INFINITY, f64::min),
                hi.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            Init::Normal { mean, std } => {
                (0..dim).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), k| {
                    let (m, s) = (Self::entry(mean, k), Self::entry(std, k));
                    (a.min(m - 3.0 * s), b.max(m + 3.0 * s))
                })
            }
        }
    }
}

/// The discretisation (docs/DESIGN.md section 2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Scheme {
    /// Euler-Maruyama: SGLD (`lambda = 0`) and MF-SGLD (paper eq. 1 and 5).
    Euler,
    /// The heterogeneous multiscale scheme of the paper's Algorithm 1 (eq. 13-15):
    /// HOM-SGLD (`lambda = 0`) and MF-HOM-SGLD.
    Homogenized {
        /// `eps`: the time-scale separation of the fast variable Y.
        eps: f64,
        /// `gamma`: the width of the coupling between X and Y (eq. 11).
        gamma: f64,
        /// `M`: inner steps whose Y iterates are averaged; `delta = dt / M`.
        inner_steps: u32,
        /// `m'`: the first averaged iterate (the paper uses 1).
        burn_in: u32,
    },
    /// Direct smoothing (the paper's section 2, eq. 2-4): an Euler step with the
    /// gradient replaced by `(1/S) sum_s grad Phi(X + sqrt(h_n) xi_s)`, the
    /// `xi_s` from stream domain 3 (`sub = s`), and the continuation
    /// `h_n = max(h_min, h h_factor^n)` ("start with a very smooth model and
    /// gradually decrease h").
    Smoothed {
        /// `h`: the Gaussian kernel's variance at step 0.
        h: f64,
        /// `S`: perturbed gradients averaged per step.
        samples: u32,
        /// The factor applied to `h` every outer step (1: constant).
        h_factor: f64,
        /// The floor `h` does not decrease below.
        h_min: f64,
    },
    /// Consensus-based optimisation (Pinnau, Totzeck, Tse and Martin 2017;
    /// Carrillo, Jin, Li and Zhu 2021), gradient-free: `X' = X - lambda dt (X -
    /// m) + sigma sqrt(dt) B(X - m) Z`, `m` the method's interaction target
    /// (the weighted mean `m_alpha` by default), `Z` from stream domain 0 as for
    /// Euler (docs/DESIGN.md section 2.8). `beta` is not used.
    Cbo {
        /// `sigma`: the size of the exploration noise.
        sigma: f64,
        /// `B(v)`: `diag(v)` or `|v|_2 I`.
        noise: CboNoise,
    },
}

/// The diffusion of consensus-based optimisation, `B(v)` for `v = X - m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CboNoise {
    /// `B(v) = diag(v)`: each coordinate's noise scales with its own distance
    /// (Carrillo et al. 2021; the default, dimension-free).
    Anisotropic,
    /// `B(v) = |v|_2 I` (Pinnau et al. 2017).
    Isotropic,
}

impl CboNoise {
    /// The name in TOML: `anisotropic` or `isotropic`.
    pub fn name(&self) -> &'static str {
        match self {
            CboNoise::Anisotropic => "anisotropic",
            CboNoise::Isotropic => "isotropic",
        }
    }
}

/// What the agents of a run are pulled towards (docs/DESIGN.md section 2.7),
/// with strength `lambda`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Interaction {
    /// The run's empirical mean: `- lambda dt (X_i - m)`, the paper's `D(x) =
    /// lambda |x|^2 / 2` (TOML `interaction = "mean"`, the default).
    Mean,
    /// The cost-weighted mean `m_alpha = sum_i w_i X_i / sum_i w_i`, `w_i =
    /// exp(-alpha Phi(X_i))` at the start of the step (the paper's section 6.1,
    /// after Pinnau et al. 2017): `- lambda dt (X_i - m_alpha)` (TOML
    /// `interaction = "weighted"` with `alpha`).
    Weighted {
        /// `alpha > 0`: how sharply the weights favour low `Phi` (default 30;
        /// schedulable like `beta`).
        alpha: f64,
    },
    /// The interaction potential `D(x) = lambda |x|_1` (the paper's section 7):
    /// `- lambda dt (1/N) sum_j sign(X_i - X_j)` coordinate by coordinate, with
    /// `sign(0) = 0` (TOML `interaction = "l1"`).
    L1,
}

impl Interaction {
    /// The weighted mean with the default `alpha = 30`.
    pub const WEIGHTED: Interaction = Interaction::Weighted { alpha: 30.0 };

    /// The name in TOML: `mean`, `weighted` or `l1`.
    pub fn name(&self) -> &'static str {
        match self {
            Interaction::Mean => "mean",
            Interaction::Weighted { .. } => "weighted",
            Interaction::L1 => "l1",
        }
    }

    /// `alpha`, for the weighted mean.
    pub fn alpha(&self) -> Option<f64> {
        match self {
            Interaction::Weighted { alpha } => Some(*alpha),
            _ => None,
        }
    }
}

impl Scheme {
    /// Inner steps per outer step: `L = burn_in + M - 1`, or 1 for Euler and
    /// smoothed steps.
    pub fn inner_len(&self) -> u32 {
        match self {
            Scheme::Euler | Scheme::Smoothed { .. } | Scheme::Cbo { .. } => 1,
            Scheme::Homogenized {
                inner_steps,
                burn_in,
                ..
            } => burn_in + inner_steps - 1,
        }
    }

    /// The name in TOML: `euler`, `homogenized`, `smoothed` or `cbo`.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Euler => "euler",
            Scheme::Homogenized { .. } => "homogenized",
            Scheme::Smoothed { .. } => "smoothed",
            Scheme::Cbo { .. } => "cbo",
        }
    }

    /// Whether the scheme has the fast variable `Y` (homogenized).
    pub fn is_homogenized(&self) -> bool {
        matches!(self, Scheme::Homogenized { .. })
    }
}

/// How the gradient step is tamed (docs/DESIGN.md section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Taming {
    /// `h g`: plain Euler, the paper's scheme.
    None,
    /// `h g_k / (1 + h |g_k|)` (TULAc).
    Coordinate,
    /// `h g / (1 + h ||g||)` (TULA).
    Norm,
}

impl Taming {
    /// The name written in a method's `taming` field: `none`, `coordinate` or `norm`.
    pub fn name(&self) -> &'static str {
        match self {
            Taming::None => "none",
            Taming::Coordinate => "coordinate",
            Taming::Norm => "norm",
        }
    }
}

/// One method: a scheme with its step size, temperature and interaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodConfig {
    /// The label in outputs and errors (TOML `method.name`); non-empty, no
    /// control characters, and its [`MethodConfig::slug`] unique within a config.
    pub name: String,
    /// The discretisation with its own parameters (TOML `method.scheme`: `euler`,
    /// `homogenized` or `smoothed`).
    pub scheme: Scheme,
    /// `dt`: the outer step (the paper's Delta).
    pub dt: f64,
    /// `beta`: the inverse temperature.
    pub beta: f64,
    /// `lambda`: the strength of the pull to the run's interaction target (0 =
    /// none).
    pub lambda: f64,
    /// What the pull is towards: the run's mean (default), its cost-weighted
    /// mean, or the l1 interaction (TOML `method.interaction`).
    pub interaction: Interaction,
    /// How the gradient step is tamed (TOML `method.taming`, default `none`).
    pub taming: Taming,
    /// Schedules of `dt`, `beta`, `lambda`, `alpha` and `h` (TOML `dt = { from =
    /// .., to = .., kind = .. }`; the field above holds `from`); none by default.
    pub ramps: Ramps,
}

impl MethodConfig {
    /// An Euler method (SGLD, or MF-SGLD with [`MethodConfig::lambda`]).
    pub fn euler(name: &str, dt: f64, beta: f64) -> Self {
        Self {
            name: name.to_string(),
            scheme: Scheme::Euler,
            dt,
            beta,
            lambda: 0.0,
            interaction: Interaction::Mean,
            taming: Taming::None,
            ramps: Ramps::default(),
        }
    }

    /// A homogenized method (HOM-SGLD, or MF-HOM-SGLD with [`MethodConfig::lambda`]),
    /// with `burn_in = 1` as in the paper.
    pub fn homogenized(
        name: &str,
        dt: f64,
        beta: f64,
        eps: f64,
        gamma: f64,
        inner_steps: u32,
    ) -> Self {
        Self {
            name: name.to_string(),
            scheme: Scheme::Homogenized {
                eps,
                gamma,
                inner_steps,
                burn_in: 1,
            },
            dt,
            beta,
            lambda: 0.0,
            interaction: Interaction::Mean,
            taming: Taming::None,
            ramps: Ramps::default(),
        }
    }

    /// A smoothed method (the paper's section 2) with kernel variance `h` and `S =
    /// samples` perturbed gradients per step; `h` stays constant unless
    /// [`MethodConfig::continuation`] is set.
    pub fn smoothed(name: &str, dt: f64, beta: f64, h: f64, samples: u32) -> Self {
        Self {
            name: name.to_string(),
            scheme: Scheme::Smoothed {
                h,
                samples,
                h_factor: 1.0,
                h_min: 0.0,
            },
            dt,
            beta,
            lambda: 0.0,
            interaction: Interaction::Mean,
            taming: Taming::None,
            ramps: Ramps::default(),
        }
    }

    /// Consensus-based optimisation with anisotropic noise and the weighted
    /// mean at `alpha` (section 2.8): `X' = X - lambda dt (X - m_alpha) + sigma
    /// sqrt(dt) diag(X - m_alpha) Z`. Gradient-free: it needs `Phi`'s value only.
    pub fn cbo(name: &str, dt: f64, lambda: f64, sigma: f64, alpha: f64) -> Self {
        Self {
            name: name.to_string(),
            scheme: Scheme::Cbo {
                sigma,
                noise: CboNoise::Anisotropic,
            },
            dt,
            // Not used by CBO; 1 keeps every derived constant defined.
            beta: 1.0,
            lambda,
            interaction: Interaction::Weighted { alpha },
            taming: Taming::None,
            ramps: Ramps::default(),
        }
    }

    /// For a CBO method: the diffusion `B` (anisotropic by default); other
    /// schemes have no such choice, and it leaves them as they are.
    pub fn noise(mut self, noise: CboNoise) -> Self {
        if let Scheme::Cbo { noise: n, .. } = &mut self.scheme {
            *n = noise;
        }
        self
    }

    /// Sets what the pull is towards (`lambda` sets its strength).
    pub fn interaction(mut self, interaction: Interaction) -> Self {
        self.interaction = interaction;
        self
    }

    /// The cost-weighted mean at `alpha` as the interaction target.
    pub fn weighted(self, alpha: f64) -> Self {
        self.interaction(Interaction::Weighted { alpha })
    }

    /// The l1 interaction `D(x) = lambda |x|_1`.
    pub fn l1(self) -> Self {
        self.interaction(Interaction::L1)
    }

    /// For a smoothed method: `h` shrinks by `h_factor` every step down to `h_min`.
    pub fn continuation(mut self, h_factor: f64, h_min: f64) -> Self {
        if let Scheme::Smoothed {
            h_factor: f,
            h_min: m,
            ..
        } = &mut self.scheme
        {
            *f = h_factor;
            *m = h_min;
        }
        self
    }

    /// Sets the interaction strength `lambda` (> 0 turns SGLD into MF-SGLD,
    /// HOM-SGLD into MF-HOM-SGLD).
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }

    /// Sets the taming of the gradient step.
    pub fn taming(mut self, taming: Taming) -> Self {
        self.taming = taming;
        self
    }

    /// Schedules `p`: from its value here at outer step 0 to `ramp.to` at step
    /// `steps - 1` (docs/DESIGN.md section 2.6). Set `p` itself first.
    pub fn ramp(mut self, p: Ramped, ramp: Ramp) -> Self {
        self.ramps.set(p, Some(ramp));
        self
    }

    /// Whether the method pulls agents to their run's mean at some step
    /// (`lambda > 0`, or a schedule of `lambda` that ends above 0).
    pub fn interacting(&self) -> bool {
        self.lambda > 0.0
            || self.ramps.lambda.is_some_and(|r| r.to > 0.0)
            || matches!(self.scheme, Scheme::Cbo { .. })
    }

    /// The value of `p` at step 0 (its field), if the method has it.
    pub fn start_value(&self, p: Ramped) -> Option<f64> {
        match p {
            Ramped::Dt => Some(self.dt),
            Ramped::Beta => Some(self.beta),
            Ramped::Lambda => Some(self.lambda),
            Ramped::Alpha => self.interaction.alpha(),
            Ramped::H => match self.scheme {
                Scheme::Smoothed { h, .. } => Some(h),
                _ => None,
            },
        }
    }

    /// The method as it steps at outer step `n` of a run of `steps` steps: each
    /// scheduled field at its value there ([`Ramp::value`]), no schedules; the
    /// smoothed scheme's `h` is `v_n`, from its schedule or its continuation
    /// `max(h_min, h h_factor^n)`, as a constant (`h_factor = 1`, `h_min = 0`).
    pub fn at_step(&self, n: u64, steps: u64) -> MethodConfig {
        let mut m = self.clone();
        m.ramps = Ramps::default();
        let value =
            |p: Ramped, from: f64| self.ramps.get(p).map_or(from, |r| r.value(from, n, steps));
        m.dt = value(Ramped::Dt, self.dt);
        m.beta = value(Ramped::Beta, self.beta);
        m.lambda = value(Ramped::Lambda, self.lambda);
        if let Interaction::Weighted { alpha } = &mut m.interaction {
            *alpha = value(Ramped::Alpha, *alpha);
        }
        if let Scheme::Smoothed {
            h, h_factor, h_min, ..
        } = &mut m.scheme
        {
            *h = match self.ramps.h {
                Some(r) => r.value(*h, n, steps),
                None => (*h * h_factor.powf(n as f64)).max(*h_min),
            };
            *h_factor = 1.0;
            *h_min = 0.0;
        }
        m
    }

    /// What a divergence's message suggests changing.
    pub fn divergence_hint(&self) -> &'static str {
        match (self.scheme, self.interaction) {
            (Scheme::Cbo { .. }, Interaction::Mean) => {
                "try a smaller sigma sqrt(dt) (the noise), or interaction = \"weighted\" \
                 (the plain mean does not follow the best agents)"
            }
            (Scheme::Cbo { .. }, _) => "try a smaller sigma sqrt(dt) (the noise)",
            _ => "try a smaller dt, or taming = \"coordinate\"",
        }
    }

    /// The file-name form of the name: lower case, every run of characters other
    /// than a-z and 0-9 replaced by `-`, no `-` at either end.
    pub fn slug(&self) -> String {
        slug(&self.name)
    }
}

/// Lower case, every run of characters other than a-z and 0-9 replaced by `-`,
/// with no `-` at either end (`"MF-SGLD (lambda = 2)"` gives `mf-sgld-lambda-2`).
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if in_run && !out.is_empty() {
                out.push('-');
            }
            out.push(c);
            in_run = false;
        } else {
            in_run = true;
        }
    }
    out
}

/// The longest slug a method may have: its files are `trajectories-<slug>.npy`
/// and their temporary twins, within the 255 bytes most file systems allow.
pub const MAX_SLUG_LEN: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("MF-HOM-SGLD"), "mf-hom-sgld");
        assert_eq!(slug("MF-SGLD (lambda = 2)"), "mf-sgld-lambda-2");
        assert_eq!(slug("a__b"), "a-b");
        assert_eq!(slug("(x)"), "x");
        assert_eq!(slug("!!"), "");
    }

    /// What needs an interaction is checked on the method as given, not at
    /// the corners of its schedules: lambda may start or end at 0 there.
    #[test]
    fn interactions_with_lambda_scheduled_through_zero_are_valid() {
        let rising = MethodConfig::cbo("CBO", 0.01, 0.0, 1.0, 10.0)
            .ramp(Ramped::Lambda, Ramp::linear(1.0))
            .ramp(Ramped::Dt, Ramp::linear(0.02))
            .ramp(Ramped::Alpha, Ramp::geometric(100.0));
        assert_eq!(rising.validate(0), Ok(()));
        let falling = MethodConfig::euler("weighted", 0.01, 1.0)
            .lambda(1.0)
            .weighted(5.0)
            .ramp(Ramped::Lambda, Ramp::linear(0.0))
            .ramp(Ramped::Beta, Ramp::linear(2.0));
        assert_eq!(falling.validate(0), Ok(()));
        let l1 = falling.clone().l1();
        assert_eq!(l1.validate(0), Ok(()));
        // Never above 0: refused, by field.
        let never = MethodConfig::cbo("CBO", 0.01, 0.0, 1.0, 10.0);
        assert_eq!(never.validate(0).unwrap_err().field, "method[0].lambda");
        let never = MethodConfig::euler("l1", 0.01, 1.0).l1();
        assert_eq!(
            never.validate(0).unwrap_err().field,
            "method[0].interaction"
        );
    }
}
