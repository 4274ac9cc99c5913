//! The gradient kernel (`shaders/grad_check.wgsl`): a potential's WGSL gradient
//! at a list of points, to check it against the CPU.

use super::potential::GpuPotential;
use super::{GpuContext, GpuError, grid, shader};
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
    let device = &ctx.device;
    let size = (points.len() * 4) as u64;
    let (pipeline, layout, buffers) = ctx.scoped(|| {
        use super::Binding::*;
        let (pipeline, layout) = ctx.pipeline(
            "grad_check",
            &composed.source,
            &[Uniform, StorageRead, Uniform, StorageRead, StorageReadWrite],
        );
        let init = |label, contents: &[u8], usage| ctx.buffer_init(label, contents, usage);
        let buffers = [
            init(
                "potential params",
                bytemuck::bytes_of(&gp.params),
                wgpu::BufferUsages::UNIFORM,
            ),
            init(
                "coord consts",
                bytemuck::cast_slice(&gp.coord_consts),
                wgpu::BufferUsages::STORAGE,
            ),
            init(
                "grad params",
                bytemuck::bytes_of(&GradParams {
                    count,
                    _pad: [0; 3],
                }),
                wgpu::BufferUsages::UNIFORM,
            ),
            init(
                "points",
                bytemuck::cast_slice(points),
                wgpu::BufferUsages::STORAGE,
            ),
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("grads"),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
        ];
        (pipeline, layout, buffers)
    })?;
    let (gx, gy) = grid(count, 64, ctx.limits.max_compute_workgroups_per_dimension);
    ctx.scoped(|| {
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("grad_check"),
            layout: &layout,
            entries: &[0, 1, 2, 3, 4].map(|i| wgpu::BindGroupEntry {
                binding: i,
                resource: buffers[i as usize].as_entire_binding(),
            }),
        });
        let mut enc = device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        ctx.queue.submit([enc.finish()]);
    })?;
    let bytes = ctx.read_buffer(&buffers[4], size)?;
    Ok(bytemuck::cast_slice(&bytes).to_vec())
}
