//! The width-2 residual network of Haber and Ruthotto (2018), "Stable
//! architectures for deep neural networks", as the paper's section 6.2 uses it:
//! `L` layers (128 in the paper) of step `h` (0.05), `tanh` activations, each
//! layer a 2 x 2 weight `K_j` and a bias `b_j` (6 parameters), then a 2 x 2 + 2
//! softmax classifier: `6 L + 6` parameters, 774 for the paper's network.
//!
//! Two discretizations of the same ODE:
//! - [`Integrator::Euler`] (forward Euler, the paper's Figure 3d):
//!   `Y_{j+1} = Y_j + h tanh(K_j Y_j + b_j)`, `Y_0 = x`;
//! - [`Integrator::Verlet`] (the Hamiltonian network):
//!   `Z_{j+1/2} = Z_{j-1/2} - h tanh(K_j^T Y_j + b_j)`,
//!   `Y_{j+1} = Y_j + h tanh(K_j Z_{j+1/2} + b_j)`, `Y_0 = x`, `Z_{-1/2} = 0`.
//!
//! The loss is the mean cross-entropy of `softmax(W Y_L + c)`; its gradient is
//! written out by hand (backpropagation through the layers) and checked against
//! central differences in f64.
//!
//! Parameter layout: `[K_0 (row-major), b_0, K_1, b_1, ..., K_{L-1}, b_{L-1}, W
//! (row-major), c]`.

use crate::error::{ConfigError, Error, Result};

/// The discretization of the network's ODE (the method's discretization is
/// [`crate::config::Scheme`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrator {
    /// Forward Euler, `Y_{j+1} = Y_j + tau tanh(K_j Y_j + b_j)` (TOML `network = "euler"`).
    Euler,
    /// The Hamiltonian network's leapfrog in `Y` and an auxiliary `Z` (`"verlet"`).
    Verlet,
}

/// A network's shape: its scheme, depth and step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResNet {
    /// How each layer steps the ODE.
    pub scheme: Integrator,
    /// The number of layers `L`, at least 1 (128 in the paper).
    pub layers: usize,
    /// The layer step `tau`, finite and > 0 (TOML `network.h`; 0.05 in the paper).
    pub layer_step: f64,
}

type V2 = [f64; 2];

fn mat(k: &[f64], v: V2) -> V2 {
    [k[0] * v[0] + k[1] * v[1], k[2] * v[0] + k[3] * v[1]]
}

fn mat_t(k: &[f64], v: V2) -> V2 {
    [k[0] * v[0] + k[2] * v[1], k[1] * v[0] + k[3] * v[1]]
}

/// The states of one forward pass that the backward pass needs.
struct Trace {
    /// `Y_0 .. Y_L`.
    y: Vec<V2>,
    /// Verlet: `Z_{j+1/2}` for j = 0..L.
    z: Vec<V2>,
    /// `tanh` of the pre-activations: Euler `K_j Y_j + b_j`; Verlet the `Z` update's
    /// (`u`) and the `Y` update's (`v`).
    tu: Vec<V2>,
    tv: Vec<V2>,
}

impl ResNet {
    /// The paper's network: 128 layers, h = 0.05.
    pub fn paper(scheme: Integrator) -> Self {
        Self {
            scheme,
            layers: 128,
            layer_step: 0.05,
        }
    }

    /// Parameters: `6 layers + 6`.
    pub fn params(&self) -> usize {
        6 * self.layers + 6
    }

    /// Checks the shape and the parameter vector's length.
    pub fn check(&self, theta: &[f64]) -> Result<()> {
        let bad = |field: &str, value: String, allowed: String| {
            Error::Config(ConfigError {
                field: field.into(),
                value,
                allowed,
            })
        };
        if self.layers == 0 {
            return Err(bad("layers", "0".into(), "must be at least 1".into()));
        }
        if !(self.layer_step.is_finite() && self.layer_step > 0.0) {
            return Err(bad(
                "h",
                self.layer_step.to_string(),
                "must be a finite number > 0".into(),
            ));
        }
        if theta.len() != self.params() {
            return Err(bad(
                "parameters",
                format!("{} values", theta.len()),
                format!(
                    "must be 6 layers + 6 = {} for {} layers",
                    self.params(),
                    self.layers
                ),
            ));
        }
        Ok(())
    }

    fn forward(&self, theta: &[f64], x: V2) -> Trace {
        let l = self.layers;
        let h = self.layer_step;
        let mut t = Trace {
            y: Vec::with_capacity(l + 1),
            z: Vec::new(),
            tu: Vec::with_capacity(l),
            tv: Vec::new(),
        };
        t.y.push(x);
        let mut z = [0.0; 2];
        for j in 0..l {
            let k = &theta[6 * j..6 * j + 4];
            let b = &theta[6 * j + 4..6 * j + 6];
            let y = t.y[j];
            match self.scheme {
                Integrator::Euler => {
                    let a = mat(k, y);
                    let s = [(a[0] + b[0]).tanh(), (a[1] + b[1]).tanh()];
                    t.tu.push(s);
                    t.y.push([y[0] + h * s[0], y[1] + h * s[1]]);
                }
                Integrator::Verlet => {
                    let u = mat_t(k, y);
                    let su = [(u[0] + b[0]).tanh(), (u[1] + b[1]).tanh()];
                    z = [z[0] - h * su[0], z[1] - h * su[1]];
                    let v = mat(k, z);
                    let sv = [(v[0] + b[0]).tanh(), (v[1] + b[1]).tanh()];
                    t.tu.push(su);
                    t.tv.push(sv);
                    t.z.push(z);
                    t.y.push([y[0] + h * sv[0], y[1] + h * sv[1]]);
                }
            }
        }
        t
    }

    fn classify(&self, theta: &[f64], y: V2) -> V2 {
        let w = &theta[6 * self.layers..6 * self.layers + 4];
        let c = &theta[6 * self.layers + 4..];
        let o = mat(w, y);
        softmax([o[0] + c[0], o[1] + c[1]])
    }

    /// The class probabilities of `x`.
    pub fn predict(&self, theta: &[f64], x: V2) -> V2 {
        let t = self.forward(theta, x);
        self.classify(theta, t.y[self.layers])
    }

    /// The mean cross-entropy over the samples `idx` of `(xs, ys)`; with `grad`,
    /// its gradient with respect to `theta` is written there.
    pub fn loss(
        &self,
        theta: &[f64],
        xs: &[V2],
        ys: &[u8],
        idx: &[usize],
        mut grad: Option<&mut [f64]>,
    ) -> f64 {
        let l = self.layers;
        let h = self.layer_step;
        if let Some(g) = grad.as_deref_mut() {
            g.fill(0.0);
        }
        let scale = 1.0 / idx.len() as f64;
        let mut total = 0.0;
        for &i in idx {
            let t = self.forward(theta, xs[i]);
            let yl = t.y[l];
            let p = self.classify(theta, yl);
            let label = ys[i] as usize;
            total -= p[label].max(f64::MIN_POSITIVE).ln();
            let Some(g) = grad.as_deref_mut() else {
                continue;
            };
            // d(-ln p_label)/d logits = p - onehot.
            let mut dlog = p;
            dlog[label] -= 1.0;
            let dlog = [dlog[0] * scale, dlog[1] * scale];
            let w = &theta[6 * l..6 * l + 4];
            let gw = &mut g[6 * l..6 * l + 6];
            gw[0] += dlog[0] * yl[0];
            gw[1] += dlog[0] * yl[1];
            gw[2] += dlog[1] * yl[0];
            gw[3] += dlog[1] * yl[1];
            gw[4] += dlog[0];
            gw[5] += dlog[1];
            let mut gy = mat_t(w, dlog);
            let mut gz = [0.0; 2];
            for j in (0..l).rev() {
                let k = &theta[6 * j..6 * j + 4];
                let gk = &mut g[6 * j..6 * j + 6];
                match self.scheme {
                    Integrator::Euler => {
                        // Y_{j+1} = Y_j + h tanh(K_j Y_j + b_j).
                        let s = t.tu[j];
                        let da = [
                            h * gy[0] * (1.0 - s[0] * s[0]),
                            h * gy[1] * (1.0 - s[1] * s[1]),
                        ];
                        let y = t.y[j];
                        gk[0] += da[0] * y[0];
                        gk[1] += da[0] * y[1];
                        gk[2] += da[1] * y[0];
                        gk[3] += da[1] * y[1];
                        gk[4] += da[0];
                        gk[5] += da[1];
                        let back = mat_t(k, da);
                        gy = [gy[0] + back[0], gy[1] + back[1]];
                    }
                    Integrator::Verlet => {
                        // Y_{j+1} = Y_j + h tanh(K_j Z_{j+1/2} + b_j).
                        let sv = t.tv[j];
                        let dv = [
                            h * gy[0] * (1.0 - sv[0] * sv[0]),
                            h * gy[1] * (1.0 - sv[1] * sv[1]),
                        ];
                        let z = t.z[j];
                        gk[0] += dv[0] * z[0];
                        gk[1] += dv[0] * z[1];
                        gk[2] += dv[1] * z[0];
                        gk[3] += dv[1] * z[1];
                        gk[4] += dv[0];
                        gk[5] += dv[1];
                        let back = mat_t(k, dv);
                        gz = [gz[0] + back[0], gz[1] + back[1]];
                        // Z_{j+1/2} = Z_{j-1/2} - h tanh(K_j^T Y_j + b_j).
                        let su = t.tu[j];
                        let du = [
                            -h * gz[0] * (1.0 - su[0] * su[0]),
                            -h * gz[1] * (1.0 - su[1] * su[1]),
                        ];
                        let y = t.y[j];
                        // d(K^T y)_b / dK_ab = y_a.
                        gk[0] += y[0] * du[0];
                        gk[1] += y[0] * du[1];
                        gk[2] += y[1] * du[0];
                        gk[3] += y[1] * du[1];
                        gk[4] += du[0];
                        gk[5] += du[1];
                        let back = mat(k, du);
                        gy = [gy[0] + back[0], gy[1] + back[1]];
                    }
                }
            }
        }
        total * scale
    }
}

fn softmax(o: V2) -> V2 {
    let m = o[0].max(o[1]);
    let e = [(o[0] - m).exp(), (o[1] - m).exp()];
    let s = e[0] + e[1];
    [e[0] / s, e[1] / s]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::PhiloxRng;
    use rand_core::Rng;

    fn normal(r: &mut PhiloxRng) -> f64 {
        let u = |r: &mut PhiloxRng| (r.next_u32() >> 8) as f64 / 16_777_216.0 + 1e-9;
        (-2.0 * u(r).ln()).sqrt() * (std::f64::consts::TAU * u(r)).cos()
    }

    /// The hand-written gradient against central differences, for both schemes:
    /// 40 random parameters of a random network (weights of sd 0.5, so that the
    /// layers are neither saturated nor trivial) on 12 random points. Step 1e-5:
    /// truncation O(1e-10 f''') and rounding O(1e-16 / 1e-5) both far below the
    /// 1e-6 relative tolerance (of the gradient's largest entry).
    #[test]
    fn gradient_matches_finite_differences() {
        for scheme in [Integrator::Euler, Integrator::Verlet] {
            let net = ResNet {
                scheme,
                layers: 24,
                layer_step: 0.1,
            };
            let mut r = PhiloxRng::new(11, scheme as u32);
            let theta: Vec<f64> = (0..net.params()).map(|_| 0.5 * normal(&mut r)).collect();
            let xs: Vec<V2> = (0..12)
                .map(|_| [normal(&mut r), 2.0 * normal(&mut r)])
                .collect();
            let ys: Vec<u8> = (0..12).map(|i| (i % 2) as u8).collect();
            let idx: Vec<usize> = (0..12).collect();
            let mut g = vec![0.0; net.params()];
            net.loss(&theta, &xs, &ys, &idx, Some(&mut g));
            let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(scale > 1e-3, "{scheme:?}: gradient {scale}");
            for step in 0..40 {
                let i = (r.next_u32() as usize + step) % net.params();
                let eps = 1e-5;
                let mut a = theta.clone();
                let mut b = theta.clone();
                a[i] += eps;
                b[i] -= eps;
                let fd = (net.loss(&a, &xs, &ys, &idx, None) - net.loss(&b, &xs, &ys, &idx, None))
                    / (2.0 * eps);
                assert!(
                    (fd - g[i]).abs() < 1e-6 * scale,
                    "{scheme:?}: parameter {i}: analytic {} vs central difference {fd}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn paper_network_has_774_parameters() {
        assert_eq!(ResNet::paper(Integrator::Verlet).params(), 774);
        let net = ResNet::paper(Integrator::Euler);
        let e = net.check(&[0.0; 10]).unwrap_err().to_string();
        assert!(e.contains("parameters") && e.contains("774"), "{e}");
        let theta = vec![0.0; 774];
        // Zero weights: both classes equally likely.
        let p = net.predict(&theta, [0.3, -1.0]);
        assert!((p[0] - 0.5).abs() < 1e-15 && (p[1] - 0.5).abs() < 1e-15);
    }
}
