//! `run`: a whole configuration (every method), with the interpreter released
//! while it runs, an observer called at each record, and Ctrl-C checked between
//! pieces of steps.

use crate::errors::to_py;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use sgld_swarm::config::Config;
use sgld_swarm::diagnostics::{History, RunStats, Stat};
use sgld_swarm::experiment::{self, ExperimentResult, Lifecycle, Progress};
use sgld_swarm::{Backend, Options, output};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The backend by name.
pub fn backend(name: &str) -> PyResult<Backend> {
    match name {
        "auto" => Ok(Backend::Auto),
        "cpu" => Ok(Backend::Cpu),
        "gpu" => Ok(Backend::Gpu),
        other => Err(crate::errors::config_error(
            "backend",
            &format!("{other:?}"),
            "must be one of auto, cpu, gpu",
        )),
    }
}

/// Each run's statistics of one record, as a dict of float64 arrays `[R]`.
pub fn stats_dict<'py>(py: Python<'py>, stats: &[RunStats]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for s in Stat::ALL {
        let v: Vec<f64> = stats.iter().map(|r| r.get(s)).collect();
        d.set_item(s.name(), v.into_pyarray(py))?;
    }
    Ok(d)
}

/// A history as a dict: `step` (`[records]`) and each statistic (`[records, R]`).
pub fn history_dict<'py>(py: Python<'py>, h: &History) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("step", h.steps().to_vec().into_pyarray(py))?;
    let runs = h.runs();
    for s in Stat::ALL {
        let mut a = numpy::ndarray::Array2::<f64>::zeros((h.len(), runs));
        for i in 0..h.len() {
            for (r, st) in h.at(i).expect("a record").iter().enumerate() {
                a[[i, r]] = st.get(s);
            }
        }
        d.set_item(s.name(), a.into_pyarray(py))?;
    }
    Ok(d)
}

/// Whether an observer's return value asks to stop: a false value (`False`,
/// `numpy.False_`, 0), not `None` (what a function without `return` gives).
pub fn says_stop(out: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(!out.is_none() && !out.is_truthy()?)
}

/// Calls the observer at each record and checks for Ctrl-C as the methods
/// advance; either sets the flag that stops the run.
struct Watch {
    observer: Option<Py<PyAny>>,
    stop: Arc<AtomicBool>,
    error: Option<PyErr>,
}

impl Watch {
    fn fail(&mut self, e: PyErr) {
        self.error.get_or_insert(e);
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Progress for Watch {
    fn record(&mut self, _index: usize, name: &str, step: u64, stats: &[RunStats]) {
        let Some(f) = &self.observer else { return };
        let r = Python::attach(|py| -> PyResult<bool> {
            let d = stats_dict(py, stats)?;
            let out = f.bind(py).call1((name, step, d))?;
            says_stop(&out)
        });
        match r {
            Ok(true) => self.stop.store(true, Ordering::Relaxed),
            Ok(false) => {}
            Err(e) => self.fail(e),
        }
    }

    fn advance(&mut self, _step: u64) {
        if let Err(e) = Python::attach(|py| py.check_signals()) {
            self.fail(e);
        }
    }
}

/// Runs the configuration `text` (TOML; `origin` names it in errors) on
/// `backend`, writing the outputs into `out` when given; `observer(method,
/// step, stats)` is called at each record, and returning `False` stops the run.
/// Returns a dict: `backend`, `device`, `complete`, `summary` (summary.json's
/// text) and `methods` (a dict per method: `name`, `slug`, `steps`,
/// `positions`, `history`, `stopped`, `error`).
#[pyfunction]
#[pyo3(signature = (text, origin, backend="auto", out=None, observer=None))]
pub fn run_toml(
    py: Python<'_>,
    text: &str,
    origin: &str,
    backend: &str,
    out: Option<PathBuf>,
    observer: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let config = Config::from_toml_str(text, origin).map_err(to_py)?;
    let options = Options {
        backend: self::backend(backend)?,
        ..Options::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut watch = Watch {
        observer,
        stop: stop.clone(),
        error: None,
    };
    let lifecycle = Lifecycle {
        interrupt: Some(stop),
        ..Lifecycle::default()
    };
    let result = py.detach(|| experiment::run_with(&config, options, &mut watch, &lifecycle));
    if let Some(e) = watch.error {
        return Err(e);
    }
    let result = result.map_err(to_py)?;
    if let Some(dir) = &out {
        py.detach(|| output::write_all(dir, &result))
            .map_err(to_py)?;
    }
    result_dict(py, &result)
}

fn result_dict(py: Python<'_>, r: &ExperimentResult) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("backend", &r.backend)?;
    d.set_item("device", &r.device)?;
    d.set_item("complete", r.complete)?;
    let summary = output::summary_json(r)
        .map_err(|e| crate::errors::SgldSwarmError::new_err(e.to_string()))?;
    d.set_item("summary", String::from_utf8_lossy(&summary))?;
    let methods = PyList::empty(py);
    for m in &r.methods {
        let md = PyDict::new(py);
        md.set_item("name", &m.name)?;
        md.set_item("slug", &m.slug)?;
        md.set_item("steps", m.steps)?;
        md.set_item("elapsed_s", m.elapsed_s)?;
        md.set_item("units_per_s", m.units_per_s)?;
        md.set_item("positions", m.positions.clone().into_pyarray(py))?;
        md.set_item("history", history_dict(py, &m.history)?)?;
        md.set_item("error", &m.error)?;
        md.set_item("stopped", m.stopped.map(|s| (s.step, s.reason.name())))?;
        methods.append(md)?;
    }
    d.set_item("methods", methods)?;
    Ok(d.into_any().unbind())
}
