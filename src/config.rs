//! Configuration: the typed description of an experiment, its TOML form, and
//! validation. This is the one place where bad input becomes a clear error naming
//! the field, the value and what is allowed; nothing downstream re-validates.

use crate::error::{ConfigError, Error};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A whole experiment: one problem, one ensemble shape, one or more methods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub problem: ProblemConfig,
    pub ensemble: EnsembleConfig,
    pub methods: Vec<MethodConfig>,
}

/// The potential and its dimension (docs/DESIGN.md section 4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemConfig {
    pub potential: PotentialKind,
    pub dim: usize,
    /// Translate the potential: `Phi(x - shift)`.
    pub shift: Option<Vec<f64>>,
}

/// The built-in potentials with their parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PotentialKind {
    SixHumpCamel,
    /// `delta`: the scale of the oscillation (paper: 0.01).
    Rough {
        delta: f64,
    },
    Rastrigin,
    Ackley,
    Rosenbrock,
    StyblinskiTang,
    Griewank,
    /// `a`: one curvature, or one per coordinate.
    Quadratic {
        a: Vec<f64>,
    },
    DoubleWell,
}

/// The names accepted in `problem.potential`.
pub const POTENTIAL_NAMES: [&str; 9] = [
    "six-hump-camel",
    "rough",
    "rastrigin",
    "ackley",
    "rosenbrock",
    "styblinski-tang",
    "griewank",
    "quadratic",
    "double-well",
];

impl PotentialKind {
    pub fn name(&self) -> &'static str {
        match self {
            PotentialKind::SixHumpCamel => "six-hump-camel",
            PotentialKind::Rough { .. } => "rough",
            PotentialKind::Rastrigin => "rastrigin",
            PotentialKind::Ackley => "ackley",
            PotentialKind::Rosenbrock => "rosenbrock",
            PotentialKind::StyblinskiTang => "styblinski-tang",
            PotentialKind::Griewank => "griewank",
            PotentialKind::Quadratic { .. } => "quadratic",
            PotentialKind::DoubleWell => "double-well",
        }
    }
}

/// The ensemble: R runs of N agents, how long, from where, and what to record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnsembleConfig {
    pub runs: usize,
    pub agents: usize,
    pub steps: u64,
    pub seed: u64,
    /// Diagnostics are recorded at step 0, every `record_every` steps, and at the end.
    pub record_every: u64,
    pub init: Init,
}

/// Initial positions, drawn from stream domain 1 (docs/DESIGN.md section 3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Init {
    /// Uniform on `[lo, hi]^d`.
    Uniform { lo: f64, hi: f64 },
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
}

impl Scheme {
    /// Inner steps per outer step: `L = burn_in + M - 1`, or 1 for Euler and
    /// smoothed steps.
    pub fn inner_len(&self) -> u32 {
        match self {
            Scheme::Euler | Scheme::Smoothed { .. } => 1,
            Scheme::Homogenized {
                inner_steps,
                burn_in,
                ..
            } => burn_in + inner_steps - 1,
        }
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
    pub name: String,
    pub scheme: Scheme,
    /// `dt`: the outer step (the paper's Delta).
    pub dt: f64,
    /// `beta`: the inverse temperature.
    pub beta: f64,
    /// `lambda`: the strength of the pull to the run's empirical mean (0 = none).
    pub lambda: f64,
    pub taming: Taming,
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
            taming: Taming::None,
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
            taming: Taming::None,
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
            taming: Taming::None,
        }
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

    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }

    pub fn taming(mut self, taming: Taming) -> Self {
        self.taming = taming;
        self
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

// ---------------------------------------------------------------------------
// Validation

fn err(field: impl Into<String>, value: impl ToString, allowed: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

/// A number as a person reads it in an error: `1e308`, not 309 digits.
pub(crate) fn num(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() || (1e-4..1e7).contains(&a) {
        v.to_string()
    } else {
        format!("{v:e}")
    }
}

/// The largest magnitude the engines can hold: they compute in f32.
const F32_MAX: f64 = f32::MAX as f64;
/// The smallest positive normal f32: a parameter below it rounds to a subnormal
/// or to 0 in the engines.
const F32_MIN_POSITIVE: f64 = f32::MIN_POSITIVE as f64;

/// A parameter that must be > 0 and survive the engines' conversion to f32.
pub(crate) fn positive(field: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && (F32_MIN_POSITIVE..=F32_MAX).contains(&v) {
        Ok(())
    } else {
        Err(err(
            field,
            num(v),
            "must be a finite number > 0, between 1.2e-38 and 3.4e38 (the engines compute in f32)",
        ))
    }
}

/// A number the engines hold in f32 (any sign).
fn in_f32_range(field: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v.abs() <= F32_MAX {
        Ok(())
    } else {
        Err(err(
            field,
            num(v),
            "must be a finite number of magnitude at most 3.4e38 (the engines compute in f32)",
        ))
    }
}

/// A quantity derived from several fields (named in `fields`) that the engines
/// hold in f32.
fn derived_in_f32(fields: &str, what: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v.abs() <= F32_MAX {
        Ok(())
    } else {
        Err(err(
            fields,
            format!("{what} = {v:e}"),
            "must stay below 3.4e38 in magnitude (the engines compute in f32): \
             change one of these fields",
        ))
    }
}

impl ProblemConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = self.dim;
        if d == 0 {
            return Err(err("problem.dim", 0, "must be >= 1"));
        }
        match &self.potential {
            PotentialKind::SixHumpCamel if d != 2 => {
                return Err(err(
                    "problem.dim",
                    d,
                    "six-hump-camel is defined for dim = 2 only",
                ));
            }
            PotentialKind::Rosenbrock if d < 2 => {
                return Err(err("problem.dim", d, "rosenbrock needs dim >= 2"));
            }
            PotentialKind::Rough { delta } => positive("problem.delta", *delta)?,
            PotentialKind::Quadratic { a } => {
                if a.len() != 1 && a.len() != d {
                    return Err(err(
                        "problem.a",
                        format!("a list of length {}", a.len()),
                        format!("must be one number or a list of dim = {d} numbers"),
                    ));
                }
                for (k, &v) in a.iter().enumerate() {
                    let field = if a.len() == 1 {
                        "problem.a".to_string()
                    } else {
                        format!("problem.a[{k}]")
                    };
                    positive(&field, v)?;
                }
            }
            _ => {}
        }
        if let Some(s) = &self.shift {
            if s.len() != d {
                return Err(err(
                    "problem.shift",
                    format!("a list of length {}", s.len()),
                    format!("must have dim = {d} entries"),
                ));
            }
            for (k, &v) in s.iter().enumerate() {
                in_f32_range(&format!("problem.shift[{k}]"), v)?;
            }
        }
        Ok(())
    }
}

impl EnsembleConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.runs == 0 {
            return Err(err("ensemble.runs", 0, "must be >= 1"));
        }
        if self.agents == 0 {
            return Err(err("ensemble.agents", 0, "must be >= 1"));
        }
        // The global agent index r*N + i is counter word 1 of the stream (u32).
        match (self.runs as u64).checked_mul(self.agents as u64) {
            Some(total) if total <= 1u64 << 32 => {}
            _ => {
                return Err(err(
                    "ensemble.runs x ensemble.agents",
                    format!("{} x {}", self.runs, self.agents),
                    "must be at most 2^32 = 4294967296 agents in all",
                ));
            }
        }
        if self.steps == 0 {
            return Err(err("ensemble.steps", 0, "must be >= 1"));
        }
        // The step index is counter word 2 of the stream (u32).
        if self.steps > u32::MAX as u64 {
            return Err(err(
                "ensemble.steps",
                self.steps,
                "must be at most 4294967295",
            ));
        }
        if self.record_every == 0 {
            return Err(err("ensemble.record_every", 0, "must be >= 1"));
        }
        match self.init {
            Init::Uniform { lo, hi } => {
                let in_range = |v: f64| v.is_finite() && v.abs() <= F32_MAX;
                // The engines draw lo + (hi - lo) u in f32, so the width must fit too.
                if !(in_range(lo) && in_range(hi) && in_range(hi - lo)) || lo > hi {
                    return Err(err(
                        "ensemble.init.uniform",
                        format!("[{}, {}]", num(lo), num(hi)),
                        "must be two finite numbers [lo, hi] with lo <= hi and hi - lo at \
                         most 3.4e38 (the engines compute in f32)",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl MethodConfig {
    /// `index` names the method in errors (`method[index]`).
    pub fn validate(&self, index: usize) -> Result<(), ConfigError> {
        let f = |name: &str| format!("method[{index}].{name}");
        if self.name.trim().is_empty() {
            return Err(err(f("name"), "\"\"", "must be a non-empty name"));
        }
        if self.name.chars().any(char::is_control) {
            return Err(err(
                f("name"),
                format!("{:?}", self.name),
                "must not contain control characters (newline, tab, NUL, ...)",
            ));
        }
        let slug = self.slug();
        if slug.is_empty() {
            return Err(err(
                f("name"),
                format!("{:?}", self.name),
                "must contain a letter a-z or a digit (file names are made of them)",
            ));
        }
        if slug.len() > MAX_SLUG_LEN {
            return Err(err(
                f("name"),
                format!("a name of {} characters", self.name.chars().count()),
                format!(
                    "its file-name form must be at most {MAX_SLUG_LEN} characters (it has {})",
                    slug.len()
                ),
            ));
        }
        positive(&f("dt"), self.dt)?;
        positive(&f("beta"), self.beta)?;
        if !(self.lambda.is_finite() && self.lambda >= 0.0 && self.lambda <= F32_MAX) {
            return Err(err(
                f("lambda"),
                num(self.lambda),
                "must be a finite number >= 0, at most 3.4e38 (the engines compute in f32)",
            ));
        }
        // What the engines derive from the fields, in f32 (engine::StepConstants).
        let fields = |names: &str| format!("method[{index}].{{{names}}}");
        derived_in_f32(&fields("dt, lambda"), "dt lambda", self.dt * self.lambda)?;
        if let Scheme::Homogenized {
            eps,
            gamma,
            inner_steps,
            burn_in,
        } = self.scheme
        {
            positive(&f("eps"), eps)?;
            positive(&f("gamma"), gamma)?;
            if inner_steps == 0 {
                return Err(err(f("inner_steps"), 0, "must be >= 1"));
            }
            let delta = self.dt / inner_steps as f64;
            let all = fields("dt, inner_steps, eps, beta, gamma");
            derived_in_f32(&all, "the inner step dt / (inner_steps eps)", delta / eps)?;
            derived_in_f32(
                &all,
                "the inner noise sqrt(2 dt / (inner_steps beta eps))",
                (2.0 * delta / (self.beta * eps)).sqrt(),
            )?;
            derived_in_f32(&all, "dt / (inner_steps eps gamma)", delta / eps / gamma)?;
            derived_in_f32(&all, "dt / gamma", self.dt / gamma)?;
            if burn_in == 0 {
                return Err(err(f("burn_in"), 0, "must be >= 1 (the paper uses 1)"));
            }
            // The inner step index is the `sub` field of the stream counter (28 bits).
            if burn_in as u64 + inner_steps as u64 - 1 > crate::rng::SUB_MAX as u64 {
                return Err(err(
                    format!("method[{index}].burn_in + inner_steps"),
                    burn_in as u64 + inner_steps as u64,
                    "must be at most 2^28",
                ));
            }
        }
        if !matches!(self.scheme, Scheme::Homogenized { .. }) {
            derived_in_f32(
                &fields("dt, beta"),
                "the noise size sqrt(2 dt / beta)",
                (2.0 * self.dt / self.beta).sqrt(),
            )?;
        }
        if let Scheme::Smoothed {
            h,
            samples,
            h_factor,
            h_min,
        } = self.scheme
        {
            positive(&f("h"), h)?;
            if samples == 0 || samples as u64 > crate::rng::SUB_MAX as u64 + 1 {
                return Err(err(f("samples"), samples, "must be between 1 and 2^28"));
            }
            if !(h_factor.is_finite() && h_factor > 0.0 && h_factor <= 1.0) {
                return Err(err(
                    f("h_factor"),
                    h_factor,
                    "must be in (0, 1] (1: h stays constant)",
                ));
            }
            if !(h_min.is_finite() && h_min >= 0.0 && h_min <= h) {
                return Err(err(f("h_min"), h_min, format!("must be in [0, h = {h}]")));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.problem.validate()?;
        self.ensemble.validate()?;
        // Whether the machine has the memory is checked before running
        // (engine::memory); an array that no machine can address is invalid.
        let e = &self.ensemble;
        let len = e.runs as u128 * e.agents as u128 * self.problem.dim as u128;
        let max = isize::MAX as u128 / 4;
        if len > max {
            return Err(err(
                "problem.dim",
                self.problem.dim,
                format!(
                    "runs x agents x dim = {len} positions is more than this machine can \
                     address ({max})"
                ),
            ));
        }
        if self.methods.is_empty() {
            return Err(err("method", "none", "give at least one [[method]] table"));
        }
        for (i, m) in self.methods.iter().enumerate() {
            m.validate(i)?;
        }
        for (i, m) in self.methods.iter().enumerate() {
            if let Some(j) = self.methods[..i].iter().position(|o| o.slug() == m.slug()) {
                return Err(err(
                    format!("method[{i}].name"),
                    format!("{:?}", m.name),
                    format!(
                        "must differ from method[{j}].name {:?} after lower-casing and \
                         replacing non-alphanumerics (both give the file name {:?})",
                        self.methods[j].name,
                        m.slug()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Parses and validates a TOML document; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, Error> {
        let raw: RawConfig = parse_toml(text, origin)?;
        let config = raw.into_config()?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    pub fn from_toml_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// The same configuration as TOML (what a run used, written beside its outputs).
    pub fn to_toml(&self) -> String {
        let raw = RawConfig::from_config(self);
        toml::to_string_pretty(&raw).expect("a config always serialises")
    }
}

/// Deserializes a TOML document; an error names its line, column and the field
/// it is in (`method[1].dt: invalid type: ...`).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
) -> Result<T, Error> {
    let located = |e: toml::de::Error, field: Option<String>| {
        let (line, column) = e.span().map_or((0, 0), |span| line_col(text, span.start));
        let message = e.message().trim().replace('\n', " ");
        Error::Toml {
            origin: origin.to_string(),
            line,
            column,
            message: match field {
                Some(field) => format!("{field}: {message}"),
                None => message,
            },
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| located(e, None))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        located(e.into_inner(), field)
    })
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

// ---------------------------------------------------------------------------
// The TOML form. Names are read as strings and integers as i64 here, so that a
// wrong value gets the same "field = value: allowed" error as every other field.

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    problem: RawProblem,
    ensemble: RawEnsemble,
    #[serde(default)]
    method: Vec<RawMethod>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawProblem {
    potential: String,
    dim: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    a: Option<ScalarOrList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shift: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged, expecting = "a number > 0, or a list of dim numbers > 0")]
enum ScalarOrList {
    Scalar(f64),
    List(Vec<f64>),
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawEnsemble {
    runs: i64,
    agents: i64,
    steps: i64,
    #[serde(default)]
    seed: RawSeed,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_every: Option<i64>,
    init: RawInit,
}

/// A seed is any u64; TOML integers stop at 2^63 - 1, so larger seeds are written
/// as decimal strings.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum RawSeed {
    Int(i64),
    Text(String),
}

const SEED_ALLOWED: &str =
    "must be an integer from 0 to 18446744073709551615 (above 2^63 - 1 as a string)";

impl<'de> Deserialize<'de> for RawSeed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawSeed;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(SEED_ALLOWED)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawSeed, E> {
                Ok(RawSeed::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawSeed, E> {
                Ok(RawSeed::from_u64(v))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<RawSeed, E> {
                u64::try_from(v)
                    .map(RawSeed::from_u64)
                    .map_err(|_| E::custom(format!("{v}: {SEED_ALLOWED}")))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<RawSeed, E> {
                u64::try_from(v)
                    .map(RawSeed::from_u64)
                    .map_err(|_| E::custom(format!("{v}: {SEED_ALLOWED}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSeed, E> {
                Ok(RawSeed::Text(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Default for RawSeed {
    fn default() -> Self {
        RawSeed::Int(0)
    }
}

impl RawSeed {
    fn from_u64(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => RawSeed::Int(i),
            Err(_) => RawSeed::Text(v.to_string()),
        }
    }

    fn to_u64(&self) -> Result<u64, ConfigError> {
        match self {
            RawSeed::Int(v) => int_at_least("ensemble.seed", *v, 0),
            RawSeed::Text(t) => t.trim().parse::<u64>().map_err(|_| {
                err(
                    "ensemble.seed",
                    format!("{t:?}"),
                    "must be an integer from 0 to 18446744073709551615 (larger than 2^63 - 1 as a string)",
                )
            }),
        }
    }
}

/// A list, not a fixed-size array: serde would read `[lo, hi]` out of a longer
/// list and drop the rest, so the length is checked by hand.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum RawInit {
    Uniform(Vec<f64>),
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawMethod {
    name: String,
    scheme: String,
    dt: f64,
    beta: f64,
    #[serde(default)]
    lambda: f64,
    #[serde(default = "default_taming")]
    taming: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    eps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gamma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inner_steps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    burn_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    h: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    samples: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    h_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    h_min: Option<f64>,
}

fn default_taming() -> String {
    "none".to_string()
}

/// The record interval when none is given: about 200 records over the run.
pub fn default_record_every(steps: u64) -> u64 {
    steps.div_ceil(200).max(1)
}

/// The integer types of the configuration, with the largest value each holds.
trait IntField: TryFrom<i64> {
    const MAX: u64;
}
impl IntField for u32 {
    const MAX: u64 = u32::MAX as u64;
}
impl IntField for u64 {
    const MAX: u64 = u64::MAX;
}
impl IntField for usize {
    const MAX: u64 = usize::MAX as u64;
}

fn int_at_least<T: IntField>(field: &str, v: i64, min: i64) -> Result<T, ConfigError> {
    T::try_from(v).ok().filter(|_| v >= min).ok_or_else(|| {
        let allowed = if T::MAX >= i64::MAX as u64 {
            format!("must be an integer >= {min}")
        } else {
            format!("must be an integer >= {min}, at most {}", T::MAX)
        };
        err(field, v, allowed)
    })
}

impl RawConfig {
    fn into_config(self) -> Result<Config, ConfigError> {
        let p = self.problem;
        let dim: usize = int_at_least("problem.dim", p.dim, 1)?;
        let name = p.potential.as_str();
        let potential = match name {
            "six-hump-camel" => PotentialKind::SixHumpCamel,
            "rough" => PotentialKind::Rough {
                delta: p.delta.unwrap_or(0.01),
            },
            "rastrigin" => PotentialKind::Rastrigin,
            "ackley" => PotentialKind::Ackley,
            "rosenbrock" => PotentialKind::Rosenbrock,
            "styblinski-tang" => PotentialKind::StyblinskiTang,
            "griewank" => PotentialKind::Griewank,
            "quadratic" => PotentialKind::Quadratic {
                a: match p.a.as_ref() {
                    None => vec![1.0],
                    Some(ScalarOrList::Scalar(v)) => vec![*v],
                    Some(ScalarOrList::List(v)) => v.clone(),
                },
            },
            "double-well" => PotentialKind::DoubleWell,
            other => {
                return Err(err(
                    "problem.potential",
                    format!("{other:?}"),
                    format!("must be one of {}", POTENTIAL_NAMES.join(", ")),
                ));
            }
        };
        if p.delta.is_some() && name != "rough" {
            return Err(err(
                "problem.delta",
                p.delta.unwrap_or_default(),
                "is only used by potential = \"rough\"",
            ));
        }
        if p.a.is_some() && name != "quadratic" {
            return Err(err(
                "problem.a",
                "(given)",
                "is only used by potential = \"quadratic\"",
            ));
        }
        let problem = ProblemConfig {
            potential,
            dim,
            shift: p.shift,
        };

        let e = self.ensemble;
        let steps: u64 = int_at_least("ensemble.steps", e.steps, 1)?;
        let record_every = match e.record_every {
            Some(v) => int_at_least("ensemble.record_every", v, 1)?,
            None => default_record_every(steps),
        };
        let RawInit::Uniform(bounds) = e.init;
        let [lo, hi] = bounds[..] else {
            return Err(err(
                "ensemble.init.uniform",
                format!("a list of {} numbers", bounds.len()),
                "must be exactly two numbers [lo, hi]",
            ));
        };
        let ensemble = EnsembleConfig {
            runs: int_at_least("ensemble.runs", e.runs, 1)?,
            agents: int_at_least("ensemble.agents", e.agents, 1)?,
            steps,
            seed: e.seed.to_u64()?,
            record_every,
            init: Init::Uniform { lo, hi },
        };

        let methods = self
            .method
            .into_iter()
            .enumerate()
            .map(|(i, m)| m.into_method(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            problem,
            ensemble,
            methods,
        })
    }

    fn from_config(c: &Config) -> Self {
        let (delta, a) = match &c.problem.potential {
            PotentialKind::Rough { delta } => (Some(*delta), None),
            PotentialKind::Quadratic { a } if a.len() == 1 => {
                (None, Some(ScalarOrList::Scalar(a[0])))
            }
            PotentialKind::Quadratic { a } => (None, Some(ScalarOrList::List(a.clone()))),
            _ => (None, None),
        };
        let Init::Uniform { lo, hi } = c.ensemble.init;
        RawConfig {
            problem: RawProblem {
                potential: c.problem.potential.name().to_string(),
                dim: c.problem.dim as i64,
                delta,
                a,
                shift: c.problem.shift.clone(),
            },
            ensemble: RawEnsemble {
                runs: c.ensemble.runs as i64,
                agents: c.ensemble.agents as i64,
                steps: c.ensemble.steps as i64,
                seed: RawSeed::from_u64(c.ensemble.seed),
                record_every: Some(c.ensemble.record_every as i64),
                init: RawInit::Uniform(vec![lo, hi]),
            },
            method: c
                .methods
                .iter()
                .map(|m| {
                    let (eps, gamma, inner_steps, burn_in, scheme) = match m.scheme {
                        Scheme::Euler | Scheme::Smoothed { .. } => (None, None, None, None, ""),
                        Scheme::Homogenized {
                            eps,
                            gamma,
                            inner_steps,
                            burn_in,
                        } => (
                            Some(eps),
                            Some(gamma),
                            Some(inner_steps as i64),
                            Some(burn_in as i64),
                            "homogenized",
                        ),
                    };
                    let (h, samples, h_factor, h_min) = match m.scheme {
                        Scheme::Smoothed {
                            h,
                            samples,
                            h_factor,
                            h_min,
                        } => (Some(h), Some(samples as i64), Some(h_factor), Some(h_min)),
                        _ => (None, None, None, None),
                    };
                    let scheme = match m.scheme {
                        Scheme::Euler => "euler",
                        Scheme::Smoothed { .. } => "smoothed",
                        Scheme::Homogenized { .. } => scheme,
                    };
                    RawMethod {
                        name: m.name.clone(),
                        scheme: scheme.to_string(),
                        dt: m.dt,
                        beta: m.beta,
                        lambda: m.lambda,
                        taming: m.taming.name().to_string(),
                        eps,
                        gamma,
                        inner_steps,
                        burn_in,
                        h,
                        samples,
                        h_factor,
                        h_min,
                    }
                })
                .collect(),
        }
    }
}

/// A method from one `[[method]]` table of a TOML file (for experiments with
/// their own file layout), checked as `method[index]`.
pub fn method_from_table(table: toml::Table, index: usize) -> Result<MethodConfig, Error> {
    let raw: RawMethod =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                format!("method[{index}]")
            } else {
                format!("method[{index}].{path}")
            };
            Error::Config(err(
                field,
                "(as given)",
                e.into_inner().message().trim().replace('\n', " "),
            ))
        })?;
    let m = raw.into_method(index)?;
    m.validate(index)?;
    Ok(m)
}

impl RawMethod {
    fn into_method(self, i: usize) -> Result<MethodConfig, ConfigError> {
        let f = |name: &str| format!("method[{i}].{name}");
        let taming = match self.taming.as_str() {
            "none" => Taming::None,
            "coordinate" => Taming::Coordinate,
            "norm" => Taming::Norm,
            other => {
                return Err(err(
                    f("taming"),
                    format!("{other:?}"),
                    "must be one of none, coordinate, norm",
                ));
            }
        };
        let homogenized_fields = [
            ("eps", self.eps.is_some()),
            ("gamma", self.gamma.is_some()),
            ("inner_steps", self.inner_steps.is_some()),
            ("burn_in", self.burn_in.is_some()),
        ];
        let smoothed_fields = [
            ("h", self.h.is_some()),
            ("samples", self.samples.is_some()),
            ("h_factor", self.h_factor.is_some()),
            ("h_min", self.h_min.is_some()),
        ];
        let only = |fields: &[(&str, bool)], scheme: &str| -> Result<(), ConfigError> {
            match fields.iter().find(|(_, given)| *given) {
                Some((name, _)) => Err(err(
                    f(name),
                    "(given)",
                    format!("is only used by scheme = \"{scheme}\""),
                )),
                None => Ok(()),
            }
        };
        let scheme = match self.scheme.as_str() {
            "euler" => {
                only(&homogenized_fields, "homogenized")?;
                only(&smoothed_fields, "smoothed")?;
                Scheme::Euler
            }
            "smoothed" => {
                only(&homogenized_fields, "homogenized")?;
                let samples = self.samples.ok_or_else(|| {
                    err(
                        f("samples"),
                        "(missing)",
                        "is required by scheme = \"smoothed\"",
                    )
                })?;
                Scheme::Smoothed {
                    h: self.h.ok_or_else(|| {
                        err(f("h"), "(missing)", "is required by scheme = \"smoothed\"")
                    })?,
                    samples: int_at_least(&f("samples"), samples, 1)?,
                    h_factor: self.h_factor.unwrap_or(1.0),
                    h_min: self.h_min.unwrap_or(0.0),
                }
            }
            "homogenized" => {
                only(&smoothed_fields, "smoothed")?;
                let need = |name: &str, v: Option<f64>| {
                    v.ok_or_else(|| {
                        err(
                            f(name),
                            "(missing)",
                            "is required by scheme = \"homogenized\"",
                        )
                    })
                };
                let inner = self.inner_steps.ok_or_else(|| {
                    err(
                        f("inner_steps"),
                        "(missing)",
                        "is required by scheme = \"homogenized\"",
                    )
                })?;
                Scheme::Homogenized {
                    eps: need("eps", self.eps)?,
                    gamma: need("gamma", self.gamma)?,
                    inner_steps: int_at_least(&f("inner_steps"), inner, 1)?,
                    burn_in: int_at_least(&f("burn_in"), self.burn_in.unwrap_or(1), 1)?,
                }
            }
            other => {
                return Err(err(
                    f("scheme"),
                    format!("{other:?}"),
                    "must be one of euler, homogenized, smoothed",
                ));
            }
        };
        Ok(MethodConfig {
            name: self.name,
            scheme,
            dt: self.dt,
            beta: self.beta,
            lambda: self.lambda,
            taming,
        })
    }
}

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

    #[test]
    fn toml_round_trip() {
        let text = include_str!("../presets/fig2-rough-d10.toml");
        let c = Config::from_toml_str(text, "preset").unwrap();
        let again = Config::from_toml_str(&c.to_toml(), "again").unwrap();
        assert_eq!(c, again);
    }

    #[test]
    fn seeds_beyond_i64_round_trip() {
        let text = include_str!("../presets/fig1-camel.toml");
        let mut c = Config::from_toml_str(text, "preset").unwrap();
        c.ensemble.seed = u64::MAX;
        let again = Config::from_toml_str(&c.to_toml(), "again").unwrap();
        assert_eq!(again.ensemble.seed, u64::MAX);
        let bad = text.replace("seed = 1", "seed = \"x1\"");
        let e = Config::from_toml_str(&bad, "bad").unwrap_err().to_string();
        assert!(e.contains("ensemble.seed") && e.contains("x1"), "{e}");
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd\nef", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
