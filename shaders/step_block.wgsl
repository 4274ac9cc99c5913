// One outer step (or several, without interaction) for separable potentials: an
// invocation owns one block of 4 coordinates of one agent and keeps X, Y and the
// running sum of Y in registers through all inner steps. Mirrors the lane path of
// src/engine/cpu/lanes.rs.
//!include philox
//!include step_params
//!include potential_bindings
//!include potential
//!include step_io
//!include step_means
//!include step_scheme

@group(0) @binding(2) var<uniform> params: StepParams;
@group(0) @binding(6) var<storage, read_write> status: array<atomic<u32>>;
// The first step after which each agent had a bad position (u32::MAX if none),
// so that a divergence names the earliest (step, agent) as the CPU engine does.
@group(0) @binding(7) var<storage, read_write> bad_steps: array<atomic<u32>>;

// WG: the workgroup size, set by the host (64 unless tuned).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * WG;
    if j >= params.jobs {
        return;
    }
    let d = params.dim;
    let g = j / params.blocks;
    let b = j % params.blocks;
    let r = g / params.agents;
    var xs = load_x(g, b, d);
    let homogenized = scheme_homogenized();
    let interacting = scheme_interacting();
    var ys = vec4<f32>(0.0);
    if homogenized {
        ys = load_y(g, b, d);
    }
    var ms = vec4<f32>(0.0);
    var valid = vec4<bool>(false);
    for (var w = 0u; w < 4u; w++) {
        let k = 4u * b + w;
        if k < d {
            valid[w] = true;
            if interacting == 1u {
                ms[w] = run_mean(r, k);
            } else if interacting == 2u {
                ms[w] = means[g * d + k];
            }
        }
    }
    // The four coordinates' constants as separate values, and the hot loops
    // below written out for the four coordinates (vector operations), so that
    // nothing in them is indexed by a loop variable: the GPU compiler keeps all
    // of it in registers whether or not it unrolls loops.
    // Past the last coordinate a block repeats it; those lanes are never stored.
    let k0 = min(4u * b, d - 1u);
    let k1 = min(4u * b + 1u, d - 1u);
    let k2 = min(4u * b + 2u, d - 1u);
    let k3 = min(4u * b + 3u, d - 1u);
    let c0 = coord_consts[k0];
    let c1 = coord_consts[k1];
    let c2 = coord_consts[k2];
    let c3 = coord_consts[k3];
    let coordinate = scheme_coordinate_taming();
    // The factor of lambda dt: X - m, or the l1 sign sums themselves.
    let l1 = interacting == 2u;
    var bad = false;
    for (var s = 0u; s < params.n_steps; s++) {
        let n = params.n0 + s;
        if homogenized {
            var sum = vec4<f32>(0.0);
            for (var m = 0u; m < params.inner_len; m++) {
                let words = philox4x32_10(vec4<u32>(b, params.agent_base + g, n, counter_word3(DOMAIN_NOISE, m)), params.key);
                let z = normals4(words);
                let gr = vec4<f32>(grad_coord(k0, c0, ys.x), grad_coord(k1, c1, ys.y), grad_coord(k2, c2, ys.z), grad_coord(k3, c3, ys.w));
                let hg = params.grad_step * gr;
                let tamed = select(hg, hg / (1.0 + abs(hg)), coordinate);
                ys = ys - tamed + params.y_pull * (xs - ys) + params.noise * z;
                sum += select(vec4<f32>(0.0), ys, m + 1u >= params.burn_in);
            }
            xs = xs - params.dt_over_gamma * (xs - sum * params.inv_m) - params.lambda_dt * select(xs - ms, ms, l1);
        } else {
            let words = philox4x32_10(vec4<u32>(b, params.agent_base + g, n, counter_word3(DOMAIN_NOISE, 0u)), params.key);
            let z = normals4(words);
            var gr: vec4<f32>;
            if !scheme_smoothed() {
                gr = vec4<f32>(grad_coord(k0, c0, xs.x), grad_coord(k1, c1, xs.y), grad_coord(k2, c2, xs.z), grad_coord(k3, c3, xs.w));
            } else {
                // Smoothed: (1/S) sum_s grad Phi(X + sqrt(h_n) xi_s), in s order.
                gr = vec4<f32>(0.0);
                for (var smp = 0u; smp < params.samples; smp++) {
                    let xi = normals4(philox4x32_10(vec4<u32>(b, params.agent_base + g, n, counter_word3(DOMAIN_SMOOTHING, smp)), params.key));
                    let p = xs + params.sqrt_variance * xi;
                    gr += vec4<f32>(grad_coord(k0, c0, p.x), grad_coord(k1, c1, p.y), grad_coord(k2, c2, p.z), grad_coord(k3, c3, p.w));
                }
                gr = gr * params.inv_s;
            }
            let hg = params.grad_step * gr;
            let tamed = select(hg, hg / (1.0 + abs(hg)), coordinate);
            xs = xs - tamed - params.lambda_dt * select(xs - ms, ms, l1) + params.noise * z;
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
    store_x(g, b, d, xs);
    if homogenized {
        store_y(g, b, d, ys);
    }
}
