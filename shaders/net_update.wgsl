// The elementwise part of a step for a data-driven potential (the network of
// Figure 3), whose minibatch gradients resnet_grad.wgsl has written: an
// invocation per block of 4 parameters of one agent. Mode 0: an Euler step of X;
// mode 1: inner step m of Y (homogenized), with the running sum of Y; mode 2: the
// homogenized X update. The same arithmetic, in the same order, as the CPU
// engine's agent path (src/engine/cpu.rs).
//!include philox

// Keep in sync with NetStep in src/engine/gpu_net.rs.
struct NetStep {
    key: vec2<u32>,
    n: u32,
    m: u32,
    mode: u32,
    agents: u32,
    dim: u32,
    blocks: u32,
    jobs: u32,
    grad_step: f32,
    noise: f32,
    lambda_dt: f32,
    y_pull: f32,
    dt_over_gamma: f32,
    inv_m: f32,
    burn_in: u32,
    // 0 none, 1 coordinate.
    taming: u32,
    interacting: u32,
    agent_base: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> ps: NetStep;
@group(0) @binding(1) var<storage, read_write> xs: array<f32>;
@group(0) @binding(2) var<storage, read_write> ys: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;
@group(0) @binding(4) var<storage, read> grads: array<f32>;
@group(0) @binding(5) var<storage, read> means: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 64u;
    if j >= ps.jobs {
        return;
    }
    let g = j / ps.blocks;
    let b = j % ps.blocks;
    let r = g / ps.agents;
    let sub = select(0u, ps.m, ps.mode == 1u);
    let z = normals4(philox4x32_10(vec4<u32>(b, ps.agent_base + g, ps.n, counter_word3(DOMAIN_NOISE, sub)), ps.key));
    for (var w = 0u; w < 4u; w++) {
        let k = 4u * b + w;
        if k >= ps.dim {
            break;
        }
        let i = g * ps.dim + k;
        let mean = select(0.0, means[r * ps.dim + k], ps.interacting != 0u);
        let hg = ps.grad_step * grads[i];
        let tamed = select(hg, hg / (1.0 + abs(hg)), ps.taming == 1u);
        if ps.mode == 0u {
            let xv = xs[i];
            xs[i] = xv - tamed - ps.lambda_dt * (xv - mean) + ps.noise * z[w];
        } else if ps.mode == 1u {
            let yv = ys[i];
            let yn = yv - tamed + ps.y_pull * (xs[i] - yv) + ps.noise * z[w];
            ys[i] = yn;
            sums[i] = select(sums[i], 0.0, ps.m == 0u) + select(0.0, yn, ps.m + 1u >= ps.burn_in);
        } else {
            let xv = xs[i];
            xs[i] = xv - ps.dt_over_gamma * (xv - sums[i] * ps.inv_m) - ps.lambda_dt * (xv - mean);
        }
    }
}
