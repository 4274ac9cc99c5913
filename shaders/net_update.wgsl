// The elementwise part of a step for a data-driven potential (the network of
// Figure 3), whose minibatch gradients resnet_grad.wgsl has written: an
// invocation per block of 4 parameters of one agent, one dispatch per gradient.
// Euler: the step of X. Homogenized (params.phase): inner step m = phase of Y,
// with the running sum of Y, for phase < inner_len; then the X update at phase
// inner_len. The same parameters, taming, divergence flags and arithmetic, in
// the same order, as step_block.wgsl and the CPU engine's agent path
// (src/engine/cpu/mod.rs).
//!include philox
//!include step_params

@group(0) @binding(0) var<uniform> params: StepParams;
@group(0) @binding(1) var<storage, read_write> xs: array<f32>;
@group(0) @binding(2) var<storage, read_write> ys: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;
@group(0) @binding(4) var<storage, read> grads: array<f32>;
@group(0) @binding(5) var<storage, read> means: array<f32>;
@group(0) @binding(6) var<storage, read_write> status: array<atomic<u32>>;
// The first step after which each agent had a bad position (u32::MAX if none),
// so that a divergence names the earliest (step, agent) as the CPU engine does.
@group(0) @binding(7) var<storage, read_write> bad_steps: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 64u;
    if j >= params.jobs {
        return;
    }
    let g = j / params.blocks;
    let b = j % params.blocks;
    let r = g / params.agents;
    let n = params.n0;
    let inner = params.homogenized != 0u && params.phase < params.inner_len;
    let m = select(0u, params.phase, inner);
    let z = normals4(philox4x32_10(vec4<u32>(b, params.agent_base + g, n, counter_word3(DOMAIN_NOISE, m)), params.key));
    var bad = false;
    for (var w = 0u; w < 4u; w++) {
        let k = 4u * b + w;
        if k >= params.dim {
            break;
        }
        let i = g * params.dim + k;
        let mean = select(0.0, means[r * params.dim + k], params.interacting != 0u);
        let tamed = tame_coordinate(params.grad_step, grads[i], params.taming);
        if params.homogenized == 0u {
            let xv = xs[i];
            let xn = xv - tamed - params.lambda_dt * (xv - mean) + params.noise * z[w];
            xs[i] = xn;
            bad = bad || is_bad(xn);
        } else if inner {
            let yv = ys[i];
            let yn = yv - tamed + params.y_pull * (xs[i] - yv) + params.noise * z[w];
            ys[i] = yn;
            sums[i] = select(sums[i], 0.0, m == 0u) + select(0.0, yn, m + 1u >= params.burn_in);
        } else {
            let xv = xs[i];
            let xn = xv - params.dt_over_gamma * (xv - sums[i] * params.inv_m) - params.lambda_dt * (xv - mean);
            xs[i] = xn;
            bad = bad || is_bad(xn);
        }
    }
    if bad {
        atomicMin(&status[0], n + 1u);
        atomicMin(&bad_steps[g], n + 1u);
    }
}
