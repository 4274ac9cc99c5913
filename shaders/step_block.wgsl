// One outer step (or several, without interaction) for separable potentials: an
// invocation owns one block of 4 coordinates of one agent and keeps X, Y and the
// running sum of Y in registers through all inner steps. Mirrors the lane path of
// src/engine/cpu.rs.
//!include philox
//!include step_params
//!include potential_bindings
//!include potential

@group(0) @binding(2) var<uniform> params: StepParams;
@group(0) @binding(3) var<storage, read_write> xs_buf: array<f32>;
@group(0) @binding(4) var<storage, read_write> ys_buf: array<f32>;
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
    let d = params.dim;
    let g = j / params.blocks;
    let b = j % params.blocks;
    let r = g / params.agents;
    var xs = vec4<f32>(0.0);
    var ys = vec4<f32>(0.0);
    var ms = vec4<f32>(0.0);
    var cs: array<vec2<f32>, 4>;
    var valid = vec4<bool>(false);
    for (var w = 0u; w < 4u; w++) {
        let k = 4u * b + w;
        if k < d {
            valid[w] = true;
            xs[w] = xs_buf[g * d + k];
            if params.homogenized != 0u {
                ys[w] = ys_buf[g * d + k];
            }
            if params.interacting != 0u {
                ms[w] = means[r * d + k];
            }
            cs[w] = coord_consts[k];
        }
    }
    var bad = false;
    for (var s = 0u; s < params.n_steps; s++) {
        let n = params.n0 + s;
        if params.homogenized != 0u {
            var sum = vec4<f32>(0.0);
            for (var m = 0u; m < params.inner_len; m++) {
                let words = philox4x32_10(vec4<u32>(b, params.agent_base + g, n, counter_word3(DOMAIN_NOISE, m)), params.key);
                let z = normals4(words);
                let averaged = m + 1u >= params.burn_in;
                for (var w = 0u; w < 4u; w++) {
                    let yv = ys[w];
                    let gr = grad_coord(cs[w], yv);
                    let yn = yv - tame_coordinate(params.h, gr, params.taming)
                        + params.h_over_gamma * (xs[w] - yv) + params.noise * z[w];
                    ys[w] = yn;
                    sum[w] += select(0.0, yn, averaged);
                }
            }
            for (var w = 0u; w < 4u; w++) {
                let xv = xs[w];
                xs[w] = xv - params.dt_over_gamma * (xv - sum[w] * params.inv_m)
                    - params.lambda_dt * (xv - ms[w]);
            }
        } else {
            let words = philox4x32_10(vec4<u32>(b, params.agent_base + g, n, counter_word3(DOMAIN_NOISE, 0u)), params.key);
            let z = normals4(words);
            for (var w = 0u; w < 4u; w++) {
                let xv = xs[w];
                let gr = grad_coord(cs[w], xv);
                xs[w] = xv - tame_coordinate(params.h, gr, params.taming)
                    - params.lambda_dt * (xv - ms[w]) + params.noise * z[w];
            }
        }
        if !bad {
            for (var w = 0u; w < 4u; w++) {
                if valid[w] && is_bad(xs[w]) {
                    bad = true;
                }
            }
            if bad {
                atomicMin(&status[0], n + 1u);
                atomicMin(&bad_steps[g], n + 1u);
            }
        }
    }
    for (var w = 0u; w < 4u; w++) {
        if valid[w] {
            let k = 4u * b + w;
            xs_buf[g * d + k] = xs[w];
            if params.homogenized != 0u {
                ys_buf[g * d + k] = ys[w];
            }
        }
    }
}
