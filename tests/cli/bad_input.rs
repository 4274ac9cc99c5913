//! Bad input: a one-line error naming the field, the value and what is allowed,
//! exit status 2, and nothing written.

use super::*;

/// Runs `run --config` on `text` and checks the one-line error.
pub(crate) fn bad_config(text: &str, expect: &[&str]) {
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
