//! The presets that reproduce the paper's figures, shipped as TOML in `presets/`.

use crate::config::Config;
use crate::error::Result;

/// A named configuration with a note on where it departs from the paper.
pub struct Preset {
    /// The name `sgld-swarm run --preset` takes (`fig1-camel`, ...).
    pub name: &'static str,
    /// One line on what the preset reproduces, shown by `sgld-swarm presets`.
    pub summary: &'static str,
    /// Where and why the preset departs from the paper's parameters.
    pub departures: &'static str,
    /// The configuration, the text of `presets/<name>.toml`.
    pub toml: &'static str,
}

/// Every shipped preset: Figures 1, 2 (d = 10 and d = 50) and 3, Figure 1 with
/// the cost-weighted mean, and CBO on Rastrigin.
pub const PRESETS: [Preset; 6] = [
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
    Preset {
        name: "fig3-ellipses",
        summary: "Figure 3: a 128-layer width-2 ResNet on two concentric ellipses, trained by \
                  SGLD and HOM-SGLD (Verlet network) and HOM-SGLD (forward-Euler network)",
        departures: "the paper gives no step sizes or temperature; these are chosen so that \
                     every method fits the data within 60 epochs (see the TOML); 8 agents, one \
                     run",
        toml: include_str!("../presets/fig3-ellipses.toml"),
    },
    Preset {
        name: "fig1-camel-weighted",
        summary: "Figure 1's setup at lambda = 2: the plain mean beside the cost-weighted \
                  mean of the paper's section 6.1 (alpha = 30), Euler and homogenized",
        departures: "the paper proposes the weighted mean but does not run it; alpha = 30 \
                     is this preset's choice; 600 steps instead of 150, which the weighted \
                     Euler swarm needs to gather in one of the two equally deep minima",
        toml: include_str!("../presets/fig1-camel-weighted.toml"),
    },
    Preset {
        name: "cbo-rastrigin-d20",
        summary: "CBO (anisotropic noise) on Rastrigin in d = 20 with its minimum at (1, ..., 1), \
                  100 runs x 100 agents, 1000 steps",
        departures: "not from the paper: the setting of the consensus-based optimisation \
                     literature, for the comparison with CBXpy (benches/cbx_compare.py)",
        toml: include_str!("../presets/cbo-rastrigin-d20.toml"),
    },
];

/// The TOML text of the preset called `name`.
pub fn text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|p| p.name == name).map(|p| p.toml)
}

/// The preset called `name`, parsed (the swarm presets; `fig3-ellipses` has a
/// layout of its own, [`crate::nn::experiment::Fig3Config`]).
pub fn preset(name: &str) -> Option<Result<Config>> {
    text(name).map(|t| Config::from_toml_str(t, &format!("preset {name}")))
}

/// The names, for error messages.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}
