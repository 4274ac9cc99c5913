//! Counter-based random numbers: Philox4x32-10 and the stream contract of
//! docs/DESIGN.md section 3. Every draw is addressed by (seed, domain, run, agent, step,
//! inner step, coordinate), so any engine, thread count or chunking draws the same
//! numbers. Mirrors `shaders/philox.wgsl`.

use crate::fastmath;
use core::convert::Infallible;
use rand_core::{SeedableRng, TryRng};

/// Philox multipliers and Weyl key increments (Salmon et al., SC11, table 2).
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// The second multiplier, applied to counter word 2 in every round (`PHILOX_M0`
/// takes word 0).
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// The increment added to key word 0 before rounds 2 to 10 (the golden ratio).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// The increment added to key word 1 before rounds 2 to 10 (`sqrt(3) - 1`).
pub const PHILOX_W1: u32 = 0xBB67_AE85;

/// The stream domains: the top 4 bits of counter word 3 (docs/DESIGN.md
/// section 3). This enum is the one list of them: the WGSL kernels receive its
/// values as the constants of [`Domain::wgsl`] (`DOMAIN_NOISE`, ...), composed in
/// by `src/gpu/shader.rs`, and hold no domain number of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Domain {
    /// Langevin noise (`sub` = the inner step, 0 for Euler steps).
    Noise = 0,
    /// Initial positions (step 0, `sub` 0).
    Init = 1,
    /// Minibatch indices of stochastic gradients (`sub` = inner step or
    /// perturbation).
    Minibatch = 2,
    /// Perturbations of the smoothed scheme (`sub` = sample).
    Smoothing = 3,
    /// The ellipses data set of Figure 3.
    Data = 4,
    /// The [`PhiloxRng`] streams, kept apart from the engines' draws.
    User = 15,
}

impl Domain {
    /// Every domain.
    pub const ALL: [Domain; 6] = [
        Domain::Noise,
        Domain::Init,
        Domain::Minibatch,
        Domain::Smoothing,
        Domain::Data,
        Domain::User,
    ];

    /// The WGSL constant's name.
    pub fn wgsl_name(self) -> &'static str {
        match self {
            Domain::Noise => "DOMAIN_NOISE",
            Domain::Init => "DOMAIN_INIT",
            Domain::Minibatch => "DOMAIN_MINIBATCH",
            Domain::Smoothing => "DOMAIN_SMOOTHING",
            Domain::Data => "DOMAIN_DATA",
            Domain::User => "DOMAIN_USER",
        }
    }

    /// The WGSL module `stream_domains`: one `const` per domain.
    pub fn wgsl() -> String {
        Domain::ALL
            .iter()
            .map(|d| format!("const {}: u32 = {}u;\n", d.wgsl_name(), *d as u32))
            .collect()
    }
}

/// [`Domain::Noise`] as a counter field.
pub const DOMAIN_NOISE: u32 = Domain::Noise as u32;
/// [`Domain::Init`] as a counter field.
pub const DOMAIN_INIT: u32 = Domain::Init as u32;
/// [`Domain::Minibatch`] as a counter field.
pub const DOMAIN_MINIBATCH: u32 = Domain::Minibatch as u32;
/// [`Domain::Smoothing`] as a counter field.
pub const DOMAIN_SMOOTHING: u32 = Domain::Smoothing as u32;
/// [`Domain::User`] as a counter field.
pub const DOMAIN_USER: u32 = Domain::User as u32;

/// Largest `sub` index that fits below the domain bits.
pub const SUB_MAX: u32 = (1 << 28) - 1;

/// The high and low words of `a * b`. The low word is the wrapping 32-bit
/// product, the same bits as the 64-bit product's low half: written so, the
/// lane path gets one 32-bit vector multiply for it (`vpmulld`) where the
/// truncated 64-bit product cost a widening, two more 64-bit multiplies and
/// the shuffles to pack them (71 instructions a Philox round for 16 lanes with
/// AVX2 before, 40 after; docs/PERFORMANCE.md).
#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, a.wrapping_mul(b))
}

/// Philox4x32 with 10 rounds: a pure function of a 128-bit counter and a 64-bit key.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let (hi0, lo0) = mulhilo(PHILOX_M0, c[0]);
        let (hi1, lo1) = mulhilo(PHILOX_M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// Philox over `W` counters at once that share words 2 and 3, written as loops
/// over lanes so that the compiler turns them into SIMD instructions.
#[inline(always)]
pub fn philox4x32_10_lanes<const W: usize>(
    c0: &[u32; W],
    c1: &[u32; W],
    c2: u32,
    c3: u32,
    key: [u32; 2],
) -> [[u32; W]; 4] {
    let mut x0 = *c0;
    let mut x1 = *c1;
    let mut x2 = [c2; W];
    let mut x3 = [c3; W];
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        for l in 0..W {
            let (hi0, lo0) = mulhilo(PHILOX_M0, x0[l]);
            let (hi1, lo1) = mulhilo(PHILOX_M1, x2[l]);
            let n0 = hi1 ^ x1[l] ^ k[0];
            let n2 = hi0 ^ x3[l] ^ k[1];
            x0[l] = n0;
            x1[l] = lo1;
            x2[l] = n2;
            x3[l] = lo0;
        }
    }
    [x0, x1, x2, x3]
}

/// The key of a seed: low word first.
#[inline]
pub fn key_from_seed(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The counter of the draw for coordinate block `block` (coordinates `4*block..4*block+4`)
/// of global agent `agent` at outer step `step`, in `domain` with sub-index `sub`.
#[inline]
pub fn counter(block: u32, agent: u32, step: u32, domain: u32, sub: u32) -> [u32; 4] {
    debug_assert!(domain < 16 && sub <= SUB_MAX);
    [block, agent, step, (domain << 28) | sub]
}

/// Word 3 of a counter.
#[inline]
pub fn counter_word3(domain: u32, sub: u32) -> u32 {
    (domain << 28) | sub
}

/// `u(x) = (f32(x >> 8) + 0.5) * 2^-24`, in (0, 1]. Exact for `x < 2^31`; above,
/// the half rounds to even in f32 (the same on every IEEE device), so the top
/// words give 1.0. docs/DESIGN.md section 3 says "(0, 1), exact", which holds for the
/// lower half only.
#[inline(always)]
pub fn uniform(x: u32) -> f32 {
    ((x >> 8) as f32 + 0.5) * (1.0 / 16_777_216.0)
}

/// Box-Muller on two uniforms: `(rho cos theta, rho sin theta)` with
/// `rho = sqrt(-2 ln u_a)`, `theta = 2 pi u_b`.
#[inline(always)]
pub fn box_muller(u_a: f32, u_b: f32) -> (f32, f32) {
    polar(radius(fastmath::ln(u_a)), u_b)
}

/// Box-Muller's `rho = sqrt(-2 ln u_a)` from `ln u_a`.
#[inline(always)]
fn radius(ln_u_a: f32) -> f32 {
    (-2.0 * ln_u_a).sqrt()
}

/// Box-Muller's pair `(rho cos theta, rho sin theta)`, `theta = 2 pi u_b`.
#[inline(always)]
fn polar(rho: f32, u_b: f32) -> (f32, f32) {
    let (s, c) = fastmath::sincos(core::f32::consts::TAU * u_b);
    (rho * c, rho * s)
}

/// Four standard normals from one Philox block: coordinates `4b, 4b+1` from words
/// (0, 1) and `4b+2, 4b+3` from words (2, 3).
#[inline(always)]
pub fn normals(words: [u32; 4]) -> [f32; 4] {
    let (z0, z1) = box_muller(uniform(words[0]), uniform(words[1]));
    let (z2, z3) = box_muller(uniform(words[2]), uniform(words[3]));
    [z0, z1, z2, z3]
}

/// [`normals`] over lanes.
#[inline(always)]
#[allow(
    clippy::needless_range_loop,
    reason = "lane loops, indexed as the lane path's"
)]
pub fn normals_lanes<const W: usize>(words: &[[u32; W]; 4]) -> [[f32; W]; 4] {
    // Three loops, each a short chain of dependent operations per lane, so
    // that the out-of-order window holds many lanes' chains at once (ln's
    // polynomial alone is 18 operations deep): the first half of ln, its
    // second half with the root, then the angle (docs/PERFORMANCE.md, "CPU,
    // seventh round").
    let (mut f, mut ef, mut p) = ([[0.0f32; W]; 2], [[0.0f32; W]; 2], [[0.0f32; W]; 2]);
    for pair in 0..2 {
        for l in 0..W {
            let s = fastmath::ln_start(uniform(words[2 * pair][l]));
            (f[pair][l], ef[pair][l], p[pair][l]) = (s.f, s.ef, s.p);
        }
    }
    let mut rho = [[0.0f32; W]; 2];
    for pair in 0..2 {
        for l in 0..W {
            let s = fastmath::LnStart {
                f: f[pair][l],
                ef: ef[pair][l],
                p: p[pair][l],
            };
            rho[pair][l] = radius(fastmath::ln_finish(s));
        }
    }
    let mut z = [[0.0f32; W]; 4];
    for pair in 0..2 {
        let (a, b) = (2 * pair, 2 * pair + 1);
        for l in 0..W {
            (z[a][l], z[b][l]) = polar(rho[pair][l], uniform(words[b][l]));
        }
    }
    z
}

/// The standard normals of global agent `agent`, step `step`, in `domain` with
/// `sub`, for all coordinates (`z.len()` a multiple of 4; coordinates past the
/// dimension take the block's remaining words, as the contract discards them).
///
/// Eight blocks at a time through [`philox4x32_10_lanes`] and [`normals_lanes`]
/// (the lane path's functions: the same operations, so the same bits as
/// [`normals`] of each block's [`philox4x32_10`]), so that the agent path's noise
/// is vectorised too; the last blocks one at a time.
pub fn normals_into(z: &mut [f32], key: [u32; 2], agent: u32, step: u32, domain: u32, sub: u32) {
    const W: usize = 8;
    let word3 = counter_word3(domain, sub);
    let mut groups = z.chunks_exact_mut(4 * W);
    let mut first = 0u32;
    for group in &mut groups {
        let blocks: [u32; W] = core::array::from_fn(|l| first + l as u32);
        let words = philox4x32_10_lanes(&blocks, &[agent; W], step, word3, key);
        let zs = normals_lanes(&words);
        for (l, block) in group.chunks_exact_mut(4).enumerate() {
            for (w, v) in block.iter_mut().enumerate() {
                *v = zs[w][l];
            }
        }
        first += W as u32;
    }
    for (b, block) in groups.into_remainder().chunks_exact_mut(4).enumerate() {
        let words = philox4x32_10(counter(first + b as u32, agent, step, domain, sub), key);
        block.copy_from_slice(&normals(words));
    }
}

/// A Philox stream for use with the `rand` ecosystem: counter
/// `[lo(i), hi(i), stream, 15 << 28]` walks through `i = 0, 1, 2, ...` under the
/// seed's key; each block gives four words. Domain 15 keeps these streams apart
/// from every draw of the engines under the same seed.
///
/// This is for users who want Philox-quality numbers through `rand`'s API; the
/// engines address their draws directly and do not use it. `seed_from_u64(s)` is
/// `new(s, 0)`; `from_seed` takes the seed and the stream as 12 bytes. With the
/// `rand` crate (0.10) it is an `Rng` like any other; here through `rand_core`,
/// which this crate re-exports:
///
/// ```
/// use sgld_swarm::rand_core::{Rng, SeedableRng};
/// use sgld_swarm::rng::PhiloxRng;
///
/// let mut a = PhiloxRng::seed_from_u64(7);
/// let mut b = PhiloxRng::new(7, 0);
/// assert_eq!(a.next_u64(), b.next_u64());
/// // Another stream under the same seed is independent of stream 0.
/// let mut c = PhiloxRng::new(7, 1);
/// assert_ne!(a.next_u64(), c.next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct PhiloxRng {
    key: [u32; 2],
    stream: u32,
    block: u64,
    buf: [u32; 4],
    used: usize,
}

impl PhiloxRng {
    /// A stream under `seed`; different `stream` values give independent streams.
    pub fn new(seed: u64, stream: u32) -> Self {
        Self {
            key: key_from_seed(seed),
            stream,
            block: 0,
            buf: [0; 4],
            used: 4,
        }
    }

    #[inline]
    fn next_word(&mut self) -> u32 {
        if self.used == 4 {
            let c = [
                self.block as u32,
                (self.block >> 32) as u32,
                self.stream,
                DOMAIN_USER << 28,
            ];
            self.buf = philox4x32_10(c, self.key);
            self.block = self.block.wrapping_add(1);
            self.used = 0;
        }
        let w = self.buf[self.used];
        self.used += 1;
        w
    }
}

impl TryRng for PhiloxRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.next_word())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let lo = self.next_word() as u64;
        let hi = self.next_word() as u64;
        Ok(lo | (hi << 32))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(4) {
            let w = self.next_word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

impl SeedableRng for PhiloxRng {
    /// Eight little-endian bytes of the seed, then four of the stream number.
    type Seed = [u8; 12];

    fn from_seed(seed: Self::Seed) -> Self {
        let mut s = [0u8; 8];
        s.copy_from_slice(&seed[..8]);
        let mut t = [0u8; 4];
        t.copy_from_slice(&seed[8..]);
        Self::new(u64::from_le_bytes(s), u32::from_le_bytes(t))
    }

    /// Stream 0 under `state` as the seed: `PhiloxRng::new(state, 0)` (rather
    /// than `rand_core`'s default, which would first scramble `state`).
    fn seed_from_u64(state: u64) -> Self {
        Self::new(state, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    // Known answers from Random123 (`kat_vectors`, philox4x32_10 lines), as quoted
    // in docs/DESIGN.md section 3.
    #[test]
    fn random123_known_answers() {
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        // The third Random123 vector (pi digits).
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn lanes_match_scalar() {
        let key = key_from_seed(0x1234_5678_9abc_def0);
        let c0: [u32; 8] = core::array::from_fn(|l| l as u32 * 7);
        let c1: [u32; 8] = core::array::from_fn(|l| u32::MAX - l as u32);
        let w = philox4x32_10_lanes(&c0, &c1, 99, counter_word3(DOMAIN_NOISE, 5), key);
        for l in 0..8 {
            let s = philox4x32_10(counter(c0[l], c1[l], 99, DOMAIN_NOISE, 5), key);
            for j in 0..4 {
                assert_eq!(w[j][l], s[j], "lane {l} word {j}");
            }
        }
        let z = normals_lanes(&w);
        for l in 0..8 {
            let s = normals([w[0][l], w[1][l], w[2][l], w[3][l]]);
            for j in 0..4 {
                assert_eq!(z[j][l].to_bits(), s[j].to_bits());
            }
        }
    }

    /// Philox4x32-10 written from its definition with the 64-bit product's
    /// halves, independent of [`mulhilo`], so that a wrong word there shows
    /// against it.
    fn philox_reference(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
        let (mut c, mut k) = (counter, key);
        for round in 0..10 {
            if round > 0 {
                k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
            }
            let p0 = (PHILOX_M0 as u64) * (c[0] as u64);
            let p1 = (PHILOX_M1 as u64) * (c[2] as u64);
            c = [
                (p1 >> 32) as u32 ^ c[1] ^ k[0],
                (p1 & 0xffff_ffff) as u32,
                (p0 >> 32) as u32 ^ c[3] ^ k[1],
                (p0 & 0xffff_ffff) as u32,
            ];
        }
        c
    }

    /// The lane Philox at the width given, compiled for AVX2 so that its
    /// multiplies are the lane path's `vpmuludq` and `vpmulld` (the test
    /// build's default target is SSE2, which has no `pmulld`).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn lanes_avx2<const W: usize>(
        c0: &[u32; W],
        c1: &[u32; W],
        c2: u32,
        c3: u32,
        key: [u32; 2],
    ) -> [[u32; W]; 4] {
        philox4x32_10_lanes(c0, c1, c2, c3, key)
    }

    /// The lane normals at 16 lanes, compiled for AVX2 as the lane path's are.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn normals_avx2(words: &[[u32; 16]; 4]) -> [[f32; 16]; 4] {
        normals_lanes(words)
    }

    /// `normals_lanes`, portable and compiled for AVX2 where the CPU has it,
    /// is `normals` (Box-Muller on each lane's words in one pass) bit for bit
    /// in every lane, for `words`: the lanes split Box-Muller into three
    /// loops (`ln`'s two halves, then the angle), which must change no
    /// operation.
    fn assert_normals_lanes_are_box_muller(words: &[[u32; 16]; 4]) {
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut builds = vec![("portable", normals_lanes(words))];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            builds.push(("avx2", unsafe { normals_avx2(words) }));
        }
        for l in 0..16 {
            let want = normals([words[0][l], words[1][l], words[2][l], words[3][l]]);
            for (build, z) in &builds {
                for j in 0..4 {
                    assert_eq!(
                        z[j][l].to_bits(),
                        want[j].to_bits(),
                        "{build}: lane {l} normal {j} of words {:?}",
                        [words[0][l], words[1][l], words[2][l], words[3][l]]
                    );
                }
            }
        }
    }

    /// The words at the uniforms' ends (the least, 2^-25, and the next; the
    /// largest below 1/2 and 1/2 itself; the largest below 1, and 1 from the
    /// top words) and on both sides of where `ln`'s reduction switches (the
    /// mantissa at sqrt(1/2): u near sqrt(1/8) and near sqrt(1/2)), in every
    /// pairing of the two words of a pair.
    #[test]
    fn normals_lanes_are_box_muller_at_the_edges() {
        let edges = [
            0u32,
            0x100,
            0x5a82_7800,
            0x5a82_7900,
            0x7fff_ff00,
            0x8000_0000,
            0xb504_f200,
            0xb504_f300,
            0xffff_fe00,
            u32::MAX,
        ];
        let mut words = [[0u32; 16]; 4];
        for (i, (a, b)) in edges
            .iter()
            .flat_map(|&a| edges.iter().map(move |&b| (a, b)))
            .enumerate()
        {
            let (l, pair) = (i % 16, (i / 16) % 2);
            (words[2 * pair][l], words[2 * pair + 1][l]) = (a, b);
            if i % 32 == 31 || i + 1 == edges.len() * edges.len() {
                assert_normals_lanes_are_box_muller(&words);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// As `normals_lanes_are_box_muller_at_the_edges`, for any words.
        #[test]
        fn normals_lanes_are_box_muller_for_any_words(
            w0 in proptest::array::uniform16(proptest::num::u32::ANY),
            w1 in proptest::array::uniform16(proptest::num::u32::ANY),
            w2 in proptest::array::uniform16(proptest::num::u32::ANY),
            w3 in proptest::array::uniform16(proptest::num::u32::ANY),
        ) {
            assert_normals_lanes_are_box_muller(&[w0, w1, w2, w3]);
        }

        /// The multiply's two words are the 64-bit product's halves for any
        /// operands.
        #[test]
        fn mulhilo_is_the_64_bit_product(a in proptest::num::u32::ANY, b in proptest::num::u32::ANY) {
            let p = (a as u64) * (b as u64);
            proptest::prop_assert_eq!(mulhilo(a, b), ((p >> 32) as u32, (p & 0xffff_ffff) as u32));
        }

        /// The lane Philox, at both widths the engines use (16 in the lane
        /// path, 8 in `normals_into`), portable and compiled for AVX2 where
        /// the CPU has it, and the scalar Philox are all the reference in
        /// every lane, for any counter and key.
        #[test]
        fn lanes_match_the_reference_for_any_counter(
            c0 in proptest::array::uniform16(proptest::num::u32::ANY),
            c1 in proptest::array::uniform16(proptest::num::u32::ANY),
            c2 in proptest::num::u32::ANY,
            c3 in proptest::num::u32::ANY,
            key in proptest::array::uniform2(proptest::num::u32::ANY),
        ) {
            let narrow_c0: [u32; 8] = core::array::from_fn(|l| c0[l]);
            let narrow_c1: [u32; 8] = core::array::from_fn(|l| c1[l]);
            #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
            let mut builds = vec![(
                "portable",
                philox4x32_10_lanes(&c0, &c1, c2, c3, key),
                philox4x32_10_lanes(&narrow_c0, &narrow_c1, c2, c3, key),
            )];
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                let (wide, narrow) = unsafe {
                    (
                        lanes_avx2(&c0, &c1, c2, c3, key),
                        lanes_avx2(&narrow_c0, &narrow_c1, c2, c3, key),
                    )
                };
                builds.push(("avx2", wide, narrow));
            }
            for l in 0..16 {
                let want = philox_reference([c0[l], c1[l], c2, c3], key);
                proptest::prop_assert_eq!(philox4x32_10([c0[l], c1[l], c2, c3], key), want, "scalar");
                for (build, wide, narrow) in &builds {
                    for j in 0..4 {
                        proptest::prop_assert_eq!(wide[j][l], want[j], "{} 16 lanes: lane {} word {}", build, l, j);
                        if l < 8 {
                            proptest::prop_assert_eq!(narrow[j][l], want[j], "{} 8 lanes: lane {} word {}", build, l, j);
                        }
                    }
                }
            }
        }
    }

    /// `normals_into` (eight blocks in lanes, then the rest one by one) equals its
    /// definition, `normals` of each block's Philox words, bit for bit: lengths
    /// below, at and around multiples of the 32 coordinates of a lane group, and a
    /// large block index (the lanes' counters must carry on from group to group).
    #[test]
    fn normals_into_is_normals_of_each_block() {
        let key = key_from_seed(12);
        for len in [4, 28, 32, 36, 64, 776, 4 * 1000] {
            let mut z = vec![f32::NAN; len];
            normals_into(&mut z, key, 77, 5, DOMAIN_NOISE, 3);
            for (b, block) in z.chunks(4).enumerate() {
                let want = normals(philox4x32_10(
                    counter(b as u32, 77, 5, DOMAIN_NOISE, 3),
                    key,
                ));
                for j in 0..4 {
                    assert_eq!(
                        block[j].to_bits(),
                        want[j].to_bits(),
                        "len {len}, block {b}"
                    );
                }
            }
        }
    }

    /// Below 2^23 the 24-bit integer plus a half is exact; above, f32 spacing is 1
    /// and the half rounds to even, so the largest words give exactly 1.0 (which
    /// the Box-Muller map takes: ln 1 = 0). Never 0, so ln is always finite.
    #[test]
    fn uniform_range_and_rounding() {
        assert_eq!(uniform(0), 0.5 / 16_777_216.0);
        assert!(uniform(0) > 0.0);
        assert_eq!(uniform(0x7fff_ffff) as f64, (8_388_607.5) / 16_777_216.0);
        assert_eq!(uniform(0x8000_0000) as f64, 8_388_608.0 / 16_777_216.0);
        assert_eq!(uniform(u32::MAX), 1.0);
        let (z0, z1) = box_muller(uniform(u32::MAX), 0.25);
        assert_eq!((z0, z1), (0.0, 0.0));
    }

    /// Moments of 4e5 normals: the standard error of the mean is 1/sqrt(n) = 1.6e-3
    /// and of the variance sqrt(2/n) = 2.2e-3; 5 standard errors is a bound no
    /// correct generator crosses in practice, and a wrong Box-Muller (e.g. a missing
    /// factor 2) moves them by far more.
    #[test]
    fn normals_have_unit_moments() {
        let key = key_from_seed(7);
        let n_blocks = 100_000u32;
        let (mut s1, mut s2, mut s4) = (0.0f64, 0.0f64, 0.0f64);
        for b in 0..n_blocks {
            for z in normals(philox4x32_10(counter(b, 3, 11, DOMAIN_NOISE, 0), key)) {
                let z = z as f64;
                s1 += z;
                s2 += z * z;
                s4 += z * z * z * z;
            }
        }
        let n = 4.0 * n_blocks as f64;
        let mean = s1 / n;
        let var = s2 / n - mean * mean;
        let kurt = s4 / n;
        assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "var {var}");
        // The fourth moment has variance 96/n.
        assert!((kurt - 3.0).abs() < 5.0 * (96.0 / n).sqrt(), "E z^4 {kurt}");
    }

    #[test]
    fn rand_core_stream_is_the_philox_sequence() {
        let mut rng = PhiloxRng::new(42, 3);
        let b0 = philox4x32_10([0, 0, 3, DOMAIN_USER << 28], key_from_seed(42));
        let b1 = philox4x32_10([1, 0, 3, DOMAIN_USER << 28], key_from_seed(42));
        let got: Vec<u32> = (0..8).map(|_| rng.next_u32()).collect();
        assert_eq!(got, [b0, b1].concat());
        let mut seed = [0u8; 12];
        seed[..8].copy_from_slice(&42u64.to_le_bytes());
        seed[8..].copy_from_slice(&3u32.to_le_bytes());
        let mut again = PhiloxRng::from_seed(seed);
        assert_eq!(again.next_u64(), b0[0] as u64 | ((b0[1] as u64) << 32));
        let mut bytes = [0u8; 6];
        again.fill_bytes(&mut bytes);
        assert_eq!(&bytes[..4], &b0[2].to_le_bytes());
        assert_eq!(&bytes[4..], &b0[3].to_le_bytes()[..2]);
    }
}
