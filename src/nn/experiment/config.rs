//! The Figure 3 file: its layout, parsing and every check, again after the
//! command line's overrides.

use super::super::data::{EllipsesConfig, generate};
use super::super::resnet::Integrator;
use crate::config::{MethodConfig, RawSeed, method_from_table};
use crate::error::{ConfigError, Error, Result};
use serde::Deserialize;

/// A Figure 3 experiment, checked.
#[derive(Debug, Clone)]
pub struct Fig3Config {
    /// The ellipses data sets' sizes, noise and seed (`[data]`).
    pub data: EllipsesConfig,
    /// Samples per minibatch.
    pub batch: usize,
    /// The network's depth `L`, 1 to [`MAX_LAYERS`] (`network.layers`).
    pub layers: usize,
    /// The network's layer step `tau` (`network.h`), > 0.
    pub layer_step: f64,
    /// Independent ensembles per method (`ensemble.runs`).
    pub runs: usize,
    /// Agents per run, each a parameter vector of the network (`ensemble.agents`).
    pub agents: usize,
    /// Training length: an epoch is `train / batch` minibatch gradients (an
    /// outer step of the homogenized scheme takes `burn_in + M - 1` of them).
    pub epochs: u64,
    /// Loss and accuracy are recorded every this many epochs, and at the end.
    pub record_every: u64,
    /// The seed of the engines' stream (`ensemble.seed`): initial weights, noise and
    /// minibatches; every method starts from the same weights.
    pub seed: u64,
    /// Initial weights are uniform in `[-init, init]`.
    pub init: f64,
    /// Each `[[method]]` with the network discretization its `network` key names.
    pub methods: Vec<(MethodConfig, Integrator)>,
    /// The file's text, written beside the outputs.
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    data: RawData,
    network: RawNetwork,
    ensemble: RawEnsemble,
    method: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    train: i64,
    test: i64,
    #[serde(default)]
    noise: f64,
    #[serde(default)]
    seed: RawSeed,
    batch: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    layers: i64,
    h: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnsemble {
    runs: i64,
    agents: i64,
    epochs: i64,
    record_every: Option<i64>,
    #[serde(default)]
    seed: RawSeed,
    init: f64,
}

fn bad(field: &str, value: impl ToString, allowed: impl Into<String>) -> Error {
    Error::Config(ConfigError {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    })
}

fn count(field: &str, v: i64) -> Result<usize> {
    if v >= 1 {
        Ok(v as usize)
    } else {
        Err(bad(field, v, "must be an integer >= 1"))
    }
}

/// Whether a TOML text is a Figure 3 experiment (it has a `[network]` table),
/// also when it does not parse, so that its errors are this layout's.
pub fn is_fig3(text: &str) -> bool {
    match text.parse::<toml::Table>() {
        Ok(t) => t.contains_key("network"),
        Err(_) => text.lines().any(|l| l.trim() == "[network]"),
    }
}

/// `text` (a Figure 3 file) with `[ensemble]`'s epochs, record interval, seed
/// and runs set to these values (comments are not kept).
pub fn with_overrides(
    text: &str,
    epochs: u64,
    record_every: u64,
    seed: u64,
    runs: usize,
) -> String {
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return text.to_string();
    };
    if let Some(toml::Value::Table(e)) = table.get_mut("ensemble") {
        let int = |v: u64| toml::Value::Integer(v.min(i64::MAX as u64) as i64);
        e.insert("epochs".into(), int(epochs));
        e.insert("record_every".into(), int(record_every));
        e.insert(
            "seed".into(),
            match i64::try_from(seed) {
                Ok(s) => toml::Value::Integer(s),
                Err(_) => toml::Value::String(seed.to_string()),
            },
        );
        e.insert("runs".into(), int(runs as u64));
    }
    toml::to_string(&table).unwrap_or_else(|_| text.to_string())
}

/// Layers at most: the network has `6 layers + 6` parameters per agent, and the
/// GPU kernels index them in u32.
pub const MAX_LAYERS: usize = 1 << 20;

impl Fig3Config {
    /// Parses and validates a Figure 3 file; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let raw: RawFile = crate::config::parse_toml(text, origin)?;
        let batch = count("data.batch", raw.data.batch)?;
        let data = EllipsesConfig {
            train: count("data.train", raw.data.train)?,
            test: count("data.test", raw.data.test)?,
            noise: raw.data.noise,
            seed: raw.data.seed.to_u64("data.seed")?,
        };
        if batch > data.train {
            return Err(bad(
                "data.batch",
                batch,
                format!("must be at most data.train = {}", data.train),
            ));
        }
        let h = raw.network.h;
        crate::config::positive("network.h", h)?;
        let init = raw.ensemble.init;
        // The engines draw in [-init, init] in f32: its width must be finite too.
        if !(init.is_finite() && (0.0..=f32::MAX as f64 / 2.0).contains(&init)) {
            return Err(bad(
                "ensemble.init",
                crate::config::num(init),
                "must be a number >= 0, at most 1.7e38 (the engines compute in f32)",
            ));
        }
        let epochs = count("ensemble.epochs", raw.ensemble.epochs)? as u64;
        let record_every = match raw.ensemble.record_every {
            Some(v) => count("ensemble.record_every", v)? as u64,
            None => epochs.div_ceil(20),
        };
        if raw.method.is_empty() {
            return Err(bad("method", "(none)", "must list at least one [[method]]"));
        }
        let mut methods = Vec::new();
        for (i, mut table) in raw.method.into_iter().enumerate() {
            let scheme = match table.remove("network") {
                Some(toml::Value::String(s)) if s == "verlet" => Integrator::Verlet,
                Some(toml::Value::String(s)) if s == "euler" => Integrator::Euler,
                Some(v) => {
                    return Err(bad(
                        &format!("method[{i}].network"),
                        v,
                        "must be \"verlet\" or \"euler\"",
                    ));
                }
                None => {
                    return Err(bad(
                        &format!("method[{i}].network"),
                        "(missing)",
                        "must be \"verlet\" or \"euler\"",
                    ));
                }
            };
            methods.push((method_from_table(table, i)?, scheme));
        }
        let cfg = Self {
            data,
            batch,
            layers: count("network.layers", raw.network.layers)?,
            layer_step: h,
            runs: count("ensemble.runs", raw.ensemble.runs)?,
            agents: count("ensemble.agents", raw.ensemble.agents)?,
            epochs,
            record_every,
            seed: raw.ensemble.seed.to_u64("ensemble.seed")?,
            init,
            methods,
            text: text.to_string(),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what the file's fields give together (again after the command
    /// line's overrides): sizes, steps, names, and the memory the run needs.
    pub fn validate(&self) -> Result<()> {
        // The data set's own checks (noise, sizes), on a data set of two points.
        generate(&EllipsesConfig {
            train: 1,
            test: 1,
            ..self.data
        })?;
        let total = self.data.train as u64 + self.data.test as u64;
        // The data set's limit (nn::data::generate): its indices are u32 words.
        if total > u32::MAX as u64 / 4 {
            return Err(bad(
                "data.train + data.test",
                total,
                "must be at most 1073741823 (2^30 - 1)",
            ));
        }
        if self.layers > MAX_LAYERS {
            return Err(bad(
                "network.layers",
                self.layers,
                format!("must be at most {MAX_LAYERS}"),
            ));
        }
        if self.runs as u64 * self.agents as u64 > 1 << 32 {
            return Err(bad(
                "ensemble.runs x ensemble.agents",
                format!("{} x {}", self.runs, self.agents),
                "must be at most 2^32 = 4294967296 agents in all",
            ));
        }
        for (i, (m, _)) in self.methods.iter().enumerate() {
            let steps = self.epochs.checked_mul(self.steps_per_epoch(m));
            if steps.is_none_or(|s| s > u32::MAX as u64) {
                return Err(bad(
                    "ensemble.epochs",
                    self.epochs,
                    format!(
                        "times the {} outer steps per epoch of method[{i}] must be at most \
                         4294967295 steps",
                        self.steps_per_epoch(m)
                    ),
                ));
            }
            if let Some(j) = self.methods[..i]
                .iter()
                .position(|(o, _)| o.slug() == m.slug())
            {
                return Err(bad(
                    &format!("method[{i}].name"),
                    format!("{:?}", m.name),
                    format!(
                        "must differ from method[{j}].name {:?} after lower-casing and \
                         replacing non-alphanumerics (both give the file name {:?})",
                        self.methods[j].0.name,
                        m.slug()
                    ),
                ));
            }
        }
        self.footprint().check()
    }

    /// The host memory the run needs at its peak: the data sets (and the loss's
    /// copy of the training set), one method's X and Y, every method's final
    /// positions.
    pub fn footprint(&self) -> crate::engine::memory::Footprint {
        let params = (6 * self.layers as u128 + 6) * self.runs as u128 * self.agents as u128;
        let samples = self.data.train as u128 * 2 + self.data.test as u128;
        let mut f = crate::engine::memory::Footprint::default();
        f.add("data sets", samples * 24)
            .add("positions X and Y", params * 8)
            .add(
                "every method's final positions",
                params * 4 * self.methods.len() as u128,
            );
        f
    }

    /// Outer steps of `method` in one epoch.
    pub fn steps_per_epoch(&self, method: &MethodConfig) -> u64 {
        let per_step = self.batch as u64 * method.scheme.inner_len() as u64;
        (self.data.train as u64).div_ceil(per_step).max(1)
    }
}
