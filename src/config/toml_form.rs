//! The TOML form of a [`Config`]: parsing with errors located by line, column
//! and field, and writing back what a run used.

use super::validate::err;
use super::*;
use crate::error::{ConfigError, Error};
use serde::{Deserialize, Serialize};
use std::path::Path;

impl Config {
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

// Names are read as strings and integers as i64 here, so that a wrong value gets
// the same "field = value: allowed" error as every other field.

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
pub(crate) enum RawSeed {
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

    /// The seed, `field` naming it in errors.
    pub(crate) fn to_u64(&self, field: &str) -> Result<u64, ConfigError> {
        match self {
            RawSeed::Int(v) => int_at_least(field, *v, 0),
            RawSeed::Text(t) => t
                .trim()
                .parse::<u64>()
                .map_err(|_| err(field, format!("{t:?}"), SEED_ALLOWED)),
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
            seed: e.seed.to_u64("ensemble.seed")?,
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
    fn toml_round_trip() {
        let text = include_str!("../../presets/fig2-rough-d10.toml");
        let c = Config::from_toml_str(text, "preset").unwrap();
        let again = Config::from_toml_str(&c.to_toml(), "again").unwrap();
        assert_eq!(c, again);
    }

    #[test]
    fn seeds_beyond_i64_round_trip() {
        let text = include_str!("../../presets/fig1-camel.toml");
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
