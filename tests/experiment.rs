//! Whole experiments from the library: a user's potential runs every method of
//! an experiment and gets the outputs of a built-in.

use sgld_swarm::config::Config;
use sgld_swarm::experiment::{self, Silent};
use sgld_swarm::potential::{Potential, Rough, Shift};
use sgld_swarm::{Backend, Options, output};

const TEXT: &str = r#"
[problem]
potential = "rough"
dim = 3
delta = 0.05
shift = [0.5, -0.25, 0.0]

[ensemble]
runs = 2
agents = 6
steps = 8
seed = 4
record_every = 4
init = { normal = { mean = 0.5, std = 1.0 } }

[[method]]
name = "MF-SGLD"
scheme = "euler"
dt = 0.01
beta = 2.0
lambda = 1.0
taming = "coordinate"

[[method]]
name = "MF-HOM-SGLD"
scheme = "homogenized"
dt = 0.005
beta = 2.0
lambda = 1.0
taming = "coordinate"
eps = 0.01
gamma = 0.1
inner_steps = 3
"#;

/// The rough potential under a type of the user's (so not a built-in): every
/// method delegates, so its gradients are the built-in's, bit for bit.
#[derive(Clone)]
struct Twin(Rough);

impl Potential for Twin {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.0.value(x)
    }
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        self.0.grad(x, g)
    }
    fn separable(&self) -> bool {
        self.0.separable()
    }
    fn coord_consts(&self, k: usize) -> [f32; 2] {
        self.0.coord_consts(k)
    }
    fn grad_coord(&self, k: usize, consts: [f32; 2], x_k: f32) -> f32 {
        self.0.grad_coord(k, consts, x_k)
    }
    fn reference_points(&self) -> Vec<Vec<f64>> {
        self.0.reference_points()
    }
    fn name(&self) -> String {
        "rough twin".into()
    }
}

/// The twin's experiment equals the configuration's bit for bit (same methods,
/// same stream, same gradients), and `write_all` writes the same files; its
/// `config.toml` names the potential in a comment and holds the ensemble and
/// the methods, which read back equal, and no `[problem]` table.
#[test]
fn a_users_potential_runs_a_whole_experiment() {
    let config = Config::from_toml_str(TEXT, "test").unwrap();
    let cpu = Options {
        backend: Backend::Cpu,
        ..Options::default()
    };
    let builtin = experiment::run(&config, cpu.clone(), &mut Silent).unwrap();
    let twin = Twin(Rough::new(0.05, Shift::new(vec![0.5, -0.25, 0.0])));
    let user =
        experiment::run_with_potential(twin, &config.ensemble, &config.methods, cpu, &mut Silent)
            .unwrap();
    assert_eq!(user.methods.len(), 2);
    for (a, b) in builtin.methods.iter().zip(&user.methods) {
        assert_eq!(a.slug, b.slug);
        assert_eq!(a.positions, b.positions, "{}", a.name);
        assert_eq!(a.history.steps(), b.history.steps(), "{}", a.name);
    }
    assert_eq!(user.potential_name(), "rough twin");
    assert!(user.config().is_none());

    let dir = tempfile::tempdir().unwrap();
    let (b_dir, u_dir) = (dir.path().join("builtin"), dir.path().join("user"));
    output::write_all(&b_dir, &builtin).unwrap();
    output::write_all(&u_dir, &user).unwrap();
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&b_dir), names(&u_dir));
    for f in ["positions-mf-sgld.npy", "positions-mf-hom-sgld.npy"] {
        assert_eq!(
            std::fs::read(b_dir.join(f)).unwrap(),
            std::fs::read(u_dir.join(f)).unwrap(),
            "{f}"
        );
    }
    let written = std::fs::read_to_string(u_dir.join("config.toml")).unwrap();
    assert!(
        written.starts_with("# The potential is \"rough twin\" (d = 3)"),
        "{written}"
    );
    let table: toml::Table = toml::from_str(&written).unwrap();
    assert!(!table.contains_key("problem"), "{written}");
    // With the [problem] table put back, it is the configuration that ran.
    let problem = TEXT.split("[ensemble]").next().unwrap();
    let again = Config::from_toml_str(&format!("{problem}\n{written}"), "again").unwrap();
    assert_eq!(again, config);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(u_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["potential"], "rough twin");
    assert_eq!(summary["dim"], 3);
}

/// A user's experiment is checked like a configuration: method names that give
/// the same file name, and an initial box of the wrong dimension, by field.
#[test]
fn a_users_experiment_is_checked_by_field() {
    let config = Config::from_toml_str(TEXT, "test").unwrap();
    let twin = Twin(Rough::new(0.05, Shift::zero(3)));
    let mut methods = config.methods.clone();
    methods[1].name = "mf sgld".into();
    let err = experiment::run_with_potential(
        twin.clone(),
        &config.ensemble,
        &methods,
        Options::default(),
        &mut Silent,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("method[1].name"), "{err}");
    let boxed = config.ensemble.clone().init_box(vec![0.0; 2], vec![1.0; 2]);
    let err = experiment::run_with_potential(
        twin,
        &boxed,
        &config.methods,
        Options::default(),
        &mut Silent,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("ensemble.init.box.lo"), "{err}");
}
