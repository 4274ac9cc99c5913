//! Bad and extreme input, and the state an output folder is left in: every case
//! here once panicked, aborted, ran on silently wrong input or left a folder that
//! mixed two runs. Each must be a one-line error with its exit status (2 for
//! input, 3 for a failed write), and a folder with `summary.json` must describe
//! exactly one run.

use ndarray::Array3;
use ndarray_npy::ReadNpyExt;
use std::path::Path;
use std::process::Output;

mod common;
use common::{bin, input_error, run, stderr};

/// A 2-D quadratic with two methods: small, quick, and writes trajectories.
const BASE: &str = r#"
[problem]
potential = "quadratic"
dim = 2

[ensemble]
runs = 2
agents = 3
steps = 6
seed = 1
record_every = 2
init = { uniform = [-2.0, 2.0] }

[[method]]
name = "SGLD"
scheme = "euler"
dt = 0.01
beta = 1.0

[[method]]
name = "MF-HOM-SGLD"
scheme = "homogenized"
dt = 0.01
beta = 1.0
lambda = 1.0
eps = 0.1
gamma = 0.1
inner_steps = 4
"#;

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// Runs `config` into `dir/out` and returns the output.
fn run_config(dir: &Path, config: &str, extra: &[&str]) -> Output {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let out = dir.join("out");
    let mut args = vec![
        "run",
        "--config",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn config_error(config: &str, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    // A nested output folder: none of it may be left behind.
    let out = dir.path().join("nest").join("out");
    let o = run(&[
        "run",
        "--config",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--steps",
        "1",
    ]);
    input_error(&o, expect);
    assert!(
        !dir.path().join("nest").exists(),
        "a refused config left an output folder behind"
    );
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A fixed-length list of another length is an error, not cut to size.
#[test]
fn init_bounds_must_be_exactly_two_numbers() {
    for bad in ["[-2.0, 0.0, 2.0]", "[1.0]", "[]"] {
        config_error(
            &with("[-2.0, 2.0]", bad),
            &["ensemble.init.uniform", "exactly two numbers"],
        );
    }
}

/// Values that are finite in f64 but not in the engines' f32 are refused by
/// name, instead of running into "diverged ... try a smaller dt".
#[test]
fn values_outside_f32_are_refused_by_name() {
    let shifted = with("dim = 2", "dim = 2\nshift = [1e300, 0.0]");
    let curved = with("dim = 2", "dim = 2\na = 1e308");
    let hom_dt_1e30 = with(
        "dt = 0.01\nbeta = 1.0\nlambda",
        "dt = 1e30\nbeta = 1.0\nlambda",
    );
    for (config, field) in [
        (
            with("[-2.0, 2.0]", "[-1e300, 1e300]"),
            "ensemble.init.uniform",
        ),
        (
            with("[-2.0, 2.0]", "[-3e38, 3e38]"),
            "ensemble.init.uniform",
        ),
        (shifted, "problem.shift[0]"),
        (curved, "problem.a"),
        (with("dt = 0.01", "dt = 1e308"), "method[0].dt"),
        (with("beta = 1.0", "beta = 1e-320"), "method[0].beta"),
        (with("lambda = 1.0", "lambda = 1e300"), "method[1].lambda"),
        // Each field in range, what the engines derive from them not: dt lambda,
        // and the inner step dt / (M eps).
        (
            hom_dt_1e30.replacen("lambda = 1.0", "lambda = 1e30", 1),
            "method[1].{dt, lambda}",
        ),
        (
            hom_dt_1e30.replacen("eps = 0.1", "eps = 1e-30", 1),
            "method[1].{dt, inner_steps, eps",
        ),
    ] {
        config_error(&config, &[field, "f32"]);
    }
}

/// The interactions' and CBO's fields are checked by name: what each allows,
/// fields a scheme or interaction does not use, and combinations that mean
/// nothing (a weighted mean without interaction, CBO with l1, taming or beta).
#[test]
fn interaction_and_cbo_fields_are_checked() {
    let sgld = "name = \"SGLD\"\nscheme = \"euler\"\ndt = 0.01\nbeta = 1.0";
    let euler = |extra: &str| with(sgld, &format!("{sgld}\n{extra}"));
    let cbo = |extra: &str| {
        let lambda = if extra.contains("lambda") {
            ""
        } else {
            "lambda = 1.0\n"
        };
        let lambda = if extra.is_empty() { "" } else { lambda };
        with(
            sgld,
            &format!("name = \"CBO\"\nscheme = \"cbo\"\ndt = 0.01\nsigma = 1.0\n{lambda}{extra}"),
        )
    };
    for (config, expect) in [
        (
            euler("lambda = 1.0\ninteraction = \"median\""),
            ["method[0].interaction", "mean, weighted, l1"],
        ),
        (
            euler("interaction = \"weighted\""),
            ["method[0].interaction", "lambda > 0"],
        ),
        (
            euler("lambda = 1.0\nalpha = 5.0"),
            ["method[0].alpha", "interaction = \"weighted\""],
        ),
        (
            euler("lambda = 1.0\ninteraction = \"weighted\"\nalpha = -1.0"),
            ["method[0].alpha", "> 0"],
        ),
        (
            euler(
                "lambda = 1.0\ninteraction = \"l1\"\nalpha = { from = 1.0, to = 2.0, kind = \"linear\" }",
            ),
            ["method[0].alpha", "weighted"],
        ),
        (
            euler("sigma = 1.0"),
            ["method[0].sigma", "scheme = \"cbo\""],
        ),
        (
            cbo("beta = 1.0"),
            ["method[0].beta", "not used by scheme = \"cbo\""],
        ),
        (
            with(sgld, "name = \"CBO\"\nscheme = \"cbo\"\ndt = 0.01"),
            ["method[0].sigma", "required"],
        ),
        (
            cbo("interaction = \"l1\""),
            ["method[0].interaction", "consensus point"],
        ),
        (cbo("taming = \"coordinate\""), ["method[0].taming", "none"]),
        (
            cbo("noise = \"radial\""),
            ["method[0].noise", "anisotropic, isotropic"],
        ),
        (
            cbo("lambda = 1.0\nbeta = { from = 1.0, to = 2.0, kind = \"linear\" }"),
            ["method[0].beta", "cbo"],
        ),
        (cbo(""), ["method[0].lambda", "cbo"]),
        (
            with(
                sgld,
                "name = \"CBO\"\nscheme = \"cbo\"\ndt = 0.01\nlambda = 1.0\nsigma = -1.0",
            ),
            ["method[0].sigma", ">= 0"],
        ),
    ] {
        config_error(&config, &expect);
    }
}

/// A CBO method that diverges says what to change for CBO (sigma), not taming.
#[test]
fn a_diverging_cbo_method_suggests_sigma() {
    let dir = tempfile::tempdir().unwrap();
    let sgld = "name = \"SGLD\"\nscheme = \"euler\"\ndt = 0.01\nbeta = 1.0";
    // sigma^2 dt = 40: the plain mean's spread grows by (1 - 0.1)^2 + 40 each step.
    let config = with(
        sgld,
        "name = \"CBO\"\nscheme = \"cbo\"\ndt = 0.1\nlambda = 1.0\nsigma = 20.0\ninteraction = \"mean\"",
    )
    .replacen("steps = 6", "steps = 200", 1);
    let o = run_config(dir.path(), &config, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("CBO diverged") && err.contains("smaller sigma"),
        "{err}"
    );
    assert!(!err.contains("taming"), "{err}");
}

/// TOML type errors name the field and what it takes.
#[test]
fn type_errors_name_the_field() {
    config_error(
        &with("seed = 1", "seed = 18446744073709551616"),
        &["ensemble.seed", "18446744073709551615"],
    );
    config_error(
        &with("dim = 2", "dim = 2\na = \"x\""),
        &["problem.a", "a number > 0, or a list"],
    );
    config_error(
        &with("dt = 0.01", "dt = \"x\""),
        &["method[0].dt", "a number, or a schedule"],
    );
    config_error(
        &with("inner_steps = 4", "inner_steps = 4294967296"),
        &["method[1].inner_steps", "at most 268435455"],
    );
}

/// Names that would break `history.csv` or a file name are refused up front.
#[test]
fn method_names_that_break_files_are_refused() {
    for (name, why) in [
        ("SG\nLD", "control characters"),
        ("SG\u{0}LD", "control characters"),
        ("!!!", "a letter a-z or a digit"),
    ] {
        let escaped = name.replace('\n', "\\n").replace('\u{0}', "\\u0000");
        config_error(
            &with("name = \"SGLD\"", &format!("name = \"{escaped}\"")),
            &["method[0].name", why],
        );
    }
    let long = "x".repeat(300);
    config_error(
        &with("name = \"SGLD\"", &format!("name = \"{long}\"")),
        &["method[0].name", "at most 200"],
    );
}

/// A name that ends in `)` gives a file name without a trailing dash, and a
/// name with a comma is quoted in `history.csv`.
#[test]
fn odd_names_give_clean_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = with("name = \"SGLD\"", "name = \"SGLD (plain, x)\"");
    let o = run_config(dir.path(), &config, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    assert!(
        out.join("positions-sgld-plain-x.npy").exists(),
        "{:?}",
        names_in(&out)
    );
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert!(csv.contains("\n\"SGLD (plain, x)\",0,"), "{csv}");
}

/// Sizes past the machine's memory are refused before anything is allocated,
/// with the numbers, and leave no output folder.
#[test]
fn runs_larger_than_memory_are_refused_with_numbers() {
    // Two arrays of 1.5 TB (X and Y): more than any machine this runs on has.
    let big = with("runs = 2", "runs = 100000")
        .replacen("agents = 3", "agents = 1000", 1)
        .replacen("dim = 2", "dim = 3750", 1);
    config_error(
        &big,
        &["GiB", "positions X", "fast variable Y", "available"],
    );
    // Past the address space: once a panic in building the potential's shift.
    config_error(
        &with("dim = 2", "dim = 9223372036854775807"),
        &["problem.dim", "more than this machine can address"],
    );
    let single = with("runs = 2", "runs = 1")
        .replacen("agents = 3", "agents = 1", 1)
        .replacen("dim = 2", "dim = 4000000000", 1);
    config_error(&single, &["GiB"]);
}

/// A method that diverges: summary.json names the step of its error, says which
/// step its statistics are from, and no positions file of non-finite values is
/// written; the other method's outputs are whole. Exit status 1.
#[test]
fn a_diverged_method_is_reported_consistently() {
    let dir = tempfile::tempdir().unwrap();
    // dt a = 2e4 on the quadratic: |1 - dt a| >> 1, so SGLD overflows within a
    // few dozen steps; the homogenized method is tamed and finishes.
    let config = with("dt = 0.01", "dt = 20.0")
        .replacen("dim = 2", "dim = 2\na = 1000.0", 1)
        .replacen("steps = 6", "steps = 60", 1)
        .replacen("record_every = 2", "record_every = 7", 1)
        .replacen(
            "inner_steps = 4",
            "inner_steps = 4\ntaming = \"coordinate\"",
            1,
        );
    let o = run_config(dir.path(), &config, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let out = dir.path().join("out");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let sgld = &summary["methods"][0];
    let message = sgld["error"].as_str().expect("SGLD diverged");
    let steps = sgld["steps"].as_u64().unwrap();
    assert!(
        message.contains(&format!("at step {steps} ")),
        "{message} vs steps {steps}"
    );
    let final_step = sgld["final_step"].as_u64().unwrap();
    assert!(
        final_step < steps && final_step.is_multiple_of(7),
        "final_step {final_step}"
    );
    assert!(sgld["positions"].is_null());
    assert!(!out.join("positions-sgld.npy").exists());
    // The statistics are those of the last history row of the method.
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let last = csv.lines().rfind(|l| l.starts_with("SGLD,")).unwrap();
    assert!(last.starts_with(&format!("SGLD,{final_step},")), "{last}");
    let best: f64 = last.split(',').nth(2).unwrap().parse().unwrap();
    assert_eq!(best, sgld["final"]["best"]["median"].as_f64().unwrap());
    let other = &summary["methods"][1];
    assert!(other["error"].is_null());
    assert_eq!(other["positions"], "positions-mf-hom-sgld.npy");
    let x = Array3::<f32>::read_npy(
        std::fs::File::open(out.join("positions-mf-hom-sgld.npy")).unwrap(),
    )
    .unwrap();
    assert!(x.iter().all(|v| v.is_finite()));
}

/// A second run into a folder replaces the first run's files of this tool
/// (those it does not write again are removed and listed) and leaves other
/// files alone.
#[test]
fn a_new_run_replaces_an_earlier_runs_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_config(dir.path(), BASE, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    // 3-D, one method of another name: no paths.png, no trajectories.
    let other = with("dim = 2", "dim = 3").replacen("name = \"SGLD\"", "name = \"Plain\"", 1);
    let o = run_config(dir.path(), &other, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = names_in(&out);
    assert_eq!(
        names,
        [
            "checkpoint",
            "config.toml",
            "distance.png",
            "history.csv",
            "notes.txt",
            "positions-mf-hom-sgld.npy",
            "positions-plain.npy",
            "summary.json",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    for gone in ["positions-sgld.npy", "trajectories-sgld.npy", "paths.png"] {
        assert!(
            stdout.contains(gone),
            "{gone} not listed as removed: {stdout}"
        );
    }
}

/// A write that fails part-way is an error of its own (exit 3, naming the
/// file), and the folder then holds no summary.json claiming a complete run.
#[test]
fn a_failed_write_is_exit_3_and_leaves_no_summary() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_config(dir.path(), BASE, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    std::fs::remove_file(out.join("history.csv")).unwrap();
    std::fs::create_dir(out.join("history.csv")).unwrap();
    let o = run_config(dir.path(), BASE, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("history.csv"), "{err}");
    assert!(!out.join("summary.json").exists());
    assert!(
        !names_in(&out).iter().any(|n| n.starts_with(".partial-")),
        "{:?}",
        names_in(&out)
    );
}

/// The command line's own flags: sizes and counts that once panicked or
/// aborted, and outputs checked before measuring.
#[test]
fn bench_and_analyze_flags_are_checked() {
    input_error(&run(&["bench", "--size", "1x1x4000000000"]), &["GiB"]);
    input_error(
        &run(&["bench", "--resnet", "1000000000"]),
        &["--resnet", "GiB"],
    );
    input_error(
        &run(&["bench", "--resnet", "18446744073709551615"]),
        &["--resnet"],
    );
    input_error(
        &run(&["bench", "--ladder", "--max-size", "0"]),
        &["--max-size", "10000"],
    );
    let dir = tempfile::tempdir().unwrap();
    input_error(
        &run(&[
            "bench",
            "--json",
            dir.path().to_str().unwrap(),
            "--seconds",
            "30",
        ]),
        &["--json", "folder"],
    );
    input_error(
        &run(&["analyze", "--lambdas", "18446744073709551615"]),
        &["--lambdas"],
    );
    input_error(&run(&["analyze", "--grid", "100000"]), &["--grid"]);
    input_error(&run(&["analyze", "--grid", "4294967296"]), &["--grid"]);
    input_error(&run(&["analyze", "--agents", "5000000000"]), &["--agents"]);
    input_error(
        &run(&["bench", "--seconds", "1e300"]),
        &["--seconds", "1.000e300", "86400"],
    );
    input_error(
        &run(&["bench", "--lambda", "-1"]),
        &["--lambda", "-1", ">= 0"],
    );
    input_error(&run(&["bench", "--lambda", "inf"]), &["--lambda", ">= 0"]);
    input_error(
        &run(&["bench", "--lambda", "1e39"]),
        &["--lambda", "1e39", "3.4e38"],
    );
    input_error(
        &run(&["analyze", "--beta", "1e300"]),
        &["--beta", "1.000e300"],
    );
    input_error(&run(&["analyze", "--beta", "1e-39"]), &["--beta"]);
    input_error(
        &run(&["analyze", "--lambda-factor", "1e308"]),
        &["--lambda-factor"],
    );
    input_error(&run(&["analyze", "--x-max", "1e300"]), &["--x-max"]);
    let o = run(&["bench", "--size", "1x4294967297x1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("2^32"), "{}", stderr(&o));
}

/// The Figure 3 file: sizes, steps, names, seeds and ranges checked up front
/// (these once panicked, aborted, ran for minutes or wrote nonsense with exit 0).
#[test]
fn figure_3_files_are_checked_up_front() {
    let preset = include_str!("../presets/fig3-ellipses.toml");
    let edit = |from: &str, to: &str| {
        assert!(preset.contains(from), "{from}");
        preset.replacen(from, to, 1)
    };
    for (config, expect) in [
        (
            edit("layers = 128", "layers = 9223372036854775807"),
            vec!["network.layers"],
        ),
        (
            edit("layers = 128", "layers = 100000000"),
            vec!["network.layers"],
        ),
        (
            edit("train = 500", "train = 1000000000"),
            vec!["GiB", "data sets"],
        ),
        (
            edit("epochs = 60", "epochs = 1844674407370955162"),
            vec!["ensemble.epochs", "4294967295"],
        ),
        (
            edit("noise = 0.0", "noise = 1e300"),
            vec!["data.noise", "1e300"],
        ),
        (
            edit("init = 1.0", "init = 3e38"),
            vec!["ensemble.init", "3e38"],
        ),
        (
            edit("name = \"HOM-SGLD\"", "name = \"sgld\""),
            vec!["method[1].name", "must differ"],
        ),
    ] {
        config_error(&config, &expect);
    }
    // Seeds as in the main config: any u64, above 2^63 - 1 as a string.
    let dir = tempfile::tempdir().unwrap();
    let config = edit("seed = 3", "seed = \"18446744073709551615\"").replacen(
        "epochs = 60",
        "epochs = 1",
        1,
    );
    let o = run_config(dir.path(), &config, &["--runs", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The written config.toml has the overrides applied.
    let written = std::fs::read_to_string(dir.path().join("out").join("config.toml")).unwrap();
    let table: toml::Table = written.parse().unwrap();
    assert_eq!(table["ensemble"]["runs"].as_integer(), Some(1));
    assert_eq!(
        table["ensemble"]["seed"].as_str(),
        Some("18446744073709551615")
    );
}

/// When WGPU_BACKEND rules every adapter out, the message says so.
#[test]
fn an_adapter_ruled_out_by_wgpu_backend_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), BASE).unwrap();
    for value in ["vlkn", "dx12"] {
        let o = bin()
            .args(["run", "--backend", "gpu", "--config"])
            .arg(dir.path().join("c.toml"))
            .arg("--out")
            .arg(dir.path().join("out"))
            .env("WGPU_BACKEND", value)
            .output()
            .unwrap();
        input_error(&o, &["no GPU adapter", "WGPU_BACKEND", value]);
    }
    // Under --backend auto the note that sends the run to the CPU names it too.
    let o = bin()
        .args(["run", "--backend", "auto", "--config"])
        .arg(dir.path().join("c.toml"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("WGPU_BACKEND", "vlkn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("WGPU_BACKEND = \"vlkn\""),
        "{}",
        stderr(&o)
    );
}

/// The library checks a potential's own parameters before running.
#[test]
fn inconsistent_potentials_are_errors_not_panics() {
    use sgld_swarm::potential::{Quadratic, Rough, Shift, SixHumpCamel};
    use sgld_swarm::{Backend, Ensemble, EnsembleConfig, MethodConfig, Options};
    let e = EnsembleConfig::new(1, 4, 3);
    let m = MethodConfig::euler("SGLD", 0.01, 1.0);
    let cpu = Options {
        backend: Backend::Cpu,
        ..Options::default()
    };
    let message = |r: sgld_swarm::Result<Ensemble>| match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    let q = Quadratic::new(vec![1.0; 3], Shift::zero(2));
    assert!(message(Ensemble::with_potential(q, &e, &m, cpu.clone())).contains("quadratic: shift"));
    let c = SixHumpCamel::new(Shift::zero(1));
    assert!(
        message(Ensemble::with_potential(c, &e, &m, cpu.clone())).contains("six-hump-camel: shift")
    );
    let r = Rough::new(-1.0, Shift::zero(2));
    assert!(message(Ensemble::with_potential(r, &e, &m, cpu.clone())).contains("rough: delta"));
    let q = Quadratic::new(vec![1.0, -2.0], Shift::zero(2));
    assert!(message(Ensemble::with_potential(q, &e, &m, cpu.clone())).contains("quadratic: a[1]"));
}

/// Requests an engine cannot run are typed errors a caller can match, each with
/// its numbers or names: a potential defined in Rust alone on the GPU (refused
/// before any adapter is looked for, so this needs no GPU), and more steps than
/// the stream addresses.
#[test]
fn unsupported_requests_are_typed_errors() {
    use sgld_swarm::potential::{Potential, Shift, StyblinskiTang};
    use sgld_swarm::{
        Backend, Ensemble, EnsembleConfig, Error, MethodConfig, Options, Unsupported,
    };
    /// The Styblinski-Tang potential under another type, so not a built-in.
    struct Mine(StyblinskiTang);
    impl Potential for Mine {
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn value(&self, x: &[f64]) -> f64 {
            self.0.value(x)
        }
        fn grad(&self, x: &[f64], g: &mut [f64]) {
            self.0.grad(x, g)
        }
        fn reference_points(&self) -> Vec<Vec<f64>> {
            self.0.reference_points()
        }
        fn name(&self) -> String {
            "mine".into()
        }
    }
    let e = EnsembleConfig::new(1, 4, 3);
    let m = MethodConfig::euler("SGLD", 0.01, 1.0);
    let gpu = Options {
        backend: Backend::Gpu,
        ..Options::default()
    };
    let mine = || Mine(StyblinskiTang::new(Shift::zero(2)));
    match Ensemble::with_potential(mine(), &e, &m, gpu) {
        Err(Error::Unsupported(Unsupported::RustPotentialOnGpu { potential })) => {
            assert_eq!(potential, "mine")
        }
        other => panic!("expected RustPotentialOnGpu, got {:?}", other.err()),
    }
    let cpu = Options {
        backend: Backend::Cpu,
        ..Options::default()
    };
    let mut ens = Ensemble::with_potential(mine(), &e, &m, cpu).unwrap();
    ens.advance(2).unwrap();
    match ens.advance(u32::MAX as u64) {
        Err(Error::Unsupported(Unsupported::TooManySteps { step, steps })) => {
            assert_eq!((step, steps), (2, u32::MAX as u64))
        }
        other => panic!("expected TooManySteps, got {other:?}"),
    }
    // Refused before any step: the ensemble is still at step 2 and runs on.
    assert_eq!(ens.step(), 2);
    ens.advance(1).unwrap();
    assert_eq!(ens.step(), 3);
}
