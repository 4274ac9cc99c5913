// One outer step (or several, without interaction) for any potential and any
// taming: an invocation owns one agent, with its DIM coordinates in private
// arrays. Mirrors the agent path of src/engine/cpu/mod.rs.
//!include philox
//!include step_params
//!include potential_bindings
//!include potential
//!include potential_full
//!include step_means

@group(0) @binding(2) var<uniform> params: StepParams;
@group(0) @binding(3) var<storage, read_write> xs_buf: array<f32>;
@group(0) @binding(4) var<storage, read_write> ys_buf: array<f32>;
@group(0) @binding(6) var<storage, read_write> status: array<atomic<u32>>;
// The first step after which each agent had a bad position (u32::MAX if none),
// so that a divergence names the earliest (step, agent) as the CPU engine does.
@group(0) @binding(7) var<storage, read_write> bad_steps: array<atomic<u32>>;

// T_h(g) in place.
fn tame_all(h: f32, g: ptr<function, array<f32, DIM>>) {
    if params.taming == 2u {
        var n2 = 0.0;
        for (var k = 0u; k < DIM; k++) {
            n2 += (*g)[k] * (*g)[k];
        }
        let scale = 1.0 + h * sqrt(n2);
        for (var k = 0u; k < DIM; k++) {
            (*g)[k] = h * (*g)[k] / scale;
        }
    } else {
        for (var k = 0u; k < DIM; k++) {
            (*g)[k] = tame_coordinate(h, (*g)[k], params.taming);
        }
    }
}

// Standard normals Z_g(n, sub) of `domain` for all DIM coordinates.
fn noise(z: ptr<function, array<f32, DIM>>, g: u32, n: u32, domain: u32, sub: u32) {
    for (var b = 0u; 4u * b < DIM; b++) {
        let v = normals4(philox4x32_10(vec4<u32>(b, params.agent_base + g, n, counter_word3(domain, sub)), params.key));
        for (var w = 0u; w < 4u; w++) {
            if 4u * b + w < DIM {
                (*z)[4u * b + w] = v[w];
            }
        }
    }
}

// WG: the workgroup size, set by the host (64 unless tuned).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = gid.x + gid.y * nwg.x * WG;
    if g >= params.jobs {
        return;
    }
    let r = g / params.agents;
    var x: array<f32, DIM>;
    var y: array<f32, DIM>;
    var m: array<f32, DIM>;
    var grad: array<f32, DIM>;
    var sum: array<f32, DIM>;
    var z: array<f32, DIM>;
    var xi: array<f32, DIM>;
    var point: array<f32, DIM>;
    var gs: array<f32, DIM>;
    for (var k = 0u; k < DIM; k++) {
        x[k] = xs_buf[g * DIM + k];
        if params.homogenized != 0u {
            y[k] = ys_buf[g * DIM + k];
        }
        if params.interacting == 1u {
            m[k] = run_mean(r, k);
        } else if params.interacting == 2u {
            m[k] = means[g * DIM + k];
        }
    }
    // The factor of lambda dt: X - m, or the l1 sign sum itself.
    let l1 = params.interacting == 2u;
    var bad = false;
    for (var s = 0u; s < params.n_steps; s++) {
        let n = params.n0 + s;
        if params.homogenized != 0u {
            for (var k = 0u; k < DIM; k++) {
                sum[k] = 0.0;
            }
            for (var mi = 0u; mi < params.inner_len; mi++) {
                noise(&z, g, n, DOMAIN_NOISE, mi);
                potential_grad(&y, &grad);
                tame_all(params.grad_step, &grad);
                let averaged = mi + 1u >= params.burn_in;
                for (var k = 0u; k < DIM; k++) {
                    let yv = y[k];
                    let yn = yv - grad[k] + params.y_pull * (x[k] - yv) + params.noise * z[k];
                    y[k] = yn;
                    sum[k] += select(0.0, yn, averaged);
                }
            }
            for (var k = 0u; k < DIM; k++) {
                let xv = x[k];
                x[k] = xv - params.dt_over_gamma * (xv - sum[k] * params.inv_m) - params.lambda_dt * select(xv - m[k], m[k], l1);
            }
        } else if params.cbo != 0u {
            // CBO: v = X - m, X - lambda dt v + sigma sqrt(dt) B(v) Z, B(v) = diag(v)
            // or |v|_2 I (summed in coordinate order).
            noise(&z, g, n, DOMAIN_NOISE, 0u);
            var n2 = 0.0;
            for (var k = 0u; k < DIM; k++) {
                grad[k] = x[k] - m[k];
                n2 += grad[k] * grad[k];
            }
            let norm = sqrt(n2);
            for (var k = 0u; k < DIM; k++) {
                let b = select(grad[k], norm, params.cbo == 2u);
                x[k] = x[k] - params.lambda_dt * grad[k] + params.noise * b * z[k];
            }
        } else {
            noise(&z, g, n, DOMAIN_NOISE, 0u);
            if params.samples == 0u {
                potential_grad(&x, &grad);
            } else {
                // Smoothed: (1/S) sum_s grad Phi(X + sqrt(h_n) xi_s), in s order.
                for (var k = 0u; k < DIM; k++) {
                    grad[k] = 0.0;
                }
                for (var smp = 0u; smp < params.samples; smp++) {
                    noise(&xi, g, n, DOMAIN_SMOOTHING, smp);
                    for (var k = 0u; k < DIM; k++) {
                        point[k] = x[k] + params.sqrt_variance * xi[k];
                    }
                    potential_grad(&point, &gs);
                    for (var k = 0u; k < DIM; k++) {
                        grad[k] += gs[k];
                    }
                }
                for (var k = 0u; k < DIM; k++) {
                    grad[k] = grad[k] * params.inv_s;
                }
            }
            tame_all(params.grad_step, &grad);
            for (var k = 0u; k < DIM; k++) {
                let xv = x[k];
                x[k] = xv - grad[k] - params.lambda_dt * select(xv - m[k], m[k], l1) + params.noise * z[k];
            }
        }
        if !bad {
            for (var k = 0u; k < DIM; k++) {
                if is_bad(x[k]) {
                    bad = true;
                }
            }
            if bad {
                atomicMin(&status[0], n + 1u);
                atomicMin(&bad_steps[g], n + 1u);
            }
        }
    }
    for (var k = 0u; k < DIM; k++) {
        xs_buf[g * DIM + k] = x[k];
        if params.homogenized != 0u {
            ys_buf[g * DIM + k] = y[k];
        }
    }
}
