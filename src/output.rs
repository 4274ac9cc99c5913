//! What a run leaves in its output folder (DESIGN section 5): `summary.json`,
//! `history.csv`, `positions-<slug>.npy`, `trajectories-<slug>.npy` (2-D), the
//! configuration it ran, and the plots.

use crate::diagnostics::{OverRuns, STAT_NAMES};
use crate::error::{Error, Result};
use crate::experiment::ExperimentResult;
use crate::plot;
use ndarray_npy::WriteNpyExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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
    backend: &'a str,
    device: &'a str,
    potential: &'a str,
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
    steps: u64,
    elapsed_s: f64,
    units_per_s: f64,
    /// Statistics over runs at the last recorded step.
    #[serde(rename = "final")]
    last: BTreeMap<&'static str, OverRuns>,
    error: Option<&'a str>,
}

fn writer(path: &Path) -> Result<BufWriter<fs::File>> {
    fs::File::create(path)
        .map(BufWriter::new)
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes everything into `dir` (which [`prepare_dir`] has checked) and returns the
/// paths written.
pub fn write_all(dir: &Path, result: &ExperimentResult) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();

    let path = dir.join("config.toml");
    fs::write(&path, result.config.to_toml()).map_err(io_err(&path))?;
    written.push(path);

    let path = dir.join("summary.json");
    write_summary(&path, result)?;
    written.push(path);

    let path = dir.join("history.csv");
    write_history(&path, result)?;
    written.push(path);

    for m in &result.methods {
        let path = dir.join(format!("positions-{}.npy", m.slug));
        let mut w = writer(&path)?;
        m.positions.write_npy(&mut w).map_err(|e| Error::Output {
            path: path.clone(),
            message: e.to_string(),
        })?;
        w.flush().map_err(io_err(&path))?;
        written.push(path);
        if let Some(t) = &m.trajectories {
            let path = dir.join(format!("trajectories-{}.npy", m.slug));
            let mut w = writer(&path)?;
            t.write_npy(&mut w).map_err(|e| Error::Output {
                path: path.clone(),
                message: e.to_string(),
            })?;
            w.flush().map_err(io_err(&path))?;
            written.push(path);
        }
    }

    written.extend(plot::write_plots(dir, result)?);
    Ok(written)
}

fn write_summary(path: &Path, r: &ExperimentResult) -> Result<()> {
    let summary = Summary {
        backend: &r.backend,
        device: &r.device,
        potential: r.config.problem.potential.name(),
        dim: r.config.problem.dim,
        runs: r.config.ensemble.runs,
        agents: r.config.ensemble.agents,
        seed: r.config.ensemble.seed,
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
                    last: STAT_NAMES
                        .iter()
                        .map(|&s| (s, m.history.over_runs(last, s)))
                        .collect(),
                    error: m.error.as_deref(),
                }
            })
            .collect(),
    };
    let mut w = writer(path)?;
    serde_json::to_writer_pretty(&mut w, &summary).map_err(|e| Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    w.write_all(b"\n").map_err(io_err(path))?;
    w.flush().map_err(io_err(path))
}

fn write_history(path: &Path, r: &ExperimentResult) -> Result<()> {
    let mut w = writer(path)?;
    let e = io_err(path);
    let mut header = String::from("method,step");
    for s in STAT_NAMES {
        header.push_str(&format!(",{s}_median,{s}_min,{s}_max"));
    }
    writeln!(w, "{header}").map_err(&e)?;
    for m in &r.methods {
        // A name with a comma or quote is quoted as CSV requires.
        let name = if m.name.contains([',', '"']) {
            format!("\"{}\"", m.name.replace('"', "\"\""))
        } else {
            m.name.clone()
        };
        for (i, step) in m.history.steps().iter().enumerate() {
            let mut line = format!("{name},{step}");
            for s in STAT_NAMES {
                let o = m.history.over_runs(i, s);
                line.push_str(&format!(",{},{},{}", o.median, o.min, o.max));
            }
            writeln!(w, "{line}").map_err(&e)?;
        }
    }
    w.flush().map_err(&e)
}
