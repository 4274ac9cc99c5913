//! The translation of the built-in potentials (`problem.shift`).

/// A translation `x -> x - s` applied before a built-in is evaluated, so that its
/// minimisers move by `s`. Zero when the problem has no `shift`.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    s64: Vec<f64>,
    s32: Vec<f32>,
}

impl Shift {
    /// The shift `s`, one entry per coordinate; its f32 copy is rounded once here.
    pub fn new(s: Vec<f64>) -> Self {
        let s32 = s.iter().map(|&v| v as f32).collect();
        Self { s64: s, s32 }
    }

    /// No shift in dimension `dim`.
    pub fn zero(dim: usize) -> Self {
        Self::new(vec![0.0; dim])
    }

    /// Coordinate `k` of `x - s` in f64: `x - s_k`.
    #[inline(always)]
    pub fn at(&self, k: usize, x: f64) -> f64 {
        x - self.s64[k]
    }

    /// Coordinate `k` of `x - s` in f32, with the shift rounded to f32.
    #[inline(always)]
    pub fn at_f32(&self, k: usize, x: f32) -> f32 {
        x - self.s32[k]
    }

    /// The shift's coordinate `k` rounded to f32 (the first of the built-ins'
    /// `coord_consts(k)`).
    pub fn component_f32(&self, k: usize) -> f32 {
        self.s32[k]
    }

    /// The point `p + s`.
    pub fn moved(&self, p: &[f64]) -> Vec<f64> {
        p.iter().zip(&self.s64).map(|(a, b)| a + b).collect()
    }

    /// Checks that the shift has `dim` entries in the f32 range; `potential`
    /// names the potential in the error.
    pub fn check(&self, potential: &str, dim: usize) -> Result<(), crate::error::ConfigError> {
        let s = self.as_slice();
        if s.len() != dim {
            return Err(crate::error::ConfigError {
                field: format!("{potential}: shift"),
                value: format!("{} entries", s.len()),
                allowed: format!("must have dim = {dim} entries"),
            });
        }
        for (k, &v) in s.iter().enumerate() {
            if !(v.is_finite() && v.abs() <= f32::MAX as f64) {
                return Err(crate::error::ConfigError {
                    field: format!("{potential}: shift[{k}]"),
                    value: v.to_string(),
                    allowed: "must be finite, of magnitude at most 3.4e38".into(),
                });
            }
        }
        Ok(())
    }

    /// The shift's entries in f64, one per coordinate.
    pub fn as_slice(&self) -> &[f64] {
        &self.s64
    }
}
