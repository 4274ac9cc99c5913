//! A potential written in Python: an object with `grad(x)` (`x` a float32
//! array `[K, d]` of K agents, returning `[K, d]`) and optionally `value(x)`
//! (`[K]`; needed by the weighted mean, and alone enough for CBO) and `minima` (the points distances are measured to; default the
//! origin). Anything `numpy.asarray` reads may come back (NumPy, JAX or
//! PyTorch CPU arrays). The engines ask for whole batches of agents
//! (`Potential::batched`), so the interpreter is entered once per batch.

use numpy::{PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, ToPyArray};
use pyo3::prelude::*;
use sgld_swarm::potential::Potential;
use std::sync::Mutex;

/// A Python object as a [`Potential`].
pub struct PyPotential {
    obj: Py<PyAny>,
    dim: usize,
    has_grad: bool,
    has_value: bool,
    name: String,
    minima: Vec<Vec<f64>>,
    /// The first exception the object raised; the engine then meets NaN (a
    /// divergence), and the caller raises this instead.
    pub error: Mutex<Option<PyErr>>,
}

impl PyPotential {
    /// `obj` in dimension `dim` (its `dim` attribute when it has one).
    pub fn new(py: Python<'_>, obj: Py<PyAny>, dim: Option<usize>) -> PyResult<Self> {
        let b = obj.bind(py);
        let dim = match (dim, b.getattr("dim").ok()) {
            (Some(d), _) => d,
            (None, Some(d)) => d.extract::<usize>()?,
            (None, None) => {
                return Err(crate::errors::config_error(
                    "dim",
                    "(missing)",
                    "give dim=..., or a dim attribute on the potential",
                ));
            }
        };
        let (has_grad, has_value) = (b.hasattr("grad")?, b.hasattr("value")?);
        if !has_grad && !has_value {
            return Err(crate::errors::config_error(
                "potential",
                &b.repr()?.to_string(),
                "must be a built-in's name or an object with grad(x) -> [K, d] (and value(x) -> [K] for the weighted mean; value alone for CBO)",
            ));
        }
        let minima = match b.getattr("minima") {
            Ok(m) => m.extract::<Vec<Vec<f64>>>()?,
            Err(_) => vec![vec![0.0; dim]],
        };
        if let Some(p) = minima.iter().find(|p| p.len() != dim) {
            return Err(crate::errors::config_error(
                "potential.minima",
                &format!("a point of {} numbers", p.len()),
                &format!("must be points of dim = {dim} numbers"),
            ));
        }
        Ok(Self {
            has_grad,
            has_value,
            name: b.get_type().name()?.to_string(),
            obj,
            dim,
            minima,
            error: Mutex::new(None),
        })
    }

    /// Whether the object has `value(x)` (the weighted mean and CBO need it).
    pub fn has_value(&self) -> bool {
        self.has_value
    }

    /// The exception the object raised, if any (taken).
    pub fn take_error(&self) -> Option<PyErr> {
        self.error.lock().expect("not poisoned").take()
    }

    /// Whether the object has raised already: the engine then gets NaN (it stops
    /// at the segment's end) without calling it again.
    fn failed(&self) -> bool {
        self.error.lock().expect("not poisoned").is_some()
    }

    fn keep(&self, e: PyErr) {
        let mut slot = self.error.lock().expect("not poisoned");
        slot.get_or_insert(e);
    }

    /// Calls `method` on `[K, d]` points and reads `[K, cols]` back (`cols` 0:
    /// a vector of K).
    fn call<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        xs: Bound<'py, PyAny>,
        k: usize,
        f32_out: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let res = self.obj.bind(py).call_method1(method, (xs,))?;
        let np = py.import("numpy")?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("dtype", if f32_out { "float32" } else { "float64" })?;
        let arr = np.call_method("asarray", (res,), Some(&kwargs))?;
        let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
        let want: Vec<usize> = if method == "grad" {
            vec![k, self.dim]
        } else {
            vec![k]
        };
        if shape != want {
            return Err(crate::errors::config_error(
                &format!("{}.{method}(x)", self.name),
                &format!("an array of shape {shape:?}"),
                &format!(
                    "must return shape {want:?} for x of shape [{k}, {}]",
                    self.dim
                ),
            ));
        }
        Ok(arr)
    }
}

impl Potential for PyPotential {
    fn dim(&self) -> usize {
        self.dim
    }

    fn has_gradient(&self) -> bool {
        self.has_grad
    }

    fn value(&self, x: &[f64]) -> f64 {
        let mut v = [0.0];
        self.value_batch(x, &mut v);
        v[0]
    }

    fn value_batch(&self, xs: &[f64], out: &mut [f64]) {
        if !self.has_value || self.failed() {
            out.fill(f64::NAN);
            return;
        }
        let k = xs.len() / self.dim;
        let r = Python::attach(|py| -> PyResult<()> {
            let x = xs.to_pyarray(py).reshape([k, self.dim])?;
            let arr = self.call(py, "value", x.into_any(), k, false)?;
            let a: PyReadonlyArray1<f64> = arr.extract()?;
            for (o, v) in out.iter_mut().zip(a.as_array().iter()) {
                *o = *v;
            }
            Ok(())
        });
        if let Err(e) = r {
            out.fill(f64::NAN);
            self.keep(e);
        }
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut gf = vec![0.0f32; x.len()];
        self.grad_batch_f32(&xf, &mut gf);
        for (o, v) in g.iter_mut().zip(gf) {
            *o = v as f64;
        }
    }

    fn grad_f32(&self, x: &[f32], g: &mut [f32]) {
        self.grad_batch_f32(x, g)
    }

    fn batched(&self) -> bool {
        true
    }

    fn grad_batch_f32(&self, xs: &[f32], out: &mut [f32]) {
        if self.failed() {
            out.fill(f32::NAN);
            return;
        }
        let k = xs.len() / self.dim;
        let r = Python::attach(|py| -> PyResult<()> {
            let x = xs.to_pyarray(py).reshape([k, self.dim])?;
            let arr = self.call(py, "grad", x.into_any(), k, true)?;
            let a: PyReadonlyArray2<f32> = arr.extract()?;
            for (o, v) in out.iter_mut().zip(a.as_array().iter()) {
                *o = *v;
            }
            Ok(())
        });
        if let Err(e) = r {
            // NaN makes the engine stop here; the caller raises `e`.
            out.fill(f32::NAN);
            self.keep(e);
        }
    }

    fn reference_points(&self) -> Vec<Vec<f64>> {
        self.minima.clone()
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}
