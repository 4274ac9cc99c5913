//! `sgld-swarm`: run the paper's experiments and your own from the command line.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
pub(crate) use run::num;
use run::{in_output_dir, print_written};
use sgld_swarm::config::Config;
use sgld_swarm::{Backend, Error, presets};
use std::path::PathBuf;
use std::process::ExitCode;

mod analyze;
mod bench;
mod jsonl;
mod ranks;
mod run;

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
    /// Continue a run from the checkpoint in its output folder.
    Resume(run::ResumeArgs),
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
pub(crate) struct RunArgs {
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
    /// Write a checkpoint into <out>/checkpoint every this many seconds and when
    /// the run stops (default 60; 0: none); `sgld-swarm resume <out>` continues
    /// from it.
    #[arg(long, value_name = "SECONDS")]
    checkpoint_every: Option<f64>,
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
            checkpoint_every: None,
        }
    }
}

fn main() -> ExitCode {
    quiet_headless_vulkan();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(RunArgs::default()));
    // The commands that run an ensemble run over MPI's ranks (feature `mpi`).
    let started = match &command {
        Command::Run(_) | Command::Resume(_) => match ranks::Started::mpi() {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(e.exit_code());
            }
        },
        _ => None,
    };
    if let Some(s) = &started {
        ranks::abort_on_panic(s);
    }
    let rank_set = started.as_ref().and_then(|s| s.ranks.clone());
    let result = match command {
        Command::Run(args) => run(args, rank_set),
        Command::Resume(args) => run::resume(args, rank_set),
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
            let (message, code) = match e.downcast_ref::<Error>() {
                Some(err) => (err.to_string(), err.exit_code()),
                None => (format!("{e:#}"), 1),
            };
            match &started {
                Some(s) => s.fail(&message, code),
                None => {
                    eprintln!("error: {message}");
                    ExitCode::from(code)
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
pub(crate) fn source(args: &RunArgs) -> Result<(String, String), Error> {
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

pub(crate) fn load_config(args: &RunArgs, text: &str, origin: &str) -> Result<Config, Error> {
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

fn run(args: RunArgs, ranks: Option<sgld_swarm::ranks::Ranks>) -> anyhow::Result<ExitCode> {
    // Over ranks, a file one rank cannot read is every rank's error.
    let (text, origin) = sgld_swarm::ranks::agree(ranks.as_ref(), source(&args))?;
    // The Figure 3 experiment has a file layout of its own.
    if sgld_swarm::nn::experiment::is_fig3(&text) {
        if let Some(r) = &ranks {
            let refused = Error::Config(sgld_swarm::ConfigError {
                field: "ranks".into(),
                value: r.size().to_string(),
                allowed: "the Figure 3 experiment runs in one process (start it without mpirun)"
                    .into(),
            });
            return Err(r.agree::<()>(Err(refused)).unwrap_err().into());
        }
        for (flag, given) in [
            (
                "--jsonl",
                args.jsonl.as_ref().map(|p| p.display().to_string()),
            ),
            (
                "--checkpoint-every",
                args.checkpoint_every.map(|s| s.to_string()),
            ),
        ] {
            if let Some(value) = given {
                return Err(Error::Config(sgld_swarm::ConfigError {
                    field: flag.into(),
                    value,
                    allowed: "is not available for the Figure 3 experiment (it has its own \
                              history.csv, and no checkpoints or Ctrl-C handling)"
                        .into(),
                })
                .into());
            }
        }
        return run_fig3(&args, text, &origin);
    }
    run::run(&args, ranks)
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
    let result = in_output_dir(&args.out, |ready| {
        ready?;
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
