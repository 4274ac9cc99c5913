//! Every scheme and interaction, on the paths they take: the methods the
//! checks over ranks (tests/ranks.rs, tests/gpu/ranks.rs) run split and whole.

use sgld_swarm::{MethodConfig, Taming};

pub fn methods() -> Vec<MethodConfig> {
    let tamed = |m: MethodConfig| m.taming(Taming::Coordinate);
    vec![
        tamed(MethodConfig::euler("SGLD", 0.01, 2.0)),
        tamed(MethodConfig::euler("MF-SGLD", 0.01, 2.0).lambda(3.0)),
        MethodConfig::euler("MF-SGLD norm", 0.01, 2.0)
            .lambda(3.0)
            .taming(Taming::Norm),
        tamed(MethodConfig::homogenized("MF-HOM-SGLD", 0.005, 2.0, 0.01, 0.1, 4).lambda(3.0)),
        tamed(
            MethodConfig::euler("weighted", 0.01, 2.0)
                .lambda(3.0)
                .weighted(30.0),
        ),
        tamed(
            MethodConfig::homogenized("weighted HOM", 0.005, 2.0, 0.01, 0.1, 4)
                .lambda(3.0)
                .weighted(30.0),
        ),
        tamed(MethodConfig::euler("l1", 0.01, 2.0).lambda(3.0).l1()),
        tamed(
            MethodConfig::homogenized("l1 HOM", 0.005, 2.0, 0.01, 0.1, 4)
                .lambda(3.0)
                .l1(),
        ),
        tamed(MethodConfig::smoothed("smoothed", 0.01, 2.0, 0.1, 2).lambda(3.0)),
        MethodConfig::cbo("CBO", 0.01, 1.0, 1.0, 100.0),
        MethodConfig::cbo("CBO isotropic", 0.01, 1.0, 0.5, 100.0)
            .noise(sgld_swarm::config::CboNoise::Isotropic),
    ]
}
