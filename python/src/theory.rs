//! The paper's theory for Python: the effective potential (eq. 12), and the
//! mean-field stationary states and critical `lambda` of a 1-D potential
//! (eq. 8-9), on the built-ins, as NumPy arrays.

use crate::convert::problem;
use crate::errors::{config_error, to_py};
use numpy::{IntoPyArray, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sgld_swarm::potential::Builtin;
use sgld_swarm::theory::effective::{Quadrature, effective};
use sgld_swarm::theory::mean_field::MeanField1d;

fn builtin(name: &str, dim: usize, params_json: &str) -> PyResult<Builtin> {
    Ok(Builtin::from_problem(&problem(name, dim, params_json)?))
}

/// `Phi_{beta,gamma}` and its gradient at the points `x` (`[K, d]`): a dict
/// with `value` `[K]` and `grad` `[K, d]`.
#[pyfunction]
#[pyo3(signature = (potential, x, beta, gamma, params_json="{}"))]
pub fn effective_potential<'py>(
    py: Python<'py>,
    potential: &str,
    x: PyReadonlyArray2<'py, f64>,
    beta: f64,
    gamma: f64,
    params_json: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let x = x.as_array().to_owned();
    let (k, d) = x.dim();
    let p = builtin(potential, d, params_json)?;
    let quad = Quadrature::default();
    let rows: Vec<Vec<f64>> = x.outer_iter().map(|r| r.to_vec()).collect();
    let results = py.detach(|| {
        rows.iter()
            .map(|r| effective(&p, r, beta, gamma, &quad))
            .collect::<Result<Vec<_>, _>>()
    });
    let results = results.map_err(to_py)?;
    let mut grad = numpy::ndarray::Array2::<f64>::zeros((k, d));
    let mut value = Vec::with_capacity(k);
    for (i, e) in results.iter().enumerate() {
        value.push(e.value);
        for (j, g) in e.grad.iter().enumerate() {
            grad[[i, j]] = *g;
        }
    }
    let out = PyDict::new(py);
    out.set_item("value", value.into_pyarray(py))?;
    out.set_item("grad", grad.into_pyarray(py))?;
    Ok(out)
}

fn mean_field(
    potential: &str,
    beta: f64,
    range: (f64, f64),
    points: usize,
    params_json: &str,
) -> PyResult<MeanField1d> {
    let p = builtin(potential, 1, params_json)?;
    MeanField1d::new(&p, beta, range, points).map_err(to_py)
}

/// The critical `lambda` of a 1-D built-in at `beta`: where new stationary
/// states branch off `m = 0` (`beta lambda Var_{eta_0}(x) = 1`), searched in
/// `bracket`.
#[pyfunction]
#[pyo3(signature = (potential, beta, bracket=(0.0, 100.0), range=(-4.0, 4.0), points=4001, params_json="{}"))]
pub fn critical_lambda(
    potential: &str,
    beta: f64,
    bracket: (f64, f64),
    range: (f64, f64),
    points: usize,
    params_json: &str,
) -> PyResult<f64> {
    mean_field(potential, beta, range, points, params_json)?
        .critical_lambda(bracket)
        .map_err(to_py)
}

/// Every stationary state `m = E_{eta_m}[x]` of a 1-D built-in at `beta` and
/// `lambda` in `bracket`: a dict of arrays `m`, `free_energy`, `slope`, `stable`.
#[pyfunction]
#[pyo3(signature = (potential, beta, lambda_, bracket=(-3.0, 3.0), range=(-4.0, 4.0), points=4001, scan=400, params_json="{}"))]
#[allow(clippy::too_many_arguments, reason = "Python keywords")]
pub fn stationary_states<'py>(
    py: Python<'py>,
    potential: &str,
    beta: f64,
    lambda_: f64,
    bracket: (f64, f64),
    range: (f64, f64),
    points: usize,
    scan: usize,
    params_json: &str,
) -> PyResult<Bound<'py, PyDict>> {
    if scan == 0 {
        return Err(config_error("scan", "0", "must be >= 1"));
    }
    let states = mean_field(potential, beta, range, points, params_json)?
        .stationary_states(lambda_, bracket, scan)
        .map_err(to_py)?;
    let out = PyDict::new(py);
    out.set_item(
        "m",
        states
            .iter()
            .map(|s| s.m)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    out.set_item(
        "free_energy",
        states
            .iter()
            .map(|s| s.free_energy)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    out.set_item(
        "slope",
        states
            .iter()
            .map(|s| s.slope)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    out.set_item(
        "stable",
        states
            .iter()
            .map(|s| s.stable)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    Ok(out)
}
