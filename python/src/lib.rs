//! `sgld_swarm._native`: the library's engines for Python. The pure-Python
//! package `sgld_swarm` (python/sgld_swarm/) wraps these functions and classes
//! in the API its `__init__.pyi` describes.

mod convert;
mod ensemble;
mod errors;
mod potential;
mod run;
mod theory;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(run::run_toml, m)?)?;
    m.add_function(wrap_pyfunction!(convert::toml_to_json, m)?)?;
    m.add_function(wrap_pyfunction!(convert::json_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(convert::preset_names, m)?)?;
    m.add_function(wrap_pyfunction!(convert::preset_text, m)?)?;
    m.add_function(wrap_pyfunction!(theory::effective_potential, m)?)?;
    m.add_function(wrap_pyfunction!(theory::critical_lambda, m)?)?;
    m.add_function(wrap_pyfunction!(theory::stationary_states, m)?)?;
    m.add_class::<ensemble::Ensemble>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
