//! The GPU engine's tuning variants (the `SGLD_SWARM_GPU_*` settings of
//! src/env.rs) change speed, never results: each variant's positions are the
//! default's bit for bit, through the command line, so that the variant is read
//! from the environment exactly as a benchmark sets it. The summary's device line
//! names the variants in effect, so a variant that silently did not apply (and
//! so could not differ) fails too.

use std::process::Command;

/// The command line under test: `SGLD_SWARM_BIN` where set (a binary copied to
/// a machine with a GPU, beside this test's), else the one built with it.
fn sgld_swarm() -> Command {
    Command::new(
        std::env::var_os("SGLD_SWARM_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_sgld-swarm").into()),
    )
}

/// Every tuning setting; each run clears them all first, so that the test's own
/// environment selects nothing.
const SETTINGS: [&str; 5] = [
    "SGLD_SWARM_GPU_WORKGROUP",
    "SGLD_SWARM_GPU_INT64",
    "SGLD_SWARM_GPU_CHECKS",
    "SGLD_SWARM_GPU_MEAN",
    "SGLD_SWARM_GPU_VEC4",
];

/// The mean-field methods of both step kernels: the weighted mean (never
/// fused), the agent kernel (norm taming), and the block kernel for the
/// smoothed, homogenized and Euler schemes; the last method's engine is the one
/// the summary's device line describes.
fn config(dim: usize, runs: usize, agents: usize, steps: u64) -> String {
    format!(
        r#"
[problem]
potential = "rough"
dim = {dim}
delta = 0.01

[ensemble]
runs = {runs}
agents = {agents}
steps = {steps}
seed = 5
record_every = {steps}
init = {{ uniform = [-3.0, 3.0] }}

[[method]]
name = "MF-SGLD weighted"
scheme = "euler"
dt = 0.01
beta = 1.0
lambda = 3.0
taming = "coordinate"
interaction = "weighted"
alpha = 3.0

[[method]]
name = "MF-SGLD norm"
scheme = "euler"
dt = 0.01
beta = 1.0
lambda = 3.0
taming = "norm"

[[method]]
name = "MF-SMOOTHED"
scheme = "smoothed"
dt = 0.01
beta = 1.0
lambda = 3.0
taming = "coordinate"
h = 0.1
samples = 2

[[method]]
name = "MF-HOM-SGLD"
scheme = "homogenized"
dt = 0.005
beta = 1.0
lambda = 3.0
taming = "coordinate"
eps = 0.01
gamma = 0.1
inner_steps = 5
burn_in = 1

[[method]]
name = "MF-SGLD"
scheme = "euler"
dt = 0.01
beta = 1.0
lambda = 3.0
taming = "coordinate"
"#
    )
}

/// Runs `config` on the GPU with `env` set and returns each method's positions
/// file (by name, its bytes) and the summary's device line.
fn run(config: &str, env: &[(&str, &str)]) -> (Vec<(String, Vec<u8>)>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    let out = dir.path().join("out");
    let mut cmd = sgld_swarm();
    for s in SETTINGS {
        cmd.env_remove(s);
    }
    let o = cmd
        .envs(env.iter().copied())
        .args(["run", "--backend", "gpu", "--checkpoint-every", "0"])
        .arg("--config")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{env:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("positions-") && n.ends_with(".npy"))
        .map(|n| {
            let bytes = std::fs::read(out.join(&n)).unwrap();
            (n, bytes)
        })
        .collect();
    files.sort();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let device = summary["device"].as_str().unwrap().to_string();
    (files, device)
}

/// Every variant against the default on `config`; `vec4` and `fused`: whether
/// `SGLD_SWARM_GPU_VEC4=1` and `SGLD_SWARM_GPU_MEAN=fused` apply to its last
/// method.
fn same_bits(config: &str, what: &str, vec4: bool, fused: bool) {
    let (want, device) = run(config, &[]);
    assert_eq!(want.len(), 5, "{what}: one positions file per method");
    assert!(
        !device.contains("vec4") && !device.contains("fused"),
        "{what}: the default is neither: {device}"
    );
    let variants: [&[(&str, &str)]; 8] = [
        &[("SGLD_SWARM_GPU_MEAN", "fused")],
        &[("SGLD_SWARM_GPU_VEC4", "1")],
        &[
            ("SGLD_SWARM_GPU_MEAN", "fused"),
            ("SGLD_SWARM_GPU_VEC4", "1"),
        ],
        &[("SGLD_SWARM_GPU_WORKGROUP", "32")],
        &[("SGLD_SWARM_GPU_WORKGROUP", "256")],
        &[("SGLD_SWARM_GPU_INT64", "0")],
        &[("SGLD_SWARM_GPU_CHECKS", "all")],
        &[("SGLD_SWARM_GPU_CHECKS", "none")],
    ];
    for env in variants {
        let (got, device) = run(config, env);
        let set = |name: &str, value: &str| env.contains(&(name, value));
        assert_eq!(
            device.contains("vec4 X and Y"),
            vec4 && set("SGLD_SWARM_GPU_VEC4", "1"),
            "{what}, {env:?}: {device}"
        );
        assert_eq!(
            device.contains("run means fused"),
            fused && set("SGLD_SWARM_GPU_MEAN", "fused"),
            "{what}, {env:?}: {device}"
        );
        for ((name, a), (name_b, b)) in want.iter().zip(&got) {
            assert_eq!(name, name_b, "{what}, {env:?}");
            // Tolerance none: a variant moves the same values and does the same
            // arithmetic in the same order.
            assert!(a == b, "{what}, {env:?}: {name} differs from the default's");
        }
    }
}

#[test]
fn tuning_variants_give_the_default_bits() {
    let Some(_ctx) = crate::context() else {
        return;
    };
    // d = 8: whole blocks, so vec4 applies; 300 agents: two tiles per run, the
    // second partial.
    same_bits(&config(8, 3, 300, 12), "d = 8", true, true);
    // d = 10: the last block is partial, so X and Y move a float at a time.
    same_bits(&config(10, 3, 300, 12), "d = 10", false, true);
    // 17 tiles per run: past MAX_FUSED_TILES, so the two passes stay.
    same_bits(&config(4, 1, 16 * 256 + 1, 3), "17 tiles", true, false);
}

/// A tuning value that is not allowed is a one-line input error (exit status 2)
/// naming the variable, the value and what is allowed.
#[test]
fn bad_tuning_values_are_named() {
    let Some(_ctx) = crate::context() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config(8, 1, 4, 1)).unwrap();
    for (name, value, allowed) in [
        ("SGLD_SWARM_GPU_MEAN", "fast", "passes or fused"),
        ("SGLD_SWARM_GPU_VEC4", "yes", "0 or 1"),
    ] {
        let mut cmd = sgld_swarm();
        for s in SETTINGS {
            cmd.env_remove(s);
        }
        let o = cmd
            .env(name, value)
            .args(["run", "--backend", "gpu", "--checkpoint-every", "0"])
            .arg("--config")
            .arg(&path)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}={value}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{name}={value}: not one line: {err}");
        for part in [name, value, allowed] {
            assert!(
                lines[0].contains(part),
                "{name}={value}: {:?} lacks {part:?}",
                lines[0]
            );
        }
    }
}
