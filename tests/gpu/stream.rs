//! The random stream on the GPU against the CPU: Philox words, uniforms and
//! normals, and the grid that addresses them.

use super::*;

/// Philox words and uniforms are bit-identical to the CPU's over 1e5 counters and
/// both known-answer vectors, with the portable multiply and (where the adapter
/// has 64-bit integers) the u64 one; normals agree to the rounding of ln, sin and
/// cos (a few ulp, amplified by rho <= 6 for u >= 2^-25: 1e-5 absolute).
#[test]
fn philox_stream_matches_the_cpu() {
    let Some(ctx) = context() else { return };
    if !ctx.int64 {
        eprintln!("SKIPPED: the u64 Philox path (the adapter has no SHADER_INT64)");
    }
    for int64 in [false, true] {
        if int64 && !ctx.int64 {
            continue;
        }
        philox_stream(&ctx, int64);
    }
}

fn philox_stream(ctx: &GpuContext, int64: bool) {
    let key = rng::key_from_seed(0x0123_4567_89ab_cdef);
    let base = [7, 12345, 678, rng::counter_word3(rng::DOMAIN_NOISE, 19)];
    // 100_000 / 64 workgroups also crosses no limit; the 2-D grid is tested below.
    let d = dump::dump(ctx, base, key, 100_000, int64).unwrap();
    for i in 0..100_000u32 {
        let c = [base[0] + i, base[1], base[2], base[3]];
        let w = rng::philox4x32_10(c, key);
        assert_eq!(d.words[i as usize], w, "counter {c:?}");
        for j in 0..4 {
            assert_eq!(
                d.uniforms[i as usize][j].to_bits(),
                rng::uniform(w[j]).to_bits()
            );
        }
        let z = rng::normals(w);
        for j in 0..4 {
            let g = d.normals[i as usize][j];
            assert!(
                (g - z[j]).abs() <= 1e-5,
                "counter {c:?} normal {j}: GPU {g}, CPU {}",
                z[j]
            );
        }
    }
    // The Random123 known answers, through the GPU.
    let zero = dump::dump(ctx, [0; 4], [0; 2], 1, int64).unwrap();
    assert_eq!(
        zero.words[0],
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    let ones = dump::dump(ctx, [u32::MAX; 4], [u32::MAX; 2], 1, int64).unwrap();
    assert_eq!(
        ones.words[0],
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
}

/// More than 65535 workgroups of 64: the kernel is dispatched on a 2-D grid and
/// every counter is still covered exactly once.
#[test]
fn dump_covers_a_2d_grid() {
    let Some(ctx) = context() else { return };
    let count = 65_536 * 64 + 100;
    let key = rng::key_from_seed(3);
    let d = dump::dump(&ctx, [0, 1, 2, 3], key, count, ctx.int64).unwrap();
    for i in (0..count).step_by(9973).chain([count - 1]) {
        assert_eq!(
            d.words[i as usize],
            rng::philox4x32_10([i, 1, 2, 3], key),
            "counter {i}"
        );
    }
}
