//! A built-in potential as the GPU kernels see it: which WGSL module, its scalar
//! parameters and its per-coordinate constants. Keep in sync with
//! shaders/potential_bindings.wgsl.

use super::shader::{self, PotentialChoice, ShaderError};
use crate::potential::{Builtin, Potential};

/// A potential as the GPU engine needs it: the WGSL module to compose in and the
/// contents of its `potential_params` and `coord_consts` bindings.
pub struct GpuPotential {
    /// The WGSL module and how the composer includes it (separability, `DIM`, distance).
    pub choice: PotentialChoice,
    /// `potential_params` (x: 1 / delta for rough).
    pub params: [f32; 4],
    /// `coord_consts[k]` = the CPU's `coord_consts(k)`.
    pub coord_consts: Vec<[f32; 2]>,
    /// The reference points, flattened, for diagnostics on the device; `None`
    /// where the module has no `potential_value` and `potential_distance` (a
    /// user's), whose diagnostics the host computes.
    pub refs: Option<Vec<f32>>,
}

impl GpuPotential {
    /// The `potential_params` and `coord_consts` buffers (bindings 0 and 1 of every
    /// kernel that uses a potential).
    pub fn buffers(&self, ctx: &super::GpuContext) -> (wgpu::Buffer, wgpu::Buffer) {
        (
            ctx.buffer_init(
                "potential params",
                bytemuck::bytes_of(&self.params),
                wgpu::BufferUsages::UNIFORM,
            ),
            ctx.buffer_init(
                "coord consts",
                bytemuck::cast_slice(&self.coord_consts),
                wgpu::BufferUsages::STORAGE,
            ),
        )
    }

    /// The built-in `b`'s module (`shaders/potentials/<name>.wgsl`), parameters, constants
    /// and reference points.
    pub fn new(b: &Builtin) -> Self {
        let params = match b {
            Builtin::Rough(r) => [r.inv_delta_f32(), 0.0, 0.0, 0.0],
            _ => [0.0; 4],
        };
        let dim = b.dim();
        Self {
            choice: PotentialChoice {
                module: b.module().to_string(),
                source: None,
                separable: b.separable(),
                dim: dim as u32,
                sign_distance: matches!(b, Builtin::DoubleWell(_)),
            },
            params,
            coord_consts: (0..dim).map(|k| b.coord_consts(k)).collect(),
            refs: Some(
                b.reference_points()
                    .iter()
                    .flatten()
                    .map(|&v| v as f32)
                    .collect(),
            ),
        }
    }
}

impl GpuPotential {
    /// A user's WGSL module for potential `p` (see the crate docs for what it must
    /// define); `coord_consts[k]` comes from `p.coord_consts(k)` and
    /// `potential_params` is zero. Validated here, with the line of any error.
    pub fn user(wgsl: &str, p: &dyn Potential) -> Result<Self, ShaderError> {
        let dim = p.dim();
        let choice = PotentialChoice {
            module: "<user potential>".to_string(),
            source: Some(wgsl.to_string()),
            separable: p.separable(),
            dim: dim as u32,
            sign_distance: false,
        };
        shader::validate_user_potential(&choice)?;
        Ok(Self {
            choice,
            params: [0.0; 4],
            coord_consts: (0..dim).map(|k| p.coord_consts(k)).collect(),
            refs: None,
        })
    }
}
