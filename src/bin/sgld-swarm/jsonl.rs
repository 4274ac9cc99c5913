//! `--jsonl FILE|-`: one JSON object per record, as the methods run, for piping
//! into other tools.

use serde::Serialize;
use sgld_swarm::diagnostics::{OverRuns, RunStats, Stat};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One line: the method, the step, each run's statistics and, per statistic,
/// its median, min and max over runs (as in summary.json).
#[derive(Serialize)]
struct Line<'a> {
    method: &'a str,
    step: u64,
    runs: &'a [RunStats],
    over_runs: std::collections::BTreeMap<&'static str, OverRuns>,
}

/// The stream, and the first error writing it (reported when the run ends; the
/// run itself goes on).
pub struct JsonLines {
    out: Box<dyn Write>,
    /// The file, or `None` for standard output.
    path: Option<PathBuf>,
    error: Option<std::io::Error>,
}

impl JsonLines {
    /// Standard output for `-`, else the file `arg`, created (or truncated) now.
    pub fn open(arg: &Path) -> Result<Self, sgld_swarm::Error> {
        if arg == Path::new("-") {
            return Ok(Self {
                out: Box::new(std::io::stdout().lock()),
                path: None,
                error: None,
            });
        }
        let file = std::fs::File::create(arg).map_err(|source| sgld_swarm::Error::Write {
            path: arg.to_path_buf(),
            source,
        })?;
        Ok(Self {
            out: Box::new(std::io::BufWriter::new(file)),
            path: Some(arg.to_path_buf()),
            error: None,
        })
    }

    /// Whether the lines go to standard output.
    pub fn is_stdout(&self) -> bool {
        self.path.is_none()
    }

    /// Writes one record's line (and flushes it, so a reader sees it now).
    pub fn record(&mut self, method: &str, step: u64, stats: &[RunStats]) {
        if self.error.is_some() {
            return;
        }
        let over_runs = Stat::ALL
            .into_iter()
            .map(|s| (s.name(), OverRuns::of(stats, s)))
            .collect();
        let line = Line {
            method,
            step,
            runs: stats,
            over_runs,
        };
        let written = serde_json::to_writer(&mut self.out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    /// The first write error, as the library's error naming the stream.
    pub fn take_error(&mut self) -> Option<sgld_swarm::Error> {
        let source = self.error.take()?;
        Some(sgld_swarm::Error::Write {
            path: self
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from("standard output")),
            source,
        })
    }
}
