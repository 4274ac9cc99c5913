//! `sgld-swarm bench`: units/s of the homogenized step (M = 20, the paper's
//! Figure 2 parameters) or the Euler step on the rough potential, with
//! interaction of strength `--lambda`, for one or more ensemble sizes; or the
//! Figure 3 network's gradient and training step.

use crate::BackendArg;
use anyhow::{Context, bail};
use serde::Serialize;
use sgld_swarm::engine::cpu::{CpuPath, Simd};
use sgld_swarm::{
    Ensemble, EnsembleConfig, MethodConfig, Options, PotentialKind, ProblemConfig, Taming,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendArg,
    /// Ensemble sizes as RUNSxAGENTSxDIM (repeatable); default 50x50x50.
    #[arg(long = "size", value_parser = parse_size)]
    sizes: Vec<(usize, usize, usize)>,
    /// Measure a ladder of sizes, R x N x d from 1e4 up to --max-size.
    #[arg(long, conflicts_with = "sizes")]
    ladder: bool,
    /// The largest R x N x d of the ladder (default 1e6 on the CPU, 1e8 on the GPU).
    #[arg(long, requires = "ladder")]
    max_size: Option<usize>,
    /// The Euler scheme instead of the homogenized one.
    #[arg(long)]
    euler: bool,
    /// The interaction's strength lambda (towards the run mean); 0 times the
    /// scheme without interaction, whose steps need no run means and run
    /// several to a dispatch on the GPU.
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    lambda: f64,
    /// Seconds to spend on each size (after a short calibration).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// CPU instructions for the lane path: auto, portable, avx2, avx512, agent (the
    /// scalar agent path), or all of them side by side.
    #[arg(long, default_value = "auto")]
    simd: String,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Instead: the paper's 128-layer ResNet (Figure 3) for this many agents, in
    /// samples x agents per second on the backend: its minibatch gradient, and the
    /// whole training step (gradient and SGLD update).
    #[arg(long, conflicts_with_all = ["sizes", "ladder", "euler", "simd", "lambda"])]
    resnet: Option<usize>,
}

fn parse_size(s: &str) -> Result<(usize, usize, usize), String> {
    let parts: Vec<&str> = s.split('x').collect();
    let bad = || format!("{s:?}: expected RUNSxAGENTSxDIM with positive integers, e.g. 50x50x50");
    if parts.len() != 3 {
        return Err(bad());
    }
    let v: Vec<usize> = parts
        .iter()
        .map(|p| p.parse::<usize>().ok().filter(|&v| v > 0))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    // The global agent index r N + i is a u32 word of the stream's counter.
    if v[0] as u128 * v[1] as u128 > 1 << 32 {
        return Err(format!(
            "{s:?}: RUNS x AGENTS must be at most 2^32 = 4294967296 agents in all"
        ));
    }
    Ok((v[0], v[1], v[2]))
}

#[derive(Serialize)]
struct Row {
    path: String,
    runs: usize,
    agents: usize,
    dim: usize,
    scheme: &'static str,
    lambda: f64,
    inner_steps: u32,
    steps: u64,
    seconds: f64,
    units_per_s: f64,
}

#[derive(Serialize)]
struct Report {
    backend: String,
    device: String,
    threads: usize,
    results: Vec<Row>,
}

#[derive(Serialize)]
struct NetRow {
    /// `gradient, f32 lanes`, `gradient, f64 definition` (CPU), `gradient, GPU
    /// kernel` (an upload and a readback per call), `gradient, GPU kernel on the
    /// device` (16 calls per submit), or `training step (cpu|gpu)` (gradient and
    /// update, `Ensemble::with_network`).
    path: String,
    agents: usize,
    batch: usize,
    /// Calls of the gradient, or steps of the training.
    calls: u64,
    seconds: f64,
    samples_agents_per_s: f64,
}

#[derive(Serialize)]
struct NetReport {
    backend: String,
    device: String,
    /// The GPU gradient kernel's version (`SGLD_SWARM_GPU_NET_KERNEL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel: Option<&'static str>,
    threads: usize,
    network: &'static str,
    results: Vec<NetRow>,
}

/// Samples x agents per second of the paper's ResNet (Verlet, 128 layers,
/// minibatches of 64 from 500 training points): its minibatch gradient (on the
/// CPU the engine's f32 lanes and the f64 definition side by side; on the GPU
/// the kernel with the upload and readback of every call, and 16 calls per
/// submit with one of each), then the whole
/// training step, gradient and SGLD update, as `Ensemble::with_network` runs it.
fn bench_resnet(args: &BenchArgs, agents: usize) -> anyhow::Result<ExitCode> {
    use rayon::prelude::*;
    use sgld_swarm::nn::data::{EllipsesConfig, generate};
    use sgld_swarm::nn::loss::EllipsesLoss;
    use sgld_swarm::nn::resnet::{Integrator, ResNet};
    use sgld_swarm::potential::{Draw, Potential};
    let p = 6 * 128 + 6;
    // The agents' parameters in f32, and a gradient per agent on the CPU.
    let bytes = (agents as u128).saturating_mul(p as u128 * 8);
    let mut footprint = sgld_swarm::engine::memory::Footprint::default();
    footprint.add("parameters and gradients", bytes);
    if agents == 0 || agents as u64 > u32::MAX as u64 || footprint.check().is_err() {
        let why = match footprint.check() {
            Err(e) => e.to_string(),
            Ok(()) => "must be from 1 to 4294967295 agents".to_string(),
        };
        bail!(sgld_swarm::Error::Config(sgld_swarm::ConfigError {
            field: "--resnet".into(),
            value: agents.to_string(),
            allowed: why,
        }));
    }
    let (train, _) = generate(&EllipsesConfig {
        train: 500,
        test: 1,
        noise: 0.0,
        seed: 1,
    })?;
    let loss = EllipsesLoss::new(ResNet::paper(Integrator::Verlet), train, 64)?;
    debug_assert_eq!(p, loss.dim());
    let thetas: Vec<f32> = (0..agents * p)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let draw = |step: u32| Draw {
        key: [1, 0],
        agent: 0,
        step,
        sub: 0,
    };
    let gpu = match args.backend {
        BackendArg::Cpu => None,
        _ => Some(sgld_swarm::gpu::resnet::ResNetGrad::new(
            sgld_swarm::gpu::GpuContext::shared()?,
            &loss,
        )?),
    };
    let mut report = NetReport {
        backend: if gpu.is_some() { "gpu" } else { "cpu" }.to_string(),
        device: match &gpu {
            Some(_) => sgld_swarm::gpu::GpuContext::shared()?.describe(),
            None => sgld_swarm::engine::cpu::cpu_model(),
        },
        kernel: gpu.as_ref().map(|g| g.kernel().name()),
        threads: rayon::current_num_threads(),
        network: "verlet, 128 layers, batch 64 of 500",
        results: Vec::new(),
    };
    let mut record = |path: &str, calls: u64, seconds: f64| {
        let rate = (calls as usize * agents * loss.batch) as f64 / seconds;
        println!(
            "ResNet (128 layers, Verlet, batch 64), {agents} agents, {path}: {calls} calls in \
             {seconds:.2} s, {rate:.3e} samples x agents/s on {}",
            report.device
        );
        report.results.push(NetRow {
            path: path.to_string(),
            agents,
            batch: loss.batch,
            calls,
            seconds,
            samples_agents_per_s: rate,
        });
    };
    // On the CPU: the engine's f32 lanes, and the f64 definition beside it.
    let f32_lanes = |th: &[f32], g: &mut [f32], d: Draw| loss.grad_minibatch_f32(th, g, d);
    let f64_definition = |th: &[f32], g: &mut [f32], d: Draw| loss.grad_minibatch_f64(th, g, d);
    type Grad<'a> = &'a (dyn Fn(&[f32], &mut [f32], Draw) + Sync);
    // The GPU paths have no CPU gradient: the kernel with an upload and a
    // readback per call, and the kernel alone (ON_DEVICE calls per submit, one
    // upload and one readback), as the training step runs it.
    const ON_DEVICE: u32 = 16;
    let paths: Vec<(&str, Option<Grad>)> = match gpu {
        Some(_) => vec![
            ("gradient, GPU kernel", None),
            ("gradient, GPU kernel on the device", None),
        ],
        None => vec![
            ("gradient, f32 lanes", Some(&f32_lanes)),
            ("gradient, f64 definition", Some(&f64_definition)),
        ],
    };
    for (name, grad) in &paths {
        let repeat = if name.ends_with("on the device") {
            ON_DEVICE
        } else {
            1
        };
        let once = |step: u32| -> anyhow::Result<()> {
            match (&gpu, grad) {
                (Some(g), _) => {
                    g.gradients_repeated(&thetas, draw(step * repeat), repeat)?;
                }
                (None, Some(grad)) => {
                    thetas.par_chunks(p).enumerate().for_each(|(a, th)| {
                        let mut g = vec![0.0f32; p];
                        grad(
                            th,
                            &mut g,
                            Draw {
                                agent: a as u32,
                                ..draw(step)
                            },
                        );
                    });
                }
                (None, None) => unreachable!("every CPU path has a gradient"),
            }
            Ok(())
        };
        once(0)?;
        let t = Instant::now();
        let mut calls = 0u32;
        while t.elapsed().as_secs_f64() < args.seconds {
            calls += 1;
            once(calls)?;
        }
        record(
            name,
            calls as u64 * repeat as u64,
            t.elapsed().as_secs_f64(),
        );
    }
    // The whole training step: the preset's SGLD (dt 2, beta 1e4) from U[-1, 1],
    // recorded only at the end, so the timed loop is gradient and update alone,
    // advanced STEPS at a time as a run between records is (the GPU engine
    // submits 16 steps at once and then reads its divergence flag).
    let ensemble = EnsembleConfig::new(1, agents, u32::MAX as u64)
        .record_every(u32::MAX as u64)
        .seed(1)
        .init_uniform(-1.0, 1.0);
    let method = MethodConfig::euler("SGLD", 2.0, 1e4);
    let options = Options {
        backend: args.backend.into(),
        ..Options::default()
    };
    let mut e = Ensemble::with_network(loss.clone(), &ensemble, &method, options)?;
    const STEPS: u64 = 16;
    e.advance(STEPS).context("warm-up")?;
    let t = Instant::now();
    let mut steps = 0u64;
    while t.elapsed().as_secs_f64() < args.seconds {
        e.advance(STEPS)?;
        steps += STEPS;
    }
    let engine = format!("training step ({})", e.backend());
    record(&engine, steps, t.elapsed().as_secs_f64());
    if let [lanes, definition, ..] = &report.results[..]
        && gpu.is_none()
    {
        println!(
            "gradient, f32 lanes / f64 definition: {:.1}x (SGLD_SWARM_SIMD picks the lanes' \
             instructions)",
            lanes.samples_agents_per_s / definition.samples_agents_per_s
        );
    }
    match report.kernel {
        Some(kernel) => println!(
            "{}, {} threads, gradient kernel {kernel} (SGLD_SWARM_GPU_NET_KERNEL)",
            report.device, report.threads
        ),
        None => println!("{}, {} threads", report.device, report.threads),
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)? + "\n";
        sgld_swarm::output::folder::write_atomically(path, |w| {
            w.write_all(text.as_bytes()).map_err(|e| e.to_string())
        })?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Fails now, not after measuring, if `path` cannot be written: a folder, or a
/// file in a folder that does not exist or cannot be written.
fn check_writable(path: &std::path::Path) -> anyhow::Result<()> {
    let fail = |why: String| {
        anyhow::Error::from(sgld_swarm::Error::Config(sgld_swarm::ConfigError {
            field: "--json".into(),
            value: path.display().to_string(),
            allowed: why,
        }))
    };
    if path.is_dir() {
        return Err(fail("must be a file, not a folder".into()));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| fail(format!("cannot be written: {e}")))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    // A day per size at most: longer would also run past the stream's 2^32 steps.
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 86_400.0) {
        bail!(sgld_swarm::Error::Config(sgld_swarm::ConfigError {
            field: "--seconds".into(),
            value: crate::num(args.seconds),
            allowed: "must be a number of seconds > 0, at most 86400".into(),
        }));
    }
    if let Some(path) = &args.json {
        check_writable(path)?;
    }
    if let Some(agents) = args.resnet {
        return bench_resnet(&args, agents);
    }
    let sizes = if args.ladder {
        let max = args.max_size.unwrap_or(match args.backend {
            BackendArg::Gpu => 100_000_000,
            _ => 1_000_000,
        });
        let ladder = [
            (10, 10, 100),
            (10, 100, 100),
            (50, 50, 50),
            (100, 100, 100),
            (100, 1000, 100),
            (100, 1000, 1000),
            (1000, 1000, 1000),
        ];
        let smallest = ladder[0].0 * ladder[0].1 * ladder[0].2;
        if max < smallest {
            bail!(sgld_swarm::Error::Config(sgld_swarm::ConfigError {
                field: "--max-size".into(),
                value: max.to_string(),
                allowed: format!("must be at least {smallest}, the ladder's smallest R x N x d"),
            }));
        }
        ladder
            .into_iter()
            .filter(|&(r, n, d)| r * n * d <= max)
            .collect()
    } else if args.sizes.is_empty() {
        vec![(50, 50, 50)]
    } else {
        args.sizes.clone()
    };
    let method = if args.euler {
        MethodConfig::euler("SGLD", 0.01, 1.0)
    } else {
        MethodConfig::homogenized("HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 20)
    }
    .lambda(args.lambda)
    .taming(Taming::Coordinate);
    // The library's checks of the method; --lambda is the one field given
    // here, so an error about lambda names the flag.
    if let Err(mut e) = method.validate(0) {
        if e.field.contains("lambda") {
            e.field = "--lambda".into();
        }
        bail!(sgld_swarm::Error::Config(e));
    }
    let paths: Vec<CpuPath> = match args.simd.as_str() {
        _ if matches!(args.backend, BackendArg::Gpu) => vec![CpuPath::Auto],
        "auto" => vec![CpuPath::Auto],
        "agent" => vec![CpuPath::Agent],
        "all" => std::iter::once(CpuPath::Agent)
            .chain(
                Simd::ALL
                    .into_iter()
                    .filter(|s| s.supported())
                    .map(CpuPath::Lanes),
            )
            .collect(),
        other => match Simd::ALL.into_iter().find(|s| s.name() == other) {
            Some(level) => vec![CpuPath::Lanes(level)],
            None => bail!(sgld_swarm::Error::Config(sgld_swarm::ConfigError {
                field: "--simd".into(),
                value: format!("{other:?}"),
                allowed: "must be one of auto, portable, avx2, avx512, agent, all".into(),
            })),
        },
    };
    let mut report = Report {
        backend: String::new(),
        device: String::new(),
        threads: rayon::current_num_threads(),
        results: Vec::new(),
    };
    println!(
        "{} step, lambda {}, coordinate taming, rough potential (delta 0.01)",
        if args.euler {
            "Euler"
        } else {
            "homogenized (M = 20)"
        },
        crate::num(args.lambda)
    );
    println!(
        "{:<24} {:>6} {:>6} {:>6} {:>12} {:>8} {:>9} {:>12}",
        "engine", "runs", "agents", "dim", "units/step", "steps", "seconds", "units/s"
    );
    for ((runs, agents, dim), path) in sizes
        .iter()
        .flat_map(|&s| paths.iter().map(move |&p| (s, p)))
    {
        let options = Options {
            backend: args.backend.into(),
            cpu_path: path,
            ..Options::default()
        };
        // Many steps, recorded only at the end, so the timed loop is the step alone.
        let ensemble = EnsembleConfig::new(runs, agents, u32::MAX as u64)
            .record_every(u32::MAX as u64)
            .seed(1)
            .init_uniform(-10.0, 10.0);
        let problem = ProblemConfig {
            potential: PotentialKind::Rough { delta: 0.01 },
            dim,
            shift: None,
        };
        let mut e = Ensemble::new(&problem, &ensemble, &method, options)?;
        report.backend = e.backend().to_string();
        report.device = if e.backend() == "gpu" {
            e.device()
        } else {
            sgld_swarm::engine::cpu::cpu_model()
        };
        // A warm-up step (pipelines, first-touch of memory), then calibrate on
        // calls of 1, 2, 4, ... steps until one takes 0.1 s, then enough for the
        // time asked in one call: an engine fuses the steps of a call where it
        // can (without interaction), so one step per call would take longer
        // than a step of the timed call.
        e.advance(1).context("warm-up")?;
        let mut calib = 1u64;
        let per_step = loop {
            let t = Instant::now();
            e.advance(calib).context("calibration")?;
            let took = t.elapsed();
            if took >= Duration::from_millis(100) || calib >= 1 << 24 {
                break took.as_secs_f64() / calib as f64;
            }
            calib *= 2;
        };
        // Within the stream's 2^32 steps however fast a step is.
        let steps = ((args.seconds / per_step).ceil() as u64).clamp(1, u32::MAX as u64 - e.step());
        let t = Instant::now();
        e.advance(steps)?;
        let seconds = t.elapsed().as_secs_f64();
        let units = e.units_per_step() * steps as f64;
        let engine = if e.backend() == "gpu" {
            "gpu".to_string()
        } else {
            e.device()
                .rsplit(", ")
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let row = Row {
            path: engine.clone(),
            runs,
            agents,
            dim,
            scheme: if args.euler { "euler" } else { "homogenized" },
            lambda: args.lambda,
            inner_steps: method.scheme.inner_len(),
            steps,
            seconds,
            units_per_s: units / seconds,
        };
        println!(
            "{:<24} {:>6} {:>6} {:>6} {:>12.3e} {:>8} {:>9.3} {:>12.3e}",
            engine,
            runs,
            agents,
            dim,
            e.units_per_step(),
            steps,
            seconds,
            row.units_per_s
        );
        report.results.push(row);
    }
    println!("{}, {} threads", report.device, report.threads);
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&report)? + "\n";
        sgld_swarm::output::folder::write_atomically(&path, |w| {
            w.write_all(text.as_bytes()).map_err(|e| e.to_string())
        })?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
