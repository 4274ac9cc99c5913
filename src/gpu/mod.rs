//! The GPU side: a context (adapter, device, errors, a pipeline cache), the WGSL
//! sources and their validation, the GPU engine, and the kernels that tests use
//! to check the GPU's numbers against the CPU's (`dump`, `grad_check`).

pub mod context;
// Kernels that only the tests use (the stream's words and the WGSL gradients
// against the CPU's): public for them, not part of the API.
#[doc(hidden)]
pub mod dump;
#[doc(hidden)]
pub mod grad_check;
pub mod potential;
pub mod resnet;
pub mod shader;

pub use context::{GpuContext, GpuError};

/// Workgroups along x for `count` invocations of `size` each, split into a 2-D
/// grid when they pass the per-dimension limit.
pub fn grid(count: u32, size: u32, max_per_dim: u32) -> (u32, u32) {
    let groups = count.div_ceil(size).max(1);
    if groups <= max_per_dim {
        (groups, 1)
    } else {
        (max_per_dim, groups.div_ceil(max_per_dim))
    }
}

/// How a kernel uses binding `i` of group 0.
#[derive(Debug, Clone, Copy)]
pub enum Binding {
    /// A uniform buffer bound whole.
    Uniform,
    /// A uniform read at a per-dispatch offset (one parameter block per dispatch).
    UniformDynamic(u64),
    /// A read-only storage buffer.
    StorageRead,
    /// A storage buffer the kernel writes.
    StorageReadWrite,
}

/// Group 0 of a kernel with `bufs` bound in order; a binding with a size (the
/// parameter block of a dynamic-offset uniform) is bound at offset 0 with it.
pub(crate) fn bind_group(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    bufs: &[(&wgpu::Buffer, Option<u64>)],
) -> wgpu::BindGroup {
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &bufs
            .iter()
            .enumerate()
            .map(|(i, &(b, size))| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: match size {
                    Some(s) => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: b,
                        offset: 0,
                        size: std::num::NonZeroU64::new(s),
                    }),
                    None => b.as_entire_binding(),
                },
            })
            .collect::<Vec<_>>(),
    })
}

/// Which of wgpu's run-time checks a kernel is compiled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Checks {
    /// wgpu's default: index clamping and a bound on every loop.
    All,
    /// Index clamping only: loops without the injected bound, so that the
    /// driver's compiler sees plain counted loops.
    Bounds,
    /// Neither; only for the built-in kernels, whose indices are in range by
    /// construction and whose loops all end.
    None,
}

impl Checks {
    /// The built-in kernels' checks, from `SGLD_SWARM_GPU_CHECKS` (`all`,
    /// `bounds`, `none`; default `bounds`: loop bounding off is 7% faster on an
    /// H200, docs/PERFORMANCE.md).
    pub(crate) fn selected() -> Result<Self, crate::Error> {
        use crate::env::Var;
        match Var::GpuChecks.get().as_deref() {
            None | Some("bounds") => Ok(Checks::Bounds),
            Some("all") => Ok(Checks::All),
            Some("none") => Ok(Checks::None),
            Some(v) => Err(Var::GpuChecks.invalid(v, "must be all, bounds or none")),
        }
    }

    fn runtime(self) -> wgpu::ShaderRuntimeChecks {
        let mut c = wgpu::ShaderRuntimeChecks::checked();
        c.force_loop_bounding = self == Checks::All;
        c.bounds_checks = self != Checks::None;
        c
    }
}

/// An explicit layout for group 0 (bindings 0, 1, ...), so that a binding the
/// chosen potential does not read is still part of the layout.
pub(crate) fn pipeline_for(
    device: &wgpu::Device,
    label: &str,
    source: &str,
    bindings: &[Binding],
    checks: Checks,
) -> (wgpu::ComputePipeline, wgpu::BindGroupLayout) {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match b {
                    Binding::Uniform | Binding::UniformDynamic(_) => {
                        wgpu::BufferBindingType::Uniform
                    }
                    Binding::StorageRead => wgpu::BufferBindingType::Storage { read_only: true },
                    Binding::StorageReadWrite => {
                        wgpu::BufferBindingType::Storage { read_only: false }
                    }
                },
                has_dynamic_offset: matches!(b, Binding::UniformDynamic(_)),
                min_binding_size: match b {
                    Binding::UniformDynamic(size) => std::num::NonZeroU64::new(*size),
                    _ => None,
                },
            },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let desc = wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    };
    let module = match checks {
        Checks::All => device.create_shader_module(desc),
        // SAFETY: callers pass Bounds or None only for the built-in kernels, whose
        // loops are all counted (bounds from uniforms or constants) and, for
        // None, whose indices stay inside their buffers by construction (every
        // invocation past `jobs` returns first; buffers are sized from the same
        // counts).
        _ => unsafe { device.create_shader_module_trusted(desc, checks.runtime()) },
    };
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    (pipeline, layout)
}
