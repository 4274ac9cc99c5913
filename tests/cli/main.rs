//! The command-line tool as a user meets it: presets that write every output, bad
//! input that gets a one-line error with exit status 2, and runs that do not depend
//! on the thread count.

use ndarray::{Array3, Array4};
use ndarray_npy::ReadNpyExt;
use std::path::Path;

#[path = "../common/mod.rs"]
mod common;
use common::{bin, input_error, run, stderr};

mod bad_input;
use bad_input::bad_config;
mod consistency;
mod lifecycle;

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

/// Each swarm preset (every one but the network's `fig3-ellipses`, which has a
/// test of its own) runs a few steps and writes all its outputs, which read
/// back with the shapes and contents the contract gives.
#[test]
fn every_preset_writes_all_outputs() {
    let swarm = sgld_swarm::presets::PRESETS
        .iter()
        .filter(|p| p.name != "fig3-ellipses");
    for (preset, config) in swarm.map(|p| {
        (
            p.name,
            sgld_swarm::presets::preset(p.name).unwrap().unwrap(),
        )
    }) {
        let (dim, methods, agents) = (
            config.problem.dim,
            config.methods.len(),
            config.ensemble.agents,
        );
        assert!(
            dim != 2 || config.ensemble.record_every == 1,
            "{preset}: the trajectory check below reads every step"
        );
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
            assert_eq!(pos.shape(), &[2, agents, dim]);
            assert!(pos.iter().all(|v| v.is_finite()));
            let traj = out.join(format!("trajectories-{slug}.npy"));
            if dim == 2 {
                let t = Array4::<f32>::read_npy(std::fs::File::open(traj).unwrap()).unwrap();
                // record_every = 1 in this preset: steps 0..=3.
                assert_eq!(t.shape(), &[4, 2, agents, 2]);
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
    for p in sgld_swarm::presets::PRESETS {
        assert!(text.contains(p.name), "{}", p.name);
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
