//! The ResNet's minibatch gradient on the GPU (`shaders/resnet_grad.wgsl`): the
//! losses and gradients of many parameter vectors at once, a workgroup per
//! agent. Checked against [`crate::nn::loss::EllipsesLoss`] on the CPU; the
//! network's GPU engine (`src/engine/gpu/net.rs`) and `sgld-swarm bench --resnet`
//! call it.

use super::{Binding, GpuContext, GpuError, grid, shader};
use crate::nn::loss::EllipsesLoss;
use crate::nn::resnet::Integrator;
use crate::potential::Draw;
use std::sync::Arc;

/// The twin of `NetParams` in shaders/resnet_grad.wgsl (layouts compared by a test).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct NetParams {
    pub key: [u32; 2],
    pub step: u32,
    pub sub: u32,
    pub agents: u32,
    pub batch: u32,
    pub train: u32,
    pub verlet: u32,
    pub layer_step: f32,
    pub agent_base: u32,
    pub _pad: [u32; 2],
}

impl NetParams {
    pub(crate) fn new(loss: &EllipsesLoss, agents: u32, draw: Draw) -> Self {
        Self {
            key: draw.key,
            step: draw.step,
            sub: draw.sub,
            agents,
            batch: loss.batch as u32,
            train: loss.train.len() as u32,
            verlet: (loss.net.scheme == Integrator::Verlet) as u32,
            layer_step: loss.net.layer_step as f32,
            agent_base: draw.agent,
            _pad: [0; 2],
        }
    }
}

/// The gradient kernel for `loss`'s network (its depth compiled in) with its
/// parameters at a dynamic offset, and the training set's buffer.
pub(crate) fn grad_pipeline(
    ctx: &GpuContext,
    loss: &EllipsesLoss,
) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout, wgpu::Buffer), GpuError> {
    let composed = shader::compose_opts(
        "resnet_grad",
        &shader::ComposeOptions {
            int64: ctx.int64,
            ..Default::default()
        },
    )?;
    const DEPTH_LINE: &str = "const LAYERS: u32 = 128u;";
    let composed = composed
        .replace_line(
            DEPTH_LINE,
            &format!("const LAYERS: u32 = {}u;", loss.net.layers),
        )
        .expect("shaders/resnet_grad.wgsl declares its depth on one line");
    composed.validate()?;
    let data: Vec<[f32; 4]> = loss
        .train
        .x
        .iter()
        .zip(&loss.train.y)
        .map(|(p, &y)| [p[0] as f32, p[1] as f32, y as f32, 0.0])
        .collect();
    ctx.scoped(|| {
        use Binding::*;
        let (pipeline, layout) = ctx.pipeline(
            "resnet_grad",
            &composed.source,
            &[
                UniformDynamic(std::mem::size_of::<NetParams>() as u64),
                StorageRead,
                StorageRead,
                StorageReadWrite,
                StorageReadWrite,
            ],
        );
        let data = ctx.buffer_init(
            "training set",
            bytemuck::cast_slice(&data),
            wgpu::BufferUsages::STORAGE,
        );
        (pipeline, layout, data)
    })
}
const _: () = assert!(std::mem::size_of::<NetParams>() == 48);

/// The network, its training set on the device, and the pipeline.
pub struct ResNetGrad {
    ctx: Arc<GpuContext>,
    loss: EllipsesLoss,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    data: wgpu::Buffer,
}

impl ResNetGrad {
    /// Compiles the gradient kernel for `loss`'s network on `ctx` and uploads its
    /// training set.
    pub fn new(ctx: Arc<GpuContext>, loss: &EllipsesLoss) -> Result<Self, GpuError> {
        let (pipeline, layout, data) = grad_pipeline(&ctx, loss)?;
        Ok(Self {
            ctx,
            loss: loss.clone(),
            pipeline,
            layout,
            data,
        })
    }

    /// The minibatch losses and gradients of `thetas` (agents x parameters, the
    /// layout of [`crate::nn::resnet`]); agent `i` draws its minibatch as
    /// [`EllipsesLoss::minibatch`] does for `Draw { agent: draw.agent + i, ..draw }`.
    pub fn gradients(&self, thetas: &[f32], draw: Draw) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        let p = self.loss.net.params();
        assert_eq!(thetas.len() % p, 0, "whole parameter vectors");
        let agents = (thetas.len() / p) as u32;
        let ctx = &self.ctx;
        let params = NetParams::new(&self.loss, agents, draw);
        let out = |label, size| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        };
        let grad_bytes = thetas.len() as u64 * 4;
        let buffers = ctx.scoped(|| {
            [
                ctx.buffer_init(
                    "net params",
                    bytemuck::bytes_of(&params),
                    wgpu::BufferUsages::UNIFORM,
                ),
                ctx.buffer_init(
                    "theta",
                    bytemuck::cast_slice(thetas),
                    wgpu::BufferUsages::STORAGE,
                ),
                out("gradients", grad_bytes),
                out("losses", agents as u64 * 4),
            ]
        })?;
        let bound = [
            &buffers[0],
            &buffers[1],
            &self.data,
            &buffers[2],
            &buffers[3],
        ];
        ctx.scoped(|| {
            let np = Some(std::mem::size_of::<NetParams>() as u64);
            let entries: Vec<(&wgpu::Buffer, Option<u64>)> = bound
                .iter()
                .enumerate()
                .map(|(i, &b)| (b, if i == 0 { np } else { None }))
                .collect();
            let bind = super::bind_group(&ctx.device, "resnet_grad", &self.layout, &entries);
            let (gx, gy) = grid(agents, 1, ctx.limits.max_compute_workgroups_per_dimension);
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &bind, &[0]);
                pass.dispatch_workgroups(gx, gy, 1);
            }
            ctx.queue.submit([enc.finish()]);
        })?;
        let g = ctx.read_buffer(&buffers[2], grad_bytes)?;
        let l = ctx.read_buffer(&buffers[3], agents as u64 * 4)?;
        Ok((
            bytemuck::cast_slice(&g).to_vec(),
            bytemuck::cast_slice(&l).to_vec(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::NetParams;
    use crate::gpu::shader::{assert_twin, twin_fields};

    #[test]
    fn net_params_match_their_wgsl_twin() {
        assert_twin::<NetParams>(
            "resnet_grad",
            "NetParams",
            twin_fields!(
                NetParams: key,
                step,
                sub,
                agents,
                batch,
                train,
                verlet,
                layer_step,
                agent_base
            ),
        );
    }
}
