// (high, low) halves of the 64-bit product a * b with the adapter's 64-bit
// integers (wgpu's SHADER_INT64): one multiply instead of four. Must give the same
// bits as mulhilo_portable.wgsl and src/rng.rs.

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let p = u64(a) * u64(b);
    return vec2<u32>(u32(p >> 32u), u32(p & 0xFFFFFFFFlu));
}
