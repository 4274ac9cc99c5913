//! The ResNet's training loss on the ellipses as a [`Potential`]: the mean
//! cross-entropy over the training set, whose stochastic gradient is taken on a
//! minibatch drawn with replacement from stream domain 2 for each agent, outer
//! step and inner step (or smoothing perturbation), as [`Draw`] addresses it.
//! Every method of the library then trains N parameter vectors per run as it
//! samples any potential. The minibatch gradient runs on the CPU engine's agent
//! path in f32 with the minibatch's samples in SIMD lanes ([`super::lanes`]), and
//! on the GPU in the network's own engine (`src/engine/gpu/net.rs`); the full
//! loss and its gradient ([`Potential::value`], [`Potential::grad`]) are the f64
//! definition, [`ResNet::loss`].

use super::data::Dataset;
use super::lanes;
use super::resnet::ResNet;
use crate::engine::cpu::Simd;
use crate::error::{ConfigError, Error, Result};
use crate::potential::{Draw, Potential};
use crate::rng;

/// The loss of `net` on `train` with minibatches of `batch` samples.
#[derive(Debug, Clone)]
pub struct EllipsesLoss {
    /// The network whose parameters are the potential's coordinates.
    pub net: ResNet,
    /// The training set the loss averages over and minibatches are drawn from.
    pub train: Dataset,
    /// Samples per minibatch, 1 to the training set's size.
    pub batch: usize,
    /// The instructions of the minibatch gradient (`SGLD_SWARM_SIMD`, or the
    /// widest the CPU has; every level gives the same bits).
    simd: Simd,
}

std::thread_local! {
    /// Each thread's buffers for the minibatch gradient.
    static SCRATCH: std::cell::RefCell<lanes::Scratch> = Default::default();
}

impl EllipsesLoss {
    /// The loss, after checking the network's shape, that `train` is not empty and has
    /// a label, 0 or 1, per point, and that `batch` is between 1 and its size (and that
    /// `SGLD_SWARM_SIMD`, where set, names instructions this CPU has).
    pub fn new(net: ResNet, train: Dataset, batch: usize) -> Result<Self> {
        let bad = |field: &str, value: String, allowed: String| {
            Error::Config(ConfigError {
                field: field.into(),
                value,
                allowed,
            })
        };
        net.check(&vec![0.0; net.params()])?;
        if train.is_empty() {
            return Err(bad("data.train", "0".into(), "must be at least 1".into()));
        }
        if train.x.len() != train.y.len() {
            return Err(bad(
                "data",
                format!("{} points and {} labels", train.x.len(), train.y.len()),
                "must have one label per point".into(),
            ));
        }
        if let Some(i) = train.y.iter().position(|&y| y > 1) {
            return Err(bad(
                "data labels",
                format!("label {} of point {i}", train.y[i]),
                "must be 0 or 1 (two classes)".into(),
            ));
        }
        if batch == 0 || batch > train.len() {
            return Err(bad(
                "batch",
                batch.to_string(),
                format!(
                    "must be between 1 and the training set's size, {}",
                    train.len()
                ),
            ));
        }
        let simd = Simd::selected()?;
        Ok(Self {
            net,
            train,
            batch,
            simd,
        })
    }

    /// The minibatch `draw` addresses: entry `j` is `floor(u_j * len)` for the
    /// word `j % 4` of counter `[j / 4, agent, step, 2 << 28 | sub]`, `u_j` its
    /// value over 2^32 (a 64-bit multiply-high, unbiased to 1 part in 2^32 / len).
    pub fn minibatch(&self, draw: Draw, out: &mut Vec<usize>) {
        out.clear();
        let len = self.train.len() as u64;
        for b in 0..self.batch.div_ceil(4) {
            let c = rng::counter(
                b as u32,
                draw.agent,
                draw.step,
                rng::DOMAIN_MINIBATCH,
                draw.sub,
            );
            for w in rng::philox4x32_10(c, draw.key) {
                if out.len() < self.batch {
                    out.push(((w as u64 * len) >> 32) as usize);
                }
            }
        }
    }

    /// The minibatch gradient of the definition, [`ResNet::loss`] in f64 at `x`
    /// (rounded to f32): what [`Potential::grad_minibatch_f32`] computed before it
    /// ran in f32 lanes, kept as its reference and to measure the two side by side.
    pub fn grad_minibatch_f64(&self, x: &[f32], g: &mut [f32], draw: Draw) {
        let mut idx = Vec::with_capacity(self.batch);
        self.minibatch(draw, &mut idx);
        let theta: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut g64 = vec![0.0; x.len()];
        self.net
            .loss(&theta, &self.train.x, &self.train.y, &idx, Some(&mut g64));
        for (o, v) in g.iter_mut().zip(g64) {
            *o = v as f32;
        }
    }

    /// The fraction of `data` that the parameters `theta` classify correctly.
    pub fn accuracy(&self, theta: &[f64], data: &Dataset) -> f64 {
        let right = data
            .x
            .iter()
            .zip(&data.y)
            .filter(|(x, y)| {
                let p = self.net.predict(theta, **x);
                (p[1] > p[0]) as u8 == **y
            })
            .count();
        right as f64 / data.len().max(1) as f64
    }
}

impl Potential for EllipsesLoss {
    fn dim(&self) -> usize {
        self.net.params()
    }

    fn value(&self, x: &[f64]) -> f64 {
        let all: Vec<usize> = (0..self.train.len()).collect();
        self.net.loss(x, &self.train.x, &self.train.y, &all, None)
    }

    fn grad(&self, x: &[f64], g: &mut [f64]) {
        let all: Vec<usize> = (0..self.train.len()).collect();
        self.net
            .loss(x, &self.train.x, &self.train.y, &all, Some(g));
    }

    fn stochastic(&self) -> bool {
        true
    }

    /// In f32 with the samples in lanes ([`lanes::gradient`]); the f64 definition
    /// is [`EllipsesLoss::grad_minibatch_f64`].
    fn grad_minibatch_f32(&self, x: &[f32], g: &mut [f32], draw: Draw) {
        let mut idx = Vec::with_capacity(self.batch);
        self.minibatch(draw, &mut idx);
        SCRATCH.with_borrow_mut(|scratch| {
            lanes::gradient(
                self.simd,
                &self.net,
                x,
                &self.train.x,
                &self.train.y,
                &idx,
                g,
                scratch,
            )
        });
    }

    /// A trained network has no known minimiser to measure distance to.
    fn reference_points(&self) -> Vec<Vec<f64>> {
        Vec::new()
    }

    fn name(&self) -> String {
        format!(
            "resnet-{}-{}-ellipses",
            match self.net.scheme {
                super::resnet::Integrator::Euler => "euler",
                super::resnet::Integrator::Verlet => "verlet",
            },
            self.net.layers
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::data::{EllipsesConfig, generate};
    use crate::nn::resnet::Integrator;
    use crate::{Backend, Ensemble, EnsembleConfig, MethodConfig, Options};

    fn data() -> (Dataset, Dataset) {
        generate(&EllipsesConfig {
            train: 300,
            test: 1000,
            noise: 0.0,
            seed: 2,
        })
        .unwrap()
    }

    /// A short SGLD run on a 16-layer network (h = 0.4, the paper's depth in time,
    /// 6.4) beats chance clearly: the majority class is 2/3 of the test set, and
    /// every agent must reach 0.9. Both discretizations.
    #[test]
    fn short_training_beats_chance() {
        let (train, test) = data();
        let majority = test.y.iter().filter(|&&y| y == 1).count() as f64 / test.len() as f64;
        assert!((majority - 2.0 / 3.0).abs() < 0.05, "{majority}");
        for scheme in [Integrator::Verlet, Integrator::Euler] {
            let net = ResNet {
                scheme,
                layers: 16,
                layer_step: 0.4,
            };
            let loss = EllipsesLoss::new(net, train.clone(), 50).unwrap();
            let e = EnsembleConfig::new(1, 4, 1200)
                .seed(3)
                .record_every(1200)
                .init_uniform(-1.0, 1.0);
            let m = MethodConfig::euler("SGLD", 2.0, 1e4);
            let options = Options {
                backend: Backend::Cpu,
                ..Options::default()
            };
            let mut swarm = Ensemble::with_potential(loss.clone(), &e, &m, options).unwrap();
            swarm.run().unwrap();
            let x = swarm.positions().unwrap();
            for a in 0..4 {
                let theta: Vec<f64> = (0..loss.dim()).map(|k| x[[0, a, k]] as f64).collect();
                let acc = loss.accuracy(&theta, &test);
                assert!(acc > 0.9, "{scheme:?} agent {a}: test accuracy {acc}");
            }
        }
    }

    /// The potential's minibatch gradient (f32 lanes) and the f64 definition on the
    /// same draws: the same minibatch reaches both (a wrong draw, agent or step
    /// would give another minibatch and a gradient off by its whole size), and
    /// they agree to 3e-4 of the gradient's largest entry (src/nn/lanes.rs argues
    /// the bound per layer; the largest entry is at least each layer's scale).
    #[test]
    fn minibatch_gradient_is_the_definitions() {
        let (train, _) = data();
        for scheme in [Integrator::Verlet, Integrator::Euler] {
            let loss = EllipsesLoss::new(ResNet::paper(scheme), train.clone(), 50).unwrap();
            let theta: Vec<f32> = (0..loss.dim())
                .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
                .collect();
            for (agent, step, sub) in [(0, 0, 0), (3, 17, 2)] {
                let draw = Draw {
                    key: [4, 5],
                    agent,
                    step,
                    sub,
                };
                let mut lanes = vec![0.0f32; loss.dim()];
                let mut definition = vec![0.0f32; loss.dim()];
                loss.grad_minibatch_f32(&theta, &mut lanes, draw);
                loss.grad_minibatch_f64(&theta, &mut definition, draw);
                let scale = definition.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(scale > 0.0, "{scheme:?}: a zero gradient tests nothing");
                for (k, (a, b)) in lanes.iter().zip(&definition).enumerate() {
                    assert!(
                        (a - b).abs() <= 3e-4 * scale,
                        "{scheme:?} {draw:?} parameter {k}: lanes {a} vs definition {b}"
                    );
                }
            }
        }
    }

    /// Minibatches: deterministic per draw, in range, different across draws.
    #[test]
    fn minibatches_are_addressed() {
        let (train, _) = data();
        let loss = EllipsesLoss::new(ResNet::paper(Integrator::Euler), train, 37).unwrap();
        let draw = Draw {
            key: [1, 2],
            agent: 5,
            step: 9,
            sub: 0,
        };
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        loss.minibatch(draw, &mut a);
        loss.minibatch(draw, &mut b);
        loss.minibatch(Draw { sub: 1, ..draw }, &mut c);
        assert_eq!(a.len(), 37);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|&i| i < 300));
    }

    #[test]
    fn bad_input_is_named() {
        let (train, _) = data();
        let net = ResNet::paper(Integrator::Verlet);
        let e = EllipsesLoss::new(net, train.clone(), 301)
            .unwrap_err()
            .to_string();
        assert!(e.contains("batch") && e.contains("300"), "{e}");
        let e = EllipsesLoss::new(net, train.clone(), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("batch"), "{e}");
        let empty = Dataset {
            x: Vec::new(),
            y: Vec::new(),
        };
        let e = EllipsesLoss::new(net, empty, 1).unwrap_err().to_string();
        assert!(e.contains("data.train"), "{e}");
        let mismatched = Dataset {
            x: train.x.clone(),
            y: train.y[..10].to_vec(),
        };
        let e = EllipsesLoss::new(net, mismatched, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label"), "{e}");
        let mut three = train.clone();
        three.y[7] = 2;
        let e = EllipsesLoss::new(net, three, 1).unwrap_err().to_string();
        assert!(
            e.contains("label 2 of point 7") && e.contains("0 or 1"),
            "{e}"
        );
        let shallow = ResNet { layers: 0, ..net };
        let e = EllipsesLoss::new(shallow, train, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("layers"), "{e}");
    }
}
