//! From the TOML schema (`toml_form.rs`) to the typed configuration and back:
//! defaults, integer ranges and field names in errors on the way in, the same
//! document on the way out (`Config::to_toml`).

use super::toml_form::*;
use super::validate::err;
use super::*;
use crate::error::{ConfigError, Error};

/// The record interval when none is given: about 200 records over the run.
pub fn default_record_every(steps: u64) -> u64 {
    steps.div_ceil(200).max(1)
}

/// The integer types of the configuration, with the largest value each holds.
pub(super) trait IntField: TryFrom<i64> {
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

/// A count that becomes the `sub` field of the stream counter (28 bits): from 1
/// to `max`. (`burn_in + inner_steps - 1` is checked against the same limit in
/// validation.)
fn stream_index(field: &str, v: i64, max: i64) -> Result<u32, ConfigError> {
    if (1..=max).contains(&v) {
        Ok(v as u32)
    } else {
        Err(err(
            field,
            v,
            format!("must be an integer >= 1, at most {max} (the stream's 28-bit index)"),
        ))
    }
}

pub(super) fn int_at_least<T: IntField>(field: &str, v: i64, min: i64) -> Result<T, ConfigError> {
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
    pub(super) fn into_config(self) -> Result<Config, ConfigError> {
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
            "levy" => PotentialKind::Levy,
            "schwefel" => PotentialKind::Schwefel,
            "alpine" => PotentialKind::Alpine,
            "salomon" => PotentialKind::Salomon,
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
        let init = match e.init {
            RawInit::Uniform(bounds) => {
                let [lo, hi] = bounds[..] else {
                    return Err(err(
                        "ensemble.init.uniform",
                        format!("a list of {} numbers", bounds.len()),
                        "must be exactly two numbers [lo, hi]",
                    ));
                };
                Init::Uniform { lo, hi }
            }
            RawInit::Box(RawBox { lo, hi }) => Init::Box { lo, hi },
            RawInit::Normal(RawNormal { mean, std }) => Init::Normal {
                mean: mean.into_vec(),
                std: std.into_vec(),
            },
        };
        let ensemble = EnsembleConfig {
            runs: int_at_least("ensemble.runs", e.runs, 1)?,
            agents: int_at_least("ensemble.agents", e.agents, 1)?,
            steps,
            seed: e.seed.to_u64("ensemble.seed")?,
            record_every,
            init,
        };

        let methods = self
            .method
            .into_iter()
            .enumerate()
            .map(|(i, m)| m.into_method(i))
            .collect::<Result<Vec<_>, _>>()?;
        let stop = match self.stop {
            None => StopRules::default(),
            Some(s) => StopRules {
                max_time_s: s.max_time_s,
                best_phi_below: s.best_phi_below,
                spread_below: s.spread_below,
                stagnation: match s.stagnation {
                    None => None,
                    Some(g) => Some(Stagnation {
                        records: int_at_least("stop.stagnation.records", g.records, 1)?,
                        rel_tol: g.rel_tol,
                    }),
                },
            },
        };
        Ok(Config {
            problem,
            ensemble,
            methods,
            stop,
        })
    }

    pub(super) fn from_config(c: &Config) -> Self {
        let (delta, a) = match &c.problem.potential {
            PotentialKind::Rough { delta } => (Some(*delta), None),
            PotentialKind::Quadratic { a } if a.len() == 1 => {
                (None, Some(ScalarOrList::Scalar(a[0])))
            }
            PotentialKind::Quadratic { a } => (None, Some(ScalarOrList::List(a.clone()))),
            _ => (None, None),
        };
        RawConfig {
            problem: RawProblem {
                potential: c.problem.potential.name().to_string(),
                dim: c.problem.dim as i64,
                delta,
                a,
                shift: c.problem.shift.clone(),
            },
            ensemble: RawEnsemble::from_ensemble(&c.ensemble),
            method: c.methods.iter().map(RawMethod::from_method).collect(),
            stop: (!c.stop.is_empty()).then(|| RawStop {
                max_time_s: c.stop.max_time_s,
                best_phi_below: c.stop.best_phi_below,
                spread_below: c.stop.spread_below,
                stagnation: c.stop.stagnation.map(|g| RawStagnation {
                    records: g.records as i64,
                    rel_tol: g.rel_tol,
                }),
            }),
        }
    }
}

impl RawEnsemble {
    pub(super) fn from_ensemble(e: &EnsembleConfig) -> Self {
        let init = match &e.init {
            Init::Uniform { lo, hi } => RawInit::Uniform(vec![*lo, *hi]),
            Init::Box { lo, hi } => RawInit::Box(RawBox {
                lo: lo.clone(),
                hi: hi.clone(),
            }),
            Init::Normal { mean, std } => RawInit::Normal(RawNormal {
                mean: NumberOrList::from_slice(mean),
                std: NumberOrList::from_slice(std),
            }),
        };
        RawEnsemble {
            runs: e.runs as i64,
            agents: e.agents as i64,
            steps: e.steps as i64,
            seed: RawSeed::from_u64(e.seed),
            record_every: Some(e.record_every as i64),
            init,
        }
    }
}

impl RawMethod {
    pub(super) fn from_method(m: &MethodConfig) -> Self {
        let (eps, gamma, inner_steps, burn_in) = match m.scheme {
            Scheme::Euler | Scheme::Smoothed { .. } | Scheme::Cbo { .. } => {
                (None, None, None, None)
            }
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
            ),
        };
        let (h, samples, h_factor, h_min) = match m.scheme {
            Scheme::Smoothed {
                h,
                samples,
                h_factor,
                h_min,
            } => (
                Some(RawParam::of(h, m.ramps.h)),
                Some(samples as i64),
                Some(h_factor),
                Some(h_min),
            ),
            _ => (None, None, None, None),
        };
        let scheme = m.scheme.name();
        let (sigma, noise) = match m.scheme {
            Scheme::Cbo { sigma, noise } => (Some(sigma), Some(noise.name().to_string())),
            _ => (None, None),
        };
        let cbo = matches!(m.scheme, Scheme::Cbo { .. });
        RawMethod {
            name: m.name.clone(),
            scheme: scheme.to_string(),
            dt: RawParam::of(m.dt, m.ramps.dt),
            beta: (!cbo).then(|| RawParam::of(m.beta, m.ramps.beta)),
            lambda: RawParam::of(m.lambda, m.ramps.lambda),
            // The default is written only where it is not implied by the scheme.
            interaction: (m.interaction != Interaction::Mean || cbo)
                .then(|| m.interaction.name().to_string()),
            alpha: m
                .interaction
                .alpha()
                .map(|a| RawParam::of(a, m.ramps.alpha)),
            sigma,
            noise,
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
    }
}

/// The `[ensemble]` and `[[method]]` tables of a run, as TOML: what `config.toml`
/// holds for a potential that no `[problem]` table names (a user's own).
pub fn ensemble_and_methods_toml(ensemble: &EnsembleConfig, methods: &[MethodConfig]) -> String {
    #[derive(serde::Serialize)]
    struct RawRun {
        ensemble: RawEnsemble,
        method: Vec<RawMethod>,
    }
    let raw = RawRun {
        ensemble: RawEnsemble::from_ensemble(ensemble),
        method: methods.iter().map(RawMethod::from_method).collect(),
    };
    toml::to_string_pretty(&raw).expect("an ensemble and methods always serialise")
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

impl RawParam {
    /// The value at step 0 and the schedule, if one is given; `field` names it.
    fn split(self, field: &str) -> Result<(f64, Option<Ramp>), ConfigError> {
        match self {
            RawParam::Number(v) => Ok((v, None)),
            RawParam::Ramp(r) => {
                let kind = match r.kind.as_str() {
                    "linear" => RampKind::Linear,
                    "geometric" => RampKind::Geometric,
                    other => {
                        return Err(err(
                            format!("{field}.kind"),
                            format!("{other:?}"),
                            "must be one of linear, geometric",
                        ));
                    }
                };
                Ok((r.from, Some(Ramp { to: r.to, kind })))
            }
        }
    }

    /// `from` with its schedule, as TOML writes it.
    fn of(from: f64, ramp: Option<Ramp>) -> Self {
        match ramp {
            None => RawParam::Number(from),
            Some(r) => RawParam::Ramp(RawRamp {
                from,
                to: r.to,
                kind: r.kind.name().to_string(),
            }),
        }
    }
}

impl RawMethod {
    fn into_method(self, i: usize) -> Result<MethodConfig, ConfigError> {
        let f = |name: &str| format!("method[{i}].{name}");
        let mut ramps = Ramps::default();
        let (dt, r) = self.dt.split(&f("dt"))?;
        ramps.dt = r;
        let cbo = self.scheme == "cbo";
        let beta = match (self.beta, cbo) {
            (Some(_), true) => {
                return Err(err(
                    f("beta"),
                    "(given)",
                    "is not used by scheme = \"cbo\" (its noise is sigma)",
                ));
            }
            (None, true) => 1.0,
            (None, false) => {
                return Err(err(f("beta"), "(missing)", "is required"));
            }
            (Some(b), false) => {
                let (beta, r) = b.split(&f("beta"))?;
                ramps.beta = r;
                beta
            }
        };
        let (lambda, r) = self.lambda.split(&f("lambda"))?;
        ramps.lambda = r;
        let alpha = match self.alpha {
            Some(a) => {
                let (alpha, r) = a.split(&f("alpha"))?;
                ramps.alpha = r;
                Some(alpha)
            }
            None => None,
        };
        // CBO's target is the weighted mean unless the method says otherwise.
        let default_interaction = if cbo { "weighted" } else { "mean" };
        let interaction = match self.interaction.as_deref().unwrap_or(default_interaction) {
            "mean" => Interaction::Mean,
            "weighted" => Interaction::Weighted {
                alpha: alpha.unwrap_or(30.0),
            },
            "l1" => Interaction::L1,
            other => {
                return Err(err(
                    f("interaction"),
                    format!("{other:?}"),
                    "must be one of mean, weighted, l1",
                ));
            }
        };
        if alpha.is_some() && !matches!(interaction, Interaction::Weighted { .. }) {
            return Err(err(
                f("alpha"),
                "(given)",
                "is only used by interaction = \"weighted\"",
            ));
        }
        let cbo_fields = [
            ("sigma", self.sigma.is_some()),
            ("noise", self.noise.is_some()),
        ];
        let h = match self.h {
            Some(h) => {
                let (h, r) = h.split(&f("h"))?;
                ramps.h = r;
                Some(h)
            }
            None => None,
        };
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
            ("h", h.is_some()),
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
        if !cbo {
            only(&cbo_fields, "cbo")?;
        }
        let scheme = match self.scheme.as_str() {
            "euler" => {
                only(&homogenized_fields, "homogenized")?;
                only(&smoothed_fields, "smoothed")?;
                Scheme::Euler
            }
            "cbo" => {
                only(&homogenized_fields, "homogenized")?;
                only(&smoothed_fields, "smoothed")?;
                let noise = match self.noise.as_deref().unwrap_or("anisotropic") {
                    "anisotropic" => CboNoise::Anisotropic,
                    "isotropic" => CboNoise::Isotropic,
                    other => {
                        return Err(err(
                            f("noise"),
                            format!("{other:?}"),
                            "must be one of anisotropic, isotropic",
                        ));
                    }
                };
                Scheme::Cbo {
                    sigma: self.sigma.ok_or_else(|| {
                        err(f("sigma"), "(missing)", "is required by scheme = \"cbo\"")
                    })?,
                    noise,
                }
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
                    h: h.ok_or_else(|| {
                        err(f("h"), "(missing)", "is required by scheme = \"smoothed\"")
                    })?,
                    samples: stream_index(&f("samples"), samples, crate::rng::SUB_MAX as i64 + 1)?,
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
                    inner_steps: stream_index(
                        &f("inner_steps"),
                        inner,
                        crate::rng::SUB_MAX as i64,
                    )?,
                    burn_in: stream_index(
                        &f("burn_in"),
                        self.burn_in.unwrap_or(1),
                        crate::rng::SUB_MAX as i64,
                    )?,
                }
            }
            other => {
                return Err(err(
                    f("scheme"),
                    format!("{other:?}"),
                    "must be one of euler, homogenized, smoothed, cbo",
                ));
            }
        };
        Ok(MethodConfig {
            name: self.name,
            scheme,
            dt,
            beta,
            lambda,
            interaction,
            taming,
            ramps,
        })
    }
}
