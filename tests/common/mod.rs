//! What the command-line tests share: running the binary and reading what it
//! said.

use std::process::{Command, Output};

/// The `sgld-swarm` binary these tests were built with.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sgld-swarm"))
}

/// Runs the binary with `args` and waits for it.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// What it printed on standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Bad input: exit status 2, one line on standard error naming everything in
/// `expect`, and no panic.
pub fn input_error(o: &Output, expect: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "exit status for {expect:?}: {err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "not one line: {err:?}");
    for e in expect {
        assert!(lines[0].contains(e), "{:?} lacks {e:?}", lines[0]);
    }
    assert!(!err.contains("panicked"), "{err}");
}
