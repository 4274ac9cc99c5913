//! The presets that reproduce the paper's figures, shipped as TOML in `presets/`.

use crate::config::Config;
use crate::error::Result;

/// A named configuration with a note on where it departs from the paper.
pub struct Preset {
    pub name: &'static str,
    pub summary: &'static str,
    pub departures: &'static str,
    pub toml: &'static str,
}

pub const PRESETS: [Preset; 3] = [
    Preset {
        name: "fig1-camel",
        summary: "Figure 1: 25 agents on the six-hump camel, 150 steps, six methods",
        departures: "none in the parameters; the paper shows one run and so does this preset",
        toml: include_str!("../presets/fig1-camel.toml"),
    },
    Preset {
        name: "fig2-rough-d10",
        summary: "Figure 2 (left): rough potential, d = 10, 50 runs x 50 agents, four methods",
        departures: "taming = \"coordinate\" for every method: with plain Euler steps the \
                     gradient at |x| = 10 (about 2e4) overflows from U[-10, 10]^d within a few \
                     steps; 4000 steps, enough for the curves to settle",
        toml: include_str!("../presets/fig2-rough-d10.toml"),
    },
    Preset {
        name: "fig2-rough-d50",
        summary: "Figure 2 (right): rough potential, d = 50, 50 runs x 50 agents, four methods",
        departures: "as fig2-rough-d10",
        toml: include_str!("../presets/fig2-rough-d50.toml"),
    },
];

/// The preset called `name`, parsed.
pub fn preset(name: &str) -> Option<Result<Config>> {
    PRESETS
        .iter()
        .find(|p| p.name == name)
        .map(|p| Config::from_toml_str(p.toml, &format!("preset {}", p.name)))
}

/// The names, for error messages.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}
