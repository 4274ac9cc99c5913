// Writes Philox words, uniforms and normals for a range of counters, so that tests
// can compare the GPU's stream with the CPU's bit for bit.
//!include philox

struct DumpParams {
    // Counter of invocation i: [base.x + i, base.y, base.z, base.w].
    base: vec4<u32>,
    key: vec2<u32>,
    count: u32,
    _pad: u32,
}
// Keep in sync with DumpParams in src/gpu/dump.rs.

@group(0) @binding(0) var<uniform> params: DumpParams;
@group(0) @binding(1) var<storage, read_write> words: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> uniforms: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> normals: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if i >= params.count {
        return;
    }
    let c = vec4<u32>(params.base.x + i, params.base.y, params.base.z, params.base.w);
    let w = philox4x32_10(c, params.key);
    words[i] = w;
    uniforms[i] = vec4<f32>(uniform01(w.x), uniform01(w.y), uniform01(w.z), uniform01(w.w));
    normals[i] = normals4(w);
}
