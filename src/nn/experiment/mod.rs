//! The paper's Figure 3 experiment: methods train the width-2 ResNet on the two
//! concentric ellipses (each method with its own discretization of the
//! network), and the history of loss and accuracy, the final accuracies and the
//! predicted class probability of each method's best agent over an extended box
//! come out. Configured by a TOML file of its own layout (`[data]`, `[network]`,
//! `[ensemble]`, `[[method]]` with `network = "verlet" | "euler"`); see
//! `presets/fig3-ellipses.toml`.

mod config;
mod outputs;

pub use config::{Fig3Config, MAX_LAYERS, is_fig3, with_overrides};
pub use outputs::{MAP_BOX, write_outputs};

use super::data::{Dataset, generate};
use super::loss::EllipsesLoss;
use super::resnet::{Integrator, ResNet};
use crate::error::Result;
use crate::potential::Potential;
use crate::{Backend, Ensemble, EnsembleConfig, Options};
use ndarray::Array3;
use serde::Serialize;
use std::time::Instant;

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
