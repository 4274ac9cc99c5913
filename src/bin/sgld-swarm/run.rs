//! `sgld-swarm run` and `sgld-swarm resume`: a configuration's methods with
//! progress bars, checkpoints and Ctrl-C, then the table and the outputs.

use crate::{BackendArg, RunArgs, jsonl, load_config, source};
use indicatif::{ProgressBar, ProgressStyle};
use sgld_swarm::checkpoint;
use sgld_swarm::config::Config;
use sgld_swarm::diagnostics::Stat;
use sgld_swarm::experiment::{self, Lifecycle, Progress};
use sgld_swarm::ranks::Ranks;
use sgld_swarm::{Error, Options, output};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// The exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

#[derive(clap::Args)]
pub(crate) struct ResumeArgs {
    /// The output folder of the run to continue (its checkpoint/ is read).
    out: PathBuf,
    /// The engine that continues (default: the one that wrote the checkpoint;
    /// the outputs are then byte-identical to an uninterrupted run's, and on
    /// the other engine within the engines' agreement).
    #[arg(long, value_enum)]
    backend: Option<BackendArg>,
    /// Write a checkpoint every this many seconds and when it stops (default
    /// 60; 0: none, and the checkpoint resumed from stays as it is).
    #[arg(long, value_name = "SECONDS")]
    checkpoint_every: Option<f64>,
    /// Also write one JSON object per record, as the methods run (the records
    /// after the checkpoint), to this file (`-`: standard output).
    #[arg(long, value_name = "FILE|-")]
    jsonl: Option<PathBuf>,
}

/// Ctrl-C once sets the flag (the run stops at the next step boundary, writes a
/// checkpoint and its outputs, and exits 130); twice exits at once with 130.
fn interrupt_flag() -> Arc<AtomicBool> {
    use signal_hook::consts::SIGINT;
    let flag = Arc::new(AtomicBool::new(false));
    // Registered first, so it sees the flag before the second press sets it.
    let _ =
        signal_hook::flag::register_conditional_shutdown(SIGINT, INTERRUPTED as i32, flag.clone());
    let _ = signal_hook::flag::register(SIGINT, flag.clone());
    flag
}

/// The checkpoint interval of `--checkpoint-every` (default 60 s); `None` for 0.
fn interval(seconds: Option<f64>) -> Result<Option<Duration>, Error> {
    let seconds = seconds.unwrap_or(60.0);
    let every = Duration::try_from_secs_f64(seconds).map_err(|_| {
        Error::Config(sgld_swarm::ConfigError {
            field: "--checkpoint-every".into(),
            value: seconds.to_string(),
            allowed: "must be a number of seconds >= 0 (0: no checkpoints)".into(),
        })
    })?;
    Ok((!every.is_zero()).then_some(every))
}

/// `sgld-swarm run` for a configuration of methods (Figure 3 goes elsewhere).
pub(crate) fn run(args: &RunArgs, ranks: Option<Ranks>) -> anyhow::Result<ExitCode> {
    let setup = (|| {
        let (text, origin) = source(args)?;
        let config = load_config(args, &text, &origin)?;
        let every = interval(args.checkpoint_every)?;
        experiment::footprint(&config)?.check()?;
        Ok((config, every))
    })();
    // Over ranks, a failure on any rank (its memory, its copy of a file) is
    // every rank's.
    let (config, every) = sgld_swarm::ranks::agree(ranks.as_ref(), setup)?;
    let dir = checkpoint::dir_of(&args.out);
    let lifecycle = Lifecycle {
        checkpoint_dir: every.is_some().then(|| dir.clone()),
        checkpoint_every: every,
        interrupt: Some(interrupt_flag()),
        resume: false,
    };
    execute(
        &config,
        &args.out,
        args.backend,
        args.jsonl.as_deref(),
        &lifecycle,
        || {
            // A checkpoint of another run in this folder would resume that run.
            checkpoint::remove(&dir)
        },
        ranks,
    )
}

/// `sgld-swarm resume <out>`: continues the run whose checkpoint is in
/// `<out>/checkpoint` and writes its outputs as `run` would have.
pub(crate) fn resume(args: ResumeArgs, ranks: Option<Ranks>) -> anyhow::Result<ExitCode> {
    let dir = checkpoint::dir_of(&args.out);
    let setup = (|| {
        let every = interval(args.checkpoint_every)?;
        let manifest = checkpoint::read_manifest(&dir)?.ok_or_else(|| Error::Checkpoint {
            path: dir.clone(),
            message: format!(
                "no {} there: that run wrote no checkpoint (it ran with --checkpoint-every 0, \
                 or was stopped before its first one); start it again with `run`",
                checkpoint::MANIFEST
            ),
        })?;
        let origin = format!(
            "the configuration in {}",
            dir.join(checkpoint::MANIFEST).display()
        );
        let config = Config::from_toml_str(&manifest.config, &origin)?;
        experiment::footprint(&config)?.check()?;
        Ok((every, manifest, config))
    })();
    // Over ranks every rank reads the checkpoint (a folder all of them see);
    // a failure on any is every rank's.
    let (every, manifest, config) = sgld_swarm::ranks::agree(ranks.as_ref(), setup)?;
    // The engine that wrote it, unless another is asked for.
    let written_on = match manifest.backend.as_str() {
        "gpu" => BackendArg::Gpu,
        _ => BackendArg::Cpu,
    };
    let backend = args.backend.unwrap_or(written_on);
    let asked: sgld_swarm::Backend = backend.into();
    if asked != written_on.into() && ranks.as_ref().is_none_or(Ranks::is_root) {
        eprintln!(
            "note: the checkpoint was written by the {} engine; continuing on another, the \
             results agree with an uninterrupted run within the engines' agreement, not \
             byte for byte",
            manifest.backend.to_uppercase()
        );
    }
    let lifecycle = Lifecycle {
        checkpoint_dir: Some(dir),
        checkpoint_every: every,
        interrupt: Some(interrupt_flag()),
        resume: true,
    };
    execute(
        &config,
        &args.out,
        backend,
        args.jsonl.as_deref(),
        &lifecycle,
        || Ok(()),
        ranks,
    )
}

/// Runs `config` under `lifecycle` into `out` (after `prepare`, once the
/// folder exists), prints the table, writes the outputs; the exit status.
/// Over ranks, every rank runs its slice and rank 0 alone prepares the folder,
/// prints and writes.
fn execute(
    config: &Config,
    out: &Path,
    backend: BackendArg,
    jsonl_path: Option<&Path>,
    lifecycle: &Lifecycle,
    prepare: impl FnOnce() -> Result<(), Error>,
    ranks: Option<Ranks>,
) -> anyhow::Result<ExitCode> {
    let root = ranks.as_ref().is_none_or(Ranks::is_root);
    let agree = |ready: Result<(), Error>| match &ranks {
        Some(r) => r.agree(ready),
        None => ready,
    };
    let options = Options {
        backend: backend.into(),
        ranks: ranks.clone(),
        ..Options::default()
    };
    let mut bars = Bars {
        bar: None,
        jsonl: None,
        quiet: !root,
    };
    if !root {
        agree(Ok(()))?;
        let result = experiment::run_with(config, options, &mut bars, lifecycle)?;
        // Rank 0 reports and writes; this rank's status is the run's.
        return Ok(if !result.complete {
            ExitCode::from(INTERRUPTED)
        } else if result.errors().is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let result = in_output_dir(out, |ready| {
        let ready = ready.and_then(|()| {
            bars.jsonl = jsonl_path.map(jsonl::JsonLines::open).transpose()?;
            prepare()
        });
        agree(ready)?;
        experiment::run_with(config, options, &mut bars, lifecycle)
    })?;
    for note in &result.notes {
        eprintln!("note: {note}");
    }
    // With the records on standard output, the table goes to standard error.
    let to_stderr = bars.jsonl.as_ref().is_some_and(jsonl::JsonLines::is_stdout);
    print_table(&result, to_stderr);
    let jsonl_error = bars.jsonl.as_mut().and_then(jsonl::JsonLines::take_error);
    let written = output::write_all(out, &result)?;
    print_written(&written, to_stderr);
    for m in result.methods.iter().filter(|m| m.error.is_some()) {
        eprintln!(
            "note: {} diverged at step {}: no positions-{}.npy (its positions are not finite \
             or beyond 1e20); its statistics in summary.json are those of step {}",
            m.name,
            m.steps,
            m.slug,
            m.history.steps().last().copied().unwrap_or(0)
        );
    }
    let errors = result.errors();
    for e in &errors {
        eprintln!("error: {e}");
    }
    if !result.complete {
        let m = result
            .methods
            .last()
            .expect("an interrupted run has begun a method");
        match &lifecycle.checkpoint_dir {
            Some(_) => eprintln!(
                "interrupted: {} at step {}; the outputs so far are marked \"complete\": false. \
                 Continue with: sgld-swarm resume {}",
                m.name,
                m.steps,
                out.display()
            ),
            None => eprintln!(
                "interrupted: {} at step {}; the outputs so far are marked \"complete\": false \
                 (no checkpoint: --checkpoint-every 0)",
                m.name, m.steps
            ),
        }
        return Ok(ExitCode::from(INTERRUPTED));
    }
    // The outputs are written; a broken record stream is still a failed write.
    if let Some(e) = jsonl_error {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(e.exit_code()));
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One bar per method on stderr, with steps/s.
pub(crate) struct Bars {
    bar: Option<ProgressBar>,
    jsonl: Option<jsonl::JsonLines>,
    /// A rank other than 0: it shows nothing.
    quiet: bool,
}

impl Progress for Bars {
    fn engine(&mut self, backend: &str, device: &str, note: Option<&str>) {
        if self.quiet {
            return;
        }
        match note {
            Some(note) => eprintln!("note: {note}"),
            None => eprintln!("running on the {}: {device}", backend.to_uppercase()),
        }
    }

    fn start(&mut self, index: usize, count: usize, name: &str, steps: u64) {
        if self.quiet {
            return;
        }
        let bar = ProgressBar::new(steps);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>26} [{bar:30.cyan/blue}] {pos:>7}/{len} steps {rate:>12} eta {eta} {msg}",
            )
            .expect("the template is valid")
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} steps/s", s.per_sec());
                },
            )
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{} {name}", index + 1, count));
        self.bar = Some(bar);
    }

    fn record(
        &mut self,
        _index: usize,
        name: &str,
        step: u64,
        stats: &[sgld_swarm::diagnostics::RunStats],
    ) {
        if let Some(j) = &mut self.jsonl {
            j.record(name, step, stats);
        }
    }

    fn warning(&mut self, message: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }

    fn advance(&mut self, step: u64) {
        if let Some(b) = &self.bar {
            b.set_position(step);
        }
    }

    fn finish(&mut self, error: Option<&str>) {
        if let Some(b) = self.bar.take() {
            match error {
                Some(_) => b.abandon_with_message("diverged"),
                None => b.abandon(),
            }
        }
    }
}

/// Creates the output folder, runs `compute` with whether that went well (it
/// returns that error, after telling other ranks), and removes the folder
/// again if this call created it and `compute` failed before anything was
/// written there.
pub(crate) fn in_output_dir<T>(
    dir: &std::path::Path,
    compute: impl FnOnce(Result<(), Error>) -> Result<T, Error>,
) -> Result<T, Error> {
    // The folders this call creates, deepest first.
    let created: Vec<&std::path::Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .collect();
    compute(output::prepare_dir(dir)).inspect_err(|_| {
        for d in &created {
            // Only an empty folder is removed.
            let _ = std::fs::remove_dir(d);
        }
    })
}

/// What was written and removed, on standard output (standard error with
/// `to_stderr`, when standard output carries the records).
pub(crate) fn print_written(written: &output::Written, to_stderr: bool) {
    let mut text = String::new();
    if !written.removed.is_empty() {
        text.push_str("\nremoved (an earlier run's outputs in this folder):\n");
        for p in &written.removed {
            text.push_str(&format!("  {}\n", p.display()));
        }
    }
    text.push_str("\nwrote:\n");
    for p in &written.files {
        text.push_str(&format!("  {}\n", p.display()));
    }
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// Four significant digits, in e-notation only when the magnitude asks for it.
pub(crate) fn num(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || (1e-3..1e5).contains(&a) {
        let digits = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.3e}")
    }
}

/// The final statistics, on standard output (standard error with `to_stderr`).
fn print_table(r: &experiment::ExperimentResult, to_stderr: bool) {
    let say = |line: String| {
        if to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(format!(
        "\n{} d={}, {} runs x {} agents, seed {}, backend {} ({})",
        r.potential_name(),
        r.dim(),
        r.ensemble.runs,
        r.ensemble.agents,
        r.ensemble.seed,
        r.backend,
        r.device
    ));
    say("final statistics, median over runs (min and max are in summary.json):".into());
    let mut header = format!(
        "{:<22} {:>7} {:>8} {:>9}",
        "method", "steps", "time", "units/s"
    );
    for s in Stat::ALL.map(Stat::name) {
        header.push_str(&format!(" {s:>10}"));
    }
    say(header);
    for m in &r.methods {
        let mut line = format!(
            "{:<22} {:>7} {:>7.2}s {:>9.2e}",
            m.name, m.steps, m.elapsed_s, m.units_per_s
        );
        for s in Stat::ALL {
            let median = m.history.last(s).map_or(f64::NAN, |o| o.median);
            line.push_str(&format!(" {:>10}", num(median)));
        }
        if let Some(x) = m.exchange_s {
            line.push_str(&format!("  exchange {x:.2}s"));
        }
        if m.error.is_some() {
            line.push_str("  DIVERGED");
        }
        if let Some(s) = m.stopped {
            line.push_str(&format!("  stopped: {}", s.reason.name()));
        }
        if !r.complete && std::ptr::eq(m, r.methods.last().expect("a method")) {
            line.push_str("  INTERRUPTED");
        }
        say(line);
    }
}
