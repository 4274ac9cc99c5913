//! `sgld-swarm`: run the paper's experiments and your own from the command line.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use sgld_swarm::config::Config;
use sgld_swarm::diagnostics::Stat;
use sgld_swarm::experiment::{self, Progress};
use sgld_swarm::{Backend, Error, Options, output, presets};
use std::path::PathBuf;
use std::process::ExitCode;

mod analyze;
mod bench;
mod jsonl;

#[derive(Parser)]
#[command(
    name = "sgld-swarm",
    version,
    about = "Ensembles of interacting Langevin agents: SGLD, MF-SGLD, HOM-SGLD, MF-HOM-SGLD",
    long_about = "Ensembles of interacting Langevin agents (Kantas, Parpas and Pavliotis 2019).\n\
                  With no command, runs the preset fig2-rough-d10 into out/."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a preset or a TOML configuration and write its outputs.
    Run(RunArgs),
    /// List the presets and where they depart from the paper.
    Presets,
    /// Measure units/s (agents x coordinates x inner steps per second).
    Bench(bench::BenchArgs),
    /// The paper's theory: effective potentials, mean-field stationary states and
    /// the phase transition, as PNGs and JSON.
    Analyze(analyze::AnalyzeArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Auto,
    Cpu,
    Gpu,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Cpu => Backend::Cpu,
            BackendArg::Gpu => Backend::Gpu,
        }
    }
}

#[derive(clap::Args)]
struct RunArgs {
    /// A preset (see `sgld-swarm presets`); the default is fig2-rough-d10.
    #[arg(long, conflicts_with = "config")]
    preset: Option<String>,
    /// A TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The output folder.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// Override ensemble.steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Override ensemble.seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override ensemble.runs.
    #[arg(long)]
    runs: Option<usize>,
    /// Also write one JSON object per record, as the methods run, to this file
    /// (`-`: standard output, and the final table goes to standard error).
    #[arg(long, value_name = "FILE|-")]
    jsonl: Option<PathBuf>,
}

impl Default for RunArgs {
    fn default() -> Self {
        Self {
            preset: None,
            config: None,
            out: PathBuf::from("out"),
            backend: BackendArg::Auto,
            steps: None,
            seed: None,
            runs: None,
            jsonl: None,
        }
    }
}

fn main() -> ExitCode {
    quiet_headless_vulkan();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => run(args),
        Command::Presets => {
            list_presets();
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => bench::bench(args),
        Command::Analyze(args) => analyze::analyze(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // The library's errors carry their cause in their message already.
            match e.downcast_ref::<Error>() {
                Some(err) => {
                    eprintln!("error: {err}");
                    ExitCode::from(err.exit_code())
                }
                None => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// Mesa's Vulkan device-select layer looks for the GPU that drives the display by
/// connecting to the display server; on a machine without one (no
/// XDG_RUNTIME_DIR) it only prints connection errors to stderr. Its documented
/// switch turns it off there; where a display exists it is left alone.
fn quiet_headless_vulkan() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

fn list_presets() {
    for p in &presets::PRESETS {
        println!(
            "{}\n    {}\n    departs from the paper: {}\n",
            p.name, p.summary, p.departures
        );
    }
}

/// The TOML text `run` was given (a file, or a preset, fig2-rough-d10 by default)
/// and where it comes from, for error messages.
fn source(args: &RunArgs) -> Result<(String, String), Error> {
    match (&args.preset, &args.config) {
        (_, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            Ok((text, path.display().to_string()))
        }
        (name, None) => {
            let name = name.as_deref().unwrap_or("fig2-rough-d10");
            let text = presets::text(name).ok_or_else(|| {
                Error::Config(sgld_swarm::ConfigError {
                    field: "--preset".into(),
                    value: format!("{name:?}"),
                    allowed: format!("must be one of {}", presets::names().join(", ")),
                })
            })?;
            Ok((text.to_string(), format!("preset {name}")))
        }
    }
}

fn load_config(args: &RunArgs, text: &str, origin: &str) -> Result<Config, Error> {
    let mut config = Config::from_toml_str(text, origin)?;
    if let Some(steps) = args.steps {
        config.ensemble.steps = steps;
        config.ensemble.record_every = config.ensemble.record_every.min(steps.max(1));
    }
    if let Some(seed) = args.seed {
        config.ensemble.seed = seed;
    }
    if let Some(runs) = args.runs {
        config.ensemble.runs = runs;
    }
    config.validate()?;
    Ok(config)
}

/// One bar per method on stderr, with steps/s.
struct Bars {
    bar: Option<ProgressBar>,
    jsonl: Option<jsonl::JsonLines>,
}

impl Progress for Bars {
    fn engine(&mut self, backend: &str, device: &str, note: Option<&str>) {
        match note {
            Some(note) => eprintln!("note: {note}"),
            None => eprintln!("running on the {}: {device}", backend.to_uppercase()),
        }
    }

    fn start(&mut self, index: usize, count: usize, name: &str, steps: u64) {
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

    fn advance(&mut self, step: u64) {
        if let Some(b) = &self.bar {
            b.set_position(step);
        }
    }

    fn finish(&mut self, error: Option<&str>) {
        if let Some(b) = self.bar.take() {
            match error {
                Some(_) => b.abandon_with_message("diverged"),
                None => b.finish(),
            }
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let (text, origin) = source(&args)?;
    // The Figure 3 experiment has a file layout of its own.
    if sgld_swarm::nn::experiment::is_fig3(&text) {
        if let Some(path) = &args.jsonl {
            return Err(Error::Config(sgld_swarm::ConfigError {
                field: "--jsonl".into(),
                value: path.display().to_string(),
                allowed: "is not available for the Figure 3 experiment (its records are in its \
                          history.csv)"
                    .into(),
            })
            .into());
        }
        return run_fig3(&args, text, &origin);
    }
    let config = load_config(&args, &text, &origin)?;
    experiment::footprint(&config)?.check()?;
    let options = Options {
        backend: args.backend.into(),
        ..Options::default()
    };
    let mut bars = Bars {
        bar: None,
        jsonl: args
            .jsonl
            .as_deref()
            .map(jsonl::JsonLines::open)
            .transpose()?,
    };
    let result = in_output_dir(&args.out, || experiment::run(&config, options, &mut bars))?;
    for note in &result.notes {
        eprintln!("note: {note}");
    }
    // With the records on standard output, the table goes to standard error.
    let to_stderr = bars.jsonl.as_ref().is_some_and(jsonl::JsonLines::is_stdout);
    print_table(&result, to_stderr);
    let jsonl_error = bars.jsonl.as_mut().and_then(jsonl::JsonLines::take_error);
    let written = output::write_all(&args.out, &result)?;
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

/// Creates the output folder, runs `compute`, and removes the folder again if
/// this call created it and `compute` failed before anything was written there.
fn in_output_dir<T>(
    dir: &std::path::Path,
    compute: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    // The folders this call creates, deepest first.
    let created: Vec<&std::path::Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .collect();
    output::prepare_dir(dir)?;
    compute().inspect_err(|_| {
        for d in &created {
            // Only an empty folder is removed.
            let _ = std::fs::remove_dir(d);
        }
    })
}

/// What was written and removed, on standard output (standard error with
/// `to_stderr`, when standard output carries the records).
fn print_written(written: &output::Written, to_stderr: bool) {
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

/// The paper's Figure 3: trains the ResNet with each method and writes its
/// outputs.
fn run_fig3(args: &RunArgs, text: String, origin: &str) -> anyhow::Result<ExitCode> {
    use sgld_swarm::nn::experiment::{self as fig3, Fig3Config};
    let bad = |field: &str, value: String, allowed: &str| {
        Error::Config(sgld_swarm::ConfigError {
            field: field.into(),
            value,
            allowed: allowed.into(),
        })
    };
    let mut cfg = Fig3Config::from_toml_str(&text, origin)?;
    if let Some(epochs) = args.steps {
        if epochs == 0 {
            return Err(bad(
                "--steps",
                "0".into(),
                "must be >= 1 (epochs, for this experiment)",
            )
            .into());
        }
        eprintln!("note: --steps sets the number of epochs of this experiment");
        cfg.epochs = epochs;
        cfg.record_every = cfg.record_every.min(epochs);
    }
    if let Some(seed) = args.seed {
        cfg.seed = seed;
    }
    if let Some(runs) = args.runs {
        if runs == 0 {
            return Err(bad("--runs", "0".into(), "must be >= 1").into());
        }
        cfg.runs = runs;
    }
    if args.steps.is_some() || args.seed.is_some() || args.runs.is_some() {
        cfg.validate()?;
        // config.toml says what ran: the file with the overrides applied.
        cfg.text =
            fig3::with_overrides(&cfg.text, cfg.epochs, cfg.record_every, cfg.seed, cfg.runs);
    }
    let style = ProgressStyle::with_template("{prefix:<30} {bar:30} {pos}/{len} epochs {elapsed}")
        .expect("a valid template");
    let mut bar: Option<(usize, ProgressBar)> = None;
    let names: Vec<String> = cfg.methods.iter().map(|(m, _)| m.name.clone()).collect();
    let result = in_output_dir(&args.out, || {
        fig3::run(&cfg, args.backend.into(), &mut |i, epoch| {
            if bar.as_ref().is_none_or(|(j, _)| *j != i) {
                if let Some((_, b)) = bar.take() {
                    b.finish();
                }
                let b = ProgressBar::new(cfg.epochs).with_style(style.clone());
                b.set_prefix(names[i].clone());
                bar = Some((i, b));
            }
            if let Some((_, b)) = &bar {
                b.set_position(epoch);
            }
        })
    })?;
    if let Some((_, b)) = bar.take() {
        b.finish();
    }
    if let Some(m) = result.methods.first() {
        println!("trained on the {}", m.device);
    }
    println!(
        "\n{:<30} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "method", "network", "time", "best loss", "train acc", "test acc", "ens. test"
    );
    for m in &result.methods {
        let r = m.history.last().expect("a record at epoch 0");
        println!(
            "{:<30} {:>8} {:>7.1}s {:>10.4} {:>10.3} {:>10.3} {:>10.3}",
            m.name,
            format!("{:?}", m.network).to_lowercase(),
            m.seconds,
            r.best_loss,
            r.train_accuracy,
            r.test_accuracy,
            r.ensemble_test_accuracy
        );
    }
    let written = fig3::write_outputs(&args.out, &result)?;
    print_written(&written, false);
    Ok(ExitCode::SUCCESS)
}

/// Four significant digits, in e-notation only when the magnitude asks for it.
fn num(v: f64) -> String {
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
        if m.error.is_some() {
            line.push_str("  DIVERGED");
        }
        say(line);
    }
}
