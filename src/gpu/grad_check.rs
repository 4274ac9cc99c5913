//! The gradient kernel (`shaders/grad_check.wgsl`): a potential's WGSL gradient
//! at a list of points, to check it against the CPU.

use super::potential::GpuPotential;
use super::{GpuContext, GpuError, shader};
use crate::potential::Builtin;

/// Keep in sync with `GradParams` in shaders/grad_check.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GradParams {
    count: u32,
    _pad: [u32; 3],
}
const _: () = assert!(std::mem::size_of::<GradParams>() == 16);

/// The gradient at each point of `points` (`[count][dim]`, flattened).
pub fn gradients(
    ctx: &GpuContext,
    potential: &Builtin,
    points: &[f32],
) -> Result<Vec<f32>, GpuError> {
    let gp = GpuPotential::new(potential);
    let dim = gp.choice.dim as usize;
    let count = (points.len() / dim) as u32;
    let composed = shader::compose_with("grad_check", Some(&gp.choice))?;
    composed.validate()?;
    let size = (points.len() * 4) as u64;
    let (pipeline, layout, buffers) = ctx.scoped(|| {
        use super::Binding::*;
        let (pipeline, layout) = ctx.pipeline(
            "grad_check",
            &composed.source,
            &[Uniform, StorageRead, Uniform, StorageRead, StorageReadWrite],
        );
        let (potential_params, coord_consts) = gp.buffers(ctx);
        let params = GradParams {
            count,
            _pad: [0; 3],
        };
        let buffers = [
            potential_params,
            coord_consts,
            ctx.buffer_init(
                "grad params",
                bytemuck::bytes_of(&params),
                wgpu::BufferUsages::UNIFORM,
            ),
            ctx.buffer_init(
                "points",
                bytemuck::cast_slice(points),
                wgpu::BufferUsages::STORAGE,
            ),
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("grads"),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
        ];
        (pipeline, layout, buffers)
    })?;
    let bound: Vec<&wgpu::Buffer> = buffers.iter().collect();
    ctx.dispatch_once("grad_check", &pipeline, &layout, &bound, count, 64)?;
    let bytes = ctx.read_buffer(&buffers[4], size)?;
    Ok(bytemuck::cast_slice(&bytes).to_vec())
}
