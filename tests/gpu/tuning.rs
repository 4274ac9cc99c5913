//! The GPU engine's tuning variants (the `SGLD_SWARM_GPU_*` settings of
//! src/env.rs) change speed, never results: each variant's positions are the
//! default's bit for bit (the run-time checks and the scheme read at run time:
//! within rounding, see [`OTHER_CODE`]),
//! through the command line, so that the variant is read from the environment
//! exactly as a benchmark sets it. The summary's device line names the variants
//! in effect, so a variant that silently did not apply (and so could not
//! differ) fails too.

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
const SETTINGS: [&str; 7] = [
    "SGLD_SWARM_GPU_WORKGROUP",
    "SGLD_SWARM_GPU_INT64",
    "SGLD_SWARM_GPU_CHECKS",
    "SGLD_SWARM_GPU_MEAN",
    "SGLD_SWARM_GPU_VEC4",
    "SGLD_SWARM_GPU_SPECIALIZE",
    "SGLD_SWARM_GPU_NET_KERNEL",
];

/// The mean-field methods of both step kernels: the weighted mean (never
/// fused), the agent kernel (norm taming), and the block kernel for the
/// smoothed, homogenized and Euler schemes; the last method's engine is the one
/// the summary's device line describes, on `problem` ([`ROUGH`] or [`SMOOTH`]).
fn config(problem: &Problem, dim: usize, runs: usize, agents: usize, steps: u64) -> String {
    let Problem { lines, start } = problem;
    format!(
        r#"
[problem]
{lines}
dim = {dim}

[ensemble]
runs = {runs}
agents = {agents}
steps = {steps}
seed = 5
record_every = {steps}
init = {{ uniform = [-{start:.1}, {start:.1}] }}

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

/// A problem for [`config`]: its lines in `[problem]`, and the half-width of
/// the uniform start.
struct Problem {
    lines: &'static str,
    start: f64,
}

/// The paper's rough potential with delta = 0.01, from [-3, 3]: its gradient's
/// slope is about 1e7 at |x| = 3, so one rounding that differs moves a position
/// macroscopically within a few steps, and a bit test on it misses nothing.
const ROUGH: Problem = Problem {
    lines: "potential = \"rough\"\ndelta = 0.01",
    start: 3.0,
};

/// The quadratic, on which each step contracts, so that a rounding that
/// differs stays the size of a rounding; from [-30, 30], where h |grad| reaches
/// about 0.85 (dt = 0.01, |x| up to 30 in 8 coordinates), so that the norm
/// taming's scale 1 + h |grad| is far from 1 and its sum is seen.
const SMOOTH: Problem = Problem {
    lines: "potential = \"quadratic\"",
    start: 30.0,
};

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

/// The variants that keep the shape of the kernels' code: the same values
/// moved, the same arithmetic in the same order, in loops and branches of the
/// same form, so the driver has no other choice to make. The fourth is the
/// default before 2026-11-28, but for the scheme compiled in.
const SAME_SHAPE: [&[(&str, &str)]; 7] = [
    &[("SGLD_SWARM_GPU_MEAN", "passes")],
    &[("SGLD_SWARM_GPU_MEAN", "fused")],
    &[("SGLD_SWARM_GPU_VEC4", "0")],
    &[
        ("SGLD_SWARM_GPU_MEAN", "passes"),
        ("SGLD_SWARM_GPU_VEC4", "0"),
    ],
    &[("SGLD_SWARM_GPU_WORKGROUP", "32")],
    &[("SGLD_SWARM_GPU_WORKGROUP", "256")],
    &[("SGLD_SWARM_GPU_INT64", "0")],
];

/// Whether the device line should name the vec4 moves and the fused mean
/// under `env`, for an engine whose block kernel may move X as `vec4`
/// (`vec4_applies`) and whose runs have `tiles` tiles of the plain mean: vec4
/// unless `SGLD_SWARM_GPU_VEC4=0`; the mean fused with `fused` up to 16 tiles,
/// never with `passes`, and by default where a run is one tile.
fn expected(env: &[(&str, &str)], vec4_applies: bool, tiles: usize) -> (bool, bool) {
    let value = |name: &str| env.iter().find(|(n, _)| *n == name).map(|&(_, v)| v);
    let vec4 = vec4_applies && value("SGLD_SWARM_GPU_VEC4") != Some("0");
    let fused = match value("SGLD_SWARM_GPU_MEAN") {
        Some("passes") => false,
        Some("fused") => tiles <= 16,
        _ => tiles == 1,
    };
    (vec4, fused)
}

/// The variants that change the code the driver compiles: wgpu's run-time
/// checks (a counter in every loop, `all`, or no index clamps, `none`) and the
/// scheme read at run time (`SPECIALIZE=0`, every scheme's branches in one
/// kernel). WGSL lets a driver fuse a multiply and an add wherever it likes,
/// so code of another shape may round differently. On an H200 `all` did so in
/// the norm-taming kernel and `none` did not (docs/PERFORMANCE.md, "The
/// prepared GPU variants on an H200"), and the scheme compiled in did in every
/// method of the block kernel ("The scheme compiled in").
const OTHER_CODE: [&[(&str, &str)]; 3] = [
    &[("SGLD_SWARM_GPU_CHECKS", "all")],
    &[("SGLD_SWARM_GPU_CHECKS", "none")],
    &[("SGLD_SWARM_GPU_SPECIALIZE", "0")],
];

/// How a variant's positions are held to the default's.
#[derive(Clone, Copy, PartialEq)]
enum Held {
    /// Bit for bit.
    Bits,
    /// Within the tolerance that the GPU suite holds the GPU engine's positions
    /// to against the CPU engine's, 1e-5 of their scale (the largest |x|, at
    /// least 1; `every_method_and_potential_matches_the_cpu`): both differ from
    /// the reference by the driver's roundings alone. On [`SMOOTH`] the scale
    /// is about 30, so 3e-4: a rounding of 2e-6 (f32 at 30) in each of a few
    /// operations per step, not amplified, adds up to a few 1e-5 over 12
    /// steps, and an H200 gave 4.8e-7 from [-3, 3]; a term of the norm's sum
    /// dropped (1/8 of it) changes the tamed step h g / (1 + h |g|), about
    /// 0.3 / 1.85, by 3%: 5e-3 per step.
    Rounding,
}

/// `variants` against the default on `config`, whose last method (the one the
/// device line describes) may move X as `vec4` (`vec4_applies`) and has
/// `tiles` tiles per run. A device line that names the wrong variants fails at
/// once (a variant that silently did not apply could not differ); positions off
/// by more than `held` allows are added to `differ`.
fn against_default(
    config: &str,
    what: &str,
    (vec4_applies, tiles): (bool, usize),
    variants: &[&[(&str, &str)]],
    held: Held,
    differ: &mut Vec<String>,
) {
    let (want, device) = run(config, &[]);
    assert_eq!(want.len(), 5, "{what}: one positions file per method");
    let names = |device: &str| {
        (
            device.contains("vec4 X and Y"),
            device.contains("run means fused"),
        )
    };
    assert_eq!(
        names(&device),
        expected(&[], vec4_applies, tiles),
        "{what}, the default: {device}"
    );
    assert!(device.contains("scheme compiled in"), "{what}: {device}");
    for &env in variants {
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
            device.contains("scheme compiled in"),
            !set("SGLD_SWARM_GPU_SPECIALIZE", "0"),
            "{what}, {env:?}: {device}"
        );
        assert_eq!(
            names(&device),
            expected(env, vec4_applies, tiles),
            "{what}, {env:?}: (vec4, fused) in {device}"
        );
        assert_eq!(got.len(), want.len(), "{what}, {env:?}: positions files");
        for ((name, a), (name_b, b)) in want.iter().zip(&got) {
            assert_eq!(name, name_b, "{what}, {env:?}");
            if a == b {
                continue;
            }
            let (x, y) = (positions(a), positions(b));
            let scale = x.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let within = held == Held::Rounding
                && x.len() == y.len()
                && x.iter().zip(&y).all(|(p, q)| (p - q).abs() <= 1e-5 * scale);
            // Printed either way, so that a card's log says how far they are.
            let line = format!("{what}, {env:?}: {name}: {}", difference(&x, &y));
            eprintln!("{line}");
            if !within {
                differ.push(line);
            }
        }
    }
}

/// A positions file's values.
fn positions(bytes: &[u8]) -> Vec<f32> {
    use ndarray_npy::ReadNpyExt;
    ndarray::ArrayD::<f32>::read_npy(bytes)
        .expect("a positions file is an f32 array")
        .into_iter()
        .collect()
}

/// How two positions files' values differ: how many, and by how much at most.
fn difference(x: &[f32], y: &[f32]) -> String {
    if x.len() != y.len() {
        return format!("{} and {} values", x.len(), y.len());
    }
    let (mut count, mut largest, mut relative) = (0usize, 0f32, 0f32);
    for (p, q) in x.iter().zip(y) {
        if p.to_bits() != q.to_bits() {
            count += 1;
            largest = largest.max((p - q).abs());
            relative = relative.max((p - q).abs() / p.abs().max(f32::MIN_POSITIVE));
        }
    }
    format!(
        "{count} of {} values differ, by at most {largest:e} ({relative:e} relative)",
        x.len()
    )
}

#[test]
fn tuning_variants_give_the_default_bits() {
    let Some(_ctx) = crate::context() else {
        return;
    };
    // Every variant and shape runs before the verdict, so that a card's
    // failure names all that differ, each with its size.
    let mut differ = Vec::new();
    let mut bits = |config: &str, what: &str, applies: (bool, usize)| {
        against_default(config, what, applies, &SAME_SHAPE, Held::Bits, &mut differ)
    };
    // d = 8: whole blocks, so vec4 applies; 300 agents: two tiles per run, the
    // second partial.
    bits(&config(&ROUGH, 8, 3, 300, 12), "d = 8", (true, 2));
    // 100 agents: one tile per run, where the default fuses the mean.
    bits(&config(&ROUGH, 8, 3, 100, 12), "one tile", (true, 1));
    // d = 10: the last block is partial, so X and Y move a float at a time.
    bits(&config(&ROUGH, 10, 3, 300, 12), "d = 10", (false, 2));
    // 17 tiles per run: past MAX_FUSED_TILES, so the two passes stay.
    bits(
        &config(&ROUGH, 4, 1, 16 * 256 + 1, 3),
        "17 tiles",
        (true, 17),
    );
    against_default(
        &config(&SMOOTH, 8, 3, 300, 12),
        "quadratic, d = 8",
        (true, 2),
        &OTHER_CODE,
        Held::Rounding,
        &mut differ,
    );
    assert!(
        differ.is_empty(),
        "positions that differ from the default's more than allowed:\n{}",
        differ.join("\n")
    );
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
    std::fs::write(&path, config(&ROUGH, 8, 1, 4, 1)).unwrap();
    let config_args = ["--config", path.to_str().unwrap()];
    // The network engine reads the step kernels' settings only to refuse them.
    let network_args = ["--preset", "fig3-ellipses", "--steps", "1"];
    for ((name, value, allowed), args) in [
        ("SGLD_SWARM_GPU_MEAN", "fast", "auto, passes or fused"),
        ("SGLD_SWARM_GPU_VEC4", "yes", "0 or 1"),
        ("SGLD_SWARM_GPU_SPECIALIZE", "yes", "0 or 1"),
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
/// apply (the block-kernel methods of both layouts, whose d = 8 and 40 are
/// multiples of 4; [`expected`] for the mean).
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
    // The groups' runs are one tile (50 agents), the parts' three (600).
    let tiles = |what: &str| if what.starts_with("groups") { 1 } else { 3 };
    let block = |what: &str| !what.ends_with("norm");
    for (what, _, device) in &want {
        assert!(device.contains("chunks"), "{what}: not split: {device}");
        assert_eq!(
            (
                device.contains("vec4 X and Y"),
                device.contains("run means fused")
            ),
            expected(&[], block(what), tiles(what)),
            "{what}, the default: {device}"
        );
    }
    for env in [
        &[("SGLD_SWARM_GPU_MEAN", "passes")][..],
        &[("SGLD_SWARM_GPU_MEAN", "fused")],
        &[("SGLD_SWARM_GPU_VEC4", "0")],
    ] {
        let got = report(env);
        assert_eq!(got.len(), want.len(), "{env:?}");
        for ((what, a, _), (_, b, device)) in want.iter().zip(&got) {
            assert_eq!(a, b, "{env:?}, {what}: positions differ from the default's");
            assert_eq!(
                (
                    device.contains("vec4 X and Y"),
                    device.contains("run means fused")
                ),
                expected(env, block(what), tiles(what)),
                "{env:?}, {what}: {device}"
            );
        }
    }
}
