//! The command-line tool as a user meets it: presets that write every output, bad
//! input that gets a one-line error with exit status 2, and runs that do not depend
//! on the thread count.

use ndarray::{Array3, Array4};
use ndarray_npy::ReadNpyExt;
use std::path::Path;

mod common;
use common::{bin, input_error, run, stderr};

const BASE: &str = r#"
[problem]
potential = "rough"
dim = 3
delta = 0.01

[ensemble]
runs = 2
agents = 4
steps = 5
seed = 1
init = { uniform = [-1.0, 1.0] }

[[method]]
name = "MF-HOM-SGLD"
scheme = "homogenized"
dt = 0.005
beta = 1.0
lambda = 3.0
taming = "coordinate"
eps = 0.01
gamma = 0.1
inner_steps = 4
burn_in = 1
"#;

/// Each preset runs a few steps and writes all its outputs, which read back with
/// the shapes and contents the contract gives.
#[test]
fn every_preset_writes_all_outputs() {
    for (preset, dim, methods) in [
        ("fig1-camel", 2, 6),
        ("fig2-rough-d10", 10, 4),
        ("fig2-rough-d50", 50, 4),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = run(&[
            "run",
            "--preset",
            preset,
            "--steps",
            "3",
            "--runs",
            "2",
            "--out",
            out.to_str().unwrap(),
            "--backend",
            "cpu",
        ]);
        assert!(o.status.success(), "{preset}: {}", stderr(&o));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.contains("summary.json") && stdout.contains("best"),
            "{stdout}"
        );

        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["backend"], "cpu");
        assert!(summary["device"].is_string());
        let ms = summary["methods"].as_array().unwrap();
        assert_eq!(ms.len(), methods);
        for m in ms {
            assert_eq!(m["steps"], 3);
            assert!(m["elapsed_s"].as_f64().unwrap() >= 0.0);
            assert!(m["units_per_s"].as_f64().unwrap() > 0.0);
            for stat in ["best", "worst", "median", "best_phi", "spread"] {
                let s = &m["final"][stat];
                let (med, min, max) = (
                    s["median"].as_f64().unwrap(),
                    s["min"].as_f64().unwrap(),
                    s["max"].as_f64().unwrap(),
                );
                assert!(min <= med && med <= max, "{preset} {stat}: {s}");
            }
            let slug = m["slug"].as_str().unwrap();
            let pos = Array3::<f32>::read_npy(
                std::fs::File::open(out.join(format!("positions-{slug}.npy"))).unwrap(),
            )
            .unwrap();
            assert_eq!(
                pos.shape(),
                &[2, if preset == "fig1-camel" { 25 } else { 50 }, dim]
            );
            assert!(pos.iter().all(|v| v.is_finite()));
            let traj = out.join(format!("trajectories-{slug}.npy"));
            if dim == 2 {
                let t = Array4::<f32>::read_npy(std::fs::File::open(traj).unwrap()).unwrap();
                // record_every = 1 in this preset: steps 0..=3.
                assert_eq!(t.shape(), &[4, 2, 25, 2]);
                assert_eq!(t.index_axis(ndarray::Axis(0), 3), pos.view());
            } else {
                assert!(!traj.exists());
            }
        }
        let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
        let mut lines = csv.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("method,step,best_median,best_min,best_max,worst_median"));
        assert_eq!(header.split(',').count(), 2 + 15);
        let rows: Vec<&str> = lines.collect();
        // Steps 0 and 3 at least, per method.
        assert!(rows.len() >= 2 * methods, "{rows:?}");
        for png in ["distance.png"].iter().chain(if dim == 2 {
            &["paths.png"][..]
        } else {
            &[][..]
        }) {
            let bytes = std::fs::read(out.join(png)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG"), "{png}");
        }
        assert!(out.join("config.toml").exists());
    }
}

/// `sgld-swarm presets` lists every preset with its departures from the paper.
#[test]
fn presets_are_listed() {
    let o = run(&["presets"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for name in ["fig1-camel", "fig2-rough-d10", "fig2-rough-d50"] {
        assert!(text.contains(name));
    }
    assert!(text.contains("departs from the paper"));
}

/// The same run with one and with two threads writes identical positions (on the
/// CPU engine, whose chunking follows the thread count; under `auto` a machine
/// with a GPU would compare two GPU runs).
#[test]
fn output_is_identical_for_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        BASE.replace("steps = 5", "steps = 30")
            .replace("agents = 4", "agents = 33"),
    )
    .unwrap();
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        let o = bin()
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "run",
                "--config",
                cfg.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--backend",
                "cpu",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        files.push(std::fs::read(out.join("positions-mf-hom-sgld.npy")).unwrap());
    }
    assert_eq!(files[0], files[1]);
}

/// A run that diverges says so (exit status 1) and still writes what it has.
#[test]
fn divergence_exits_1_and_keeps_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let text = BASE
        .replace("taming = \"coordinate\"", "taming = \"none\"")
        .replace("[-1.0, 1.0]", "[-10.0, 10.0]")
        .replace("steps = 5", "steps = 200")
        + "\n[[method]]\nname = \"tamed\"\nscheme = \"euler\"\ndt = 0.01\nbeta = 1.0\ntaming = \"coordinate\"\n";
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("MF-HOM-SGLD diverged in run"), "{err}");
    assert!(err.contains("taming"), "{err}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["methods"][0]["error"]
            .as_str()
            .unwrap()
            .contains("diverged")
    );
    assert_eq!(summary["methods"][1]["steps"], 200);
    assert!(summary["methods"][1]["error"].is_null());
}

/// Runs `run --config` on `text` and checks the one-line error.
fn bad_config(text: &str, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    input_error(&o, expect);
}

fn replace(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn bad_problem_fields() {
    bad_config(
        &replace("potential = \"rough\"", "potential = \"roughh\""),
        &[
            "problem.potential",
            "roughh",
            "six-hump-camel",
            "double-well",
        ],
    );
    bad_config(
        &replace("dim = 3", "dim = 0"),
        &["problem.dim", "0", ">= 1"],
    );
    bad_config(
        &replace("dim = 3", "dim = -4"),
        &["problem.dim", "-4", ">= 1"],
    );
    bad_config(
        &replace(
            "potential = \"rough\"\ndim = 3\ndelta = 0.01",
            "potential = \"six-hump-camel\"\ndim = 3",
        ),
        &["problem.dim", "3", "dim = 2"],
    );
    bad_config(
        &replace(
            "potential = \"rough\"\ndim = 3\ndelta = 0.01",
            "potential = \"rosenbrock\"\ndim = 1",
        ),
        &["problem.dim", "1", "dim >= 2"],
    );
    bad_config(
        &replace("delta = 0.01", "delta = 0.01\nshift = [1.0, 2.0]"),
        &["problem.shift", "length 2", "dim = 3"],
    );
    bad_config(
        &replace("delta = 0.01", "delta = 0.01\nshift = [1.0, nan, 2.0]"),
        &["problem.shift[1]", "NaN", "finite"],
    );
    bad_config(
        &replace(
            "potential = \"rough\"\ndim = 3\ndelta = 0.01",
            "potential = \"quadratic\"\ndim = 3\na = [1.0, 2.0]",
        ),
        &["problem.a", "length 2", "dim = 3"],
    );
    bad_config(
        &replace(
            "potential = \"rough\"\ndim = 3\ndelta = 0.01",
            "potential = \"quadratic\"\ndim = 3\na = -1.0",
        ),
        &["problem.a", "-1", "> 0"],
    );
    bad_config(
        &replace("delta = 0.01", "delta = 0.0"),
        &["problem.delta", "0", "> 0"],
    );
}

#[test]
fn bad_ensemble_fields() {
    bad_config(
        &replace("runs = 2", "runs = 0"),
        &["ensemble.runs", "0", ">= 1"],
    );
    bad_config(
        &replace("agents = 4", "agents = 0"),
        &["ensemble.agents", "0", ">= 1"],
    );
    bad_config(
        &replace("steps = 5", "steps = 0"),
        &["ensemble.steps", "0", ">= 1"],
    );
    bad_config(
        &replace("runs = 2\nagents = 4", "runs = 70000\nagents = 70000"),
        &["ensemble.runs x ensemble.agents", "70000 x 70000", "2^32"],
    );
    bad_config(
        &replace("[-1.0, 1.0]", "[1.0, -1.0]"),
        &["ensemble.init.uniform", "[1, -1]", "lo <= hi"],
    );
    bad_config(
        &replace("[-1.0, 1.0]", "[-inf, 1.0]"),
        &["ensemble.init.uniform", "-inf", "finite"],
    );
    // Fits the index space (2^32 agents) but not any memory: 2^32 x 2^20
    // coordinates, refused with the memory it needs before anything is allocated.
    bad_config(
        &replace("runs = 2\nagents = 4", "runs = 65536\nagents = 65536")
            .replace("dim = 3", "dim = 1048576"),
        &["the run needs", "GiB", "reduce runs, agents or dim"],
    );
}

#[test]
fn bad_method_fields() {
    bad_config(
        &replace("scheme = \"homogenized\"", "scheme = \"heun\""),
        &["method[0].scheme", "heun", "euler, homogenized"],
    );
    bad_config(
        &replace("taming = \"coordinate\"", "taming = \"soft\""),
        &["method[0].taming", "soft", "none, coordinate, norm"],
    );
    for (field, bad) in [
        ("dt", "0.0"),
        ("dt", "nan"),
        ("beta", "-1.0"),
        ("beta", "inf"),
        ("eps", "0.0"),
        ("gamma", "-0.1"),
    ] {
        let line = BASE
            .lines()
            .find(|l| l.starts_with(&format!("{field} = ")))
            .unwrap();
        bad_config(
            &replace(line, &format!("{field} = {bad}")),
            &[&format!("method[0].{field}"), "finite number > 0"],
        );
    }
    bad_config(
        &replace("lambda = 3.0", "lambda = -1.0"),
        &["method[0].lambda", "-1", ">= 0"],
    );
    bad_config(
        &replace("lambda = 3.0", "lambda = nan"),
        &["method[0].lambda", "NaN", ">= 0"],
    );
    bad_config(
        &replace("inner_steps = 4", "inner_steps = 0"),
        &["method[0].inner_steps", "0", ">= 1"],
    );
    bad_config(
        &replace("burn_in = 1", "burn_in = 0"),
        &["method[0].burn_in", "0", ">= 1"],
    );
    bad_config(
        &replace("eps = 0.01\n", ""),
        &["method[0].eps", "missing", "homogenized"],
    );
    bad_config(
        &replace("scheme = \"homogenized\"", "scheme = \"euler\""),
        &["method[0].eps", "only used by scheme = \"homogenized\""],
    );
    bad_config(
        &(BASE.to_string()
            + "\n[[method]]\nname = \"mf hom sgld\"\nscheme = \"euler\"\ndt = 0.1\nbeta = 1.0\n"),
        &["method[1].name", "mf-hom-sgld"],
    );
}

#[test]
fn bad_files_and_folders() {
    // Malformed TOML: the line is named.
    bad_config(&replace("runs = 2", "runs = = 2"), &["bad.toml:8:", "="]);
    // An unknown field, with its line.
    bad_config(
        &replace("runs = 2", "runs = 2\nrunz = 3"),
        &["bad.toml:9:", "runz"],
    );
    // A missing file.
    let o = run(&["run", "--config", "/nonexistent/sgld.toml"]);
    input_error(&o, &["cannot read /nonexistent/sgld.toml", "No such file"]);
    // An output folder that cannot be created: below a regular file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let out = file.join("out");
    let o = run(&[
        "run",
        "--preset",
        "fig1-camel",
        "--out",
        out.to_str().unwrap(),
    ]);
    input_error(&o, &["cannot write", out.to_str().unwrap()]);
    // An unknown preset.
    let o = run(&["run", "--preset", "fig9"]);
    input_error(&o, &["--preset", "fig9", "fig1-camel"]);
    // Overrides are checked like the file.
    let o = run(&["run", "--preset", "fig1-camel", "--steps", "0"]);
    input_error(&o, &["ensemble.steps", "0"]);
    let o = run(&["run", "--preset", "fig1-camel", "--runs", "0"]);
    input_error(&o, &["ensemble.runs", "0"]);
}

/// `--backend gpu` runs on the GPU when there is an adapter (lavapipe in CI), and
/// otherwise fails with a message that says how to get one.
#[test]
fn gpu_backend_runs_or_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "run",
        "--preset",
        "fig1-camel",
        "--steps",
        "5",
        "--backend",
        "gpu",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    match sgld_swarm::gpu::GpuContext::new() {
        Ok(_) => {
            assert!(o.status.success(), "{}", stderr(&o));
            let summary: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.path().join("summary.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(summary["backend"], "gpu");
            assert!(summary["device"].as_str().unwrap().contains("kernel"));
        }
        Err(_) => {
            eprintln!("SKIPPED: no GPU adapter; checking the error instead");
            input_error(
                &o,
                &["no GPU adapter", "mesa-vulkan-drivers", "--backend cpu"],
            );
        }
    }
}

/// Output folders are written only after the run is known to be valid.
#[test]
fn nothing_is_written_for_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let o = run(&[
        "run",
        "--preset",
        "fig1-camel",
        "--steps",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!Path::new(&out).exists());
}

/// A 2-D run whose trajectories would not fit a reasonable budget (2 GiB) runs
/// without them and says so, instead of failing or exhausting memory.
#[test]
fn oversized_trajectories_are_left_out_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    // 152 records x 2e6 agents x 2 coordinates x 4 bytes = 2.4 GB.
    let text = "[problem]\npotential = \"double-well\"\ndim = 2\n\
                [ensemble]\nruns = 2000\nagents = 1000\nsteps = 150\nrecord_every = 1\n\
                init = { uniform = [-2.0, 2.0] }\n\
                [[method]]\nname = \"SGLD\"\nscheme = \"euler\"\ndt = 0.01\nbeta = 5.0\n";
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("trajectories are not kept") && err.contains("GiB"),
        "{err}"
    );
    assert!(out.join("positions-sgld.npy").exists());
    assert!(!out.join("trajectories-sgld.npy").exists());
    assert!(out.join("paths.png").exists());
}

/// `analyze` writes its three pictures and a JSON whose critical lambda solves
/// beta lambda Var_{eta_0}(x) = 1 (checked by the library's tests) and whose
/// stationary states are fixed points; bad input gets exit status 2 naming the
/// flag.
#[test]
fn analyze_writes_pictures_and_states() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("analysis");
    let o = run(&[
        "analyze",
        "--out",
        out.to_str().unwrap(),
        "--potential",
        "double-well",
        "--grid",
        "12",
        "--lambdas",
        "5",
        "--agents",
        "300",
        "--steps",
        "600",
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["effective-1d.png", "effective-camel.png", "bifurcation.png"] {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{f}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    let mf = &json["mean_field"];
    let lc = mf["critical_lambda"].as_f64().unwrap();
    assert!(lc > 0.1 && lc < 1.0, "{lc}");
    let branches = mf["stationary_states"].as_array().unwrap();
    assert_eq!(branches.len(), 5);
    // lambda = 0: only m = 0; the largest lambda (3 x critical): three states.
    assert_eq!(branches[0]["states"].as_array().unwrap().len(), 1);
    assert_eq!(branches[4]["states"].as_array().unwrap().len(), 3);
    assert_eq!(mf["simulated"].as_array().unwrap().len(), 1);

    for (args, field) in [
        (vec!["--gamma", "0"], "--gamma"),
        (vec!["--gamma", "0.1,-1"], "--gamma"),
        (vec!["--beta", "-2"], "--beta"),
        (vec!["--potential", "rosenbrock"], "--potential"),
    ] {
        let mut all = vec!["analyze", "--out", out.to_str().unwrap()];
        all.extend(args);
        let o = run(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(field), "{all:?}: {}", stderr(&o));
    }
}

/// The smoothed scheme from a config file: it runs and writes its outputs, and
/// each of its fields that a user can get wrong is named in a one-line error.
#[test]
fn smoothed_scheme_from_config() {
    let smoothed = BASE.replace(
        "scheme = \"homogenized\"\ndt = 0.005\nbeta = 1.0\nlambda = 3.0\ntaming = \"coordinate\"\neps = 0.01\ngamma = 0.1\ninner_steps = 4\nburn_in = 1",
        "scheme = \"smoothed\"\ndt = 0.005\nbeta = 1.0\nlambda = 3.0\ntaming = \"coordinate\"\nh = 0.1\nsamples = 4\nh_factor = 0.9\nh_min = 0.01",
    );
    assert!(smoothed.contains("smoothed"), "BASE changed: {BASE}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("s.toml");
    std::fs::write(&cfg, &smoothed).unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("positions-mf-hom-sgld.npy").exists());
    let written = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(written.contains("h_factor = 0.9"), "{written}");

    let bad = |from: &str, to: &str, expect: &[&str]| {
        assert!(smoothed.contains(from), "{from}");
        bad_config(&smoothed.replacen(from, to, 1), expect);
    };
    bad("h = 0.1", "h = 0.0", &["method[0].h", "> 0"]);
    bad("samples = 4", "samples = 0", &["method[0].samples", ">= 1"]);
    bad(
        "h_factor = 0.9",
        "h_factor = 1.5",
        &["method[0].h_factor", "(0, 1]"],
    );
    bad("h_min = 0.01", "h_min = 0.5", &["method[0].h_min", "[0, h"]);
    bad("h = 0.1\n", "", &["method[0].h", "required"]);
    bad(
        "h_min = 0.01",
        "h_min = 0.01\neps = 0.1",
        &["method[0].eps", "homogenized"],
    );
    bad(
        "scheme = \"smoothed\"",
        "scheme = \"euler\"",
        &["method[0].h", "smoothed"],
    );
}

/// The paper's Figure 3 preset, for two epochs: every output is written and reads
/// back, and the summary has each method's final accuracies; a broken file gets a
/// one-line error naming the field.
#[test]
fn fig3_preset_writes_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig3");
    let o = run(&[
        "run",
        "--preset",
        "fig3-ellipses",
        "--steps",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let methods = json["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 3);
    assert_eq!(json["network"]["parameters"], 774);
    for m in methods {
        let acc = m["final_record"]["test_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{m}");
        let slug = m["slug"].as_str().unwrap();
        let x = Array3::<f32>::read_npy(
            std::fs::File::open(out.join(format!("positions-{slug}.npy"))).unwrap(),
        )
        .unwrap();
        assert_eq!(x.dim(), (1, 8, 774));
    }
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    // Records at epochs 0 and 2 for each method.
    assert_eq!(csv.lines().count(), 1 + 3 * 2, "{csv}");
    assert!(
        std::fs::read(out.join("probability.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );

    let text = std::fs::read_to_string(out.join("config.toml")).unwrap();
    for (from, to, expect) in [
        ("batch = 50", "batch = 600", vec!["data.batch", "500"]),
        ("train = 500", "train = 0", vec!["data.train", ">= 1"]),
        (
            "network = \"euler\"",
            "network = \"rk4\"",
            vec!["method[2].network", "verlet"],
        ),
        ("layers = 128", "layers = 0", vec!["network.layers"]),
        ("dt = 2.0", "dt = -2.0", vec!["method[0].dt"]),
    ] {
        assert!(text.contains(from), "{from}");
        bad_config(&text.replacen(from, to, 1), &expect);
    }
}

/// A 2-D config with several runs and two methods, whose outputs are checked
/// against each other below.
const CONSISTENCY: &str = r#"
[problem]
potential = "double-well"
dim = 2
shift = [0.5, -0.25]

[ensemble]
runs = 5
agents = 7
steps = 12
seed = 11
record_every = 5
init = { uniform = [-2.0, 2.0] }

[[method]]
name = "SGLD"
scheme = "euler"
dt = 0.05
beta = 3.0

[[method]]
name = "MF-HOM-SGLD"
scheme = "homogenized"
dt = 0.05
beta = 3.0
lambda = 2.0
taming = "coordinate"
eps = 0.5
gamma = 0.2
inner_steps = 4
burn_in = 2
"#;

/// The shift of [`CONSISTENCY`].
const SHIFT: [f64; 2] = [0.5, -0.25];

/// The statistics of DESIGN section 5 for one run of `[agents][2]` positions of
/// the shifted double well, in f64, written out here: `dist` to the nearest
/// minimiser (coordinate-wise nearest sign, `sqrt(sum (|x_k - s_k| - 1)^2)`),
/// `Phi = 0.25 sum ((x_k - s_k)^2 - 1)^2`, and `spread = max_i ||X_i - m_r||`.
/// Returns best, worst, median, best_phi, spread.
fn run_statistics(run: ndarray::ArrayView2<f32>) -> [f64; 5] {
    let n = run.nrows();
    let mut mean = [0.0f64; 2];
    for a in run.rows() {
        mean[0] += a[0] as f64;
        mean[1] += a[1] as f64;
    }
    let mean = mean.map(|s| s / n as f64);
    let mut dists = Vec::new();
    let (mut best_phi, mut spread) = (f64::INFINITY, 0.0f64);
    for a in run.rows() {
        let y: Vec<f64> = (0..2).map(|k| a[k] as f64 - SHIFT[k]).collect();
        dists.push(
            y.iter()
                .map(|v| (v.abs() - 1.0).powi(2))
                .sum::<f64>()
                .sqrt(),
        );
        best_phi = best_phi.min(y.iter().map(|v| 0.25 * (v * v - 1.0).powi(2)).sum());
        let s: f64 = (0..2).map(|k| (a[k] as f64 - mean[k]).powi(2)).sum();
        spread = spread.max(s.sqrt());
    }
    dists.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 {
        dists[n / 2]
    } else {
        0.5 * (dists[n / 2 - 1] + dists[n / 2])
    };
    [dists[0], dists[n - 1], median, best_phi, spread]
}

/// Median (the middle one; 5 runs), min and max over runs of each statistic.
fn over_runs(per_run: &[[f64; 5]]) -> [[f64; 3]; 5] {
    let mut out = [[0.0; 3]; 5];
    for (s, o) in out.iter_mut().enumerate() {
        let mut v: Vec<f64> = per_run.iter().map(|r| r[s]).collect();
        v.sort_by(f64::total_cmp);
        assert_eq!(v.len() % 2, 1, "the median below is the middle value");
        *o = [v[v.len() / 2], v[0], v[v.len() - 1]];
    }
    out
}

const STATS: [&str; 5] = ["best", "worst", "median", "best_phi", "spread"];

/// Recomputed and written statistics agree. The CLI computes them in f64 on the
/// CPU from the same f32 positions, with at most a few dozen f64 operations each
/// (sums of 2 squares, a mean of 7 agents), so a different order of those
/// operations moves them by a few units of 2^-53 relative; the files hold the
/// shortest decimal that reads back as the same f64 (serde_json and `{}`).
/// 1e-12 of max(|v|, 1) covers that; a wrong record, run or statistic is off by
/// 1e-3 or more.
const STATS_TOL: f64 = 1e-12;

fn assert_stat(got: f64, want: f64, what: &str) {
    let tol = STATS_TOL * want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol,
        "{what}: written {got:e}, recomputed {want:e}, tolerance {tol:e}"
    );
}

/// The outputs of one run agree with each other: the final statistics in
/// summary.json and every row of history.csv equal the statistics recomputed here
/// (f64, from their definitions) from `positions-*.npy` (the last record) and
/// `trajectories-*.npy` (every record: steps 0, 5, 10 and the final 12), and
/// the last trajectory record is the final positions.
#[test]
fn summary_and_history_are_the_statistics_of_the_positions() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, CONSISTENCY).unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let methods = summary["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 2);
    for m in methods {
        let (name, slug) = (m["name"].as_str().unwrap(), m["slug"].as_str().unwrap());
        assert_eq!(m["steps"], 12);
        let pos = Array3::<f32>::read_npy(
            std::fs::File::open(out.join(format!("positions-{slug}.npy"))).unwrap(),
        )
        .unwrap();
        assert_eq!(pos.shape(), &[5, 7, 2]);
        let traj = Array4::<f32>::read_npy(
            std::fs::File::open(out.join(format!("trajectories-{slug}.npy"))).unwrap(),
        )
        .unwrap();
        assert_eq!(traj.shape(), &[4, 5, 7, 2]);
        assert_eq!(traj.index_axis(ndarray::Axis(0), 3), pos.view());

        let stats_of = |x: ndarray::ArrayView3<f32>| {
            let per_run: Vec<[f64; 5]> = x.outer_iter().map(run_statistics).collect();
            over_runs(&per_run)
        };
        // summary.json: the final statistics, from positions-*.npy.
        let last = stats_of(pos.view());
        for (s, stat) in STATS.iter().enumerate() {
            for (j, field) in ["median", "min", "max"].iter().enumerate() {
                assert_stat(
                    m["final"][stat][field].as_f64().unwrap(),
                    last[s][j],
                    &format!("{name}: summary.json final {stat} {field}"),
                );
            }
        }
        // history.csv: one row per record, from trajectories-*.npy.
        let mine: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == name).collect();
        let steps: Vec<u64> = mine.iter().map(|r| r[1].parse().unwrap()).collect();
        assert_eq!(steps, [0, 5, 10, 12], "{name}: recorded steps");
        for (i, row) in mine.iter().enumerate() {
            let want = stats_of(traj.index_axis(ndarray::Axis(0), i));
            for (s, stat) in STATS.iter().enumerate() {
                for (j, field) in ["median", "min", "max"].iter().enumerate() {
                    let c = col(&format!("{stat}_{field}"));
                    assert_stat(
                        row[c].parse().unwrap(),
                        want[s][j],
                        &format!("{name}: history.csv step {} {stat}_{field}", steps[i]),
                    );
                }
            }
        }
    }
}

/// The config.toml a run writes is the run: running it again gives the same bytes
/// in every `.npy` file (positions and trajectories of every method).
#[test]
fn the_written_config_reproduces_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, CONSISTENCY).unwrap();
    let first = dir.path().join("first");
    let again = dir.path().join("again");
    for (config, out) in [
        (cfg.clone(), first.clone()),
        (first.join("config.toml"), again.clone()),
    ] {
        let o = run(&[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--backend",
            "cpu",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let npy = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".npy"))
            .collect();
        v.sort();
        v
    };
    let names = npy(&first);
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(names, npy(&again));
    for n in &names {
        assert!(
            std::fs::read(first.join(n)).unwrap() == std::fs::read(again.join(n)).unwrap(),
            "{n} differs between the run and its written config.toml"
        );
    }
}

/// `bench --json` writes what benches/compare.py reads from it: `backend`, `device`
/// and `results`, each row with `path`, `runs`, `agents`, `dim` and
/// `units_per_s`, for the command line compare.py builds (`--backend cpu
/// --ladder --max-size N --json FILE --seconds S`, with and without `--euler`).
#[test]
fn bench_json_has_what_compare_py_reads() {
    let dir = tempfile::tempdir().unwrap();
    for euler in [false, true] {
        let js = dir.path().join(format!("bench-{euler}.json"));
        let mut args = vec![
            "bench",
            "--backend",
            "cpu",
            "--ladder",
            "--max-size",
            "10000",
            "--json",
            js.to_str().unwrap(),
            "--seconds",
            "0.05",
        ];
        if euler {
            args.push("--euler");
        }
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
        assert_eq!(rep["backend"], "cpu", "{rep}");
        assert!(!rep["device"].as_str().unwrap().is_empty(), "{rep}");
        let results = rep["results"].as_array().unwrap();
        // The ladder below 1e4: 10 x 10 x 100 only.
        assert_eq!(results.len(), 1, "{rep}");
        for row in results {
            assert!(!row["path"].as_str().unwrap().is_empty(), "{row}");
            let size: Vec<u64> = ["runs", "agents", "dim"]
                .iter()
                .map(|f| row[f].as_u64().unwrap())
                .collect();
            assert_eq!(size, [10, 10, 100], "{row}");
            let rate = row["units_per_s"].as_f64().unwrap();
            assert!(rate.is_finite() && rate > 0.0, "{row}");
        }
    }
}
