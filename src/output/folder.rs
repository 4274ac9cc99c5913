//! An output folder that always describes one run. Every file is written under a
//! temporary name, synced and renamed into place, so a kill leaves either the old
//! file or the new one, never a part. `summary.json` marks a complete run: it is
//! removed before anything new is written and written last, after the files an
//! earlier run of this tool left and this one did not write are removed. Files
//! the tool does not write are never touched.

use crate::error::{Error, Result};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file that says the folder holds one complete run.
pub const SUMMARY: &str = "summary.json";

/// Temporary files start with this (and keep the final extension, which the
/// PNG encoder reads).
const PARTIAL: &str = ".partial-";

/// Whether `name` is a file this tool writes into an output folder (and so may
/// replace or remove when another run is written there).
pub fn is_own_file(name: &str) -> bool {
    const FIXED: [&str; 7] = [
        SUMMARY,
        "history.csv",
        "config.toml",
        "distance.png",
        "paths.png",
        "probability.png",
        ".sgld-swarm-write-check",
    ];
    const PER_METHOD: [&str; 2] = ["positions-", "trajectories-"];
    FIXED.contains(&name)
        || name.starts_with(PARTIAL)
        || PER_METHOD
            .iter()
            .any(|p| name.starts_with(p) && name.ends_with(".npy"))
}

/// Writes `path` through `write` under a temporary name beside it, then renames
/// it into place. `write` reports its own failures as a message.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::result::Result<(), String>,
) -> Result<()> {
    let partial = partial_path(path);
    let io = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let result = (|| {
        let file = fs::File::create(&partial).map_err(io)?;
        let mut w = BufWriter::new(file);
        write(&mut w).map_err(|message| Error::Output {
            path: path.to_path_buf(),
            message,
        })?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        fs::rename(&partial, path).map_err(io)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

/// Renders `path` (a PNG) through `render`, which writes the file it is given,
/// under a temporary name beside it, then renames it into place.
pub fn render_atomically(path: &Path, render: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let partial = partial_path(path);
    // Errors name the file the user asked for, not its temporary twin.
    let renamed = |e: Error| match e {
        Error::Output { path: p, message } if p == partial => Error::Output {
            path: path.to_path_buf(),
            message,
        },
        other => other,
    };
    let io = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let result = render(&partial).map_err(renamed).and_then(|()| {
        // Synced before the rename, as every other file.
        fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        fs::rename(&partial, path).map_err(io)
    });
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!("{PARTIAL}{name}"))
}

/// What a finished write did.
#[derive(Debug, Default)]
pub struct Written {
    /// Every file written, `summary.json` last.
    pub files: Vec<PathBuf>,
    /// Files an earlier run of this tool had left there, now removed.
    pub removed: Vec<PathBuf>,
}

/// A run's outputs being written into one folder.
pub struct OutputFolder {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl OutputFolder {
    /// Starts writing into `dir` (created here if need be; the command line has
    /// created and checked it already with [`super::prepare_dir`]):
    /// an earlier run's `summary.json` goes first, so that until this run's is
    /// written the folder does not claim to hold a complete run.
    pub fn begin(dir: &Path) -> Result<Self> {
        // A library caller may give a folder that does not exist yet.
        fs::create_dir_all(dir).map_err(|source| Error::OutputDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let summary = dir.join(SUMMARY);
        match fs::remove_file(&summary) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::Write {
                    path: summary,
                    source: e,
                });
            }
            _ => {}
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        })
    }

    /// The path of `name` in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `name` atomically through `write`.
    pub fn write(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> std::result::Result<(), String>,
    ) -> Result<()> {
        let path = self.path(name);
        write_atomically(&path, write)?;
        self.files.push(path);
        Ok(())
    }

    /// Writes `name` atomically from bytes.
    pub fn write_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.write(name, |w| w.write_all(bytes).map_err(|e| e.to_string()))
    }

    /// Renders the PNG `name` atomically through `render`.
    pub fn render(&mut self, name: &str, render: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let path = self.path(name);
        render_atomically(&path, render)?;
        self.files.push(path);
        Ok(())
    }

    /// Removes the files of this tool that an earlier run left and this one did
    /// not write, then writes `summary.json` (last) from `summary`.
    pub fn finish(mut self, summary: &[u8]) -> Result<Written> {
        let mut removed = Vec::new();
        let entries = fs::read_dir(&self.dir).map_err(|source| Error::Write {
            path: self.dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && is_own_file(&name) && name != SUMMARY && !self.files.contains(&path) {
                fs::remove_file(&path).map_err(|source| Error::Write {
                    path: path.clone(),
                    source,
                })?;
                removed.push(path);
            }
        }
        removed.sort();
        self.write_bytes(SUMMARY, summary)?;
        // The renames are durable once the folder itself is synced (where the
        // platform can open a folder for that).
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(Written {
            files: self.files,
            removed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails part-way (as a kill would leave it) leaves the earlier
    /// file whole and no temporary file behind.
    #[test]
    fn a_failed_write_keeps_the_earlier_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("positions-a.npy");
        write_atomically(&path, |w| {
            w.write_all(b"old run").map_err(|e| e.to_string())
        })
        .unwrap();
        let e = write_atomically(&path, |w| {
            w.write_all(&[7u8; 100_000]).map_err(|e| e.to_string())?;
            Err("interrupted".to_string())
        })
        .unwrap_err();
        assert!(e.to_string().contains("positions-a.npy") && e.to_string().contains("interrupted"));
        assert_eq!(std::fs::read(&path).unwrap(), b"old run");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["positions-a.npy"]);
    }

    #[test]
    fn own_files_are_recognised() {
        for own in [
            "summary.json",
            "history.csv",
            "positions-sgld.npy",
            "trajectories-mf-sgld.npy",
            "paths.png",
            ".partial-history.csv",
        ] {
            assert!(is_own_file(own), "{own}");
        }
        for other in [
            "notes.txt",
            "positions-sgld.npy.bak",
            "my-plot.png",
            "positions.csv",
        ] {
            assert!(!is_own_file(other), "{other}");
        }
    }
}
