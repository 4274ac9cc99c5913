//! Configurations between Python and the library: a dict travels as JSON and
//! becomes the TOML the library parses (so a dict gets the TOML file's errors,
//! by field), and the presets come back as dicts.

use crate::errors::{config_error, to_py};
use pyo3::prelude::*;
use sgld_swarm::config::{Config, ProblemConfig};
use sgld_swarm::presets;

/// A TOML document as JSON text (for `json.loads`).
#[pyfunction]
pub fn toml_to_json(text: &str, origin: &str) -> PyResult<String> {
    let value: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| config_error(origin, "(TOML)", e.message().trim()))?;
    serde_json::to_string(&value).map_err(|e| config_error(origin, "(TOML)", &e.to_string()))
}

/// JSON text (from `json.dumps` of a dict) as a TOML document.
#[pyfunction]
pub fn json_to_toml(json: &str) -> PyResult<String> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| config_error("config", "(a dict)", &e.to_string()))?;
    let table: toml::Table = serde_json::from_value(value).map_err(|e| {
        config_error(
            "config",
            "(a dict)",
            &format!("must be a table of TOML values (no None): {e}"),
        )
    })?;
    toml::to_string(&table).map_err(|e| config_error("config", "(a dict)", &e.to_string()))
}

/// The presets' names.
#[pyfunction]
pub fn preset_names() -> Vec<&'static str> {
    presets::names()
}

/// A preset's TOML text.
#[pyfunction]
pub fn preset_text(name: &str) -> PyResult<&'static str> {
    presets::text(name).ok_or_else(|| {
        config_error(
            "preset",
            &format!("{name:?}"),
            &format!("must be one of {}", presets::names().join(", ")),
        )
    })
}

/// A built-in potential by name, in dimension `dim`, with its parameters
/// (`delta`, `a`, `shift`) as a JSON object: checked as a `[problem]` table.
pub fn problem(name: &str, dim: usize, params_json: &str) -> PyResult<ProblemConfig> {
    let mut table: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(params_json)
            .map_err(|e| config_error("problem", "(keywords)", &e.to_string()))?;
    table.insert("potential".into(), name.into());
    table.insert("dim".into(), dim.into());
    // A whole configuration around it, so that the [problem] table is checked
    // as in a file.
    let doc = serde_json::json!({
        "problem": table,
        "ensemble": {"runs": 1, "agents": 1, "steps": 1, "init": {"uniform": [0.0, 1.0]}},
        "method": [{"name": "m", "scheme": "euler", "dt": 0.1, "beta": 1.0}],
    });
    let text = json_to_toml(&doc.to_string())?;
    Config::from_toml_str(&text, "the potential's keywords")
        .map(|c| c.problem)
        .map_err(to_py)
}
