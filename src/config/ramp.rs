//! Schedules of a method's `dt`, `beta`, `lambda`, weighting `alpha` and
//! smoothing variance `h`: the value moves from the method's own field at outer
//! step 0 to a `to` value at step `steps - 1` (docs/DESIGN.md section 2.6). The
//! engines receive each step's constants computed from these values in f64 and
//! rounded once to f32.

use serde::Serialize;

/// How a scheduled value moves from its start to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RampKind {
    /// `from (1 - t) + to t`.
    Linear,
    /// `from (to / from)^t`; both ends > 0.
    Geometric,
}

impl RampKind {
    /// The name in TOML: `linear` or `geometric`.
    pub fn name(&self) -> &'static str {
        match self {
            RampKind::Linear => "linear",
            RampKind::Geometric => "geometric",
        }
    }
}

/// A schedule's end value and shape; its start is the method's own field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ramp {
    /// The value at outer step `steps - 1` and after.
    pub to: f64,
    /// Linear or geometric interpolation between the ends.
    pub kind: RampKind,
}

impl Ramp {
    /// A linear schedule ending at `to`.
    pub fn linear(to: f64) -> Self {
        Self {
            to,
            kind: RampKind::Linear,
        }
    }

    /// A geometric schedule ending at `to`.
    pub fn geometric(to: f64) -> Self {
        Self {
            to,
            kind: RampKind::Geometric,
        }
    }

    /// The value at outer step `n` of a run of `steps` steps that starts at
    /// `from`, in f64: `from` at `n = 0`, `to` at `n >= steps - 1` (exactly, both),
    /// and between them, with `t = n / (steps - 1)`, `from (1 - t) + to t`
    /// (linear) or `from (to / from)^t` (geometric).
    pub fn value(&self, from: f64, n: u64, steps: u64) -> f64 {
        let last = steps.saturating_sub(1);
        if n == 0 {
            return from;
        }
        if n >= last {
            return self.to;
        }
        let t = n as f64 / last as f64;
        match self.kind {
            RampKind::Linear => from * (1.0 - t) + self.to * t,
            RampKind::Geometric => from * (self.to / from).powf(t),
        }
    }
}

/// The parameters of a method that may be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Ramped {
    /// The outer step `dt`.
    Dt,
    /// The inverse temperature `beta`.
    Beta,
    /// The interaction strength `lambda`.
    Lambda,
    /// The weighted mean's `alpha`.
    Alpha,
    /// The smoothed scheme's kernel variance `h`.
    H,
}

impl Ramped {
    /// Every schedulable parameter.
    pub const ALL: [Ramped; 5] = [
        Ramped::Dt,
        Ramped::Beta,
        Ramped::Lambda,
        Ramped::Alpha,
        Ramped::H,
    ];

    /// The field's name in TOML and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Ramped::Dt => "dt",
            Ramped::Beta => "beta",
            Ramped::Lambda => "lambda",
            Ramped::Alpha => "alpha",
            Ramped::H => "h",
        }
    }
}

/// The schedules of one method; `None`: the field is constant.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Ramps {
    /// `dt`'s schedule.
    pub dt: Option<Ramp>,
    /// `beta`'s schedule.
    pub beta: Option<Ramp>,
    /// `lambda`'s schedule.
    pub lambda: Option<Ramp>,
    /// The weighted mean's `alpha`.
    pub alpha: Option<Ramp>,
    /// The smoothed scheme's `h` (instead of `h_factor` and `h_min`).
    pub h: Option<Ramp>,
}

impl Ramps {
    /// The schedule of `p`, if any.
    pub fn get(&self, p: Ramped) -> Option<Ramp> {
        match p {
            Ramped::Dt => self.dt,
            Ramped::Beta => self.beta,
            Ramped::Lambda => self.lambda,
            Ramped::Alpha => self.alpha,
            Ramped::H => self.h,
        }
    }

    /// Sets the schedule of `p`.
    pub fn set(&mut self, p: Ramped, ramp: Option<Ramp>) {
        match p {
            Ramped::Dt => self.dt = ramp,
            Ramped::Beta => self.beta = ramp,
            Ramped::Lambda => self.lambda = ramp,
            Ramped::Alpha => self.alpha = ramp,
            Ramped::H => self.h = ramp,
        }
    }

    /// Whether any parameter is scheduled.
    pub fn any(&self) -> bool {
        Ramped::ALL.iter().any(|&p| self.get(p).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition written out: ends exact, the interpolation between them.
    #[test]
    fn values_follow_the_definition() {
        let steps = 11;
        let lin = Ramp::linear(3.0);
        let geo = Ramp::geometric(0.001);
        for n in 0..20u64 {
            let t = (n.min(10) as f64) / 10.0;
            let want_lin = 1.0 * (1.0 - t) + 3.0 * t;
            let want_geo = 1.0 * (0.001f64 / 1.0).powf(t);
            // Tolerance: the same f64 formula, so equality up to the last bit of
            // the exact ends (which are returned as given).
            assert!((lin.value(1.0, n, steps) - want_lin).abs() <= 1e-15, "{n}");
            assert!((geo.value(1.0, n, steps) - want_geo).abs() <= 1e-15, "{n}");
        }
        assert_eq!(lin.value(0.1, 0, steps), 0.1);
        assert_eq!(Ramp::linear(0.3).value(0.1, 10, steps), 0.3);
        assert_eq!(Ramp::geometric(0.3).value(0.1, 10, steps), 0.3);
        assert_eq!(Ramp::geometric(0.3).value(0.1, 99, steps), 0.3);
        // One step: the start wins.
        assert_eq!(lin.value(1.0, 0, 1), 1.0);
        // Geometric halfway is the geometric mean.
        let mid = Ramp::geometric(100.0).value(1.0, 5, 11);
        assert!((mid - 10.0).abs() < 1e-12, "{mid}");
    }
}
