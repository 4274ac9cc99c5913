//! The two concentric ellipses problem: points of the box [-1, 1] x [-2, 2],
//! labelled 0 inside the inner ellipse and 1 in the outer ring, with a gap
//! between them. Deterministic from the seed through the stream contract, in a
//! domain of its own ([`DOMAIN_DATA`]).

use crate::error::{ConfigError, Error, Result};
use crate::rng;

/// Stream domain of the data set's draws ([`crate::rng::Domain::Data`]).
pub const DOMAIN_DATA: u32 = crate::rng::Domain::Data as u32;

/// Semi-axes (x, y) of the inner ellipse: `(x / 0.5)^2 + (y / 1)^2 < 1` is class 0.
pub const INNER: (f64, f64) = (0.5, 1.0);
/// The ring of class 1 lies between the ellipse with semi-axes `RING_IN` and the
/// box's inscribed one, `(1, 2)`; points between the inner ellipse and the ring
/// (the gap) are not used.
pub const RING_IN: (f64, f64) = (0.7, 1.4);
/// Semi-axes (x, y) of the outer ellipse, inscribed in the box: points outside it are
/// not used.
pub const OUTER: (f64, f64) = (1.0, 2.0);

/// The sizes and noise of a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EllipsesConfig {
    /// Number of training points, at least 1 (TOML `data.train`).
    pub train: usize,
    /// Number of test points, at least 1 (TOML `data.test`); at most 2^30 - 1 with `train`.
    pub test: usize,
    /// Standard deviation of the Gaussian jitter added to every point after its
    /// label is fixed (0: none).
    pub noise: f64,
    /// The seed whose key draws the points (TOML `data.seed`, apart from the ensemble's).
    pub seed: u64,
}

/// Points and their labels (0 or 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The points `(x, y)` of the plane, jitter included.
    pub x: Vec<[f64; 2]>,
    /// The label of each point of `x`: 0 inner ellipse, 1 outer ring.
    pub y: Vec<u8>,
}

impl Dataset {
    /// The number of points.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether the set has no points.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// The class of a point of the box: 0 inside the inner ellipse, 1 in the ring,
/// `None` in the gap or outside the outer ellipse.
pub fn class_of(p: [f64; 2]) -> Option<u8> {
    let r = |(a, b): (f64, f64)| (p[0] / a).powi(2) + (p[1] / b).powi(2);
    if r(INNER) < 1.0 {
        Some(0)
    } else if r(RING_IN) >= 1.0 && r(OUTER) < 1.0 {
        Some(1)
    } else {
        None
    }
}

/// The train and test sets: candidate `i` is the uniform point of the box drawn
/// from counter `[0, i, 0, DOMAIN_DATA << 28]` (words 0 and 1; words 2 and 3 give
/// its jitter by Box-Muller), kept if it has a class; the first `train` kept
/// points are the training set, the next `test` the test set.
pub fn generate(cfg: &EllipsesConfig) -> Result<(Dataset, Dataset)> {
    let bad = |field: &str, value: String, allowed: &str| {
        Error::Config(ConfigError {
            field: field.into(),
            value,
            allowed: allowed.into(),
        })
    };
    if cfg.train == 0 {
        return Err(bad("data.train", "0".into(), "must be at least 1"));
    }
    if cfg.test == 0 {
        return Err(bad("data.test", "0".into(), "must be at least 1"));
    }
    // The ellipses' axes are a few units long: past 100 the noise leaves no
    // structure to learn, and the points' f32 images lose it too.
    if !(cfg.noise.is_finite() && (0.0..=100.0).contains(&cfg.noise)) {
        return Err(bad(
            "data.noise",
            crate::config::num(cfg.noise),
            "must be a number from 0 to 100",
        ));
    }
    let total = cfg.train + cfg.test;
    if total > u32::MAX as usize / 4 {
        return Err(bad(
            "data.train + data.test",
            total.to_string(),
            "must be at most 1073741823 (2^30 - 1)",
        ));
    }
    let key = rng::key_from_seed(cfg.seed);
    let mut all = Dataset {
        x: Vec::with_capacity(total),
        y: Vec::with_capacity(total),
    };
    let mut i = 0u32;
    while all.len() < total {
        let w = rng::philox4x32_10(rng::counter(0, i, 0, DOMAIN_DATA, 0), key);
        i = i.checked_add(1).expect("about half the box has a class");
        let p = [
            -1.0 + 2.0 * rng::uniform(w[0]) as f64,
            -2.0 + 4.0 * rng::uniform(w[1]) as f64,
        ];
        if let Some(label) = class_of(p) {
            let (za, zb) = rng::box_muller(rng::uniform(w[2]), rng::uniform(w[3]));
            all.x
                .push([p[0] + cfg.noise * za as f64, p[1] + cfg.noise * zb as f64]);
            all.y.push(label);
        }
    }
    let test = Dataset {
        x: all.x.split_off(cfg.train),
        y: all.y.split_off(cfg.train),
    };
    Ok((all, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_labelled_and_balanced() {
        let cfg = EllipsesConfig {
            train: 2000,
            test: 500,
            noise: 0.0,
            seed: 3,
        };
        let (train, test) = generate(&cfg).unwrap();
        assert_eq!((train.len(), test.len()), (2000, 500));
        assert_eq!(generate(&cfg).unwrap(), (train.clone(), test.clone()));
        for (p, &y) in train.x.iter().zip(&train.y) {
            assert_eq!(class_of(*p), Some(y), "{p:?}");
            assert!(p[0].abs() <= 1.0 && p[1].abs() <= 2.0);
        }
        // Areas: inner pi 0.5, ring pi (2 - 0.98) = pi 1.02, so about 1/3 are
        // class 0; 2000 draws give a standard deviation of 0.011.
        let zeros = train.y.iter().filter(|&&y| y == 0).count() as f64 / 2000.0;
        assert!((zeros - 0.5 / 1.52).abs() < 0.05, "{zeros}");
        let other = generate(&EllipsesConfig { seed: 4, ..cfg }).unwrap().0;
        assert_ne!(other.x, train.x);
    }

    #[test]
    fn bad_sizes_are_named() {
        let cfg = EllipsesConfig {
            train: 0,
            test: 5,
            noise: 0.0,
            seed: 1,
        };
        let e = generate(&cfg).unwrap_err().to_string();
        assert!(e.contains("data.train"), "{e}");
        let e = generate(&EllipsesConfig {
            train: 5,
            test: 0,
            ..cfg
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("data.test"), "{e}");
        let e = generate(&EllipsesConfig {
            train: 5,
            noise: -1.0,
            ..cfg
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("data.noise"), "{e}");
    }
}
