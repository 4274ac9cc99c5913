//! The ResNet's minibatch gradient on the GPU (`shaders/resnet_grad.wgsl`): the
//! losses and gradients of many parameter vectors at once, a workgroup per
//! agent. Checked against [`crate::nn::loss::EllipsesLoss`] on the CPU; the
//! network's GPU engine (`src/engine/gpu/net.rs`) and `sgld-swarm bench --resnet`
//! call it.

use super::{Binding, Checks, GpuContext, GpuError, grid, shader};
use crate::error::{Error, Result};
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

/// The version of the gradient kernel (`SGLD_SWARM_GPU_NET_KERNEL`), kept
/// selectable for measurement (docs/PERFORMANCE.md). `Staged` and `Chunked` give
/// the same bits (the same arithmetic in the same order), and so does `Trace`;
/// `Tree` sums the samples in another order, hence differs by f32 rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKernel {
    /// `Chunked`, with the agent's parameters copied to workgroup memory first
    /// and the backward pass loading each layer's trace one layer ahead (the
    /// default). A network too deep for the adapter's workgroup memory runs
    /// `Chunked`.
    Staged,
    /// The parameter gradients summed over the samples eight layers at a time,
    /// each of 48 invocations summing one parameter.
    Chunked,
    /// A tree in workgroup memory per layer (the first version).
    Tree,
    /// `Staged` with the forward trace in a storage buffer (about 263 KB per
    /// agent for the paper's network) instead of the invocations' private
    /// arrays, which a driver may lower to selects or to local memory.
    Trace,
}

impl NetKernel {
    /// The version `SGLD_SWARM_GPU_NET_KERNEL` selects (default `staged`).
    pub fn selected() -> Result<Self> {
        use crate::env::Var;
        match Var::GpuNetKernel.get().as_deref() {
            None | Some("staged") => Ok(Self::Staged),
            Some("chunked") => Ok(Self::Chunked),
            Some("tree") => Ok(Self::Tree),
            Some("trace") => Ok(Self::Trace),
            Some(v) => Err(Var::GpuNetKernel.invalid(v, "must be staged, chunked, tree or trace")),
        }
    }

    /// The version's name, as `SGLD_SWARM_GPU_NET_KERNEL` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Chunked => "chunked",
            Self::Tree => "tree",
            Self::Trace => "trace",
        }
    }

    /// The version that runs for `loss`'s network on `ctx`: `Staged` becomes
    /// `Chunked` when the parameters do not fit in workgroup memory beside the
    /// kernel's own 3120 floats (the paper's network needs 15,576 bytes, within
    /// WebGPU's minimum of 16,384).
    pub fn effective(self, ctx: &GpuContext, loss: &EllipsesLoss) -> Self {
        match self {
            Self::Staged if !params_fit(ctx, loss) => Self::Chunked,
            other => other,
        }
    }

    /// The bytes of the `Trace` version's buffer for `agents` agents of
    /// `loss`'s network (16, a placeholder, for the others).
    pub fn trace_bytes(self, loss: &EllipsesLoss, agents: u64) -> u64 {
        match self {
            // TRACE_SLOTS slots of a vec2 (8 bytes) per invocation, 64 (the
            // kernel's WG) invocations per agent.
            Self::Trace => agents * (4 * loss.net.layers as u64 + 1) * 64 * 8,
            _ => 16,
        }
    }
}

/// Whether the agent's parameters fit in workgroup memory beside the kernel's
/// own 3120 floats (the paper's network needs 15,576 bytes, within WebGPU's
/// minimum of 16,384).
fn params_fit(ctx: &GpuContext, loss: &EllipsesLoss) -> bool {
    4 * (PART_FLOATS + loss.net.params() as u64)
        <= ctx.limits.max_compute_workgroup_storage_size as u64
}

/// The buffer `kernel` keeps its trace in, for `agents` agents (a placeholder
/// for the versions that keep it in private memory); an error names the
/// version, the agents and the adapter's limit when one binding cannot hold it.
pub(crate) fn trace_buffer(
    ctx: &GpuContext,
    loss: &EllipsesLoss,
    kernel: NetKernel,
    agents: u64,
) -> std::result::Result<wgpu::Buffer, GpuError> {
    let bytes = kernel.trace_bytes(loss, agents);
    let limit = ctx
        .limits
        .max_storage_buffer_binding_size
        .min(ctx.limits.max_buffer_size);
    if bytes > limit {
        return Err(GpuError::TooLarge {
            what: format!(
                "the trace of {agents} agents of the {}-layer network (SGLD_SWARM_GPU_NET_KERNEL=trace; the default, staged, needs no such buffer)",
                loss.net.layers
            ),
            bytes,
            limit,
            adapter: ctx.info.name.clone(),
        });
    }
    ctx.scoped(|| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("network trace"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        })
    })
}

/// The floats of workgroup memory the kernel uses besides the staged
/// parameters (`part` in shaders/resnet_grad.wgsl).
const PART_FLOATS: u64 = 3120;

/// The gradient kernel for `loss`'s network (its depth compiled in) with its
/// parameters at a dynamic offset, and the training set's buffer.
pub(crate) fn grad_pipeline(
    ctx: &GpuContext,
    loss: &EllipsesLoss,
    kernel: NetKernel,
) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout, wgpu::Buffer)> {
    let checks = Checks::selected()?;
    let composed = shader::compose_opts(
        "resnet_grad",
        &shader::ComposeOptions {
            int64: ctx.int64,
            ..Default::default()
        },
    )
    .map_err(GpuError::from)?;
    const DEPTH_LINE: &str = "const LAYERS: u32 = 128u;";
    const TREE_LINE: &str = "const TREE: bool = false;";
    const STAGED_LINE: &str = "const STAGED: bool = true;";
    const TRACE_LINE: &str = "const TRACE: bool = false;";
    const STAGED_SIZE_LINE: &str = "var<workgroup> staged: array<f32, 774>;";
    let params = loss.net.params() as u64;
    let kernel = kernel.effective(ctx, loss);
    // Trace stages the parameters where they fit, as Staged does.
    let staged =
        kernel == NetKernel::Staged || (kernel == NetKernel::Trace && params_fit(ctx, loss));
    let composed = composed
        .replace_line(
            DEPTH_LINE,
            &format!("const LAYERS: u32 = {}u;", loss.net.layers),
        )
        .expect("shaders/resnet_grad.wgsl declares its depth on one line")
        .replace_line(
            TREE_LINE,
            &format!("const TREE: bool = {};", kernel == NetKernel::Tree),
        )
        .and_then(|c| c.replace_line(STAGED_LINE, &format!("const STAGED: bool = {staged};")))
        .and_then(|c| {
            c.replace_line(
                TRACE_LINE,
                &format!("const TRACE: bool = {};", kernel == NetKernel::Trace),
            )
        })
        .and_then(|c| {
            c.replace_line(
                STAGED_SIZE_LINE,
                &format!(
                    "var<workgroup> staged: array<f32, {}>;",
                    if staged { params } else { 1 }
                ),
            )
        })
        .expect("shaders/resnet_grad.wgsl declares its version on one line each");
    composed.validate().map_err(GpuError::from)?;
    let data: Vec<[f32; 4]> = loss
        .train
        .x
        .iter()
        .zip(&loss.train.y)
        .map(|(p, &y)| [p[0] as f32, p[1] as f32, y as f32, 0.0])
        .collect();
    ctx.scoped(|| {
        use Binding::*;
        // Its loops are counted and its indices in range by construction, so
        // the step kernels' checks apply (Checks).
        let (pipeline, layout) = ctx.pipeline_checked(
            "resnet_grad",
            &composed.source,
            &[
                UniformDynamic(std::mem::size_of::<NetParams>() as u64),
                StorageRead,
                StorageRead,
                StorageReadWrite,
                StorageReadWrite,
                StorageReadWrite,
            ],
            checks,
        );
        let data = ctx.buffer_init(
            "training set",
            bytemuck::cast_slice(&data),
            wgpu::BufferUsages::STORAGE,
        );
        (pipeline, layout, data)
    })
    .map_err(Error::from)
}
const _: () = assert!(std::mem::size_of::<NetParams>() == 48);

/// The network, its training set on the device, and the pipeline.
pub struct ResNetGrad {
    ctx: Arc<GpuContext>,
    loss: EllipsesLoss,
    kernel: NetKernel,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    data: wgpu::Buffer,
}

impl ResNetGrad {
    /// Compiles the gradient kernel for `loss`'s network on `ctx` and uploads its
    /// training set.
    /// Fails on a GPU error, or on a value of `SGLD_SWARM_GPU_CHECKS` or
    /// `SGLD_SWARM_GPU_NET_KERNEL` that is not allowed.
    pub fn new(ctx: Arc<GpuContext>, loss: &EllipsesLoss) -> Result<Self> {
        Self::with_kernel(ctx, loss, NetKernel::selected()?)
    }

    /// [`Self::new`] with the kernel's version chosen.
    pub fn with_kernel(
        ctx: Arc<GpuContext>,
        loss: &EllipsesLoss,
        kernel: NetKernel,
    ) -> Result<Self> {
        let (pipeline, layout, data) = grad_pipeline(&ctx, loss, kernel)?;
        Ok(Self {
            kernel: kernel.effective(&ctx, loss),
            ctx,
            loss: loss.clone(),
            pipeline,
            layout,
            data,
        })
    }

    /// The kernel's version that runs ([`NetKernel::effective`]).
    pub fn kernel(&self) -> NetKernel {
        self.kernel
    }

    /// The minibatch losses and gradients of `thetas` (agents x parameters, the
    /// layout of [`crate::nn::resnet`]); agent `i` draws its minibatch as
    /// [`EllipsesLoss::minibatch`] does for `Draw { agent: draw.agent + i, ..draw }`.
    pub fn gradients(
        &self,
        thetas: &[f32],
        draw: Draw,
    ) -> std::result::Result<(Vec<f32>, Vec<f32>), GpuError> {
        self.gradients_repeated(thetas, draw, 1)
    }

    /// [`Self::gradients`] `calls` times on the device, for steps `draw.step`,
    /// `draw.step + 1`, ..., in one submit with one upload and one readback,
    /// returning the last call's: the kernel's own rate, for benchmarks.
    pub fn gradients_repeated(
        &self,
        thetas: &[f32],
        draw: Draw,
        calls: u32,
    ) -> std::result::Result<(Vec<f32>, Vec<f32>), GpuError> {
        let p = self.loss.net.params();
        assert_eq!(thetas.len() % p, 0, "whole parameter vectors");
        assert!(calls >= 1, "at least one call");
        let agents = (thetas.len() / p) as u32;
        let ctx = &self.ctx;
        // One parameter block per call, at the uniform offset alignment.
        let align = ctx.limits.min_uniform_buffer_offset_alignment as usize;
        let stride = std::mem::size_of::<NetParams>().div_ceil(align) * align;
        let mut blocks = vec![0u8; stride * calls as usize];
        for c in 0..calls {
            let params = NetParams::new(
                &self.loss,
                agents,
                Draw {
                    step: draw.step.wrapping_add(c),
                    ..draw
                },
            );
            let at = stride * c as usize;
            blocks[at..at + std::mem::size_of::<NetParams>()]
                .copy_from_slice(bytemuck::bytes_of(&params));
        }
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
                ctx.buffer_init("net params", &blocks, wgpu::BufferUsages::UNIFORM),
                ctx.buffer_init(
                    "theta",
                    bytemuck::cast_slice(thetas),
                    wgpu::BufferUsages::STORAGE,
                ),
                out("gradients", grad_bytes),
                out("losses", agents as u64 * 4),
            ]
        })?;
        let trace = trace_buffer(ctx, &self.loss, self.kernel, agents as u64)?;
        let bound = [
            &buffers[0],
            &buffers[1],
            &self.data,
            &buffers[2],
            &buffers[3],
            &trace,
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
                for c in 0..calls {
                    pass.set_bind_group(0, &bind, &[(stride * c as usize) as u32]);
                    pass.dispatch_workgroups(gx, gy, 1);
                }
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
