//! The GPU engine's tuning variants (the `SGLD_SWARM_GPU_*` settings of
//! src/env.rs) change speed, never results: each variant's positions are the
//! default's bit for bit, through the command line, so that the variant is read
//! from the environment exactly as a benchmark sets it. The summary's device line
//! names the variants in effect, so a variant that silently did not apply (and
//! so could not differ) fails too.

use std::process::Command;

/// The command line under test, with no tuning setting: `SGLD_SWARM_BIN` where
/// set (a binary copied to a machine with a GPU, beside this test's), else the
/// one built with it.
fn sgld_swarm() -> Command {
    cleared(Command::new(
        std::env::var_os("SGLD_SWARM_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_sgld-swarm").into()),
    ))
}

/// `cmd` without any of [`SETTINGS`] from the test's own environment.
fn cleared(mut cmd: Command) -> Command {
    for s in SETTINGS {
        cmd.env_remove(s);
    }
    cmd
}

/// Each positions file `out` holds, by name, with its bytes.
fn positions_files(out: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("positions-") && n.ends_with(".npy"))
        .map(|n| {
            let bytes = std::fs::read(out.join(&n)).unwrap();
            (n, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Every tuning setting; each run clears them all first, so that the test's own
/// environment selects nothing.
const SETTINGS: [&str; 6] = [
    "SGLD_SWARM_GPU_WORKGROUP",
    "SGLD_SWARM_GPU_INT64",
    "SGLD_SWARM_GPU_CHECKS",
    "SGLD_SWARM_GPU_MEAN",
    "SGLD_SWARM_GPU_VEC4",
    "SGLD_SWARM_GPU_NET_KERNEL",
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
    let o = sgld_swarm()
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
    let files = positions_files(&out);
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
        // The settings that apply to every kernel, each named in the line.
        for (setting, marker) in [
            (("SGLD_SWARM_GPU_WORKGROUP", "32"), "workgroup 32"),
            (("SGLD_SWARM_GPU_WORKGROUP", "256"), "workgroup 256"),
            (("SGLD_SWARM_GPU_INT64", "0"), "portable Philox"),
            (("SGLD_SWARM_GPU_CHECKS", "all"), "checks All"),
            (("SGLD_SWARM_GPU_CHECKS", "none"), "checks None"),
        ] {
            if set(setting.0, setting.1) {
                assert!(device.contains(marker), "{what}, {env:?}: {device}");
            }
        }
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
        assert_eq!(got.len(), want.len(), "{what}, {env:?}: positions files");
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

/// A tuning value that is not allowed is one error line (exit status 2) naming
/// the variable, the value and what is allowed, on the step kernels' engine and
/// on the network's, whose kernels the setting does not concern.
#[test]
fn bad_tuning_values_are_named() {
    let Some(_ctx) = crate::context() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config(8, 1, 4, 1)).unwrap();
    let config_args = ["--config", path.to_str().unwrap()];
    // The network engine reads the step kernels' settings only to refuse them.
    let network_args = ["--preset", "fig3-ellipses", "--steps", "1"];
    for ((name, value, allowed), args) in [
        ("SGLD_SWARM_GPU_MEAN", "fast", "passes or fused"),
        ("SGLD_SWARM_GPU_VEC4", "yes", "0 or 1"),
    ]
    .into_iter()
    .flat_map(|bad| [(bad, &config_args[..]), (bad, &network_args[..])])
    {
        let o = sgld_swarm()
            .env(name, value)
            .args(["run", "--backend", "gpu"])
            .args(args)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}={value} {args:?}: {err}");
        // One error line (the network's run also notes what --steps means).
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(
            lines.len(),
            1,
            "{name}={value} {args:?}: not one error: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        for part in [name, value, allowed] {
            assert!(
                lines[0].contains(part),
                "{name}={value}: {:?} lacks {part:?}",
                lines[0]
            );
        }
    }
}

/// The network engine (`Ensemble::with_network` on the GPU, the Figure 3
/// preset, 3 epochs) gives the same positions with the gradient kernel's
/// versions that promise the default's bits, and names the version that ran.
#[test]
fn network_kernels_give_the_default_bits() {
    let Some(_ctx) = crate::context() else {
        return;
    };
    let run = |kernel: Option<&str>| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut cmd = sgld_swarm();
        if let Some(k) = kernel {
            cmd.env("SGLD_SWARM_GPU_NET_KERNEL", k);
        }
        let o = cmd
            .args(["run", "--preset", "fig3-ellipses", "--backend", "gpu"])
            .args(["--steps", "3", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{kernel:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let files = positions_files(&out);
        // The experiment's summary has no device; its report names it.
        let report = String::from_utf8_lossy(&o.stdout).to_string();
        let device = report
            .lines()
            .find_map(|l| l.strip_prefix("trained on the gpu: "))
            .unwrap_or_else(|| panic!("{kernel:?}: no device line in {report}"))
            .to_string();
        (files, device)
    };
    let (want, device) = run(None);
    assert_eq!(want.len(), 3, "one positions file per method");
    assert!(device.contains("gradient staged"), "{device}");
    for kernel in ["chunked", "trace"] {
        let (got, device) = run(Some(kernel));
        assert!(device.contains(&format!("gradient {kernel}")), "{device}");
        assert_eq!(got.len(), want.len(), "{kernel}: positions files");
        for ((name, a), (_, b)) in want.iter().zip(&got) {
            assert!(a == b, "{kernel}: {name} differs from staged's");
        }
    }
}

/// The layouts the command line cannot reach: several groups of runs, and runs
/// split into parts of whole tiles, under a lowered storage-binding limit
/// (`Options::gpu_max_binding`). Prints, for each layout and method, the engine's
/// device line and a hash of its positions' bits. It runs on its own too, but it
/// is there for [`split_layouts_give_the_default_bits`], which runs it in a
/// child process with each variant's environment.
#[test]
#[ignore = "run by split_layouts_give_the_default_bits with each variant's environment"]
fn split_layouts_report() {
    use sgld_swarm::{
        Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig, Taming,
    };
    use std::hash::{Hash, Hasher};
    let Some(_ctx) = crate::context() else {
        return;
    };
    let problem = |dim| ProblemConfig {
        potential: PotentialKind::Rastrigin,
        dim,
        shift: None,
    };
    // 7 runs of 50 agents x 8 (1600 bytes a run) under 3 runs a binding: three
    // groups; 3 runs of 600 agents x 40 under one tile a binding: each run in
    // parts of 256, 256 and 88 agents.
    let layouts = [
        (
            "groups",
            problem(8),
            EnsembleConfig::new(7, 50, 6).seed(31),
            3 * 1600,
        ),
        (
            "parts",
            problem(40),
            EnsembleConfig::new(3, 600, 4).seed(32),
            256 * 40 * 4,
        ),
    ];
    for (layout, p, e, max) in layouts {
        let e = e.init_uniform(-2.0, 2.0);
        for m in [
            MethodConfig::homogenized("MF-HOM-SGLD", 1e-3, 1.0, 0.5, 0.1, 4)
                .lambda(2.0)
                .taming(Taming::Coordinate),
            MethodConfig::euler("MF-SGLD", 1e-3, 1.0)
                .lambda(2.0)
                .taming(Taming::Coordinate),
            MethodConfig::euler("MF-SGLD norm", 1e-3, 1.0)
                .lambda(2.0)
                .taming(Taming::Norm),
        ] {
            let options = sgld_swarm::Options {
                gpu_max_binding: Some(max),
                ..crate::gpu_options()
            };
            let mut ens = Ensemble::new(&p, &e, &m, options).unwrap();
            ens.run().unwrap();
            let mut h = std::hash::DefaultHasher::new();
            for x in ens.positions().unwrap() {
                x.to_bits().hash(&mut h);
            }
            println!(
                "LAYOUT {layout} {}: {:016x} | {}",
                m.name,
                h.finish(),
                ens.device()
            );
        }
    }
}

/// [`split_layouts_report`] in a child process per variant: the same hashes as
/// the default's, and the fused mean and the vec4 moves in effect where they
/// apply (both layouts' block-kernel methods; d = 8 and 40 are multiples of 4).
#[test]
fn split_layouts_give_the_default_bits() {
    let Some(_ctx) = crate::context() else {
        return;
    };
    let report = |env: &[(&str, &str)]| -> Vec<(String, String, String)> {
        let o = cleared(Command::new(std::env::current_exe().unwrap()))
            .envs(env.iter().copied())
            .args(["--ignored", "--exact", "tuning::split_layouts_report"])
            .args(["--nocapture", "--test-threads", "1"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(
            o.status.success(),
            "{env:?}: {text}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        // libtest's own "test ... " may precede the first line.
        text.lines()
            .filter_map(|l| l.split_once("LAYOUT ").map(|(_, l)| l))
            .map(|l| {
                let (what, rest) = l.split_once(": ").unwrap();
                let (hash, device) = rest.split_once(" | ").unwrap();
                (what.to_string(), hash.to_string(), device.to_string())
            })
            .collect()
    };
    let want = report(&[]);
    assert_eq!(want.len(), 6, "two layouts x three methods: {want:?}");
    for (what, _, device) in &want {
        assert!(device.contains("chunks"), "{what}: not split: {device}");
    }
    for env in [
        &[("SGLD_SWARM_GPU_MEAN", "fused")][..],
        &[("SGLD_SWARM_GPU_VEC4", "1")],
    ] {
        let got = report(env);
        assert_eq!(got.len(), want.len(), "{env:?}");
        for ((what, a, _), (_, b, device)) in want.iter().zip(&got) {
            assert_eq!(a, b, "{env:?}, {what}: positions differ from the default's");
            let block = !what.ends_with("norm");
            match env[0].0 {
                "SGLD_SWARM_GPU_MEAN" => {
                    assert!(device.contains("run means fused"), "{what}: {device}")
                }
                _ => assert_eq!(device.contains("vec4 X and Y"), block, "{what}: {device}"),
            }
        }
    }
}
