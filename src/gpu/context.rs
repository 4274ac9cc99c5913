//! The GPU context: instance, adapter, device and queue, chosen once, with every
//! failure turned into a [`GpuError`].

use super::Binding;
use crate::env::Var;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What can go wrong on the GPU, as values.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    /// No adapter was found: none is installed, or `WGPU_BACKEND` / `WGPU_ADAPTER_NAME`
    /// ruled them all out (the string then names the variable; otherwise it is empty).
    #[error(
        "no GPU adapter found{0}; install a GPU driver, or Mesa's software Vulkan driver \
         (Debian/Ubuntu: apt-get install mesa-vulkan-drivers), or use --backend cpu"
    )]
    NoAdapter(String),
    /// The chosen adapter refused to open a device with its own features and limits.
    #[error("cannot open the GPU device {adapter}: {message}")]
    Device {
        /// The adapter's name.
        adapter: String,
        /// wgpu's reason.
        message: String,
    },
    /// A WGSL module could not be composed or failed naga's validation (file and line
    /// in the [`ShaderError`](super::shader::ShaderError)).
    #[error("shader {0}")]
    Shader(#[from] super::shader::ShaderError),
    /// wgpu's validation error scope caught an error while commands were recorded or
    /// submitted ([`GpuContext::scoped`]).
    #[error("GPU validation error: {0}")]
    Validation(String),
    /// A buffer the run needs exceeds the adapter's binding or buffer size limit.
    #[error(
        "{what} needs {bytes} bytes ({:.2} GiB) in one buffer and {adapter} allows {limit} \
         bytes ({:.2} GiB); reduce runs, agents or dim, or use --backend cpu",
        gib(*bytes),
        gib(*limit)
    )]
    TooLarge {
        /// What the buffer holds.
        what: String,
        /// The buffer's size.
        bytes: u64,
        /// The adapter's limit on one buffer.
        limit: u64,
        /// The adapter's name.
        adapter: String,
    },
    /// A step needs more invocations than the kernels' 32-bit index reaches.
    #[error(
        "{invocations} invocations per step do not fit the kernels' 32-bit index; \
         reduce runs, agents or dim"
    )]
    TooManyInvocations {
        /// The invocations one step needs.
        invocations: u64,
    },
    /// An allocation failed on the device.
    #[error(
        "the GPU ran out of memory{}: {message}; reduce runs, agents or dim, or use --backend cpu",
        needed.map(|b| format!(" (the ensemble needs about {:.2} GiB on {adapter})", gib(b))).unwrap_or_default()
    )]
    OutOfMemory {
        /// What the ensemble's buffers need in all, when known.
        needed: Option<u64>,
        /// The adapter's name.
        adapter: String,
        /// wgpu's message.
        message: String,
    },
    /// Mapping a staging buffer to read results back failed ([`GpuContext::read_buffer`]).
    #[error("cannot read a GPU buffer back: {0}")]
    Map(String),
    /// The device was lost (driver reset, removal, timeout); the string is wgpu's reason
    /// and message.
    #[error("the GPU device was lost: {0}")]
    Lost(String),
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// An adapter with its device and queue.
pub struct GpuContext {
    /// The logical device that buffers and pipelines are made on.
    pub device: wgpu::Device,
    /// The device's queue, to which command buffers are submitted.
    pub queue: wgpu::Queue,
    /// The adapter's name, driver, backend and device type.
    pub info: wgpu::AdapterInfo,
    /// The limits the device was opened with: all the adapter offers.
    pub limits: wgpu::Limits,
    /// Whether the device has 64-bit integers (the faster Philox multiply).
    pub int64: bool,
    lost: Arc<Mutex<Option<String>>>,
    /// Pipelines built so far, by label, bindings and source: every ensemble of
    /// an experiment (and every test) reuses them instead of compiling again.
    pipelines: Mutex<HashMap<String, (wgpu::ComputePipeline, wgpu::BindGroupLayout)>>,
}

/// The adapters (indices into `kinds`, their device type and backend) that
/// ranks take in turn: those of the most preferred device type (hardware first,
/// then software; compute needs no surface), in the order given, without the
/// OpenGL ones where that type has any on another backend. A GPU that Vulkan
/// and OpenGL both show is one GPU, and OpenGL's compute is the fallback: its
/// context is locked per call, which under load has timed out.
fn candidates(kinds: &[(wgpu::DeviceType, wgpu::Backend)]) -> Vec<usize> {
    let rank = |t: wgpu::DeviceType| match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let Some(best) = kinds.iter().map(|&(t, _)| rank(t)).min() else {
        return Vec::new();
    };
    let of_kind: Vec<usize> = (0..kinds.len())
        .filter(|&i| rank(kinds[i].0) == best)
        .collect();
    let not_gl: Vec<usize> = of_kind
        .iter()
        .copied()
        .filter(|&i| kinds[i].1 != wgpu::Backend::Gl)
        .collect();
    if not_gl.is_empty() { of_kind } else { not_gl }
}

impl GpuContext {
    /// One context for the whole process, made on first use (choosing an adapter
    /// takes a while, and every ensemble can share the device).
    pub fn shared() -> Result<Arc<GpuContext>, GpuError> {
        static SHARED: std::sync::OnceLock<Result<Arc<GpuContext>, GpuError>> =
            std::sync::OnceLock::new();
        SHARED.get_or_init(|| Self::new().map(Arc::new)).clone()
    }

    /// [`GpuContext::shared`] for one rank of an ensemble split over
    /// processes, one process per rank: its GPU is adapter `local_rank` modulo
    /// the adapters of the preferred kind (see [`candidates`]), so that the
    /// ranks of one machine take its GPUs in turn.
    pub fn shared_for_rank(local_rank: usize) -> Result<Arc<GpuContext>, GpuError> {
        static SHARED: std::sync::OnceLock<Result<Arc<GpuContext>, GpuError>> =
            std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| pollster::block_on(Self::new_async(local_rank)).map(Arc::new))
            .clone()
    }

    /// The first suitable adapter: `WGPU_BACKEND` and `WGPU_ADAPTER_NAME` are honoured;
    /// otherwise a hardware GPU is preferred to a software one.
    pub fn new() -> Result<Self, GpuError> {
        pollster::block_on(Self::new_async(0))
    }

    /// Adapter `pick` (modulo their number) among the suitable adapters of the
    /// most preferred kind.
    async fn new_async(pick: usize) -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(crate::env::wgpu_instance_descriptor());
        let backend_var = Var::WgpuBackend.get();
        let backends = backend_var
            .as_deref()
            .map_or(wgpu::Backends::all(), wgpu::Backends::from_comma_list);
        let mut adapters = instance.enumerate_adapters(backends).await;
        let wanted = Var::WgpuAdapterName.get().map(|s| s.to_lowercase());
        if let Some(w) = &wanted {
            adapters.retain(|a| a.get_info().name.to_lowercase().contains(w));
        }
        let kinds: Vec<(wgpu::DeviceType, wgpu::Backend)> = adapters
            .iter()
            .map(|a| {
                let info = a.get_info();
                (info.device_type, info.backend)
            })
            .collect();
        let take = candidates(&kinds);
        let chosen = (!take.is_empty()).then(|| take[pick % take.len()]);
        let Some(adapter) = chosen.and_then(|i| adapters.into_iter().nth(i)) else {
            // Say which variable ruled the adapters out, if one did.
            let mut filter = wanted.map_or(String::new(), |w| {
                format!(" whose name contains {w:?} (WGPU_ADAPTER_NAME)")
            });
            if let Some(v) = backend_var {
                filter.push_str(&if backends.is_empty() {
                    format!(
                        " for WGPU_BACKEND = {v:?}, which names no backend (allowed: vulkan, \
                         metal, dx12, gl, comma-separated; or unset it)"
                    )
                } else {
                    format!(
                        " on the backends WGPU_BACKEND = {v:?} allows (unset it to try every \
                         backend)"
                    )
                });
            }
            return Err(GpuError::NoAdapter(filter));
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        let int64 = adapter.features().contains(wgpu::Features::SHADER_INT64);
        let required_features = if int64 {
            wgpu::Features::SHADER_INT64
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("sgld-swarm"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device {
                adapter: info.name.clone(),
                message: e.to_string(),
            })?;
        let lost = Arc::new(Mutex::new(None));
        let lost_cb = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            *lost_cb.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(format!("{reason:?}: {message}"));
        });
        Ok(Self {
            device,
            queue,
            info,
            limits,
            int64,
            lost,
            pipelines: Mutex::new(HashMap::new()),
        })
    }

    /// The compute pipeline (entry point `main`) of `source` with group 0 laid out
    /// as `bindings`, built once per context.
    pub fn pipeline(
        &self,
        label: &str,
        source: &str,
        bindings: &[Binding],
    ) -> (wgpu::ComputePipeline, wgpu::BindGroupLayout) {
        self.pipeline_checked(label, source, bindings, super::Checks::All)
    }

    /// [`Self::pipeline`] with the run-time checks chosen; see [`super::Checks`]
    /// for when fewer are allowed.
    pub(crate) fn pipeline_checked(
        &self,
        label: &str,
        source: &str,
        bindings: &[Binding],
        checks: super::Checks,
    ) -> (wgpu::ComputePipeline, wgpu::BindGroupLayout) {
        let key = format!("{label}\n{bindings:?}\n{checks:?}\n{source}");
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(key)
            .or_insert_with(|| super::pipeline_for(&self.device, label, source, bindings, checks))
            .clone()
    }

    /// A buffer holding `contents`.
    pub fn buffer_init(
        &self,
        label: &str,
        contents: &[u8],
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
    }

    /// Binds `buffers` to group 0 in order, dispatches `count` invocations of
    /// `workgroup` once, and submits (for the kernels the tests use).
    pub fn dispatch_once(
        &self,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        layout: &wgpu::BindGroupLayout,
        buffers: &[&wgpu::Buffer],
        count: u32,
        workgroup: u32,
    ) -> Result<(), GpuError> {
        let (gx, gy) = super::grid(
            count,
            workgroup,
            self.limits.max_compute_workgroups_per_dimension,
        );
        self.scoped(|| {
            let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout,
                entries: &buffers
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry {
                        binding: i as u32,
                        resource: b.as_entire_binding(),
                    })
                    .collect::<Vec<_>>(),
            });
            let mut enc = self.device.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &bind, &[]);
                pass.dispatch_workgroups(gx, gy, 1);
            }
            self.queue.submit([enc.finish()]);
        })
    }

    /// Whether the adapter is a software rasteriser (llvmpipe and the like).
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// The adapter in words: name, driver and backend.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {:?})",
            self.info.name, self.info.driver, self.info.backend
        )
    }

    /// The error of a device lost since the context was made, if any.
    pub fn check_lost(&self) -> Result<(), GpuError> {
        match self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(m) => Err(GpuError::Lost(m)),
            None => Ok(()),
        }
    }

    /// Runs `f` inside validation and out-of-memory error scopes and returns the
    /// first error they caught.
    pub fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T, GpuError> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o {
            return Err(GpuError::OutOfMemory {
                needed: None,
                adapter: self.info.name.clone(),
                message: e.to_string(),
            });
        }
        if let Some(e) = v {
            return Err(GpuError::Validation(e.to_string()));
        }
        self.check_lost()?;
        Ok(value)
    }

    /// Copies `size` bytes of `buffer` (which has COPY_SRC) into host memory.
    pub fn read_buffer(&self, buffer: &wgpu::Buffer, size: u64) -> Result<Vec<u8>, GpuError> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
        self.queue.submit([enc.finish()]);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        // Waiting here is what lets the map callback run.
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Map(e.to_string()))?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(GpuError::Map(e.to_string())),
            Err(_) => return Err(GpuError::Map("the map callback never ran".into())),
        }
        self.check_lost()?;
        let data = slice
            .get_mapped_range()
            .map_err(|e| GpuError::Map(e.to_string()))?
            .to_vec();
        staging.unmap();
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::candidates;
    use wgpu::{Backend::*, DeviceType::*};

    /// Ranks take the preferred device type's adapters in turn, hardware
    /// before software, and an adapter that OpenGL shows beside another
    /// backend's is not a GPU of its own.
    #[test]
    fn ranks_take_one_adapter_per_gpu_of_the_preferred_kind() {
        // Mesa's llvmpipe through Vulkan and through OpenGL: one adapter.
        assert_eq!(candidates(&[(Cpu, Vulkan), (Cpu, Gl)]), vec![0]);
        assert_eq!(candidates(&[(Cpu, Gl), (Cpu, Vulkan)]), vec![1]);
        // OpenGL alone still serves.
        assert_eq!(candidates(&[(Cpu, Gl)]), vec![0]);
        // Two GPUs, each also shown by OpenGL, and a software adapter.
        assert_eq!(
            candidates(&[
                (DiscreteGpu, Vulkan),
                (DiscreteGpu, Gl),
                (Cpu, Vulkan),
                (DiscreteGpu, Vulkan),
                (DiscreteGpu, Gl),
            ]),
            vec![0, 3]
        );
        // Hardware before software, whatever its backend.
        assert_eq!(candidates(&[(Cpu, Vulkan), (IntegratedGpu, Gl)]), vec![1]);
        assert_eq!(candidates(&[]), Vec::<usize>::new());
    }
}
