//! `Ensemble`: one method on one potential, stepped from Python: a built-in by
//! name (its parameters as keywords) or a Python object (`potential.rs`), on
//! the engine the backend picks; observers, stopping rules and checkpoints as
//! in the library.

use crate::convert::{json_to_toml, problem};
use crate::errors::{SgldSwarmError, config_error, to_py};
use crate::potential::PyPotential;
use crate::run::{backend, history_dict, stats_dict};
use numpy::{IntoPyArray, PyArray3};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sgld_swarm::config::{Config, Stagnation, StopRules};
use sgld_swarm::diagnostics::RunStats;
use sgld_swarm::{Error, Observer, Options};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Calls a Python callable at each record; `False` stops the ensemble at that
/// record (through the interruption flag), an exception too (kept, raised by
/// the call that advanced).
struct PyObserver {
    f: Py<PyAny>,
    stop: Arc<AtomicBool>,
    error: Arc<Mutex<Option<PyErr>>>,
}

impl Observer for PyObserver {
    fn record(
        &mut self,
        step: u64,
        stats: &[RunStats],
        _: Option<&[f32]>,
    ) -> sgld_swarm::Result<()> {
        let r = Python::attach(|py| -> PyResult<bool> {
            let out = self.f.bind(py).call1((step, stats_dict(py, stats)?))?;
            Ok(out.is_instance_of::<pyo3::types::PyBool>() && !out.extract::<bool>()?)
        });
        match r {
            Ok(true) => self.stop.store(true, Ordering::Relaxed),
            Ok(false) => {}
            Err(e) => {
                self.error.lock().expect("not poisoned").get_or_insert(e);
                self.stop.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// One method on one potential: `R` runs of `N` agents.
#[pyclass(module = "sgld_swarm._native")]
pub struct Ensemble {
    inner: Mutex<sgld_swarm::Ensemble>,
    /// A Python potential, whose exceptions are raised after a step.
    py_potential: Option<Arc<PyPotential>>,
    stop: Arc<AtomicBool>,
    observer_error: Arc<Mutex<Option<PyErr>>>,
    record_every: u64,
}

impl Ensemble {
    fn with<T>(&self, f: impl FnOnce(&mut sgld_swarm::Ensemble) -> T) -> T {
        f(&mut self.inner.lock().expect("not poisoned"))
    }

    /// The exception a Python potential or observer raised, if any.
    fn raised(&self) -> Option<PyErr> {
        self.py_potential
            .as_ref()
            .and_then(|p| p.take_error())
            .or_else(|| self.observer_error.lock().expect("not poisoned").take())
    }
}

#[pymethods]
impl Ensemble {
    /// `potential`: a built-in's name (with `dim` and its parameters as
    /// `params_json`) or an object with `grad`; `ensemble_json` and
    /// `method_json`: the `[ensemble]` table and one `[[method]]` table as JSON
    /// text, checked as in a TOML file.
    #[new]
    #[allow(clippy::too_many_arguments, reason = "Python keywords")]
    #[pyo3(signature = (potential, dim, ensemble_json, method_json, params_json="{}", backend_name="auto", wgsl=None))]
    fn new(
        py: Python<'_>,
        potential: Bound<'_, PyAny>,
        dim: Option<usize>,
        ensemble_json: &str,
        method_json: &str,
        params_json: &str,
        backend_name: &str,
        wgsl: Option<&str>,
    ) -> PyResult<Self> {
        let options = Options {
            backend: backend(backend_name)?,
            ..Options::default()
        };
        let name = potential.extract::<String>().ok();
        let problem_table = match &name {
            Some(n) => {
                let p = problem(n, dim.unwrap_or(0), params_json)?;
                Some(p)
            }
            None => None,
        };
        // The ensemble and method tables, checked as in a file.
        let doc = format!(
            "{{\"problem\": {{\"potential\": \"quadratic\", \"dim\": 1}}, \"ensemble\": {ensemble_json}, \"method\": [{method_json}]}}"
        );
        let text = json_to_toml(&doc)?;
        let config = Config::from_toml_str(&text, "the ensemble's keywords").map_err(to_py)?;
        let (e, m) = (config.ensemble, config.methods[0].clone());
        let record_every = e.record_every;
        let (ens, py_potential) = match problem_table {
            Some(p) => {
                if wgsl.is_some() {
                    return Err(config_error(
                        "wgsl",
                        "(given)",
                        "is for a Python potential; a built-in has its own WGSL",
                    ));
                }
                (
                    py.detach(|| sgld_swarm::Ensemble::new(&p, &e, &m, options)),
                    None,
                )
            }
            None => {
                let pp = Arc::new(PyPotential::new(py, potential.unbind(), dim)?);
                let shared = pp.clone();
                let built = match wgsl {
                    Some(src) => py.detach(|| {
                        sgld_swarm::Ensemble::with_wgsl_potential(shared, src, &e, &m, options)
                    }),
                    None => {
                        py.detach(|| sgld_swarm::Ensemble::with_potential(shared, &e, &m, options))
                    }
                };
                (built, Some(pp))
            }
        };
        let mut ens = ens.map_err(to_py)?;
        if let Some(err) = py_potential.as_ref().and_then(|p| p.take_error()) {
            return Err(err);
        }
        let stop = Arc::new(AtomicBool::new(false));
        ens.interrupt_on(stop.clone());
        Ok(Self {
            inner: Mutex::new(ens),
            py_potential,
            stop,
            observer_error: Arc::new(Mutex::new(None)),
            record_every,
        })
    }

    /// Advances `steps` outer steps with the interpreter released, in pieces of
    /// a record interval between which Ctrl-C is checked (`KeyboardInterrupt`).
    /// An observer that returns `False` stops it at that record.
    fn advance(&self, py: Python<'_>, steps: u64) -> PyResult<()> {
        self.stop.store(false, Ordering::Relaxed);
        let mut left = steps;
        while left > 0 {
            let piece = left.min(self.record_every.max(1));
            let before = self.with(|e| e.step());
            let r = py.detach(|| self.with(|e| e.advance(piece)));
            if let Some(err) = self.raised() {
                return Err(err);
            }
            r.map_err(to_py)?;
            py.check_signals()?;
            let done = self.with(|e| e.step()) - before;
            if self.stop.load(Ordering::Relaxed) || done < piece {
                break;
            }
            left -= piece;
        }
        Ok(())
    }

    /// Advances to the configured number of steps.
    fn run(&self, py: Python<'_>) -> PyResult<()> {
        let left = self.with(|e| e.config().steps.saturating_sub(e.step()));
        self.advance(py, left)
    }

    /// Outer steps done.
    #[getter]
    fn step(&self) -> u64 {
        self.with(|e| e.step())
    }

    /// Positions `X`, float32 `[R, N, d]`.
    #[getter]
    fn positions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let x = self.with(|e| e.positions()).map_err(to_py)?;
        Ok(x.into_pyarray(py))
    }

    /// Sets `X` (float32 `[R, N, d]`); `Y` becomes `X` for the homogenized scheme.
    #[setter(positions)]
    fn set_positions(&self, x: numpy::PyReadonlyArray3<'_, f32>) -> PyResult<()> {
        let view = x.as_array();
        self.with(|e| e.set_positions(view)).map_err(to_py)
    }

    /// The run means, float64 `[R, d]`.
    #[getter]
    fn run_means<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
        let m = self.with(|e| e.run_means()).map_err(to_py)?;
        Ok(m.into_pyarray(py))
    }

    /// The records: `step` `[records]` and each statistic `[records, R]`.
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let h = self.with(|e| e.history().clone());
        history_dict(py, &h)
    }

    /// `"cpu"` or `"gpu"`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.with(|e| e.backend())
    }

    /// The device and engine settings, in words.
    #[getter]
    fn device(&self) -> String {
        self.with(|e| e.device())
    }

    /// Calls `f(step, stats)` at every record (the records so far at once);
    /// `stats` maps each statistic to a float64 array `[R]`. Returning `False`
    /// stops the ensemble at that record.
    fn observe(&self, py: Python<'_>, f: Py<PyAny>) -> PyResult<()> {
        let o = PyObserver {
            f,
            stop: self.stop.clone(),
            error: self.observer_error.clone(),
        };
        let r = py.detach(|| self.with(|e| e.observe(o).map(|_| ())));
        if let Some(err) = self.raised() {
            return Err(err);
        }
        r.map_err(to_py)
    }

    /// Sets stopping rules (as the TOML `[stop]` table).
    #[pyo3(signature = (max_time_s=None, best_phi_below=None, spread_below=None, stagnation=None))]
    fn stop_when(
        &self,
        max_time_s: Option<f64>,
        best_phi_below: Option<f64>,
        spread_below: Option<f64>,
        stagnation: Option<(u64, f64)>,
    ) -> PyResult<()> {
        let rules = StopRules {
            max_time_s,
            best_phi_below,
            spread_below,
            stagnation: stagnation.map(|(records, rel_tol)| Stagnation { records, rel_tol }),
        };
        self.with(|e| e.stop_when(rules)).map_err(to_py)
    }

    /// `(step, reason)` if a stopping rule ended the ensemble, else `None`.
    #[getter]
    fn stopped(&self) -> Option<(u64, &'static str)> {
        self.with(|e| e.stopped())
            .map(|s| (s.step, s.reason.name()))
    }

    /// Writes a checkpoint into the folder `path`.
    fn checkpoint(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.with(|e| e.checkpoint(&path)))
            .map_err(to_py)
    }

    /// Continues from the checkpoint in `path` (of this same ensemble).
    fn resume_from(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.with(|e| e.resume_from(&path)))
            .map_err(|e| match e {
                Error::Checkpoint { .. } => SgldSwarmError::new_err(e.to_string()),
                other => to_py(other),
            })
    }
}
