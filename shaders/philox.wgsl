// Philox4x32-10 and the stream maps of docs/DESIGN.md section 3.
// Keep in sync with src/rng.rs: every function here has a twin there.
//!include fastmath

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// DOMAIN_NOISE, DOMAIN_INIT, ...: generated from rng::Domain.
//!include stream_domains

//!include mulhilo

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo(PHILOX_M0, c.x);
    let p1 = mulhilo(PHILOX_M1, c.z);
    return vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
}

// Written out round by round (the key is bumped before rounds 2..10), so that no
// loop stands between the GPU compiler and straight-line code.
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let w = vec2<u32>(PHILOX_W0, PHILOX_W1);
    var k = key;
    var c = philox_round(counter, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    return philox_round(c, k);
}

fn counter_word3(domain: u32, sub: u32) -> u32 {
    return (domain << 28u) | sub;
}

// (f32(x >> 8) + 0.5) * 2^-24, in (0, 1].
fn uniform01(x: u32) -> f32 {
    return (f32(x >> 8u) + 0.5) * (1.0 / 16777216.0);
}

fn box_muller(u_a: f32, u_b: f32) -> vec2<f32> {
    let rho = sqrt(-2.0 * fast_ln(u_a));
    let sc = fast_sincos(6.28318530717958647692 * u_b);
    return vec2<f32>(rho * sc.y, rho * sc.x);
}

// Four standard normals from one Philox block: coordinates 4b, 4b+1 from words
// (0, 1) and 4b+2, 4b+3 from words (2, 3).
fn normals4(w: vec4<u32>) -> vec4<f32> {
    let a = box_muller(uniform01(w.x), uniform01(w.y));
    let b = box_muller(uniform01(w.z), uniform01(w.w));
    return vec4<f32>(a.x, a.y, b.x, b.y);
}
