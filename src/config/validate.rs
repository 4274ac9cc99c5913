//! Validation: every field against what the engines can run, with an error that
//! names the field, the value and what is allowed.

use super::*;
use crate::error::ConfigError;

pub(super) fn err(
    field: impl Into<String>,
    value: impl ToString,
    allowed: impl Into<String>,
) -> ConfigError {
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
    /// Checks `dim` (>= 1, addressable, and what the potential needs), the
    /// potential's parameters and the shift's length and range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = self.dim;
        if d == 0 {
            return Err(err("problem.dim", 0, "must be >= 1"));
        }
        // One agent's coordinates must be addressable, before anything is sized
        // by dim (the shift, the curvatures); the whole ensemble is checked in
        // Config::validate.
        if d as u128 > isize::MAX as u128 / 4 {
            return Err(err(
                "problem.dim",
                d,
                format!("is more than this machine can address ({})", isize::MAX / 4),
            ));
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
    /// Checks that runs, agents, steps and `record_every` are >= 1, that `R N` and
    /// `steps` fit the stream's 32-bit counter words, and that `[lo, hi]` is valid.
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
        self.init.validate(None)?;
        Ok(())
    }
}

impl MethodConfig {
    /// `index` names the method in errors (`method[index]`). With schedules,
    /// each field's end is checked (`method[i].beta.to`), then the method at
    /// every corner of the box of the scheduled fields' ranges.
    pub fn validate(&self, index: usize) -> Result<(), ConfigError> {
        self.validate_lambda_needed(index)?;
        self.validate_fields(index)?;
        if !self.ramps.any() {
            return Ok(());
        }
        let f = |name: &str| format!("method[{index}].{name}");
        for p in Ramped::ALL {
            let Some(ramp) = self.ramps.get(p) else {
                continue;
            };
            let Some(from) = self.start_value(p) else {
                let needs = match p {
                    Ramped::Alpha => "is only used by interaction = \"weighted\"",
                    _ => "is only used by scheme = \"smoothed\"",
                };
                return Err(err(f(p.name()), "a schedule", needs));
            };
            let to = ramp.to;
            let field = f(&format!("{}.to", p.name()));
            match p {
                Ramped::Lambda => {
                    if !(to.is_finite() && (0.0..=F32_MAX).contains(&to)) {
                        return Err(err(
                            field,
                            num(to),
                            "must be a finite number >= 0, at most 3.4e38",
                        ));
                    }
                }
                _ => positive(&field, to)?,
            }
            if ramp.kind == RampKind::Geometric && !(from > 0.0 && to > 0.0) {
                return Err(err(
                    f(p.name()),
                    format!("from = {}, to = {}", num(from), num(to)),
                    "a geometric schedule needs both ends > 0; use kind = \"linear\"",
                ));
            }
        }
        if let (
            Some(_),
            Scheme::Smoothed {
                h_factor, h_min, ..
            },
        ) = (self.ramps.h, self.scheme)
        {
            if h_factor != 1.0 || h_min != 0.0 {
                return Err(err(
                    f("h_factor"),
                    format!("{} (h_min {})", num(h_factor), num(h_min)),
                    "h is scheduled: leave h_factor = 1 and h_min = 0 (the schedule replaces them)",
                ));
            }
        }
        // Every derived constant is monotone in each field separately (products,
        // quotients and square roots of positive numbers), so over the box of
        // the scheduled fields' ranges, which holds every step's values, its
        // extremes are at corners: each corner is checked.
        let ramped: Vec<(Ramped, Ramp)> = Ramped::ALL
            .into_iter()
            .filter_map(|p| Some((p, self.ramps.get(p)?)))
            .collect();
        for corner in 1..(1u32 << ramped.len()) {
            let mut m = self.clone();
            m.ramps = Ramps::default();
            for (j, (p, r)) in ramped.iter().enumerate() {
                if corner & (1 << j) != 0 {
                    match p {
                        Ramped::Dt => m.dt = r.to,
                        Ramped::Beta => m.beta = r.to,
                        Ramped::Lambda => m.lambda = r.to,
                        Ramped::Alpha => {
                            if let Interaction::Weighted { alpha } = &mut m.interaction {
                                *alpha = r.to;
                            }
                        }
                        Ramped::H => {
                            if let Scheme::Smoothed { h, .. } = &mut m.scheme {
                                *h = r.to;
                            }
                        }
                    }
                }
            }
            m.validate_fields(index).map_err(|e| ConfigError {
                allowed: format!("{} (somewhere along the schedules)", e.allowed),
                ..e
            })?;
        }
        Ok(())
    }

    /// What needs an interaction, checked on the method as given (not at the
    /// corners of its schedules, where `lambda` may be 0 at one end).
    fn validate_lambda_needed(&self, index: usize) -> Result<(), ConfigError> {
        let f = |name: &str| format!("method[{index}].{name}");
        let lambda_some_time = self.lambda > 0.0 || self.ramps.lambda.is_some_and(|r| r.to > 0.0);
        if matches!(self.scheme, Scheme::Cbo { .. }) && !lambda_some_time {
            return Err(err(
                f("lambda"),
                num(self.lambda),
                "scheme = \"cbo\" needs lambda > 0 (or a schedule of lambda that ends above 0): its drift towards the consensus point",
            ));
        }
        if self.interaction != Interaction::Mean && !lambda_some_time {
            return Err(err(
                f("interaction"),
                format!("{:?}", self.interaction.name()),
                "needs lambda > 0 (or a schedule of lambda that ends above 0): without it nothing interacts",
            ));
        }
        Ok(())
    }

    fn validate_fields(&self, index: usize) -> Result<(), ConfigError> {
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
        if let Interaction::Weighted { alpha } = self.interaction {
            if !(alpha.is_finite() && alpha > 0.0 && alpha <= F32_MAX) {
                return Err(err(
                    f("alpha"),
                    num(alpha),
                    "must be a finite number > 0, at most 3.4e38 (the engines compute in f32)",
                ));
            }
        }
        if let Scheme::Cbo { sigma, .. } = self.scheme {
            if self.ramps.beta.is_some() {
                return Err(err(
                    f("beta"),
                    "a schedule",
                    "is not used by scheme = \"cbo\" (its noise is sigma)",
                ));
            }
            if !(sigma.is_finite() && sigma >= 0.0) {
                return Err(err(f("sigma"), num(sigma), "must be a finite number >= 0"));
            }
            derived_in_f32(
                &fields("sigma, dt"),
                "the noise size sigma sqrt(dt)",
                sigma * self.dt.sqrt(),
            )?;
            if self.interaction == Interaction::L1 {
                return Err(err(
                    f("interaction"),
                    "\"l1\"",
                    "scheme = \"cbo\" needs a consensus point: use weighted (the default) or mean",
                ));
            }
            if self.taming != Taming::None {
                return Err(err(
                    f("taming"),
                    format!("{:?}", self.taming.name()),
                    "scheme = \"cbo\" takes no gradient step: leave taming = \"none\"",
                ));
            }
        }
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

impl Init {
    /// Checks the values and, given `dim`, the lengths of the per-coordinate
    /// lists (`None` checks what does not depend on the dimension).
    pub fn validate(&self, dim: Option<usize>) -> Result<(), ConfigError> {
        let in_range = |v: f64| v.is_finite() && v.abs() <= F32_MAX;
        let length = |field: &str, list: &[f64], one_allowed: bool| {
            let ok = match dim {
                Some(d) => list.len() == d || (one_allowed && list.len() == 1),
                None => !list.is_empty(),
            };
            if ok {
                return Ok(());
            }
            let d = dim.map_or("dim".to_string(), |d| d.to_string());
            Err(err(
                field,
                format!("a list of {} numbers", list.len()),
                if one_allowed {
                    format!("must be one number or dim = {d} numbers")
                } else {
                    format!("must have dim = {d} numbers")
                },
            ))
        };
        match self {
            Init::Uniform { lo, hi } => {
                let (lo, hi) = (*lo, *hi);
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
            Init::Box { lo, hi } => {
                length("ensemble.init.box.lo", lo, false)?;
                length("ensemble.init.box.hi", hi, false)?;
                if lo.len() != hi.len() {
                    return Err(err(
                        "ensemble.init.box.hi",
                        format!("a list of {} numbers", hi.len()),
                        format!("must have as many numbers as lo ({})", lo.len()),
                    ));
                }
                for (k, (&l, &h)) in lo.iter().zip(hi).enumerate() {
                    if !(in_range(l) && in_range(h) && in_range(h - l)) || l > h {
                        return Err(err(
                            format!("ensemble.init.box[{k}]"),
                            format!("[{}, {}]", num(l), num(h)),
                            "must be finite with lo <= hi and hi - lo at most 3.4e38 \
                             (the engines compute in f32)",
                        ));
                    }
                }
            }
            Init::Normal { mean, std } => {
                length("ensemble.init.normal.mean", mean, true)?;
                length("ensemble.init.normal.std", std, true)?;
                for (k, &m) in mean.iter().enumerate() {
                    if !in_range(m) {
                        return Err(err(
                            format!("ensemble.init.normal.mean[{k}]"),
                            num(m),
                            "must be finite, of magnitude at most 3.4e38",
                        ));
                    }
                }
                for (k, &s) in std.iter().enumerate() {
                    // A standard normal of the stream is at most 6 in magnitude.
                    if !(in_range(s) && s >= 0.0 && in_range(6.0 * s)) {
                        return Err(err(
                            format!("ensemble.init.normal.std[{k}]"),
                            num(s),
                            "must be >= 0 and finite, with 6 std at most 3.4e38",
                        ));
                    }
                }
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
        self.ensemble.init.validate(Some(self.problem.dim))?;
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
        validate_methods(&self.methods)?;
        self.stop.validate()?;
        Ok(())
    }
}

/// Checks every method (as `method[i]`), that there is at least one, and that
/// their names give distinct file names.
pub fn validate_methods(methods: &[MethodConfig]) -> Result<(), ConfigError> {
    if methods.is_empty() {
        return Err(err("method", "none", "give at least one [[method]] table"));
    }
    for (i, m) in methods.iter().enumerate() {
        m.validate(i)?;
    }
    for (i, m) in methods.iter().enumerate() {
        if let Some(j) = methods[..i].iter().position(|o| o.slug() == m.slug()) {
            return Err(err(
                format!("method[{i}].name"),
                format!("{:?}", m.name),
                format!(
                    "must differ from method[{j}].name {:?} after lower-casing and \
                         replacing non-alphanumerics (both give the file name {:?})",
                    methods[j].name,
                    m.slug()
                ),
            ));
        }
    }
    Ok(())
}
