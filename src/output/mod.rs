//! What a run leaves in its output folder (docs/DESIGN.md section 5): `summary.json`,
//! `history.csv`, `positions-<slug>.npy`, `trajectories-<slug>.npy` (2-D), the
//! configuration it ran, and the plots. [`folder`] says how the folder is kept
//! describing one run.

pub mod folder;

pub use folder::{OutputFolder, Written};

use crate::diagnostics::{OverRuns, Stat};
use crate::error::{Error, Result};
use crate::experiment::ExperimentResult;
use ndarray_npy::WriteNpyExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

/// Creates `dir` and checks that files can be written there, before any time is
/// spent computing what would go in it.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    let fail = |source| Error::OutputDir {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".sgld-swarm-write-check");
    fs::write(&probe, b"").map_err(fail)?;
    fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

#[derive(Serialize)]
struct Summary<'a> {
    /// Whether every method ran to its end; `false` after an interruption
    /// (resume it from the checkpoint).
    complete: bool,
    backend: &'a str,
    device: &'a str,
    potential: String,
    dim: usize,
    runs: usize,
    agents: usize,
    seed: u64,
    methods: Vec<MethodSummary<'a>>,
}

#[derive(Serialize)]
struct MethodSummary<'a> {
    name: &'a str,
    slug: &'a str,
    /// Steps done; for a method that diverged, the step its error names.
    steps: u64,
    elapsed_s: f64,
    units_per_s: f64,
    /// Over MPI ranks: the seconds of `elapsed_s` rank 0 spent exchanging
    /// (waiting included); absent in one process.
    #[serde(skip_serializing_if = "Option::is_none")]
    exchange_s: Option<f64>,
    /// The step of the last record, which `final` describes.
    final_step: u64,
    /// Statistics over runs at the last recorded step.
    #[serde(rename = "final")]
    last: BTreeMap<&'static str, OverRuns>,
    /// The positions file; none for a method that diverged (its positions are
    /// not finite or beyond 1e20, and mix steps).
    positions: Option<String>,
    error: Option<&'a str>,
    /// Where and why a stopping rule ended it; absent when it ran to its steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<crate::config::Stopped>,
}

fn positions_file(slug: &str) -> String {
    format!("positions-{slug}.npy")
}

fn npy(
    a: &impl WriteNpyExt,
) -> impl FnOnce(&mut dyn Write) -> std::result::Result<(), String> + '_ {
    move |w| a.write_npy(w).map_err(|e| e.to_string())
}

/// Writes everything into `dir` (which [`prepare_dir`] has checked), replacing
/// what an earlier run of this tool left there (see [`folder`]), `summary.json`
/// last.
pub fn write_all(dir: &Path, result: &ExperimentResult) -> Result<Written> {
    let mut folder = OutputFolder::begin(dir)?;
    let config = match result.config() {
        Some(c) => c.to_toml(),
        None => format!(
            "# The potential is {:?} (d = {}), given to the library as a value: no [problem]\n\
             # table names it, so this file records the ensemble and the methods, and does\n\
             # not run on its own.\n\n{}",
            result.potential_name(),
            result.dim(),
            crate::config::ensemble_and_methods_toml(&result.ensemble, &result.method_configs)
        ),
    };
    folder.write_bytes("config.toml", config.as_bytes())?;
    folder.write("history.csv", |w| {
        write_history(w, result).map_err(|e| e.to_string())
    })?;
    for m in &result.methods {
        if m.error.is_none() {
            folder.write(&positions_file(&m.slug), npy(&m.positions))?;
        }
        if let Some(t) = &m.trajectories {
            folder.write(&format!("trajectories-{}.npy", m.slug), npy(t))?;
        }
    }
    #[cfg(feature = "plots")]
    crate::plot::write_plots(&mut folder, result)?;
    let summary = summary_json(result).map_err(|e| Error::Output {
        path: folder.path(folder::SUMMARY),
        message: e.to_string(),
    })?;
    folder.finish(&summary)
}

/// `summary.json` of a result, as bytes (pretty JSON and a newline).
pub fn summary_json(r: &ExperimentResult) -> serde_json::Result<Vec<u8>> {
    let summary = Summary {
        complete: r.complete,
        backend: &r.backend,
        device: &r.device,
        potential: r.potential_name(),
        dim: r.dim(),
        runs: r.ensemble.runs,
        agents: r.ensemble.agents,
        seed: r.ensemble.seed,
        methods: r
            .methods
            .iter()
            .map(|m| {
                let last = m.history.len() - 1;
                MethodSummary {
                    name: &m.name,
                    slug: &m.slug,
                    steps: m.steps,
                    elapsed_s: m.elapsed_s,
                    units_per_s: m.units_per_s,
                    exchange_s: m.exchange_s,
                    final_step: m.history.steps()[last],
                    last: Stat::ALL
                        .into_iter()
                        .filter_map(|s| Some((s.name(), m.history.over_runs(last, s)?)))
                        .collect(),
                    positions: m.error.is_none().then(|| positions_file(&m.slug)),
                    error: m.error.as_deref(),
                    stopped: m.stopped,
                }
            })
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&summary)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
pub(crate) fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

fn write_history(w: &mut dyn Write, r: &ExperimentResult) -> std::io::Result<()> {
    let mut header = String::from("method,step");
    for s in Stat::ALL.map(Stat::name) {
        header.push_str(&format!(",{s}_median,{s}_min,{s}_max"));
    }
    writeln!(w, "{header}")?;
    for m in &r.methods {
        let name = csv_field(&m.name);
        for (i, step) in m.history.steps().iter().enumerate() {
            let mut line = format!("{name},{step}");
            for s in Stat::ALL {
                let Some(o) = m.history.over_runs(i, s) else {
                    continue;
                };
                line.push_str(&format!(",{},{},{}", o.median, o.min, o.max));
            }
            writeln!(w, "{line}")?;
        }
    }
    Ok(())
}
