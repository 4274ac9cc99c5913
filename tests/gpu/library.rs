//! The library's face on the GPU: built-ins given as values, state in and out
//! (the general engine's kernels and the network's), typed errors, and a user's
//! `grad_coord` that depends on the coordinate.

use super::*;

/// A built-in given as a value (`Rough`, or a `Builtin`) runs on the GPU like the
/// same potential described by a `ProblemConfig`: the same engine, so the same
/// bits. A buffer over the adapter's limit is a typed error with its numbers.
#[test]
fn builtins_given_as_values_run_on_the_gpu() {
    use sgld_swarm::potential::{Builtin, Rough, Shift};
    use sgld_swarm::{Ensemble, EnsembleConfig, Error, MethodConfig, PotentialKind, ProblemConfig};
    let Some(_ctx) = context() else { return };
    let shift = vec![0.5, -0.5, 0.25];
    let p = ProblemConfig::new(PotentialKind::Rough { delta: 0.05 }, 3).shift(shift.clone());
    let e = EnsembleConfig::new(2, 30, 20)
        .seed(5)
        .init_uniform(-2.0, 2.0);
    let m = MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 1.0, 0.01, 0.1, 4)
        .lambda(1.0)
        .taming(sgld_swarm::Taming::Coordinate);
    let run = |mut ens: Ensemble| {
        ens.run().unwrap();
        assert_eq!(ens.backend(), "gpu");
        ens.positions().unwrap()
    };
    let described = run(Ensemble::new(&p, &e, &m, gpu_options()).unwrap());
    let value = Rough::new(0.05, Shift::new(shift));
    let given = run(Ensemble::with_potential(value.clone(), &e, &m, gpu_options()).unwrap());
    let as_builtin =
        run(Ensemble::with_potential(Builtin::from_problem(&p), &e, &m, gpu_options()).unwrap());
    assert_eq!(described, given);
    assert_eq!(described, as_builtin);
    let small = sgld_swarm::Options {
        gpu_max_binding: Some(1024),
        ..gpu_options()
    };
    match Ensemble::with_potential(value, &EnsembleConfig::new(1, 300, 5), &m, small) {
        Err(Error::Gpu(GpuError::TooLarge {
            what, bytes, limit, ..
        })) => {
            // One run's diagnostics: 16 bytes per agent (more than its sort's
            // 512 x 4), in one buffer.
            assert_eq!((bytes, limit), (300 * 16, 1024), "{what}");
        }
        other => panic!("expected TooLarge, got {:?}", other.err()),
    }
}

/// State in and out on the GPU engine: given another ensemble's step-0
/// positions, an ensemble started elsewhere follows it bit for bit; reading X and
/// Y after 5 steps and setting them back changes nothing; Y at step 0 is X; a
/// run large enough to be split into parts (a small binding limit) reads and
/// writes every part.
#[test]
fn state_in_and_out_on_the_gpu() {
    use sgld_swarm::{
        Ensemble, EnsembleConfig, MethodConfig, PotentialKind, ProblemConfig, Taming,
    };
    let Some(_ctx) = context() else { return };
    for p in [
        // Separable: the block kernel; not separable: the agent kernel.
        ProblemConfig::new(PotentialKind::Rastrigin, 5),
        ProblemConfig::new(PotentialKind::Rosenbrock, 5),
    ] {
        let p = &p;
        let e = EnsembleConfig::new(2, 300, 10).seed(6);
        let split_parts = sgld_swarm::Options {
            gpu_max_binding: Some(256 * 5 * 4),
            ..gpu_options()
        };
        let bits = |ens: &Ensemble| -> Vec<u32> {
            ens.positions()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        for m in [
            MethodConfig::euler("MF-SGLD", 0.001, 2.0).lambda(1.0),
            MethodConfig::homogenized("MF-HOM-SGLD", 0.001, 2.0, 0.01, 0.1, 3)
                .lambda(1.0)
                .taming(Taming::Coordinate),
        ] {
            for options in [gpu_options(), split_parts.clone()] {
                let mut a = Ensemble::new(p, &e, &m, options.clone()).unwrap();
                let x0 = a.positions().unwrap();
                if let Some(y0) = a.fast_variable().unwrap() {
                    assert_eq!(y0, x0, "Y(0) = X(0)");
                }
                let elsewhere = e.clone().init_uniform(-3.0, 3.0);
                let mut b = Ensemble::new(p, &elsewhere, &m, options.clone()).unwrap();
                b.set_positions(x0.view()).unwrap();
                assert_eq!(b.history().at(0), a.history().at(0), "{}", m.name);
                let mut c = Ensemble::new(p, &e, &m, options).unwrap();
                c.advance(5).unwrap();
                let x = c.positions().unwrap();
                match c.fast_variable().unwrap() {
                    Some(y) => c.set_state(x.view(), y.view()).unwrap(),
                    None => c.set_positions(x.view()).unwrap(),
                }
                for ens in [&mut a, &mut b, &mut c] {
                    ens.run().unwrap();
                    assert_eq!(ens.backend(), "gpu");
                }
                assert_eq!(bits(&a), bits(&b), "{}: set at step 0", m.name);
                assert_eq!(
                    bits(&a),
                    bits(&c),
                    "{}: read and set back at step 5",
                    m.name
                );
            }
        }
    }
}

/// A separable user potential whose gradient depends on the coordinate's index
/// (`grad_coord(k, c, x) = x - 0.5 (k + 1)`, minimum at `x_k = (k + 1) / 2`):
/// the block kernel passes each lane's `k` as the CPU does, so after 20 steps
/// the GPU agrees with the CPU to rounding (1e-5 on positions of order 3: the
/// noise and gradients of both are the same f32 operations up to the noise
/// map's ln and sincos, a few ulp), and the agents have moved toward their
/// coordinate's own minimum (a `k` lost on either side would leave coordinate
/// 6's mean near another coordinate's minimum).
#[test]
fn wgsl_grad_coord_sees_the_coordinate() {
    use sgld_swarm::potential::Potential;
    use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig};
    #[derive(Clone)]
    struct Steps;
    impl Potential for Steps {
        fn dim(&self) -> usize {
            7
        }
        fn value(&self, x: &[f64]) -> f64 {
            x.iter()
                .enumerate()
                .map(|(k, &v)| 0.5 * (v - 0.5 * (k + 1) as f64).powi(2))
                .sum()
        }
        fn grad(&self, x: &[f64], g: &mut [f64]) {
            for (k, (gk, &v)) in g.iter_mut().zip(x).enumerate() {
                *gk = v - 0.5 * (k + 1) as f64;
            }
        }
        fn separable(&self) -> bool {
            true
        }
        fn grad_coord(&self, k: usize, _c: [f32; 2], v: f32) -> f32 {
            v - 0.5 * (k + 1) as f32
        }
        fn reference_points(&self) -> Vec<Vec<f64>> {
            vec![(0..7).map(|k| 0.5 * (k + 1) as f64).collect()]
        }
    }
    let wgsl = "const SEPARABLE: bool = true;\n\
                fn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {\n\
                    return x - 0.5 * f32(k + 1u);\n\
                }\n";
    let Some(_ctx) = context() else { return };
    let e = EnsembleConfig::new(1, 64, 20)
        .seed(3)
        .init_uniform(-0.5, 0.5);
    let m = MethodConfig::euler("SGLD", 0.1, 1e3);
    let run = |options| {
        let mut ens = Ensemble::with_wgsl_potential(Steps, wgsl, &e, &m, options).unwrap();
        ens.run().unwrap();
        ens.positions().unwrap()
    };
    let (cpu, gpu) = (run(cpu_options()), run(gpu_options()));
    for (a, b) in cpu.iter().zip(gpu.iter()) {
        assert!((a - b).abs() <= 1e-5, "CPU {a}, GPU {b}");
    }
    // After 20 steps of 0.1 the pull has closed 1 - 0.9^20 = 88% of the way.
    let mean6 = gpu
        .index_axis(sgld_swarm::ndarray::Axis(0), 0)
        .column(6)
        .mean()
        .unwrap();
    assert!(
        (mean6 - 3.5 * 0.88).abs() < 0.1,
        "coordinate 6's mean {mean6}"
    );
}

/// State in and out on the network's GPU engine: reading X and Y after 2 steps
/// and setting them back changes nothing, bit for bit, for the Euler and the
/// homogenized scheme; Y at step 0 is X.
#[test]
fn network_state_in_and_out_on_the_gpu() {
    use sgld_swarm::{Ensemble, EnsembleConfig, MethodConfig};
    let Some(_ctx) = context() else { return };
    let loss = super::network::small_loss();
    let e = EnsembleConfig::new(2, 3, 5).seed(3).init_uniform(-1.0, 1.0);
    for m in [
        MethodConfig::euler("MF-SGLD", 0.5, 1e4).lambda(0.5),
        MethodConfig::homogenized("MF-HOM-SGLD", 0.5, 1e4, 1.0, 10.0, 3).lambda(0.2),
    ] {
        let mut straight = Ensemble::with_network(loss.clone(), &e, &m, gpu_options()).unwrap();
        assert_eq!(straight.backend(), "gpu");
        if let Some(y0) = straight.fast_variable().unwrap() {
            assert_eq!(y0, straight.positions().unwrap(), "Y(0) = X(0)");
        }
        straight.run().unwrap();
        let mut split = Ensemble::with_network(loss.clone(), &e, &m, gpu_options()).unwrap();
        split.advance(2).unwrap();
        let x = split.positions().unwrap();
        match split.fast_variable().unwrap() {
            Some(y) => split.set_state(x.view(), y.view()).unwrap(),
            None => split.set_positions(x.view()).unwrap(),
        }
        split.run().unwrap();
        let bits = |a: &sgld_swarm::ndarray::Array3<f32>| -> Vec<u32> {
            a.iter().map(|v| v.to_bits()).collect()
        };
        assert_eq!(
            bits(&straight.positions().unwrap()),
            bits(&split.positions().unwrap()),
            "{}",
            m.name
        );
    }
}

/// An observer on the GPU engine sees every record in order, with the
/// history's statistics and, asked for, the positions of each record (equal to
/// the kept trajectories): the driver reads the device's records at each record
/// while an observer is attached, at the record's step.
#[test]
fn an_observer_on_the_gpu_sees_every_record() {
    use sgld_swarm::diagnostics::RunStats;
    use sgld_swarm::{
        Ensemble, EnsembleConfig, MethodConfig, Observer, PotentialKind, ProblemConfig,
    };
    #[derive(Default)]
    struct Log(Vec<(u64, Vec<RunStats>, Option<Vec<f32>>)>);
    impl Observer for Log {
        fn wants_positions(&self) -> bool {
            true
        }
        fn record(
            &mut self,
            step: u64,
            stats: &[RunStats],
            positions: Option<&[f32]>,
        ) -> sgld_swarm::Result<()> {
            self.0
                .push((step, stats.to_vec(), positions.map(<[f32]>::to_vec)));
            Ok(())
        }
    }
    let Some(_ctx) = context() else { return };
    let p = ProblemConfig::new(PotentialKind::Rastrigin, 3);
    let e = EnsembleConfig::new(2, 40, 23).seed(4).record_every(5);
    let m = MethodConfig::euler("MF-SGLD", 0.005, 2.0).lambda(1.0);
    let options = sgld_swarm::Options {
        keep_trajectories: true,
        ..gpu_options()
    };
    let mut ens = Ensemble::new(&p, &e, &m, options).unwrap();
    let id = ens.observe(Log::default()).unwrap();
    ens.run().unwrap();
    assert_eq!(ens.backend(), "gpu");
    let log = ens.observer::<Log>(id).unwrap();
    assert_eq!(
        log.0.iter().map(|r| r.0).collect::<Vec<_>>(),
        ens.history().steps()
    );
    let traj = ens.trajectories().unwrap();
    for (i, (_, stats, positions)) in log.0.iter().enumerate() {
        assert_eq!(ens.history().at(i).unwrap(), &stats[..], "record {i}");
        let want: Vec<f32> = traj
            .index_axis(sgld_swarm::ndarray::Axis(0), i)
            .iter()
            .copied()
            .collect();
        assert_eq!(positions.as_deref(), Some(&want[..]), "record {i}");
    }
}
