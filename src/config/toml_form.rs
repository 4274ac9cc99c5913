//! The TOML form of a [`Config`]: parsing with errors located by line, column
//! and field, and writing back what a run used.

use super::toml_convert::int_at_least;
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
pub(super) struct RawConfig {
    pub(super) problem: RawProblem,
    pub(super) ensemble: RawEnsemble,
    #[serde(default)]
    pub(super) method: Vec<RawMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) stop: Option<RawStop>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStop {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_time_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) best_phi_below: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) spread_below: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stagnation: Option<RawStagnation>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStagnation {
    pub(super) records: i64,
    pub(super) rel_tol: f64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProblem {
    pub(super) potential: String,
    pub(super) dim: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) delta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) a: Option<ScalarOrList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) shift: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged, expecting = "a number > 0, or a list of dim numbers > 0")]
pub(super) enum ScalarOrList {
    Scalar(f64),
    List(Vec<f64>),
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnsemble {
    pub(super) runs: i64,
    pub(super) agents: i64,
    pub(super) steps: i64,
    #[serde(default)]
    pub(super) seed: RawSeed,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) record_every: Option<i64>,
    pub(super) init: RawInit,
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
    pub(super) fn from_u64(v: u64) -> Self {
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
pub(super) enum RawInit {
    Uniform(Vec<f64>),
    #[serde(deserialize_with = "table_only")]
    Box(RawBox),
    #[serde(deserialize_with = "table_only")]
    Normal(RawNormal),
}

/// A struct from a TOML table only: serde would also fill one from a list by
/// position, which would read `normal = [0.0, 1.0]` as a mean and a std.
fn table_only<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let table = toml::Table::deserialize(d)?;
    table
        .try_into()
        .map_err(|e: toml::de::Error| serde::de::Error::custom(e.message().trim()))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBox {
    pub(super) lo: Vec<f64>,
    pub(super) hi: Vec<f64>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNormal {
    pub(super) mean: NumberOrList,
    pub(super) std: NumberOrList,
}

/// One number for every coordinate, or one per coordinate.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged, expecting = "a number, or a list of dim numbers")]
pub(super) enum NumberOrList {
    Number(f64),
    List(Vec<f64>),
}

impl NumberOrList {
    pub(super) fn into_vec(self) -> Vec<f64> {
        match self {
            NumberOrList::Number(v) => vec![v],
            NumberOrList::List(v) => v,
        }
    }

    pub(super) fn from_slice(v: &[f64]) -> Self {
        match v {
            [one] => NumberOrList::Number(*one),
            _ => NumberOrList::List(v.to_vec()),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMethod {
    pub(super) name: String,
    pub(super) scheme: String,
    pub(super) dt: RawParam,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) beta: Option<RawParam>,
    #[serde(default = "RawParam::zero")]
    pub(super) lambda: RawParam,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) interaction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) alpha: Option<RawParam>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sigma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) noise: Option<String>,
    #[serde(default = "default_taming")]
    pub(super) taming: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) eps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) gamma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) inner_steps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) burn_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) h: Option<RawParam>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) samples: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) h_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) h_min: Option<f64>,
}

/// A method's number, or its schedule (`config::Ramp`, whose start is `from`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(
    untagged,
    expecting = "a number, or a schedule { from = <number>, to = <number>, kind = \"linear\" | \"geometric\" }"
)]
pub(super) enum RawParam {
    Number(f64),
    Ramp(RawRamp),
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRamp {
    pub(super) from: f64,
    pub(super) to: f64,
    pub(super) kind: String,
}

impl RawParam {
    fn zero() -> Self {
        RawParam::Number(0.0)
    }
}

fn default_taming() -> String {
    "none".to_string()
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

    /// The box and normal initialisations parse, round-trip through the written
    /// config, and are checked against the dimension by field.
    #[test]
    fn box_and_normal_inits() {
        let text = include_str!("../../presets/fig2-rough-d10.toml");
        let uniform = text
            .lines()
            .find(|l| l.starts_with("init = "))
            .expect("the preset has an init line");
        let with = |init: &str| text.replace(uniform, init);
        let lo: Vec<String> = (0..10).map(|k| format!("{}.0", -k)).collect();
        let hi: Vec<String> = (0..10).map(|k| format!("{k}.5")).collect();
        for init in [
            format!(
                "init = {{ box = {{ lo = [{}], hi = [{}] }} }}",
                lo.join(", "),
                hi.join(", ")
            ),
            "init = { normal = { mean = 1.5, std = 0.25 } }".to_string(),
            format!(
                "init = {{ normal = {{ mean = [{}], std = 2.0 }} }}",
                hi.join(", ")
            ),
        ] {
            let c = Config::from_toml_str(&with(&init), "init").unwrap_or_else(|e| panic!("{e}"));
            assert!(!matches!(c.ensemble.init, Init::Uniform { .. }), "{init}");
            let again = Config::from_toml_str(&c.to_toml(), "again").unwrap();
            assert_eq!(c, again, "{init}");
        }
        for (init, field) in [
            (
                "init = { box = { lo = [0.0], hi = [1.0] } }",
                "ensemble.init.box.lo",
            ),
            (
                "init = { normal = { mean = [1.0, 2.0], std = 1.0 } }",
                "ensemble.init.normal.mean",
            ),
            (
                "init = { normal = { mean = 0.0, std = -1.0 } }",
                "ensemble.init.normal.std[0]",
            ),
            ("init = { normal = { mean = 0.0, sd = 1.0 } }", "sd"),
            // A list is not read as (mean, std) by position.
            ("init = { normal = [0.0, 1.0] }", "ensemble.init"),
        ] {
            let e = Config::from_toml_str(&with(init), "bad")
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{init}: {e}");
        }
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd\nef", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
