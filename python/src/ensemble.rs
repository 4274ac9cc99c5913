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
use std::thread::ThreadId;

/// A checkpoint that cannot be read or written is a run's failure
/// (`SgldSwarmError`), whatever the command line's exit status for it.
fn checkpoint_error(e: Error) -> PyErr {
    match e {
        Error::Checkpoint { .. } => SgldSwarmError::new_err(e.to_string()),
        other => to_py(other),
    }
}

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
            crate::run::says_stop(&out)
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
    /// The thread working on the ensemble now, to refuse a call back from its
    /// own observer or potential (which would wait for itself).
    owner: Mutex<Option<ThreadId>>,
}

/// Clears the owner when the work ends, panic or not.
struct Owned<'a>(&'a Mutex<Option<ThreadId>>);

impl Drop for Owned<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl Ensemble {
    /// `f` on the ensemble, with the interpreter released while it waits and
    /// works (a Python potential or observer needs it, and another Python
    /// thread may be advancing the ensemble); an error instead of a deadlock
    /// when called back from the ensemble's own observer or potential.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut sgld_swarm::Ensemble) -> T + Send,
    ) -> PyResult<T> {
        let me = std::thread::current().id();
        if *self.owner.lock().unwrap_or_else(|p| p.into_inner()) == Some(me) {
            return Err(SgldSwarmError::new_err(
                "the ensemble is advancing: its observer or potential cannot call back into \
                 it (an observer gets the step and statistics as arguments)",
            ));
        }
        let r = py.detach(|| {
            let mut e = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            *self.owner.lock().unwrap_or_else(|p| p.into_inner()) = Some(me);
            let _owned = Owned(&self.owner);
            f(&mut e)
        });
        // What the potential or an observer raised comes first.
        match self.raised() {
            Some(err) => Err(err),
            None => Ok(r),
        }
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
                let weighs = matches!(
                    m.interaction,
                    sgld_swarm::config::Interaction::Weighted { .. }
                ) && m.interacting();
                if weighs && !pp.has_value() {
                    return Err(config_error(
                        "potential",
                        "(no value method)",
                        "the weighted mean (and CBO) weighs agents by Phi: give the potential value(x) -> [K]",
                    ));
                }
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
            owner: Mutex::new(None),
        })
    }

    /// Advances `steps` outer steps with the interpreter released, in pieces
    /// (a record interval, at most about 1% of `steps`) between which Ctrl-C
    /// is checked (`KeyboardInterrupt`). An observer that returns a false value
    /// stops it at that record.
    fn advance(&self, py: Python<'_>, steps: u64) -> PyResult<()> {
        self.stop.store(false, Ordering::Relaxed);
        let piece = self.record_every.min(steps.div_ceil(100)).max(1);
        let mut left = steps;
        while left > 0 {
            let piece = left.min(piece);
            let before = self.with(py, |e| e.step())?;
            self.with(py, |e| e.advance(piece))?.map_err(to_py)?;
            py.check_signals()?;
            let done = self.with(py, |e| e.step())? - before;
            if self.stop.load(Ordering::Relaxed) || done < piece {
                break;
            }
            left -= piece;
        }
        Ok(())
    }

    /// Advances to the configured number of steps.
    fn run(&self, py: Python<'_>) -> PyResult<()> {
        let left = self.with(py, |e| e.config().steps.saturating_sub(e.step()))?;
        self.advance(py, left)
    }

    /// Outer steps done.
    #[getter]
    fn step(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |e| e.step())
    }

    /// Positions `X`, float32 `[R, N, d]`.
    #[getter]
    fn positions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let x = self.with(py, |e| e.positions())?.map_err(to_py)?;
        Ok(x.into_pyarray(py))
    }

    /// Sets `X` (float32 `[R, N, d]`); `Y` becomes `X` for the homogenized scheme.
    #[setter(positions)]
    fn set_positions(&self, py: Python<'_>, x: numpy::PyReadonlyArray3<'_, f32>) -> PyResult<()> {
        let x = x.as_array().to_owned();
        self.with(py, |e| e.set_positions(x.view()))?.map_err(to_py)
    }

    /// The run means, float64 `[R, d]`.
    #[getter]
    fn run_means<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
        let m = self.with(py, |e| e.run_means())?.map_err(to_py)?;
        Ok(m.into_pyarray(py))
    }

    /// The records: `step` `[records]` and each statistic `[records, R]`.
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let h = self.with(py, |e| e.history().clone())?;
        history_dict(py, &h)
    }

    /// `"cpu"` or `"gpu"`.
    #[getter]
    fn backend(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.with(py, |e| e.backend())
    }

    /// The device and engine settings, in words.
    #[getter]
    fn device(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |e| e.device())
    }

    /// Calls `f(step, stats)` at every record (the records so far at once);
    /// `stats` maps each statistic to a float64 array `[R]`. A false return
    /// value (not `None`) stops the ensemble at that record.
    fn observe(&self, py: Python<'_>, f: Py<PyAny>) -> PyResult<()> {
        let o = PyObserver {
            f,
            stop: self.stop.clone(),
            error: self.observer_error.clone(),
        };
        self.with(py, |e| e.observe(o).map(|_| ()))?.map_err(to_py)
    }

    /// Sets stopping rules (as the TOML `[stop]` table).
    #[pyo3(signature = (max_time_s=None, best_phi_below=None, spread_below=None, stagnation=None))]
    fn stop_when(
        &self,
        py: Python<'_>,
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
        self.with(py, |e| e.stop_when(rules))?.map_err(to_py)
    }

    /// `(step, reason)` if a stopping rule ended the ensemble, else `None`.
    #[getter]
    fn stopped(&self, py: Python<'_>) -> PyResult<Option<(u64, &'static str)>> {
        Ok(self
            .with(py, |e| e.stopped())?
            .map(|s| (s.step, s.reason.name())))
    }

    /// Writes a checkpoint into the folder `path`.
    fn checkpoint(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        self.with(py, |e| e.checkpoint(&path))?
            .map_err(checkpoint_error)
    }

    /// Continues from the checkpoint in `path` (of this same ensemble).
    fn resume_from(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        self.with(py, |e| e.resume_from(&path))?
            .map_err(checkpoint_error)
    }
}
