//! A run's lifecycle from the command line: killed (SIGKILL) at moments spread
//! over the run, then resumed, it ends with outputs byte-identical to an
//! uninterrupted run's, on either engine; Ctrl-C stops it cleanly (exit 130,
//! `"complete": false`); `[stop]` shows in the table and summary.json; a
//! checkpoint that cannot be resumed says why.

use crate::common::{bin, input_error, run, stderr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Two methods (the second homogenized, so Y is in the checkpoint), a record
/// every 100 steps, with schedules; `STEPS` is replaced by a count long enough
/// that the kills below land at different steps (about a second on the CPU of
/// a 2-core machine, and on lavapipe).
const CONFIG: &str = r#"
[problem]
potential = "rastrigin"
dim = 8

[ensemble]
runs = 4
agents = 256
steps = STEPS
record_every = 100
seed = 5
init = { uniform = [-4.0, 4.0] }

[[method]]
name = "MF-SGLD"
scheme = "euler"
dt = { from = 0.002, to = 0.0005, kind = "geometric" }
beta = 20.0
lambda = 2.0

[[method]]
name = "MF-HOM-SGLD"
scheme = "homogenized"
dt = 0.002
beta = { from = 5.0, to = 50.0, kind = "linear" }
lambda = 1.0
eps = 0.1
gamma = 0.2
inner_steps = 3
"#;

/// The files whose bytes a resumed run must reproduce.
const SAME_BYTES: [&str; 4] = [
    "history.csv",
    "positions-mf-sgld.npy",
    "positions-mf-hom-sgld.npy",
    "config.toml",
];

fn run_cmd(args: &[&str]) -> Command {
    let mut c = bin();
    c.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Spawns `args`, kills it with SIGKILL after `after`; whether it was still
/// running then.
fn kill_after(args: &[&str], after: Duration) -> bool {
    let mut child = run_cmd(args).spawn().unwrap();
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = child.kill().is_ok();
    child.wait().unwrap();
    killed
}

/// Kill moments as fractions of the uninterrupted run's time: spread over the
/// run, with its start and end (where the outputs are written) and after it.
/// A fixed list, so that a failure repeats.
const MOMENTS: [f64; 6] = [0.05, 0.3, 0.55, 0.8, 0.97, 1.5];

/// The configuration with `steps` outer steps.
fn config(steps: u64) -> String {
    CONFIG.replace("STEPS", &steps.to_string())
}

fn kill_and_resume(backend: &str, steps: u64) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, config(steps)).unwrap();
    let reference = dir.path().join("reference");
    let base = |out: &Path, every: &str| {
        vec![
            "run".to_string(),
            "--config".into(),
            s(&cfg).into(),
            "--out".into(),
            s(out).into(),
            "--backend".into(),
            backend.into(),
            "--checkpoint-every".into(),
            every.into(),
        ]
    };
    let t = Instant::now();
    let args = base(&reference, "0");
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let whole = t.elapsed();
    assert!(
        !reference.join("checkpoint").exists(),
        "--checkpoint-every 0 writes none"
    );
    let mut resumed_from_a_checkpoint = 0;
    for (i, f) in MOMENTS.iter().enumerate() {
        let out = dir.path().join(format!("killed-{i}"));
        let args = base(&out, "0.01");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let at = whole.mul_f64(*f);
        kill_after(&args, at);
        // A second kill, of the resume, at half the moment.
        if out.join("checkpoint/checkpoint.json").exists() {
            kill_after(
                &[
                    "resume",
                    s(&out),
                    "--backend",
                    backend,
                    "--checkpoint-every",
                    "0.01",
                ],
                at / 2,
            );
        }
        let o = if out.join("checkpoint/checkpoint.json").exists() {
            resumed_from_a_checkpoint += 1;
            run(&["resume", s(&out), "--backend", backend])
        } else {
            // Killed before its first checkpoint: the user runs it again.
            run(&args)
        };
        assert!(o.status.success(), "moment {f}: {}", stderr(&o));
        for name in SAME_BYTES {
            let (a, b) = (
                std::fs::read(reference.join(name)).unwrap(),
                std::fs::read(out.join(name)).unwrap_or_default(),
            );
            assert!(
                a == b,
                "{backend}, killed at {f} of the run: {name} differs"
            );
        }
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["complete"], true);
    }
    assert!(
        resumed_from_a_checkpoint >= 3,
        "only {resumed_from_a_checkpoint} kills left a checkpoint"
    );
}

#[test]
fn a_killed_run_resumes_to_the_same_bytes_on_the_cpu() {
    kill_and_resume("cpu", 6000);
}

#[test]
fn a_killed_run_resumes_to_the_same_bytes_on_the_gpu() {
    match sgld_swarm::gpu::GpuContext::new() {
        Ok(_) => kill_and_resume("gpu", 600),
        Err(e) => {
            assert!(
                std::env::var("SGLD_SWARM_REQUIRE_GPU").as_deref() != Ok("1"),
                "SGLD_SWARM_REQUIRE_GPU=1 but {e}"
            );
            eprintln!("SKIPPED: no GPU adapter ({e})");
        }
    }
}

/// Starts a CPU run of `cfg` into `out`, waits for its first record (on its
/// JSON-lines stream), sends SIGINT `times` times, and waits for it.
fn interrupt(cfg: &Path, out: &Path, times: usize) -> std::process::Output {
    let stream = out.with_extension("jsonl");
    let child = run_cmd(&[
        "run",
        "--config",
        s(cfg),
        "--out",
        s(out),
        "--backend",
        "cpu",
        "--jsonl",
        s(&stream),
    ])
    .spawn()
    .unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(&stream).map_or(true, |t| t.lines().count() < 2) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no record within a minute"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = child.id().to_string();
    for _ in 0..times {
        let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
    }
    child.wait_with_output().unwrap()
}

/// Ctrl-C (SIGINT) once: the run stops at a step boundary, writes its outputs
/// marked incomplete and a checkpoint, and exits 130; `resume` (on the engine
/// that wrote it, by default) then finishes it with the uninterrupted run's
/// bytes. (Checkpoints moving between the engines: tests/gpu/lifecycle.rs.)
#[test]
fn ctrl_c_stops_cleanly_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, config(6000)).unwrap();
    let reference = dir.path().join("reference");
    let o = run(&[
        "run",
        "--config",
        s(&cfg),
        "--out",
        s(&reference),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The final checkpoint of a finished run: every method done.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reference.join("checkpoint/checkpoint.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["format"], 1);
    assert!(
        manifest["methods"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["done"] == true)
    );

    let out = dir.path().join("interrupted");
    let o = interrupt(&cfg, &out, 1);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted") && err.contains("sgld-swarm resume"),
        "{err}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["complete"], false);
    let last = summary["methods"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(last["steps"].as_u64().unwrap() < 6000, "{last}");
    let o = run(&["resume", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in SAME_BYTES {
        assert!(
            std::fs::read(reference.join(name)).unwrap() == std::fs::read(out.join(name)).unwrap(),
            "{name} differs after Ctrl-C and resume"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["complete"], true);
}

/// Ctrl-C twice exits at once with 130: no outputs are written after the
/// second (the first asked for a clean stop, which the second cuts short).
#[test]
fn ctrl_c_twice_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    // Long enough that the clean stop, at the next record, is far away.
    std::fs::write(
        &cfg,
        config(200_000).replace("record_every = 100", "record_every = 100000"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = interrupt(&cfg, &out, 2);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(!err.contains("interrupted:"), "{err}");
    assert!(!out.join("summary.json").exists());
}

/// `resume` without a checkpoint, or with a damaged one, is an input error that
/// says what to do.
#[test]
fn resume_refuses_what_it_cannot_continue() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["resume", s(dir.path())]);
    input_error(&o, &["cannot resume", "no checkpoint.json", "run"]);
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, config(20)).unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--config",
        s(&cfg),
        "--out",
        s(&out),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest = out.join("checkpoint/checkpoint.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"format\": 1", "\"format\": 7")).unwrap();
    let o = run(&["resume", s(&out)]);
    input_error(&o, &["format 7", "format 1"]);
    // A new run into the folder removes the old checkpoint first.
    let o = run(&[
        "run",
        "--config",
        s(&cfg),
        "--out",
        s(&out),
        "--backend",
        "cpu",
        "--checkpoint-every",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("checkpoint").exists());
    let o = run(&[
        "run",
        "--config",
        s(&cfg),
        "--out",
        s(&out),
        "--checkpoint-every=-1",
    ]);
    input_error(&o, &["--checkpoint-every", "-1", "seconds"]);
}

/// A `[stop]` table stops each method on its own: the table says which and why,
/// summary.json has `stopped` for it alone.
#[test]
fn stop_rules_show_in_the_table_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let text =
        config(1200).replace("lambda = 2.0", "lambda = 40.0") + "\n[stop]\nspread_below = 4.0\n";
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--config",
        s(&cfg),
        "--out",
        s(&out),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout.lines().find(|l| l.starts_with("MF-SGLD ")).unwrap();
    assert!(line.contains("stopped: spread_below"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let m = &summary["methods"][0];
    assert_eq!(m["stopped"]["reason"], "spread_below");
    assert_eq!(m["stopped"]["step"], m["steps"]);
    assert!(m["steps"].as_u64().unwrap() < 1200);
    assert!(summary["methods"][1].get("stopped").is_none());
    assert!(
        m["steps"].as_u64().unwrap().is_multiple_of(100),
        "a stop falls on a record"
    );
}
