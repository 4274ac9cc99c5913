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

/// A request that the chosen engine cannot run, each with what runs it instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unsupported {
    /// A potential defined in Rust alone, asked to run on the GPU.
    #[error(
        "the GPU engine runs the built-in potentials and those with a WGSL twin \
         (Ensemble::with_wgsl_potential); {potential} is defined in Rust alone and runs on \
         the CPU (Backend::Cpu or Backend::Auto)"
    )]
    RustPotentialOnGpu {
        /// The potential's name.
        potential: String,
    },
    /// A potential with a minibatch gradient and a WGSL twin: the GPU kernels do
    /// not draw minibatches.
    #[error(
        "{potential} has a minibatch gradient, which the GPU kernels do not draw yet; \
         use Ensemble::with_potential (CPU)"
    )]
    StochasticOnGpu {
        /// The potential's name.
        potential: String,
    },
    /// A scheme or taming that the network's GPU engine does not run.
    #[error("{what} for the network runs on the CPU engine only; use --backend cpu")]
    NetworkOnGpu {
        /// The scheme or taming (`the smoothed scheme`, `norm taming`).
        what: &'static str,
    },
    /// SIMD instructions that this CPU lacks, asked for by name.
    #[error("{asked_by}: this CPU cannot run {level} instructions (best: {best})")]
    Simd {
        /// Who asked (`SGLD_SWARM_SIMD = "avx512"`, or the CPU path option).
        asked_by: String,
        /// The level asked for.
        level: &'static str,
        /// The best level this CPU has.
        best: &'static str,
    },
    /// An engine that runs in one process only, asked for under several ranks.
    #[error("{what} runs in one process only; over several ranks use --backend cpu")]
    OneProcessOnly {
        /// The engine (`the network's GPU engine`).
        what: &'static str,
    },
    /// More outer steps than the random stream addresses (2^32).
    #[error(
        "cannot advance {steps} steps from step {step}: the stream addresses at most 2^32 steps"
    )]
    TooManySteps {
        /// The step the ensemble is at.
        step: u64,
        /// The steps asked for.
        steps: u64,
    },
}

/// Every error the library returns; its message says what happened and, for input
/// errors, what to change.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration field, potential parameter or environment variable has a
    /// value that is not allowed; found by validation before anything runs.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),

    /// A TOML document does not parse or has a field of the wrong type or name.
    #[error("{origin}:{line}:{column}: {message}")]
    Toml {
        /// Where the document came from: its file path, or a name such as
        /// `preset <name>`.
        origin: String,
        /// The 1-based line of the error (0 when the parser gives no position).
        line: usize,
        /// The 1-based column of the error (0 when the parser gives no position).
        column: usize,
        /// The parser's message, prefixed by the field path (`method[1].dt: ...`)
        /// when the error is inside a field.
        message: String,
    },

    /// An input file (a configuration) cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// The output folder cannot be created (checked before a run starts).
    #[error("cannot write to the output folder {}: {source}", path.display())]
    OutputDir {
        /// The folder that could not be created.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// An output file cannot be created, synced, renamed into place, or an old
    /// output removed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The output file (its final name, not the `.partial-` one).
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A position became NaN or exceeded `1e20` (`DIVERGENCE_LIMIT`) in
    /// magnitude after an outer step (DESIGN section 2.5); the ensemble stops and
    /// every later `advance` returns this error again.
    #[error(
        "{method} diverged in run {run} at step {step} (agent {agent}: a position is {value}); \
         {hint}"
    )]
    Diverged {
        /// The name of the method that diverged.
        method: String,
        /// What to change, for the method ([`crate::config::MethodConfig::divergence_hint`]).
        hint: &'static str,
        /// The run `r` holding the bad value, in `0..R`.
        run: usize,
        /// The agent `i` within that run, in `0..N`.
        agent: usize,
        /// The earliest outer step `n` whose positions hold the bad value.
        step: u64,
        /// The offending coordinate value (NaN, infinite or beyond `1e20`).
        value: f32,
    },

    /// An array cannot be allocated, or the positions `R N d` are too many to
    /// index on this machine.
    #[error(
        "cannot allocate {what}: {bytes} bytes ({:.2} GiB); reduce runs, agents or dim",
        *bytes as f64 / (1u64 << 30) as f64
    )]
    Alloc {
        /// What was to be allocated (the positions, the records, ...).
        what: String,
        /// The size asked for, in bytes.
        bytes: u128,
    },

    /// The run's host memory, counted before anything is allocated
    /// (`engine::memory::Footprint`), exceeds what the machine has available.
    #[error(
        "the run needs {:.2} GiB of memory ({parts}) and this machine has {:.2} GiB \
         available; reduce runs, agents or dim (or raise record_every)",
        *needed as f64 / (1u64 << 30) as f64,
        *available as f64 / (1u64 << 30) as f64
    )]
    Memory {
        /// The bytes the run needs, all parts together.
        needed: u128,
        /// The bytes available (`MemAvailable` on Linux).
        available: u128,
        /// The nonzero parts of `needed`, named and in GiB, comma-separated.
        parts: String,
    },

    /// The chosen engine cannot run the request; the [`Unsupported`] case says
    /// which request and what runs it instead.
    #[error("{0}")]
    Unsupported(#[from] Unsupported),

    /// The GPU failed: no adapter, no device, a shader that does not validate, out
    /// of memory, a failed read-back or a lost device.
    #[error("{0}")]
    Gpu(#[from] crate::gpu::GpuError),

    /// Encoding an output (a PNG, `summary.json`, an array) failed, with a
    /// message rather than an I/O error.
    #[error("cannot write {}: {message}", path.display())]
    Output {
        /// The output file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// Another rank of an ensemble split over processes failed (its own error,
    /// in words); every rank stops with it rather than wait for that rank.
    #[error("rank {rank} failed: {message}")]
    Rank {
        /// The rank that failed.
        rank: usize,
        /// Its error's exit status ([`Error::exit_code`]).
        code: u8,
        /// Its error's message.
        message: String,
    },

    /// MPI could not be started or used (feature `mpi`).
    #[error("MPI: {0}")]
    Mpi(String),

    /// A checkpoint that cannot be resumed: none there, damaged, of another
    /// format, or of another configuration.
    #[error("cannot resume from {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint folder or the file in it.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
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
                | Error::Unsupported(_)
                | Error::Checkpoint { .. }
                | Error::Gpu(crate::gpu::GpuError::NoAdapter(_))
                | Error::Rank { code: 2, .. }
        )
    }
}

impl Error {
    /// Whether writing an output failed (exit status 3 in the CLI): the run
    /// itself went through, its outputs did not all reach the disk.
    pub fn is_write_error(&self) -> bool {
        matches!(
            self,
            Error::Write { .. } | Error::Output { .. } | Error::Rank { code: 3, .. }
        )
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

/// The library's result type, with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
