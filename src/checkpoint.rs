//! Checkpoints: the state of one or more methods in a folder, written so that a
//! kill at any moment leaves the previous checkpoint whole, and read back only
//! when it is whole, of this format, and of the configuration asked for
//! (docs/DESIGN.md section 5.4).
//!
//! A folder holds `checkpoint.json` (the manifest) and `.npy` arrays whose
//! names carry the manifest's generation. A new checkpoint writes its arrays
//! under new names (each to a temporary file, synced, renamed), then the
//! manifest the same way; only then are the arrays no manifest names removed.
//! The manifest holds the SHA-256 of every array it names.

use crate::config::Stopped;
use crate::diagnostics::{History, RunStats, Stat};
use crate::error::{Error, Result};
use crate::output::folder::write_atomically;
use crate::potential::Potential;
use ndarray::{Array1, Array2, Array3};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The format this version writes and reads; any other is refused by name.
pub const FORMAT: u32 = 1;

/// The manifest's file name.
pub const MANIFEST: &str = "checkpoint.json";

/// What a checkpoint folder describes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// Counts the checkpoints written into the folder; the arrays' names carry it.
    pub generation: u64,
    /// The configuration that ran, as TOML: a whole `Config` for a run of the
    /// command line, the ensemble and method of one `Ensemble` otherwise.
    pub config: String,
    /// `"cpu"` or `"gpu"`: the engine that wrote it.
    pub backend: String,
    /// The device, in words.
    pub device: String,
    /// Every method begun, in order.
    pub methods: Vec<MethodEntry>,
    /// The SHA-256 (hex) of every array named above.
    pub files: BTreeMap<String, String>,
}

/// One method's state in a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodEntry {
    /// The method's name.
    pub name: String,
    /// Outer steps done: where it continues.
    pub step: u64,
    /// Seconds spent advancing so far.
    pub elapsed_s: f64,
    /// Whether it has ended (run to its steps, stopped, or diverged).
    pub done: bool,
    /// The stopping rule that ended it, if one did.
    pub stopped: Option<Stopped>,
    /// The divergence that ended it, and the step that error names.
    pub error: Option<(String, u64)>,
    /// Positions `X`, `[R, N, d]`.
    pub x: String,
    /// The fast variable `Y` (homogenized schemes).
    pub y: Option<String>,
    /// The record steps, `[records]` u64.
    pub steps: String,
    /// The per-run statistics, `[records, R, 5]` f64 in `Stat::ALL` order.
    pub stats: String,
    /// The positions at each record, flattened, when kept.
    pub snapshots: Option<String>,
}

/// A method's state in memory.
#[derive(Debug, Clone)]
pub struct MethodState {
    /// The method's name.
    pub name: String,
    /// Outer steps done.
    pub step: u64,
    /// Time spent advancing.
    pub elapsed: Duration,
    /// Whether it has ended.
    pub done: bool,
    /// The rule that stopped it.
    pub stopped: Option<Stopped>,
    /// Its divergence, and the step named.
    pub error: Option<(String, u64)>,
    /// `X`, `[R, N, d]`.
    pub x: Array3<f32>,
    /// `Y`, `[R, N, d]`.
    pub y: Option<Array3<f32>>,
    /// The records so far (with the positions at each, when kept).
    pub history: History,
}

/// One method to write: its state, or its entry of the previous checkpoint,
/// whose arrays stay (a method that ended does not change).
pub enum ToWrite<'a> {
    /// Written anew.
    State(&'a MethodState),
    /// Kept from the previous generation.
    Kept(&'a MethodEntry),
}

fn damaged(path: &Path, message: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A writer that hashes what goes through it.
struct Hashing<'a> {
    inner: &'a mut dyn Write,
    hash: Sha256,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `a` as `name` in `dir` atomically; its SHA-256 in hex.
fn write_array(dir: &Path, name: &str, a: &impl WriteNpyExt) -> Result<String> {
    let mut digest = String::new();
    write_atomically(&dir.join(name), |w| {
        let mut h = Hashing {
            inner: w,
            hash: Sha256::new(),
        };
        a.write_npy(&mut h).map_err(|e| e.to_string())?;
        digest = hex(&h.hash.finalize());
        Ok(())
    })?;
    Ok(digest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The manifest in `dir`, if there is one (a damaged one is an error).
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Read { path, source }),
    };
    // The format first, so that a newer layout is named as such.
    let format = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("format")?.as_u64());
    match format {
        Some(f) if f == FORMAT as u64 => {}
        Some(f) => {
            return Err(damaged(
                &path,
                format!(
                    "it is checkpoint format {f}, and this sgld-swarm reads format {FORMAT} \
                     only (resume it with the version that wrote it, or start the run again)"
                ),
            ));
        }
        None => return Err(damaged(&path, "it is not a checkpoint manifest (damaged?)")),
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| damaged(&path, format!("it cannot be read ({e}); damaged?")))
}

/// Writes a checkpoint of `methods` into `dir` (created if need be), the
/// generation after the one there; returns its manifest.
pub fn write(
    dir: &Path,
    config: &str,
    backend: &str,
    device: &str,
    methods: &[ToWrite<'_>],
) -> Result<Manifest> {
    fs::create_dir_all(dir).map_err(|source| Error::OutputDir {
        path: dir.to_path_buf(),
        source,
    })?;
    // A damaged manifest is replaced: the generation goes past every array's.
    let generation = match read_manifest(dir) {
        Ok(Some(m)) => m.generation + 1,
        _ => highest_generation(dir) + 1,
    };
    let mut files = BTreeMap::new();
    let mut entries = Vec::new();
    for (i, m) in methods.iter().enumerate() {
        match m {
            ToWrite::Kept(entry) => {
                entries.push((*entry).clone());
            }
            ToWrite::State(s) => {
                let name = |what: &str| format!("{what}-{i}-{generation}.npy");
                let mut put = |what: &str, a: &dyn Fn(&str) -> Result<String>| -> Result<String> {
                    let n = name(what);
                    let digest = a(&n)?;
                    files.insert(n.clone(), digest);
                    Ok(n)
                };
                let (steps, stats, snapshots) = history_arrays(&s.history);
                let x = put("x", &|n| write_array(dir, n, &s.x))?;
                let y = match &s.y {
                    Some(y) => Some(put("y", &|n| write_array(dir, n, y))?),
                    None => None,
                };
                let steps = put("steps", &|n| write_array(dir, n, &steps))?;
                let stats = put("stats", &|n| write_array(dir, n, &stats))?;
                let snapshots = match snapshots {
                    Some(sn) => Some(put("snapshots", &|n| write_array(dir, n, &sn))?),
                    None => None,
                };
                entries.push(MethodEntry {
                    name: s.name.clone(),
                    step: s.step,
                    elapsed_s: s.elapsed.as_secs_f64(),
                    done: s.done,
                    stopped: s.stopped,
                    error: s.error.clone(),
                    x,
                    y,
                    steps,
                    stats,
                    snapshots,
                });
            }
        }
    }
    // Kept arrays keep their digests.
    let previous = read_manifest(dir).ok().flatten();
    for e in &entries {
        for f in entry_files(e) {
            if !files.contains_key(f) {
                let digest = previous
                    .as_ref()
                    .and_then(|p| p.files.get(f).cloned())
                    .ok_or_else(|| damaged(dir, format!("{f} is kept but not in the manifest")))?;
                files.insert(f.to_string(), digest);
            }
        }
    }
    let manifest = Manifest {
        format: FORMAT,
        generation,
        config: config.to_string(),
        backend: backend.to_string(),
        device: device.to_string(),
        methods: entries,
        files,
    };
    // The arrays' names are durable before the manifest that names them.
    sync_dir(dir);
    let mut text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Output {
        path: dir.join(MANIFEST),
        message: e.to_string(),
    })?;
    text.push(b'\n');
    write_atomically(&dir.join(MANIFEST), |w| {
        w.write_all(&text).map_err(|e| e.to_string())
    })?;
    sync_dir(dir);
    // The new checkpoint is whole: what it does not name goes.
    remove_unnamed(dir, &manifest)?;
    Ok(manifest)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn entry_files(e: &MethodEntry) -> impl Iterator<Item = &String> {
    [
        Some(&e.x),
        e.y.as_ref(),
        Some(&e.steps),
        Some(&e.stats),
        e.snapshots.as_ref(),
    ]
    .into_iter()
    .flatten()
}

/// Whether `name` is a file a checkpoint writes.
fn is_checkpoint_file(name: &str) -> bool {
    name == MANIFEST || name.ends_with(".npy") || name.starts_with(".partial-")
}

fn highest_generation(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".npy")?.rsplit('-').next()?.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

fn remove_unnamed(dir: &Path, manifest: &Manifest) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != MANIFEST && is_checkpoint_file(&name) && !manifest.files.contains_key(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Removes a checkpoint folder (its files, then the folder if empty): a run
/// that starts afresh leaves no checkpoint of another run behind.
pub fn remove(dir: &Path) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    // The manifest first: a kill midway leaves arrays that nothing names, never
    // a manifest that names missing arrays.
    let manifest = dir.join(MANIFEST);
    match fs::remove_file(&manifest) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::Write {
                path: manifest,
                source: e,
            });
        }
        _ => sync_dir(dir),
    }
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_checkpoint_file(&name) && name != MANIFEST {
            fs::remove_file(entry.path()).map_err(|source| Error::Write {
                path: entry.path(),
                source,
            })?;
        }
    }
    let _ = fs::remove_dir(dir);
    Ok(())
}

/// Where the checkpoint of a run writing into `out` lives.
pub fn dir_of(out: &Path) -> PathBuf {
    out.join("checkpoint")
}

/// The bytes of `name`, checked against the manifest's digest.
fn checked_bytes(dir: &Path, manifest: &Manifest, name: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    let want = manifest
        .files
        .get(name)
        .ok_or_else(|| damaged(&path, "the manifest names it but holds no checksum for it"))?;
    let bytes = fs::read(&path).map_err(|e| damaged(&path, format!("it cannot be read ({e})")))?;
    if hex(&Sha256::digest(&bytes)) != *want {
        return Err(damaged(
            &path,
            "its contents differ from the checksum in checkpoint.json (damaged)",
        ));
    }
    Ok(bytes)
}

fn read_array<A: ReadNpyExt>(dir: &Path, manifest: &Manifest, name: &str) -> Result<A> {
    let bytes = checked_bytes(dir, manifest, name)?;
    A::read_npy(&bytes[..]).map_err(|e| damaged(&dir.join(name), format!("not an array ({e})")))
}

/// Loads method `i` of `manifest` from `dir`, checking every array's digest
/// and shape (`runs x agents x dim`).
pub fn load(dir: &Path, manifest: &Manifest, i: usize, shape: [usize; 3]) -> Result<MethodState> {
    let e = &manifest.methods[i];
    let bad_shape = |name: &str, got: &[usize]| {
        damaged(
            &dir.join(name),
            format!("it has shape {got:?}, the configuration {shape:?}"),
        )
    };
    let x: Array3<f32> = read_array(dir, manifest, &e.x)?;
    if x.shape() != shape {
        return Err(bad_shape(&e.x, x.shape()));
    }
    let y = match &e.y {
        Some(name) => {
            let y: Array3<f32> = read_array(dir, manifest, name)?;
            if y.shape() != shape {
                return Err(bad_shape(name, y.shape()));
            }
            Some(y)
        }
        None => None,
    };
    let steps: Array1<u64> = read_array(dir, manifest, &e.steps)?;
    let stats: Array3<f64> = read_array(dir, manifest, &e.stats)?;
    let snapshots: Option<Array1<f32>> = match &e.snapshots {
        Some(name) => Some(read_array(dir, manifest, name)?),
        None => None,
    };
    let history = history_from(shape, &steps, &stats, snapshots.as_ref()).ok_or_else(|| {
        damaged(
            &dir.join(&e.stats),
            "the records do not fit the configuration",
        )
    })?;
    Ok(MethodState {
        name: e.name.clone(),
        step: e.step,
        elapsed: Duration::try_from_secs_f64(e.elapsed_s)
            .map_err(|_| damaged(&dir.join(MANIFEST), format!("elapsed_s = {}", e.elapsed_s)))?,
        done: e.done,
        stopped: e.stopped,
        error: e.error.clone(),
        x,
        y,
        history,
    })
}

/// The history as arrays: steps, `[records, R, 5]` statistics, snapshots.
fn history_arrays(h: &History) -> (Array1<u64>, Array3<f64>, Option<Array1<f32>>) {
    let runs = h.runs();
    let mut stats = Array3::zeros((h.len(), runs, Stat::ALL.len()));
    for i in 0..h.len() {
        for (r, s) in h.at(i).expect("a record").iter().enumerate() {
            for (j, stat) in Stat::ALL.into_iter().enumerate() {
                stats[[i, r, j]] = s.get(stat);
            }
        }
    }
    let snaps = h.snapshots();
    (
        Array1::from(h.steps().to_vec()),
        stats,
        (!snaps.is_empty()).then(|| Array1::from(snaps.to_vec())),
    )
}

fn history_from(
    shape: [usize; 3],
    steps: &Array1<u64>,
    stats: &Array3<f64>,
    snapshots: Option<&Array1<f32>>,
) -> Option<History> {
    let [runs, agents, dim] = shape;
    let records = steps.len();
    if stats.shape() != [records, runs, Stat::ALL.len()] {
        return None;
    }
    let per = runs * agents * dim;
    if let Some(s) = snapshots {
        if s.len() != records * per {
            return None;
        }
    }
    let mut h = History::new(runs);
    for i in 0..records {
        let row: Array2<f64> = stats.index_axis(ndarray::Axis(0), i).to_owned();
        let run_stats = (0..runs)
            .map(|r| RunStats {
                best: row[[r, 0]],
                worst: row[[r, 1]],
                median: row[[r, 2]],
                best_phi: row[[r, 3]],
                spread: row[[r, 4]],
            })
            .collect();
        let snap = snapshots.map(|s| &s.as_slice().expect("contiguous")[i * per..(i + 1) * per]);
        h.push(steps[i], run_stats, snap);
    }
    Some(h)
}

/// A potential given as a value, in the words a checkpoint compares: its name,
/// its dimension, and the bits of its value at three fixed points, so that a
/// change of a parameter (a shift, a `delta`) shows as a difference.
pub fn potential_identity(p: &dyn Potential) -> String {
    let d = p.dim();
    let values: Vec<String> = (1..=3)
        .map(|j| {
            let x: Vec<f64> = (0..d)
                .map(|k| {
                    let sign = if k % 2 == 0 { 1.0 } else { -0.5 };
                    0.37 * j as f64 * sign + 0.01 * k as f64
                })
                .collect();
            format!("{:016x}", p.value(&x).to_bits())
        })
        .collect();
    format!(
        "# potential {:?}, dim {d}, values {}",
        p.name(),
        values.join(" ")
    )
}

/// The configuration text of methods run on a potential given as a value, as
/// a checkpoint compares it: [`potential_identity`], then the `[ensemble]` and
/// `[[method]]` tables.
pub fn identity(
    p: &dyn Potential,
    ensemble: &crate::config::EnsembleConfig,
    methods: &[crate::config::MethodConfig],
) -> String {
    format!(
        "{}\n{}",
        potential_identity(p),
        crate::config::ensemble_and_methods_toml(ensemble, methods)
    )
}

/// Says where two configuration texts first differ, or `None` if they agree.
pub fn first_difference(checkpoint: &str, here: &str) -> Option<String> {
    if checkpoint == here {
        return None;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (checkpoint.lines().collect(), here.lines().collect());
    let i = (0..a.len().max(b.len()))
        .find(|&i| a.get(i) != b.get(i))
        .unwrap_or(0);
    let show = |l: Option<&&str>| l.map_or("(nothing)".to_string(), |l| format!("`{}`", l.trim()));
    Some(format!(
        "line {} of the configuration is {} in the checkpoint and {} here",
        i + 1,
        show(a.get(i)),
        show(b.get(i))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statistics go through the arrays bit for bit: RunStats field order
    /// is Stat::ALL's.
    #[test]
    fn a_history_round_trips_through_its_arrays() {
        let mut h = History::new(2);
        let s = |v: f64| RunStats {
            best: v,
            worst: v + 1.0,
            median: v + 2.0,
            best_phi: v / 3.0,
            spread: f64::NAN,
        };
        h.push(0, vec![s(0.1), s(0.2)], Some(&[1.0; 6]));
        h.push(5, vec![s(0.3), s(0.7)], Some(&[2.0; 6]));
        let (steps, stats, snaps) = history_arrays(&h);
        let back = history_from([2, 1, 3], &steps, &stats, snaps.as_ref()).unwrap();
        assert_eq!(back.steps(), h.steps());
        for i in 0..2 {
            for (a, b) in back.at(i).unwrap().iter().zip(h.at(i).unwrap()) {
                for stat in Stat::ALL {
                    assert_eq!(a.get(stat).to_bits(), b.get(stat).to_bits());
                }
            }
        }
        assert_eq!(back.snapshots(), h.snapshots());
        assert!(history_from([3, 1, 3], &steps, &stats, snaps.as_ref()).is_none());
    }

    #[test]
    fn differences_are_located() {
        assert_eq!(first_difference("a\nb", "a\nb"), None);
        let d = first_difference("a\nsteps = 10\n", "a\nsteps = 20\n").unwrap();
        assert!(
            d.contains("line 2") && d.contains("steps = 10") && d.contains("steps = 20"),
            "{d}"
        );
    }
}
