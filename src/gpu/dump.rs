//! The dump kernel (`shaders/dump.wgsl`): Philox words, uniforms and normals for a
//! range of counters, to check the GPU's stream against the CPU's.

use super::{GpuContext, GpuError, shader};

/// Keep in sync with `DumpParams` in shaders/dump.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct DumpParams {
    base: [u32; 4],
    key: [u32; 2],
    count: u32,
    _pad: u32,
}
const _: () = assert!(std::mem::size_of::<DumpParams>() == 32);

/// What the kernel wrote for counters `[base.0 + i, base.1, base.2, base.3]`.
pub struct Dump {
    /// The Philox-4x32-10 block of counter `i` under the key, one entry per counter.
    pub words: Vec<[u32; 4]>,
    /// Each word as the GPU's uniform (`uniform01`), the twin of [`crate::rng::uniform`].
    pub uniforms: Vec<[f32; 4]>,
    /// The block's four standard normals (Box-Muller), the twin of [`crate::rng::normals`].
    pub normals: Vec<[f32; 4]>,
}

const WORKGROUP: u32 = 64;

/// Runs the dump kernel for `count` consecutive counters, with the 64-bit
/// multiply if `int64` (which the device must have) or the portable one.
pub fn dump(
    ctx: &GpuContext,
    base: [u32; 4],
    key: [u32; 2],
    count: u32,
    int64: bool,
) -> Result<Dump, GpuError> {
    let composed = shader::compose_opts(
        "dump",
        &shader::ComposeOptions {
            potential: None,
            int64,
            ..Default::default()
        },
    )?;
    composed.validate()?;
    let size = count as u64 * 16;
    let (pipeline, layout, buffers) = ctx.scoped(|| {
        use super::Binding::*;
        let (pipeline, layout) = ctx.pipeline(
            "dump",
            &composed.source,
            &[
                Uniform,
                StorageReadWrite,
                StorageReadWrite,
                StorageReadWrite,
            ],
        );
        let params = DumpParams {
            base,
            key,
            count,
            _pad: 0,
        };
        let uniform = ctx.buffer_init(
            "dump params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        );
        let out = |label| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        };
        (
            pipeline,
            layout,
            [uniform, out("words"), out("uniforms"), out("normals")],
        )
    })?;
    let bound: Vec<&wgpu::Buffer> = buffers.iter().collect();
    ctx.dispatch_once("dump", &pipeline, &layout, &bound, count, WORKGROUP)?;
    let words = ctx.read_buffer(&buffers[1], size)?;
    let uniforms = ctx.read_buffer(&buffers[2], size)?;
    let normals = ctx.read_buffer(&buffers[3], size)?;
    Ok(Dump {
        words: bytemuck::cast_slice(&words).to_vec(),
        uniforms: bytemuck::cast_slice(&uniforms).to_vec(),
        normals: bytemuck::cast_slice(&normals).to_vec(),
    })
}
