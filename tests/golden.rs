//! Golden hashes: the SHA-256 (as `sha256sum` prints it) of every
//! `positions-<method>.npy` that `sgld-swarm run --preset NAME --backend cpu
//! --steps S` writes, for the paper's presets at a few steps, with one and with
//! two threads.
//!
//! The hashes are the positions of the code at commit eff82df. They pin every
//! bit of the CPU engine's arithmetic (schemes, stream, potentials, special
//! functions, step constants, the preset files, the `.npy` layout) through a
//! refactor: a change of any of them is a change of the contract, to be made on
//! purpose, with the new hashes and the reason in the same commit. (One file
//! name changed since, not its contents: slugs lost their trailing dash, so the
//! Figure 3 method "HOM-SGLD (forward Euler net)" writes `...-euler-net.npy`.)

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::process::Command;

/// (preset, `--steps`, `[(file, sha256)]` for every method of the preset).
///
/// Captured from the release binary of commit eff82df with
/// `sgld-swarm run --preset NAME --backend cpu --steps S --out DIR` and
/// `sha256sum DIR/positions-*.npy`; the same with RAYON_NUM_THREADS=1 and 2, and
/// with SGLD_SWARM_SIMD=portable and avx2 (the lane path's instruction sets).
type Golden = (&'static str, u64, &'static [(&'static str, &'static str)]);

const GOLDEN: &[Golden] = &[
    (
        "fig1-camel",
        20,
        &[
            (
                "positions-hom-sgld.npy",
                "129f29d868e5440032115751e7176ff6dd9bc8480db232cddb4689180ec40a1a",
            ),
            (
                "positions-mf-hom-sgld-lambda-10.npy",
                "3322f84b3de44aed702d429fe468c9f3090811d6735be1de40d25d26fbbdc557",
            ),
            (
                "positions-mf-hom-sgld-lambda-2.npy",
                "f495d5495a5eb3a1024cbe8d127e658ac35d162076adf0f2682f0dc7cd2b0491",
            ),
            (
                "positions-mf-sgld-lambda-10.npy",
                "d8390dc6279fc96d48bb744c714d0cb0fc3000d1e50c50dbcb97bcf588a97c81",
            ),
            (
                "positions-mf-sgld-lambda-2.npy",
                "dc5c703b59a93cffb40f8e0b198e3deb422adb59fd243f36b87b76538ef3e532",
            ),
            (
                "positions-sgld.npy",
                "9b17307ea9e4b4b7b167297bc6c2163914d9d510315925959a683522d30c30ed",
            ),
        ],
    ),
    (
        "fig2-rough-d10",
        10,
        &[
            (
                "positions-hom-sgld.npy",
                "2c80e8a56adff3e5bf6f719c4071885fb2549f3894b63929c1363be672412ae8",
            ),
            (
                "positions-mf-hom-sgld.npy",
                "84cc311b4726df121b607d0f753cb9e8df9eb41ecf25a7448f467198baba20c5",
            ),
            (
                "positions-mf-sgld.npy",
                "cd243a5cd901782d0f42167992c904a94e26d2bb49631844c466bc6156036ffd",
            ),
            (
                "positions-sgld.npy",
                "7ea119c0d33993bc8ab2ce0849dd963ac3cdb407d26ecf13bb0ff75fbb8e767e",
            ),
        ],
    ),
    (
        "fig2-rough-d50",
        5,
        &[
            (
                "positions-hom-sgld.npy",
                "4eccdf81527d3f1921591f175945857764f7bd9883cc02d639b3362fe8b5b94b",
            ),
            (
                "positions-mf-hom-sgld.npy",
                "368f90399faebaecf6441b03553d63a5505fa0836205610548820dbce9605523",
            ),
            (
                "positions-mf-sgld.npy",
                "19188ebd864e2cbab38c504ad9c4261da74b57abf441ecc4a8d5e69a2e6148af",
            ),
            (
                "positions-sgld.npy",
                "ea8bee0cd192d9103758f6a33ab43a7b1ead4fa908066f67649b086ef71dc6e8",
            ),
        ],
    ),
];

/// The presets of the interactions, captured when they were added (from the
/// release binary that introduced the weighted mean and CBO, the same commands;
/// SGLD_SWARM_SIMD=portable gives the same CBO file). The plain-mean methods of
/// `fig1-camel-weighted` are `fig1-camel`'s methods of the same parameters under
/// another name, and hash as those do above.
const GOLDEN_INTERACTIONS: &[Golden] = &[
    (
        "fig1-camel-weighted",
        20,
        &[
            (
                "positions-mf-hom-sgld-lambda-2-mean.npy",
                "f495d5495a5eb3a1024cbe8d127e658ac35d162076adf0f2682f0dc7cd2b0491",
            ),
            (
                "positions-mf-hom-sgld-lambda-2-weighted.npy",
                "b6f522fd9c20deddc0fc5cf52f00c98b0e973751d6c60f41e137d55569136612",
            ),
            (
                "positions-mf-sgld-lambda-2-mean.npy",
                "dc5c703b59a93cffb40f8e0b198e3deb422adb59fd243f36b87b76538ef3e532",
            ),
            (
                "positions-mf-sgld-lambda-2-weighted.npy",
                "4b4d16a6ab52d7e399bbac98a4543111225a7f853bd583feba0e07c958545e72",
            ),
        ],
    ),
    (
        "cbo-rastrigin-d20",
        5,
        &[(
            "positions-cbo.npy",
            "34f3dae3e3eef0ae65ca50e3ed90b58e0d1f9a81174b0bdb3146e4aba1ee98b5",
        )],
    ),
];

/// The Figure 3 network (774 parameters, 8 agents), for 2 epochs.
///
/// Changed on purpose since eff82df: the CPU engine's minibatch gradient of the
/// network is computed in f32 with the samples in SIMD lanes (src/nn/lanes.rs)
/// instead of in f64 and rounded, which made it 17x faster (docs/DESIGN.md
/// section 4, docs/PERFORMANCE.md). Captured from the release binary of the
/// commit that made that change, as above, with RAYON_NUM_THREADS=1 and 2 and
/// SGLD_SWARM_SIMD=portable and avx2: all four the same.
const GOLDEN_FIG3: Golden = (
    "fig3-ellipses",
    2,
    &[
        (
            "positions-hom-sgld-forward-euler-net.npy",
            "19b05c04987ffe8a9bff5c294ef64120d378dbc1de41f4931910253d5eaba36d",
        ),
        (
            "positions-hom-sgld.npy",
            "1ad65d996463cecfe9b481c22bfd0ed0ca445a05dd1f3f82fe27d676ba5d9927",
        ),
        (
            "positions-sgld.npy",
            "14745f64cba0ace76aba9ddc3d1abebb1b3473fab31d6941d2f4163c0d60dea0",
        ),
    ],
);

/// Runs a preset on the CPU with `threads` rayon threads and returns the hash of
/// each `positions-*.npy` it wrote, by file name.
fn hashes(preset: &str, steps: u64, threads: &str) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_sgld-swarm"))
        .env("RAYON_NUM_THREADS", threads)
        .args([
            "run",
            "--preset",
            preset,
            "--backend",
            "cpu",
            "--steps",
            &steps.to_string(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{preset}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("positions-") && n.ends_with(".npy"))
        .map(|n| {
            let bytes = std::fs::read(out.join(&n)).unwrap();
            let hex: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (n, hex)
        })
        .collect()
}

/// Every method's file and hash, with 1 and 2 threads; on a mismatch, every line
/// that differs (file, hash written, golden hash: tolerance none, bit for bit).
fn check(golden: &Golden) {
    let (preset, steps, want) = *golden;
    let want: BTreeMap<String, String> = want
        .iter()
        .map(|(f, h)| (f.to_string(), h.to_string()))
        .collect();
    for threads in ["1", "2"] {
        let got = hashes(preset, steps, threads);
        let mut report = Vec::new();
        for f in want
            .keys()
            .chain(got.keys().filter(|f| !want.contains_key(*f)))
        {
            let (g, w) = (got.get(f), want.get(f));
            if g != w {
                report.push(format!(
                    "  {f}: written {}, golden {}",
                    g.map_or("(none)", |s| s.as_str()),
                    w.map_or("(none)", |s| s.as_str())
                ));
            }
        }
        assert!(
            report.is_empty(),
            "run --preset {preset} --backend cpu --steps {steps}, RAYON_NUM_THREADS={threads}: \
             positions differ from the golden ones (bit for bit):\n{}\n\
             all written: {got:#?}",
            report.join("\n")
        );
    }
}

/// Figures 1 and 2: 6 methods on the camel (agent path), 4 on the rough
/// potential in d = 10 and 50 (lane path), every bit of the final positions.
#[test]
fn paper_presets_match_the_golden_positions() {
    for g in GOLDEN {
        check(g);
    }
}

/// The weighted mean (agent path, camel) and CBO (lane path, Rastrigin d = 20,
/// 100 x 100 agents), every bit of the final positions.
#[test]
fn interaction_presets_match_the_golden_positions() {
    for g in GOLDEN_INTERACTIONS {
        check(g);
    }
}

/// Figure 3: the ResNet's 774 weights after 2 epochs of SGLD and HOM-SGLD
/// (minibatches from stream domain 2, the network's gradient in f32 lanes).
#[test]
fn fig3_preset_matches_the_golden_positions() {
    check(&GOLDEN_FIG3);
}
