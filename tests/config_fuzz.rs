//! Generated and mutated configuration documents through parsing and validation:
//! none may panic, a valid document must be accepted, one with a single field
//! broken must be refused naming that field, and whatever is accepted must hold
//! the invariants the engines rely on (checked here independently of the
//! crate's own validation).

use proptest::prelude::*;
use sgld_swarm::config::{Config, Init, PotentialKind, Scheme};

/// A valid document, from its parts.
#[derive(Debug, Clone)]
struct Doc {
    potential: &'static str,
    dim: u64,
    runs: u64,
    agents: u64,
    steps: u64,
    seed: u64,
    lo: f64,
    width: f64,
    scheme: &'static str,
    dt: f64,
    beta: f64,
    lambda: f64,
    taming: &'static str,
}

impl Doc {
    fn lines(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("[problem]".into(), String::new()),
            ("potential".into(), format!("\"{}\"", self.potential)),
            ("dim".into(), self.dim.to_string()),
            (
                "shift".into(),
                format!("[{}]", vec!["0.5"; self.dim as usize].join(", ")),
            ),
            ("[ensemble]".into(), String::new()),
            ("runs".into(), self.runs.to_string()),
            ("agents".into(), self.agents.to_string()),
            ("steps".into(), self.steps.to_string()),
            ("seed".into(), self.seed.to_string()),
            ("record_every".into(), "3".into()),
            (
                "init".into(),
                format!(
                    "{{ uniform = [{:?}, {:?}] }}",
                    self.lo,
                    self.lo + self.width
                ),
            ),
            ("[[method]]".into(), String::new()),
            ("name".into(), "\"M\"".into()),
            ("scheme".into(), format!("\"{}\"", self.scheme)),
            ("dt".into(), format!("{:?}", self.dt)),
            ("beta".into(), format!("{:?}", self.beta)),
            ("lambda".into(), format!("{:?}", self.lambda)),
            ("taming".into(), format!("\"{}\"", self.taming)),
        ];
        match self.scheme {
            "homogenized" => {
                for (k, val) in [
                    ("eps", "0.1"),
                    ("gamma", "0.1"),
                    ("inner_steps", "4"),
                    ("burn_in", "1"),
                ] {
                    v.push((k.into(), val.into()));
                }
            }
            "smoothed" => {
                for (k, val) in [("h", "0.01"), ("samples", "2")] {
                    v.push((k.into(), val.into()));
                }
            }
            _ => {}
        }
        v
    }

    fn render(lines: &[(String, String)]) -> String {
        lines
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    format!("{k}\n")
                } else {
                    format!("{k} = {v}\n")
                }
            })
            .collect()
    }
}

fn doc() -> impl Strategy<Value = Doc> {
    (
        prop::sample::select(sgld_swarm::config::POTENTIAL_NAMES.to_vec()),
        2u64..6,
        (1u64..5, 1u64..9, 1u64..1000, any::<u64>()),
        (-1e6f64..1e6, 0.0f64..1e3),
        prop::sample::select(vec!["euler", "homogenized", "smoothed"]),
        (1e-6f64..1.0, 1e-3f64..1e3, 0.0f64..10.0),
        prop::sample::select(vec!["none", "coordinate", "norm"]),
    )
        .prop_map(
            |(
                potential,
                dim,
                (runs, agents, steps, seed),
                (lo, width),
                scheme,
                (dt, beta, lambda),
                taming,
            )| Doc {
                potential,
                dim: if potential == "six-hump-camel" {
                    2
                } else {
                    dim
                },
                runs,
                agents,
                steps,
                seed,
                lo,
                width,
                scheme,
                dt,
                beta,
                lambda,
                taming,
            },
        )
}

/// One field broken: (key, bad value, the field the error must name).
fn mutation() -> impl Strategy<Value = (&'static str, &'static str, &'static str)> {
    prop::sample::select(vec![
        ("dim", "0", "problem.dim"),
        ("dim", "-3", "problem.dim"),
        ("dim", "\"two\"", "problem.dim"),
        ("dim", "9223372036854775807", "problem.dim"),
        ("potential", "\"camel\"", "problem.potential"),
        ("runs", "0", "ensemble.runs"),
        ("runs", "-1", "ensemble.runs"),
        ("agents", "0", "ensemble.agents"),
        ("agents", "4294967297", "ensemble.runs x ensemble.agents"),
        ("steps", "0", "ensemble.steps"),
        ("steps", "4294967296", "ensemble.steps"),
        ("steps", "2.5", "ensemble.steps"),
        ("seed", "-1", "ensemble.seed"),
        ("seed", "\"abc\"", "ensemble.seed"),
        ("seed", "18446744073709551616", "ensemble.seed"),
        ("init", "{ uniform = [1.0] }", "ensemble.init.uniform"),
        (
            "init",
            "{ uniform = [1.0, 2.0, 3.0] }",
            "ensemble.init.uniform",
        ),
        ("init", "{ uniform = [2.0, 1.0] }", "ensemble.init.uniform"),
        ("init", "{ uniform = [nan, 1.0] }", "ensemble.init.uniform"),
        ("init", "{ uniform = [-inf, 1.0] }", "ensemble.init.uniform"),
        (
            "init",
            "{ uniform = [-1e39, 1.0] }",
            "ensemble.init.uniform",
        ),
        (
            "init",
            "{ uniform = [-3e38, 3e38] }",
            "ensemble.init.uniform",
        ),
        ("init", "{ normal = [0.0, 1.0] }", "ensemble.init"),
        ("name", "\"\"", "method[0].name"),
        ("name", "\"a\\nb\"", "method[0].name"),
        ("name", "\"***\"", "method[0].name"),
        ("scheme", "\"leapfrog\"", "method[0].scheme"),
        ("dt", "0.0", "method[0].dt"),
        ("dt", "-0.1", "method[0].dt"),
        ("dt", "nan", "method[0].dt"),
        ("dt", "inf", "method[0].dt"),
        ("dt", "1e39", "method[0].dt"),
        ("dt", "1e-300", "method[0].dt"),
        ("dt", "\"small\"", "method[0].dt"),
        ("beta", "0.0", "method[0].beta"),
        ("beta", "1e-320", "method[0].beta"),
        ("beta", "1e308", "method[0].beta"),
        ("lambda", "-1.0", "method[0].lambda"),
        ("lambda", "nan", "method[0].lambda"),
        ("lambda", "1e39", "method[0].lambda"),
        ("taming", "\"hard\"", "method[0].taming"),
        ("shift", "[1.0]", "problem.shift"),
        ("shift", "[1e39, 0.0, 0.0, 0.0, 0.0, 0.0]", "problem.shift"),
        ("shift", "\"left\"", "problem.shift"),
        ("record_every", "0", "ensemble.record_every"),
        ("record_every", "-2", "ensemble.record_every"),
        ("delta", "-0.5", "problem.delta"),
        ("a", "[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]", "problem.a"),
        ("eps", "0.0", "method[0].eps"),
        ("gamma", "-1.0", "method[0].gamma"),
        ("inner_steps", "0", "method[0].inner_steps"),
        ("inner_steps", "268435456", "method[0].inner_steps"),
        ("burn_in", "0", "method[0].burn_in"),
        ("h", "0.0", "method[0].h"),
        ("samples", "0", "method[0].samples"),
        ("samples", "268435457", "method[0].samples"),
        // A second method whose file name is the first's.
        (
            "append",
            "[[method]]\nname = \"m!\"\nscheme = \"euler\"\ndt = 0.1\nbeta = 1.0\n",
            "method[1].name",
        ),
        ("colour", "\"red\"", "colour"),
    ])
}

/// What the engines rely on, checked without the crate's validation.
fn holds_invariants(c: &Config) -> Result<(), String> {
    let f32_ok = |v: f64| v.is_finite() && v.abs() <= f32::MAX as f64;
    let pos_ok = |v: f64| f32_ok(v) && v >= f32::MIN_POSITIVE as f64;
    let e = &c.ensemble;
    if c.problem.dim == 0 || e.runs == 0 || e.agents == 0 || e.steps == 0 || e.record_every == 0 {
        return Err("a zero size".into());
    }
    if e.runs as u128 * e.agents as u128 > 1 << 32 || e.steps > u32::MAX as u64 {
        return Err("past the stream's counters".into());
    }
    let Init::Uniform { lo, hi } = e.init else {
        return Err("the generator writes uniform boxes only".into());
    };
    if !(f32_ok(lo) && f32_ok(hi) && f32_ok(hi - lo) && lo <= hi) {
        return Err(format!("init [{lo}, {hi}]"));
    }
    match &c.problem.potential {
        PotentialKind::SixHumpCamel if c.problem.dim != 2 => return Err("camel dim".into()),
        PotentialKind::Rosenbrock if c.problem.dim < 2 => return Err("rosenbrock dim".into()),
        _ => {}
    }
    for m in &c.methods {
        if !(pos_ok(m.dt) && pos_ok(m.beta) && f32_ok(m.lambda) && m.lambda >= 0.0) {
            return Err(format!("method {m:?}"));
        }
        if m.name.chars().any(char::is_control) || m.slug().is_empty() {
            return Err(format!("name {:?}", m.name));
        }
        if let Scheme::Homogenized {
            eps,
            gamma,
            inner_steps,
            burn_in,
        } = m.scheme
        {
            if !(pos_ok(eps) && pos_ok(gamma) && inner_steps >= 1 && burn_in >= 1) {
                return Err(format!("scheme {:?}", m.scheme));
            }
            if burn_in as u64 + inner_steps as u64 > 1 << 28 {
                return Err("past the stream's 28-bit inner index".into());
            }
            let delta = m.dt / inner_steps as f64;
            if !(f32_ok(delta / eps) && f32_ok((2.0 * delta / (m.beta * eps)).sqrt())) {
                return Err("inner step or noise past f32".into());
            }
        }
        if m.slug().len() > 200 || !f32_ok(m.dt * m.lambda) {
            return Err(format!("method {m:?}"));
        }
    }
    for (i, m) in c.methods.iter().enumerate() {
        if c.methods[..i].iter().any(|o| o.slug() == m.slug()) {
            return Err(format!("two methods write {}", m.slug()));
        }
    }
    if let Some(s) = &c.problem.shift {
        if s.len() != c.problem.dim || !s.iter().all(|&v| f32_ok(v)) {
            return Err("shift".into());
        }
    }
    match &c.problem.potential {
        PotentialKind::Quadratic { a } => {
            let lengths = a.len() == 1 || a.len() == c.problem.dim;
            if !lengths || !a.iter().all(|&v| pos_ok(v)) {
                return Err("quadratic a".into());
            }
        }
        PotentialKind::Rough { delta } if !pos_ok(*delta) => return Err("rough delta".into()),
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Valid documents are accepted, keep their invariants, and survive a round
    /// trip through the TOML the tool writes beside its outputs.
    #[test]
    fn valid_documents_are_accepted(d in doc()) {
        let text = Doc::render(&d.lines());
        let c = Config::from_toml_str(&text, "generated").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(holds_invariants(&c), Ok(()));
        let again = Config::from_toml_str(&c.to_toml(), "written").unwrap();
        prop_assert_eq!(c, again);
    }

    /// A valid document with one field broken is refused, naming the field.
    #[test]
    fn one_broken_field_is_refused_by_name(d in doc(), (key, bad, field) in mutation()) {
        let mut lines = d.lines();
        // A key the document lacks goes into its own table.
        let table_end = |lines: &[(String, String)], after: &str| {
            lines.iter().position(|(k, _)| k == after).map_or(lines.len(), |i| i + 1)
        };
        match lines.iter_mut().find(|(k, _)| k == key) {
            Some(line) => line.1 = bad.to_string(),
            None if key == "append" => {}
            None if ["delta", "a"].contains(&key) => {
                let at = table_end(&lines, "dim");
                lines.insert(at, (key.to_string(), bad.to_string()));
            }
            None => lines.push((key.to_string(), bad.to_string())),
        }
        let mut text = Doc::render(&lines);
        if key == "append" {
            text.push_str(bad);
        }
        match Config::from_toml_str(&text, "mutated") {
            Ok(c) => return Err(TestCaseError::fail(format!("accepted {c:?} from\n{text}"))),
            Err(e) => prop_assert!(e.to_string().contains(field), "{} does not name {}\n{}", e, field, text),
        }
    }

    /// Documents cut, with lines dropped, or with bytes changed: never a panic,
    /// and anything accepted holds the invariants.
    #[test]
    fn damaged_documents_never_panic(d in doc(), cut in 0usize..2000, drop in 0usize..20, flip in (0usize..2000, any::<u8>())) {
        let full = Doc::render(&d.lines());
        let mut variants = vec![full[..cut.min(full.len())].to_string()];
        variants.push(full.lines().enumerate().filter(|(i, _)| *i != drop).map(|(_, l)| format!("{l}\n")).collect());
        let mut bytes = full.clone().into_bytes();
        let at = flip.0 % bytes.len();
        bytes[at] = flip.1;
        variants.push(String::from_utf8_lossy(&bytes).into_owned());
        for text in variants {
            if let Ok(c) = Config::from_toml_str(&text, "damaged") {
                prop_assert_eq!(holds_invariants(&c), Ok(()), "{}", text);
            }
        }
    }
}
