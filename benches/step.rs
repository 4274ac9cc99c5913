//! Criterion benchmark of the CPU engine's outer step, reported as units/s
//! (agents x coordinates x inner steps per second): the homogenized and Euler
//! schemes on the rough potential at R = N = d = 50, the paper's Figure 2 setting.
//!
//! `cargo bench --bench step`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sgld_swarm::potential::{Rough, Shift};
use sgld_swarm::{Backend, Ensemble, EnsembleConfig, MethodConfig, Options, Taming};
use std::time::{Duration, Instant};

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("rough R=N=d=50");
    let methods = [
        MethodConfig::homogenized("MF-HOM-SGLD M=20", 0.005, 1.0, 0.01, 0.1, 20).lambda(3.0),
        MethodConfig::homogenized("HOM-SGLD M=20", 0.005, 1.0, 0.01, 0.1, 20),
        MethodConfig::euler("MF-SGLD", 0.01, 1.0).lambda(3.0),
    ];
    for method in methods {
        let method = method.taming(Taming::Coordinate);
        // Record only at the end, so the timed region is the step alone.
        let ensemble = EnsembleConfig::new(50, 50, u32::MAX as u64)
            .record_every(u32::MAX as u64)
            .init_uniform(-10.0, 10.0);
        let options = Options {
            backend: Backend::Cpu,
            ..Options::default()
        };
        let mut e = Ensemble::with_potential(
            Rough::new(0.01, Shift::zero(50)),
            &ensemble,
            &method,
            options,
        )
        .expect("the benchmark configuration is valid");
        group.throughput(Throughput::Elements(e.units_per_step() as u64));
        group.bench_function(method.name.clone(), |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                e.advance(iters).expect("tamed steps do not diverge");
                t.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = step
}
criterion_main!(benches);
