//! The outputs against each other: summary.json and history.csv recomputed from
//! the positions, the written config.toml reproducing the run, and the fields of
//! `bench --json` that `benches/compare.py` reads.

use super::*;

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
    // The homogenized step at the default lambda, the Euler step without
    // interaction.
    for (euler, lambda) in [(false, None), (true, Some("0"))] {
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
        if let Some(l) = lambda {
            args.extend(["--lambda", l]);
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
            let want = lambda.map_or(3.0, |l| l.parse().unwrap());
            assert_eq!(row["lambda"].as_f64(), Some(want), "{row}");
            let rate = row["units_per_s"].as_f64().unwrap();
            assert!(rate.is_finite() && rate > 0.0, "{row}");
        }
    }
}

/// `bench --resnet AGENTS --json` writes what `benches/compare.py --resnet`
/// reads: `device`, `threads` and `results`, each row with `path`, `agents` and
/// `samples_agents_per_s`: on the CPU the f32 lanes and the f64 definition of the
/// gradient and the whole training step, in that order.
#[test]
fn bench_resnet_json_has_what_compare_py_reads() {
    let dir = tempfile::tempdir().unwrap();
    let js = dir.path().join("resnet.json");
    let args = [
        "bench",
        "--resnet",
        "3",
        "--backend",
        "cpu",
        "--seconds",
        "0.05",
        "--json",
        js.to_str().unwrap(),
    ];
    let o = run(&args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(rep["backend"], "cpu", "{rep}");
    assert!(!rep["device"].as_str().unwrap().is_empty(), "{rep}");
    assert!(rep["threads"].as_u64().unwrap() >= 1, "{rep}");
    let paths: Vec<&str> = rep["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            assert_eq!(row["agents"], 3, "{row}");
            let rate = row["samples_agents_per_s"].as_f64().unwrap();
            assert!(rate.is_finite() && rate > 0.0, "{row}");
            row["path"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        paths,
        [
            "gradient, f32 lanes",
            "gradient, f64 definition",
            "training step (cpu)"
        ],
        "{rep}"
    );
}

/// `--jsonl FILE` writes one line per record, in the order of history.csv's
/// rows, with the same statistics over runs and each run's own; `--jsonl -` puts only those lines on standard output (the table
/// goes to standard error); a path that cannot be created is a failed write.
#[test]
fn jsonl_streams_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, CONSISTENCY).unwrap();
    let (out, lines) = (dir.path().join("out"), dir.path().join("records.jsonl"));
    let cfg = cfg.to_str().unwrap().to_string();
    let run_with = |out: &std::path::Path, jsonl: &str| {
        let out = out.to_str().unwrap();
        let args = [
            "run",
            "--config",
            &cfg,
            "--out",
            out,
            "--backend",
            "cpu",
            "--jsonl",
            jsonl,
        ];
        run(&args)
    };
    let o = run_with(&out, lines.to_str().unwrap());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&lines).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = rows.map(|l| l.split(',').collect()).collect();
    assert_eq!(records.len(), rows.len());
    for (r, row) in records.iter().zip(&rows) {
        assert_eq!(r["method"], row[0]);
        assert_eq!(r["step"].as_u64().unwrap().to_string(), row[1]);
        assert_eq!(r["runs"].as_array().unwrap().len(), 5);
        for (c, h) in header.iter().enumerate().skip(2) {
            let (stat, which) = h.rsplit_once('_').unwrap();
            let got = r["over_runs"][stat][which].as_f64().unwrap();
            let want = row[c].parse::<f64>().unwrap();
            // Both files print f64 exactly; serde_json's reader (without its
            // float_roundtrip feature) may round the last bit: one ulp.
            assert!(
                (got - want).abs() <= want.abs() * f64::EPSILON,
                "{h} at {:?}: {got} vs {want}",
                &row[..2]
            );
        }
    }
    // Standard output: the records alone.
    let o = run_with(&dir.path().join("out2"), "-");
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    assert_eq!(stdout, text, "the same lines, nothing else");
    assert!(stderr(&o).contains("final statistics"), "{}", stderr(&o));
    // A folder that does not exist: nothing runs, exit 3 names the file.
    let bad = dir.path().join("missing").join("r.jsonl");
    let o = run_with(&dir.path().join("out3"), bad.to_str().unwrap());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("r.jsonl"), "{}", stderr(&o));
    // Figure 3 keeps its records in its own history.csv: refused by name.
    let out4 = dir.path().join("out4");
    let o = run(&[
        "run",
        "--preset",
        "fig3-ellipses",
        "--out",
        out4.to_str().unwrap(),
        "--jsonl",
        "-",
    ]);
    input_error(&o, &["--jsonl", "Figure 3"]);
    assert!(!out4.exists(), "nothing written");
}
