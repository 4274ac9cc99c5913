//! The library's errors: every failure a user can cause or meet comes back as one
//! of these, with a message that says what to change.

use std::path::PathBuf;

/// A field of the configuration with a value that is not allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} = {value}: {allowed}")]
pub struct ConfigError {
    /// The field, as written in the TOML (`method[1].dt`).
    pub field: String,
    /// The value given.
    pub value: String,
    /// What is allowed.
    pub allowed: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),

    #[error("{origin}:{line}:{column}: {message}")]
    Toml {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write to the output folder {}: {source}", path.display())]
    OutputDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{method} diverged in run {run} at step {step} (agent {agent}: a position is {value}); \
         try a smaller dt, or taming = \"coordinate\""
    )]
    Diverged {
        method: String,
        run: usize,
        agent: usize,
        step: u64,
        value: f32,
    },

    #[error(
        "cannot allocate {what}: {bytes} bytes ({:.2} GiB); reduce runs, agents or dim",
        *bytes as f64 / (1u64 << 30) as f64
    )]
    Alloc { what: String, bytes: u128 },

    #[error(
        "the run needs {:.2} GiB of memory ({parts}) and this machine has {:.2} GiB \
         available; reduce runs, agents or dim (or raise record_every)",
        *needed as f64 / (1u64 << 30) as f64,
        *available as f64 / (1u64 << 30) as f64
    )]
    Memory {
        needed: u128,
        available: u128,
        parts: String,
    },

    #[error("{0}")]
    Backend(String),

    #[error("{0}")]
    Gpu(#[from] crate::gpu::GpuError),

    #[error("cannot write {}: {message}", path.display())]
    Output { path: PathBuf, message: String },
}

impl Error {
    /// Whether the error is the user's input (exit status 2 in the CLI) rather than
    /// something that happened while running.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Error::Config(_)
                | Error::Toml { .. }
                | Error::Read { .. }
                | Error::OutputDir { .. }
                | Error::Alloc { .. }
                | Error::Memory { .. }
                | Error::Backend(_)
                | Error::Gpu(crate::gpu::GpuError::NoAdapter(_))
        )
    }
}

impl Error {
    /// Whether writing an output failed (exit status 3 in the CLI): the run
    /// itself went through, its outputs did not all reach the disk.
    pub fn is_write_error(&self) -> bool {
        matches!(self, Error::Write { .. } | Error::Output { .. })
    }

    /// The command line's exit status for this error: 2 for bad input, 3 for a
    /// failed write, 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        if self.is_input_error() {
            2
        } else if self.is_write_error() {
            3
        } else {
            1
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
