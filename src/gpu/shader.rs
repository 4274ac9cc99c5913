//! The WGSL sources in `shaders/`, composed by a tiny include step (a line
//! `//!include NAME` pastes module `NAME` once) and validated with naga, with
//! errors that name the file and line where the problem is.
//!
//! Kernels that use a potential include `potential` (the chosen potential's
//! module) and `potential_full` (its whole gradient: `separable` for separable
//! potentials, nothing otherwise), and see a constant `DIM`, the dimension, which
//! the composer prepends. `mulhilo` is `mulhilo_u64` where the adapter has 64-bit
//! integers and `mulhilo_portable` elsewhere.

use std::fmt;

/// Every shared module and kernel, by name (file `shaders/NAME.wgsl`), except
/// the built-in potentials' modules, which come from the table of built-ins
/// ([`crate::potential::BUILTIN_NAMES`]); the composer looks in both.
pub const SOURCES: &[(&str, &str)] = &[
    ("philox", include_str!("../../shaders/philox.wgsl")),
    (
        "mulhilo_portable",
        include_str!("../../shaders/mulhilo_portable.wgsl"),
    ),
    (
        "mulhilo_u64",
        include_str!("../../shaders/mulhilo_u64.wgsl"),
    ),
    ("fastmath", include_str!("../../shaders/fastmath.wgsl")),
    ("dump", include_str!("../../shaders/dump.wgsl")),
    (
        "resnet_grad",
        include_str!("../../shaders/resnet_grad.wgsl"),
    ),
    ("net_update", include_str!("../../shaders/net_update.wgsl")),
    ("grad_check", include_str!("../../shaders/grad_check.wgsl")),
    (
        "step_params",
        include_str!("../../shaders/step_params.wgsl"),
    ),
    ("step_block", include_str!("../../shaders/step_block.wgsl")),
    ("step_means", include_str!("../../shaders/step_means.wgsl")),
    (
        "step_io_scalar",
        include_str!("../../shaders/step_io_scalar.wgsl"),
    ),
    (
        "step_io_vec4",
        include_str!("../../shaders/step_io_vec4.wgsl"),
    ),
    (
        "step_scheme_params",
        include_str!("../../shaders/step_scheme_params.wgsl"),
    ),
    ("step_agent", include_str!("../../shaders/step_agent.wgsl")),
    (
        "mean_params",
        include_str!("../../shaders/mean_params.wgsl"),
    ),
    (
        "mean_partial",
        include_str!("../../shaders/mean_partial.wgsl"),
    ),
    ("mean_final", include_str!("../../shaders/mean_final.wgsl")),
    (
        "weight_agent",
        include_str!("../../shaders/weight_agent.wgsl"),
    ),
    (
        "weighted_partial",
        include_str!("../../shaders/weighted_partial.wgsl"),
    ),
    (
        "weighted_final",
        include_str!("../../shaders/weighted_final.wgsl"),
    ),
    ("l1_params", include_str!("../../shaders/l1_params.wgsl")),
    ("l1_fill", include_str!("../../shaders/l1_fill.wgsl")),
    ("l1_sign", include_str!("../../shaders/l1_sign.wgsl")),
    (
        "diag_params",
        include_str!("../../shaders/diag_params.wgsl"),
    ),
    ("diag_agent", include_str!("../../shaders/diag_agent.wgsl")),
    ("diag_run", include_str!("../../shaders/diag_run.wgsl")),
    ("sort_stage", include_str!("../../shaders/sort_stage.wgsl")),
    (
        "diag_median",
        include_str!("../../shaders/diag_median.wgsl"),
    ),
    (
        "distance_refs",
        include_str!("../../shaders/distance_refs.wgsl"),
    ),
    (
        "distance_sign",
        include_str!("../../shaders/distance_sign.wgsl"),
    ),
    ("separable", include_str!("../../shaders/separable.wgsl")),
    (
        "separable_value",
        include_str!("../../shaders/separable_value.wgsl"),
    ),
    (
        "potential_bindings",
        include_str!("../../shaders/potential_bindings.wgsl"),
    ),
];

/// Kernels that use no potential.
pub const PLAIN_KERNELS: &[&str] = &[
    "dump",
    "resnet_grad",
    "net_update",
    "mean_partial",
    "mean_final",
    "weighted_partial",
    "weighted_final",
    "l1_fill",
    "l1_sign",
    "diag_run",
    "sort_stage",
    "diag_median",
];
/// Kernels composed with a potential (`step_block` with separable ones only).
pub const POTENTIAL_KERNELS: &[&str] = &[
    "grad_check",
    "step_agent",
    "step_block",
    "diag_agent",
    "weight_agent",
];

/// The potential a kernel is composed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PotentialChoice {
    /// The module, `potentials/NAME`, or a label for a user's module.
    pub module: String,
    /// A user's module text (`None` for the built-ins).
    pub source: Option<String>,
    /// Whether the module gives the gradient per coordinate (`grad_coord`), as
    /// `Potential::separable` says; the composer then adds `potential_grad` (`separable.wgsl`).
    pub separable: bool,
    /// The dimension `d`, compiled in as `const DIM`.
    pub dim: u32,
    /// Distances by sign pattern (`distance_sign`, the double well) rather than
    /// to listed points (`distance_refs`).
    pub sign_distance: bool,
}

/// A WGSL error located in the file where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ShaderError {
    /// The file, `shaders/NAME.wgsl`.
    pub file: String,
    /// 1-based, or 0 when naga gave no location.
    pub line: u32,
    /// What is wrong: naga's message with its causes, or a missing module's name.
    pub message: String,
}

impl fmt::Display for ShaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Composed WGSL with, for each of its lines, the file and line it came from.
pub struct Composed {
    /// The WGSL text to hand to the device.
    pub source: String,
    origin: Vec<(String, u32)>,
}

impl Composed {
    /// The same source with the one line `from` replaced by `to` (one line too, so
    /// that errors still name the right file and line); `None` if `from` is not
    /// there.
    pub fn replace_line(&self, from: &str, to: &str) -> Option<Self> {
        debug_assert!(!from.contains('\n') && !to.contains('\n'));
        self.source.contains(from).then(|| Self {
            source: self.source.replacen(from, to, 1),
            origin: self.origin.clone(),
        })
    }
}

/// The module `stream_domains`, generated from [`crate::rng::Domain`] so that no
/// shader holds a domain number of its own.
static STREAM_DOMAINS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(crate::rng::Domain::wgsl);

fn source_of(name: &str) -> Option<&'static str> {
    if name == "stream_domains" {
        return Some(STREAM_DOMAINS.as_str());
    }
    all_sources().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// [`SOURCES`] and the built-in potentials' modules.
fn all_sources() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    SOURCES
        .iter()
        .chain(crate::potential::BUILTIN_SHADERS.iter())
}

fn file_name(name: &str) -> String {
    // A user's module is named by its label; the generated parts by what they are.
    if name == "(prelude)" {
        "<prelude: DIM and WG>".to_string()
    } else if name == "stream_domains" {
        "<stream domains, generated from rng::Domain>".to_string()
    } else if name.starts_with('<') {
        name.to_string()
    } else {
        format!("shaders/{name}.wgsl")
    }
}

/// How a kernel is composed: its potential, and which `mulhilo`.
#[derive(Debug, Clone, Default)]
pub struct ComposeOptions<'a> {
    /// The potential pasted in for `//!include potential` (and with it `DIM`, `WG`);
    /// `None` for kernels that use none.
    pub potential: Option<&'a PotentialChoice>,
    /// Use 64-bit integers (the adapter must have `SHADER_INT64`).
    pub int64: bool,
    /// The step kernels' workgroup size (`WG`), when a potential is given; 0
    /// means the default, 64.
    pub workgroup: u32,
    /// The block kernel moves its X and Y blocks as `vec4` (`step_io_vec4`;
    /// the caller checks that 4 divides d), else a float at a time.
    pub vec4_io: bool,
    /// The block kernel's scheme compiled in as constants (`step_scheme`,
    /// generated by [`SchemeFlags::wgsl`]), else read from its parameters at
    /// run time (`step_scheme_params.wgsl`).
    pub scheme: Option<SchemeFlags>,
}

/// The name under which errors locate the generated `step_scheme` module.
const SCHEME_MODULE: &str = "<step scheme, compiled in by the engine>";

/// Which of the block kernel's branches an engine's method takes, fixed for
/// the engine's life, compiled in as constants (`SGLD_SWARM_GPU_SPECIALIZE`)
/// so that the driver drops the others and allocates registers for the
/// scheme that runs. The values are those of `StepParams` for the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemeFlags {
    /// `StepParams::homogenized != 0`.
    pub homogenized: bool,
    /// `StepParams::samples != 0`: the smoothed schemes.
    pub smoothed: bool,
    /// `StepParams::interacting`: 0 none, 1 towards the run's point in
    /// `means`, 2 l1.
    pub interacting: u32,
    /// `StepParams::taming == 1`.
    pub coordinate_taming: bool,
}

impl SchemeFlags {
    /// The `step_scheme` module: `step_scheme_params.wgsl`'s four functions,
    /// each returning its constant.
    pub fn wgsl(&self) -> String {
        format!(
            "// Generated: the engine's scheme as constants (SGLD_SWARM_GPU_SPECIALIZE).\n\
             fn scheme_homogenized() -> bool {{ return {}; }}\n\
             fn scheme_smoothed() -> bool {{ return {}; }}\n\
             fn scheme_interacting() -> u32 {{ return {}u; }}\n\
             fn scheme_coordinate_taming() -> bool {{ return {}; }}\n",
            self.homogenized, self.smoothed, self.interacting, self.coordinate_taming
        )
    }
}

/// Module `name` with its includes pasted in (each once), portable `mulhilo`.
pub fn compose(name: &str) -> Result<Composed, ShaderError> {
    compose_opts(name, &ComposeOptions::default())
}

/// Kernel `name` composed with a potential, portable `mulhilo`.
pub fn compose_with(
    name: &str,
    potential: Option<&PotentialChoice>,
) -> Result<Composed, ShaderError> {
    let opts = ComposeOptions {
        potential,
        ..ComposeOptions::default()
    };
    compose_opts(name, &opts)
}

/// Kernel `name` composed as `opts` say.
pub fn compose_opts(name: &str, opts: &ComposeOptions) -> Result<Composed, ShaderError> {
    let mut out = Composed {
        source: String::new(),
        origin: Vec::new(),
    };
    if let Some(p) = opts.potential {
        let wg = if opts.workgroup == 0 {
            64
        } else {
            opts.workgroup
        };
        out.source.push_str(&format!(
            "const DIM: u32 = {}u;\nconst WG: u32 = {wg}u;\n",
            p.dim
        ));
        out.origin.push(("(prelude)".to_string(), 1));
        out.origin.push(("(prelude)".to_string(), 2));
    }
    let mut seen = Vec::new();
    compose_into(name, &mut out, &mut seen, None, opts)?;
    Ok(out)
}

fn compose_into(
    name: &str,
    out: &mut Composed,
    seen: &mut Vec<String>,
    from: Option<(&str, u32)>,
    opts: &ComposeOptions,
) -> Result<(), ShaderError> {
    let name = match (name, opts.potential) {
        ("potential", Some(p)) => p.module.as_str(),
        ("potential_full", Some(p)) if p.separable => "separable",
        ("potential_full", Some(_)) => return Ok(()),
        ("potential_value_full", Some(p)) if p.separable => "separable_value",
        ("potential_value_full", Some(_)) => return Ok(()),
        ("distance", Some(p)) if p.sign_distance => "distance_sign",
        ("distance", _) => "distance_refs",
        ("mulhilo", _) if opts.int64 => "mulhilo_u64",
        ("mulhilo", _) => "mulhilo_portable",
        ("step_io", _) if opts.vec4_io => "step_io_vec4",
        ("step_io", _) => "step_io_scalar",
        ("step_scheme", _) if opts.scheme.is_some() => SCHEME_MODULE,
        ("step_scheme", _) => "step_scheme_params",
        _ => name,
    };
    if seen.iter().any(|s| s == name) {
        return Ok(());
    }
    seen.push(name.to_string());
    let custom = opts
        .potential
        .filter(|p| p.module == name)
        .and_then(|p| p.source.as_deref());
    let generated = opts
        .scheme
        .filter(|_| name == SCHEME_MODULE)
        .map(|flags| flags.wgsl());
    let text = custom
        .or(generated.as_deref())
        .or_else(|| source_of(name))
        .ok_or_else(|| ShaderError {
            file: from.map_or_else(|| file_name(name), |(f, _)| file_name(f)),
            line: from.map_or(0, |(_, l)| l),
            message: format!("no shader module called {name:?}"),
        })?;
    // Includes first, so that the module's own lines follow what they use.
    for (i, line) in text.lines().enumerate() {
        if let Some(inc) = line.trim().strip_prefix("//!include ") {
            compose_into(inc.trim(), out, seen, Some((name, i as u32 + 1)), opts)?;
        }
    }
    for (i, line) in text.lines().enumerate() {
        out.source.push_str(line);
        out.source.push('\n');
        out.origin.push((name.to_string(), i as u32 + 1));
    }
    Ok(())
}

impl Composed {
    fn locate(&self, line: Option<u32>, message: String) -> ShaderError {
        match line.and_then(|l| self.origin.get((l as usize).checked_sub(1)?)) {
            Some((name, l)) => ShaderError {
                file: file_name(name),
                line: *l,
                message,
            },
            None => ShaderError {
                file: "shaders".into(),
                line: 0,
                message,
            },
        }
    }

    /// Parses and validates with naga, as the device would.
    pub fn validate(&self) -> Result<naga::Module, ShaderError> {
        let module = naga::front::wgsl::parse_str(&self.source).map_err(|e| {
            let line = e.location(&self.source).map(|l| l.line_number);
            self.locate(line, e.message().to_string())
        })?;
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        );
        validator.validate(&module).map_err(|e| {
            let line = e.location(&self.source).map(|l| l.line_number);
            let mut message = e.as_inner().to_string();
            let mut source = std::error::Error::source(e.as_inner());
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            self.locate(line, message)
        })?;
        Ok(module)
    }
}

/// Validates a user's WGSL potential module with every kernel that will use it,
/// so that its errors come with their line before anything runs. Its `SEPARABLE`
/// must say what the Rust potential's `separable()` says.
pub fn validate_user_potential(choice: &PotentialChoice) -> Result<(), ShaderError> {
    let label = || choice.module.clone();
    let text = choice.source.as_deref().unwrap_or_default();
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("const SEPARABLE"))
        .ok_or_else(|| ShaderError {
            file: label(),
            line: 0,
            message: "no `const SEPARABLE: bool = ...;` (true with grad_coord, false with potential_grad)".into(),
        })?;
    let says = text.lines().nth(line).unwrap_or_default().contains("true");
    if says != choice.separable {
        return Err(ShaderError {
            file: label(),
            line: line as u32 + 1,
            message: format!(
                "SEPARABLE is {says} here but the Rust potential's separable() is {}; they must agree",
                choice.separable
            ),
        });
    }
    for kernel in ["step_agent", "step_block"] {
        if kernel == "step_block" && !choice.separable {
            continue;
        }
        // The scheme compiled in is the block kernel's; any flags exercise it.
        let compiled_in = Some(SchemeFlags {
            homogenized: true,
            ..SchemeFlags::default()
        });
        for (int64, vec4_io, scheme) in [
            (false, false, None),
            (true, false, None),
            (false, true, None),
            (false, false, compiled_in),
        ] {
            // The vec4 moves are the block kernel's, where 4 divides d.
            if vec4_io && (kernel != "step_block" || !choice.dim.is_multiple_of(4)) {
                continue;
            }
            if scheme.is_some() && kernel != "step_block" {
                continue;
            }
            let opts = ComposeOptions {
                potential: Some(choice),
                int64,
                vec4_io,
                scheme,
                ..ComposeOptions::default()
            };
            compose_opts(kernel, &opts)?.validate()?;
        }
    }
    Ok(())
}

/// The Rust side of a WGSL twin for [`assert_twin`]: each named field with its
/// offset, in declaration order.
#[cfg(test)]
macro_rules! twin_fields {
    ($t:ty: $($f:ident),* $(,)?) => {
        vec![$((stringify!($f), std::mem::offset_of!($t, $f))),*]
    };
}
#[cfg(test)]
pub(crate) use twin_fields;

/// Asserts that the Rust struct `T` and the WGSL struct `wgsl_struct` of the
/// composed module `module` have the same size and, field by field, the same
/// names at the same offsets (fields named `_...` are padding and skipped on both
/// sides). `fields` comes from [`twin_fields!`].
#[cfg(test)]
pub(crate) fn assert_twin<T>(module: &str, wgsl_struct: &str, fields: Vec<(&str, usize)>) {
    let parsed = compose(module)
        .and_then(|c| c.validate())
        .unwrap_or_else(|e| panic!("{e}"));
    let (members, span) = parsed
        .types
        .iter()
        .find_map(|(_, t)| match (&t.name, &t.inner) {
            (Some(n), naga::TypeInner::Struct { members, span }) if n == wgsl_struct => {
                Some((members, *span))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("shaders/{module}.wgsl has no struct {wgsl_struct}"));
    assert_eq!(
        span as usize,
        std::mem::size_of::<T>(),
        "{wgsl_struct}: size in WGSL against Rust"
    );
    let wgsl: Vec<(&str, usize)> = members
        .iter()
        .filter_map(|m| {
            let name = m.name.as_deref()?;
            (!name.starts_with('_')).then_some((name, m.offset as usize))
        })
        .collect();
    let rust: Vec<(&str, usize)> = fields
        .into_iter()
        .filter(|(n, _)| !n.starts_with('_'))
        .collect();
    assert_eq!(
        wgsl, rust,
        "{wgsl_struct}: (field, offset) in WGSL against Rust"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::potential::GpuPotential;

    /// Every kernel parses and validates, with every potential; this needs no GPU.
    #[test]
    fn every_shader_validates() {
        for name in PLAIN_KERNELS {
            compose(name)
                .unwrap()
                .validate()
                .unwrap_or_else(|e| panic!("{e}"));
        }
        for kernel in POTENTIAL_KERNELS {
            for dim in [2, 7] {
                for b in crate::potential::testing::every_builtin(dim) {
                    let p = GpuPotential::new(&b).choice;
                    if *kernel == "step_block" && !p.separable {
                        continue;
                    }
                    compose_with(kernel, Some(&p))
                        .unwrap()
                        .validate()
                        .unwrap_or_else(|e| panic!("{kernel} with {}, DIM {dim}: {e}", p.module));
                }
            }
        }
        // The block kernel's vec4 moves of X and Y, composed where 4 divides d.
        for b in crate::potential::testing::every_builtin(8) {
            let p = GpuPotential::new(&b).choice;
            if !p.separable {
                continue;
            }
            let opts = ComposeOptions {
                potential: Some(&p),
                vec4_io: true,
                ..ComposeOptions::default()
            };
            let c = compose_opts("step_block", &opts).unwrap();
            assert!(c.source.contains("array<vec4<f32>>"), "{}", p.module);
            c.validate()
                .unwrap_or_else(|e| panic!("step_block, vec4, with {}: {e}", p.module));
        }
    }

    /// The block kernel with its scheme compiled in, for every combination of
    /// the flags, validates, and its `step_scheme` functions return the
    /// constants (where without flags they read the parameters).
    #[test]
    fn the_compiled_in_scheme_composes() {
        let p = crate::potential::testing::every_builtin(8)
            .iter()
            .map(|b| GpuPotential::new(b).choice)
            .find(|p| p.separable)
            .expect("a separable built-in");
        let read = compose_with("step_block", Some(&p)).unwrap();
        assert!(read.source.contains("return params.homogenized != 0u;"));
        for bits in 0..24u32 {
            let flags = SchemeFlags {
                homogenized: bits & 1 != 0,
                smoothed: bits & 2 != 0,
                coordinate_taming: bits & 4 != 0,
                interacting: bits / 8,
            };
            let opts = ComposeOptions {
                potential: Some(&p),
                scheme: Some(flags),
                ..ComposeOptions::default()
            };
            let c = compose_opts("step_block", &opts).unwrap();
            assert!(!c.source.contains("params.homogenized != 0u"), "{flags:?}");
            for line in [
                format!(
                    "fn scheme_homogenized() -> bool {{ return {}; }}",
                    flags.homogenized
                ),
                format!(
                    "fn scheme_smoothed() -> bool {{ return {}; }}",
                    flags.smoothed
                ),
                format!(
                    "fn scheme_interacting() -> u32 {{ return {}u; }}",
                    flags.interacting
                ),
                format!(
                    "fn scheme_coordinate_taming() -> bool {{ return {}; }}",
                    flags.coordinate_taming
                ),
            ] {
                assert!(c.source.contains(&line), "{flags:?}: {line}");
            }
            c.validate()
                .unwrap_or_else(|e| panic!("step_block, {flags:?}: {e}"));
        }
    }

    /// Every `.wgsl` file under `shaders/` is registered, in [`SOURCES`] or (the
    /// built-in potentials) through the table of built-ins, under its path, and
    /// every registered module is a file there: a shader that nothing composes,
    /// or a registration left behind, fails here.
    #[test]
    fn every_shader_file_is_registered() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
        let mut on_disk = Vec::new();
        for sub in ["", "potentials"] {
            for entry in std::fs::read_dir(root.join(sub)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "wgsl") {
                    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                    on_disk.push(if sub.is_empty() {
                        stem
                    } else {
                        format!("{sub}/{stem}")
                    });
                }
            }
        }
        on_disk.sort();
        let mut registered: Vec<String> = all_sources().map(|(n, _)| n.to_string()).collect();
        registered.sort();
        assert_eq!(
            on_disk, registered,
            "shaders/ on disk against SOURCES and the table of built-ins"
        );
        for (name, text) in all_sources() {
            let file = std::fs::read_to_string(root.join(format!("{name}.wgsl"))).unwrap();
            assert_eq!(&file, text, "{name}: SOURCES holds another file's text");
        }
    }

    /// Stream domains reach the shaders only through the generated module: no
    /// shader defines a domain constant or passes a literal domain number.
    #[test]
    fn shaders_hold_no_domain_numbers() {
        for (name, text) in all_sources() {
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                assert!(
                    !code.contains("const DOMAIN_"),
                    "shaders/{name}.wgsl:{}: defines a domain; use rng::Domain",
                    i + 1
                );
                if let Some(arg) = code.split("counter_word3(").nth(1) {
                    assert!(
                        !arg.trim_start().starts_with(|c: char| c.is_ascii_digit()),
                        "shaders/{name}.wgsl:{}: a literal domain number",
                        i + 1
                    );
                }
            }
        }
        let generated = crate::rng::Domain::wgsl();
        for d in crate::rng::Domain::ALL {
            let line = format!("const {}: u32 = {}u;", d.wgsl_name(), d as u32);
            assert!(generated.contains(&line), "{generated}");
        }
        // And the kernels that draw see them.
        assert!(
            compose("dump")
                .unwrap()
                .source
                .contains("const DOMAIN_NOISE: u32 = 0u;")
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let c = compose("dump").unwrap();
        let broken = Composed {
            source: c.source.replacen(
                "return philox_round(c, k);",
                "return philox_round(d, k);",
                1,
            ),
            origin: c.origin.clone(),
        };
        let e = broken.validate().unwrap_err();
        assert_eq!(e.file, "shaders/philox.wgsl");
        let want = include_str!("../../shaders/philox.wgsl")
            .lines()
            .position(|l| l.contains("return philox_round(c, k);"))
            .unwrap() as u32
            + 1;
        assert_eq!(e.line, want, "{e}");
        assert!(compose("nonexistent").is_err());
    }

    #[test]
    fn user_modules_validate_with_their_own_line_numbers() {
        let good = "const SEPARABLE: bool = true;\nfn grad_coord(k: u32, c: vec2<f32>, x: f32) -> f32 {\n    return x - c.x;\n}\n";
        let choice = |src: &str| PotentialChoice {
            module: "<user potential>".into(),
            source: Some(src.into()),
            separable: true,
            dim: 3,
            sign_distance: false,
        };
        validate_user_potential(&choice(good)).unwrap();
        let bad = good.replace("x - c.x", "x - c.q");
        let e = validate_user_potential(&choice(&bad)).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("<user potential>", 3), "{e}");
    }
}
