//! What a Figure 3 run writes: `summary.json`, `history.csv`, the positions,
//! `config.toml` and the probability maps.

use super::super::resnet::Integrator;
use super::{Fig3Method, Fig3Result, Record};
use crate::config::MethodConfig;
use crate::error::{Error, Result};
use serde::Serialize;

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
            let net = super::super::resnet::ResNet {
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
