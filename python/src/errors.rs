//! The library's errors as Python exceptions: `ConfigError` (a `ValueError`,
//! with `.field`, `.value` and `.allowed`) for what the user gave, `GpuError`
//! (a `RuntimeError`) for the device, `SgldSwarmError` (a `RuntimeError`) for
//! the rest.

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use sgld_swarm::Error;

create_exception!(
    _native,
    ConfigError,
    PyValueError,
    "A configuration value out of range, of the wrong type, or missing; `.field` names it."
);
create_exception!(
    _native,
    GpuError,
    PyRuntimeError,
    "The GPU could not be used: no adapter, too little memory, a lost device."
);
create_exception!(
    _native,
    SgldSwarmError,
    PyRuntimeError,
    "A run failed: a method diverged, an output or checkpoint could not be written."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("GpuError", py.get_type::<GpuError>())?;
    m.add("SgldSwarmError", py.get_type::<SgldSwarmError>())?;
    Ok(())
}

/// A `ConfigError` naming `field`.
pub fn config_error(field: &str, value: &str, allowed: &str) -> PyErr {
    let e = ConfigError::new_err(format!("{field} = {value}: {allowed}"));
    Python::attach(|py| {
        let v = e.value(py);
        let _ = v.setattr("field", field);
        let _ = v.setattr("value", value);
        let _ = v.setattr("allowed", allowed);
    });
    e
}

/// The library's error as the Python exception for it.
pub fn to_py(e: Error) -> PyErr {
    match &e {
        Error::Config(c) => {
            let err = config_error(&c.field, &c.value, &c.allowed);
            // The message as the library says it.
            Python::attach(|py| {
                let _ = err.value(py).setattr("message", e.to_string());
            });
            err
        }
        Error::Gpu(_) => GpuError::new_err(e.to_string()),
        _ if e.is_input_error() => {
            let err = ConfigError::new_err(e.to_string());
            Python::attach(|py| {
                let v = err.value(py);
                let field = match &e {
                    // "field: message" when serde knew the field (a path such
                    // as `method[0].dt`), else no field.
                    Error::Toml { message, .. } => message
                        .split_once(": ")
                        .map(|(f, _)| f)
                        .filter(|f| {
                            !f.is_empty()
                                && f.chars()
                                    .all(|c| c.is_ascii_alphanumeric() || "_.[]-".contains(c))
                        })
                        .map(str::to_string),
                    _ => None,
                };
                let _ = v.setattr("field", field);
            });
            err
        }
        _ => SgldSwarmError::new_err(e.to_string()),
    }
}
