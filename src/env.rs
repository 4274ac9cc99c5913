//! The environment variables the library honours, read here and nowhere else, so
//! that one file lists every setting that can change how (never what) an
//! ensemble computes. Each is read when it is used, not cached, and a value that
//! is not allowed is an error naming the variable.

use crate::error::{ConfigError, Error};

/// A variable the library reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// `SGLD_SWARM_SIMD`: the CPU lane path's instructions (`auto`, `portable`,
    /// `avx2`, `avx512`).
    Simd,
    /// `SGLD_SWARM_GPU_WORKGROUP`: the step kernels' workgroup size (32, 64,
    /// 128, 256).
    GpuWorkgroup,
    /// `SGLD_SWARM_GPU_INT64`: `0` forces the portable Philox multiply.
    GpuInt64,
    /// `SGLD_SWARM_GPU_CHECKS`: wgpu's run-time checks in the step kernels
    /// and the network's (`all`, `bounds`, `none`).
    GpuChecks,
    /// `SGLD_SWARM_GPU_NET_KERNEL`: the version of the network's gradient
    /// kernel (`staged`, `chunked`, `tree`, `trace`).
    GpuNetKernel,
    /// `SGLD_SWARM_GPU_MEAN`: how the step kernels get the run means
    /// (`auto`, `passes`, `fused`).
    GpuMean,
    /// `SGLD_SWARM_GPU_VEC4`: `1` (the default) moves the block kernel's X
    /// and Y as `vec4` where 4 divides d; `0` a float at a time.
    GpuVec4,
    /// `SGLD_SWARM_GPU_SPECIALIZE`: `1` (the default) compiles the engine's
    /// scheme into the block kernel as constants; `0` reads it from the
    /// step's parameters.
    GpuSpecialize,
    /// `WGPU_ADAPTER_NAME`: part of the name of the adapter to use.
    WgpuAdapterName,
    /// `WGPU_BACKEND`: the backends to look for adapters on (`vulkan`, `metal`,
    /// `dx12`, `gl`, comma-separated).
    WgpuBackend,
}

impl Var {
    /// Every variable.
    pub const ALL: [Var; 10] = [
        Var::Simd,
        Var::GpuWorkgroup,
        Var::GpuInt64,
        Var::GpuChecks,
        Var::GpuNetKernel,
        Var::GpuMean,
        Var::GpuVec4,
        Var::GpuSpecialize,
        Var::WgpuAdapterName,
        Var::WgpuBackend,
    ];

    /// The variable's name.
    pub fn name(self) -> &'static str {
        match self {
            Var::Simd => "SGLD_SWARM_SIMD",
            Var::GpuWorkgroup => "SGLD_SWARM_GPU_WORKGROUP",
            Var::GpuInt64 => "SGLD_SWARM_GPU_INT64",
            Var::GpuChecks => "SGLD_SWARM_GPU_CHECKS",
            Var::GpuNetKernel => "SGLD_SWARM_GPU_NET_KERNEL",
            Var::GpuMean => "SGLD_SWARM_GPU_MEAN",
            Var::GpuVec4 => "SGLD_SWARM_GPU_VEC4",
            Var::GpuSpecialize => "SGLD_SWARM_GPU_SPECIALIZE",
            Var::WgpuAdapterName => "WGPU_ADAPTER_NAME",
            Var::WgpuBackend => "WGPU_BACKEND",
        }
    }

    /// Its value, if it is set (and valid Unicode).
    pub fn get(self) -> Option<String> {
        std::env::var(self.name()).ok()
    }

    /// The error for a value that is not allowed.
    pub fn invalid(self, value: &str, allowed: &str) -> Error {
        Error::Config(ConfigError {
            field: self.name().into(),
            value: format!("{value:?}"),
            allowed: allowed.into(),
        })
    }
}

/// wgpu's instance settings, which wgpu reads from its own variables
/// (`WGPU_VALIDATION`, `WGPU_DEBUG`, ...).
pub fn wgpu_instance_descriptor() -> wgpu::InstanceDescriptor {
    wgpu::InstanceDescriptor::new_without_display_handle_from_env()
}

#[cfg(test)]
mod tests {
    /// No other library file reads the environment: a new knob is added here.
    #[test]
    fn the_environment_is_read_here_only() {
        fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    // The command line's own (display and terminal) variables.
                    if !path.ends_with("bin") {
                        visit(&path, found);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("env.rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, line) in text.lines().enumerate() {
                        if line.contains("env::var") || line.contains("from_env()") {
                            found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        visit(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "environment read outside src/env.rs:\n{}",
            found.join("\n")
        );
    }
}
