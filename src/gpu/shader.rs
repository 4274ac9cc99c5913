//! The WGSL sources in `shaders/`, composed by a tiny include step (a line
//! `//!include NAME` pastes module `NAME` once) and validated with naga, with
//! errors that name the file and line where the problem is.

use std::fmt;

/// Every shared module and kernel, by name (file `shaders/NAME.wgsl`).
pub const SOURCES: &[(&str, &str)] = &[
    ("philox", include_str!("../../shaders/philox.wgsl")),
    ("fastmath", include_str!("../../shaders/fastmath.wgsl")),
    ("dump", include_str!("../../shaders/dump.wgsl")),
];

/// A WGSL error located in the file where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ShaderError {
    /// The file, `shaders/NAME.wgsl`.
    pub file: String,
    /// 1-based, or 0 when naga gave no location.
    pub line: u32,
    pub message: String,
}

impl fmt::Display for ShaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Composed WGSL with, for each of its lines, the file and line it came from.
pub struct Composed {
    pub source: String,
    origin: Vec<(String, u32)>,
}

fn source_of(name: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn file_name(name: &str) -> String {
    format!("shaders/{name}.wgsl")
}

/// Module `name` with its includes pasted in (each once).
pub fn compose(name: &str) -> Result<Composed, ShaderError> {
    let mut out = Composed {
        source: String::new(),
        origin: Vec::new(),
    };
    let mut seen = Vec::new();
    compose_into(name, &mut out, &mut seen, None)?;
    Ok(out)
}

fn compose_into(
    name: &str,
    out: &mut Composed,
    seen: &mut Vec<String>,
    from: Option<(&str, u32)>,
) -> Result<(), ShaderError> {
    if seen.iter().any(|s| s == name) {
        return Ok(());
    }
    seen.push(name.to_string());
    let text = source_of(name).ok_or_else(|| ShaderError {
        file: from.map_or_else(|| file_name(name), |(f, _)| file_name(f)),
        line: from.map_or(0, |(_, l)| l),
        message: format!("no shader module called {name:?}"),
    })?;
    // Includes first, so that the module's own lines follow what they use.
    for (i, line) in text.lines().enumerate() {
        if let Some(inc) = line.trim().strip_prefix("//!include ") {
            compose_into(inc.trim(), out, seen, Some((name, i as u32 + 1)))?;
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
        match line.and_then(|l| self.origin.get(l as usize - 1)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shader parses and validates; this needs no GPU.
    #[test]
    fn every_shader_validates() {
        for (name, _) in SOURCES {
            compose(name)
                .unwrap()
                .validate()
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let c = compose("dump").unwrap();
        let broken = Composed {
            source: c.source.replacen("return c;", "return d;", 1),
            origin: c.origin.clone(),
        };
        let e = broken.validate().unwrap_err();
        assert_eq!(e.file, "shaders/philox.wgsl");
        let want = include_str!("../../shaders/philox.wgsl")
            .lines()
            .position(|l| l.contains("return c;"))
            .unwrap() as u32
            + 1;
        assert_eq!(e.line, want, "{e}");
        assert!(compose("nonexistent").is_err());
    }
}
