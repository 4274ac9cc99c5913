//! The paper's Figure 3 experiment: methods train the width-2 ResNet on the two
//! concentric ellipses (each method with its own discretization of the
//! network), and the history of loss and accuracy, the final accuracies and the
//! predicted class probability of each method's best agent over an extended box
//! come out. Configured by a TOML file of its own layout (`[data]`, `[network]`,
//! `[ensemble]`, `[[method]]` with `network = "verlet" | "euler"`); see
//! `presets/fig3-ellipses.toml`.

use super::data::{Dataset, EllipsesConfig, generate};
use super::loss::EllipsesLoss;
use super::resnet::{Integrator, ResNet};
use crate::config::{MethodConfig, RawSeed, method_from_table};
use crate::error::{ConfigError, Error, Result};
use crate::potential::Potential;
use crate::{Backend, Ensemble, EnsembleConfig, Options};
use ndarray::Array3;
use serde::{Deserialize, Serialize};
use std::time::Instant;

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

/// One record of a method's training.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Epochs trained so far, from 0.
    pub epoch: u64,
    /// Outer steps taken so far: `epoch` times the method's steps per epoch.
    pub step: u64,
    /// The lowest full training loss over all agents, and that agent's accuracies.
    pub best_loss: f64,
    /// The best agent's fraction of training points classified right, in `[0, 1]`.
    pub train_accuracy: f64,
    /// The best agent's fraction of test points classified right, in `[0, 1]`.
    pub test_accuracy: f64,
    /// The accuracy on the test set of the class probabilities averaged over all agents.
    pub ensemble_test_accuracy: f64,
}

/// What a method's training produced.
pub struct Fig3Method {
    /// The method's name from its `[[method]]` table.
    pub name: String,
    /// The network discretization it trained.
    pub network: Integrator,
    /// A record at epoch 0, every `record_every` epochs, and at the last epoch.
    pub history: Vec<Record>,
    /// `[runs, agents, parameters]`.
    pub positions: Array3<f32>,
    /// The best agent's parameters at the end.
    pub best: Vec<f64>,
    /// Wall-clock seconds of training, the records' evaluations included.
    pub seconds: f64,
    /// The engine that trained it.
    pub device: String,
}

/// A whole Figure 3 run: what [`run`] returns and [`write_outputs`] writes.
pub struct Fig3Result {
    /// The configuration that ran.
    pub config: Fig3Config,
    /// The training set every method trained on.
    pub train: Dataset,
    /// The test set the accuracies are measured on.
    pub test: Dataset,
    /// One entry per `[[method]]`, in the file's order.
    pub methods: Vec<Fig3Method>,
}

/// Trains every method on the engine `backend` chooses (see
/// [`Ensemble::with_network`]); `progress(method, epochs done)` is called at every
/// record.
pub fn run(
    cfg: &Fig3Config,
    backend: Backend,
    progress: &mut dyn FnMut(usize, u64),
) -> Result<Fig3Result> {
    let (train, test) = generate(&cfg.data)?;
    let mut methods = Vec::new();
    for (i, (method, scheme)) in cfg.methods.iter().enumerate() {
        let net = ResNet {
            scheme: *scheme,
            layers: cfg.layers,
            layer_step: cfg.layer_step,
        };
        let loss = EllipsesLoss::new(net, train.clone(), cfg.batch)?;
        let per_epoch = cfg.steps_per_epoch(method);
        let steps = cfg.epochs * per_epoch;
        let ens = EnsembleConfig::new(cfg.runs, cfg.agents, steps)
            .seed(cfg.seed)
            .record_every(steps)
            .init_uniform(-cfg.init, cfg.init);
        let options = Options {
            backend,
            ..Options::default()
        };
        let mut swarm = Ensemble::with_network(loss.clone(), &ens, method, options)?;
        let device = format!("{}: {}", swarm.backend(), swarm.device());
        let t = Instant::now();
        let mut history = Vec::new();
        let mut epoch = 0;
        let best = loop {
            let (record, b) = evaluate(&loss, &swarm.positions()?, &test, epoch, epoch * per_epoch);
            history.push(record);
            progress(i, epoch);
            if epoch == cfg.epochs {
                break b;
            }
            let next = (epoch + cfg.record_every).min(cfg.epochs);
            swarm.advance((next - epoch) * per_epoch)?;
            epoch = next;
        };
        methods.push(Fig3Method {
            name: method.name.clone(),
            network: *scheme,
            history,
            positions: swarm.positions()?,
            best,
            seconds: t.elapsed().as_secs_f64(),
            device,
        });
    }
    Ok(Fig3Result {
        config: cfg.clone(),
        train,
        test,
        methods,
    })
}

/// The record of positions `x` and the best agent's parameters.
fn evaluate(
    loss: &EllipsesLoss,
    x: &Array3<f32>,
    test: &Dataset,
    epoch: u64,
    step: u64,
) -> (Record, Vec<f64>) {
    use rayon::prelude::*;
    let (runs, agents, d) = x.dim();
    let thetas: Vec<Vec<f64>> = (0..runs * agents)
        .map(|g| {
            (0..d)
                .map(|k| x[[g / agents, g % agents, k]] as f64)
                .collect()
        })
        .collect();
    let losses: Vec<f64> = thetas.par_iter().map(|t| loss.value(t)).collect();
    let b = (0..losses.len())
        .min_by(|&i, &j| losses[i].total_cmp(&losses[j]))
        .unwrap_or(0);
    let ensemble_right = test
        .x
        .par_iter()
        .zip(test.y.par_iter())
        .filter(|(p, y)| {
            let p1: f64 = thetas
                .iter()
                .map(|t| loss.net.predict(t, **p)[1])
                .sum::<f64>()
                / thetas.len() as f64;
            (p1 > 0.5) as u8 == **y
        })
        .count();
    let record = Record {
        epoch,
        step,
        best_loss: losses[b],
        train_accuracy: loss.accuracy(&thetas[b], &loss.train),
        test_accuracy: loss.accuracy(&thetas[b], test),
        ensemble_test_accuracy: ensemble_right as f64 / test.len() as f64,
    };
    (record, thetas[b].clone())
}

/// The extended box of the probability maps: three times the training box in
/// x, twice in y.
pub const MAP_BOX: (f64, f64, f64, f64) = (-3.0, 3.0, -4.0, 4.0);

#[derive(Serialize)]
struct Summary<'a> {
    experiment: &'static str,
    data: DataSummary,
    network: NetworkSummary,
    runs: usize,
    agents: usize,
    epochs: u64,
    methods: Vec<MethodSummary<'a>>,
}

#[derive(Serialize)]
struct DataSummary {
    train: usize,
    test: usize,
    noise: f64,
    batch: usize,
}

#[derive(Serialize)]
struct NetworkSummary {
    layers: usize,
    h: f64,
    parameters: usize,
}

#[derive(Serialize)]
struct MethodSummary<'a> {
    name: &'a str,
    slug: String,
    network: &'static str,
    method: &'a MethodConfig,
    device: &'a str,
    seconds: f64,
    final_record: &'a Record,
}

fn scheme_name(s: Integrator) -> &'static str {
    match s {
        Integrator::Verlet => "verlet",
        Integrator::Euler => "euler",
    }
}

/// Writes `summary.json`, `history.csv`, `positions-<slug>.npy`, `config.toml`
/// and `probability.png` (each method's best agent's probability of class 1
/// over [`MAP_BOX`], the training box drawn) into `dir`, which exists.
///
/// The folder is kept describing one run as [`crate::output::folder`] says:
/// every file atomic, `summary.json` last, an earlier run's files replaced.
pub fn write_outputs(dir: &std::path::Path, r: &Fig3Result) -> Result<crate::output::Written> {
    use ndarray_npy::WriteNpyExt;
    let cfg = &r.config;
    let mut folder = crate::output::OutputFolder::begin(dir)?;
    let methods: Vec<(&Fig3Method, &MethodConfig)> = r
        .methods
        .iter()
        .zip(cfg.methods.iter().map(|(m, _)| m))
        .collect();
    let summary = Summary {
        experiment: "fig3-ellipses",
        data: DataSummary {
            train: cfg.data.train,
            test: cfg.data.test,
            noise: cfg.data.noise,
            batch: cfg.batch,
        },
        network: NetworkSummary {
            layers: cfg.layers,
            h: cfg.layer_step,
            parameters: 6 * cfg.layers + 6,
        },
        runs: cfg.runs,
        agents: cfg.agents,
        epochs: cfg.epochs,
        methods: methods
            .iter()
            .map(|(m, mc)| MethodSummary {
                name: &m.name,
                slug: mc.slug(),
                network: scheme_name(m.network),
                method: mc,
                device: &m.device,
                seconds: m.seconds,
                final_record: m.history.last().expect("a record at epoch 0"),
            })
            .collect(),
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Output {
        path: dir.join("summary.json"),
        message: e.to_string(),
    })?;
    let mut csv = String::from(
        "method,network,epoch,step,best_loss,train_accuracy,test_accuracy,ensemble_test_accuracy\n",
    );
    for (m, _) in &methods {
        for h in &m.history {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                crate::output::csv_field(&m.name),
                scheme_name(m.network),
                h.epoch,
                h.step,
                h.best_loss,
                h.train_accuracy,
                h.test_accuracy,
                h.ensemble_test_accuracy
            ));
        }
    }
    folder.write_bytes("history.csv", csv.as_bytes())?;
    for (m, mc) in &methods {
        folder.write(&format!("positions-{}.npy", mc.slug()), |w| {
            m.positions.write_npy(w).map_err(|e| e.to_string())
        })?;
    }
    folder.write_bytes("config.toml", cfg.text.as_bytes())?;
    #[cfg(feature = "plots")]
    write_probability_maps(&mut folder, r)?;
    folder.finish((json + "\n").as_bytes())
}

/// `probability.png`: p(class 1) of each method's best agent on a grid over
/// [`MAP_BOX`], the training box drawn.
#[cfg(feature = "plots")]
fn write_probability_maps(folder: &mut crate::output::OutputFolder, r: &Fig3Result) -> Result<()> {
    let cfg = &r.config;
    // The maps: p(class 1) of each method's best agent on a grid.
    const NX: usize = 120;
    const NY: usize = 160;
    let (x0, x1, y0, y1) = MAP_BOX;
    let panels: Vec<crate::plot::Field> = r
        .methods
        .iter()
        .map(|m| {
            let net = ResNet {
                scheme: m.network,
                layers: cfg.layers,
                layer_step: cfg.layer_step,
            };
            let values = (0..NX * NY)
                .map(|c| {
                    let (i, j) = (c % NX, c / NX);
                    let p = [
                        x0 + (i as f64 + 0.5) * (x1 - x0) / NX as f64,
                        y0 + (j as f64 + 0.5) * (y1 - y0) / NY as f64,
                    ];
                    net.predict(&m.best, p)[1]
                })
                .collect();
            // The network in the title unless the method's name says it.
            let net_name = scheme_name(m.network);
            let title = if m.name.to_lowercase().contains(net_name) {
                m.name.clone()
            } else {
                format!("{}, {net_name} network", m.name)
            };
            crate::plot::Field { title, values }
        })
        .collect();
    folder.render("probability.png", |path| {
        crate::plot::probability_maps(path, MAP_BOX, (NX, NY), &panels, &r.train)
    })
}
