// One stage of a bitonic sort of every run's segment of the scratch buffer (each
// of length pow2): invocation t compares one pair. A dispatch per stage, so that
// no invocation loops long between barriers.
//!include diag_params

struct Stage {
    size: u32,
    stride: u32,
    _pad0: u32,
    _pad1: u32,
}
// The twin of SortStage in src/engine/gpu/records.rs (layouts compared by a test).

@group(0) @binding(0) var<uniform> diag: DiagParams;
@group(0) @binding(1) var<uniform> stage: Stage;
@group(0) @binding(2) var<storage, read_write> scratch: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 64u;
    let pairs = diag.pow2 / 2u;
    if t >= diag.runs * pairs {
        return;
    }
    let base = (t / pairs) * diag.pow2;
    let p = t % pairs;
    let i = 2u * stage.stride * (p / stage.stride) + p % stage.stride;
    let j = i + stage.stride;
    let up = (i & stage.size) == 0u;
    let a = scratch[base + i];
    let b = scratch[base + j];
    if (a > b) == up {
        scratch[base + i] = b;
        scratch[base + j] = a;
    }
}
