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
                | Error::Backend(_)
                | Error::Gpu(crate::gpu::GpuError::NoAdapter(_))
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
