// The minibatch loss and gradient of the width-2 ResNet (src/nn/resnet.rs) for
// many parameter vectors: a workgroup per agent, an invocation per sample of the
// minibatch (in rounds of 64), and for each layer a workgroup reduction of the 6
// parameter gradients. Mirrors ResNet::loss (in f32 here, f64 there); the
// minibatch is EllipsesLoss::minibatch's, drawn from stream domain 2.
//!include philox

// The network's depth; the host replaces this line with the network's.
const LAYERS: u32 = 128u;
const WG: u32 = 64u;

// The twin of NetParams in src/gpu/resnet.rs (layouts compared by a test).
struct NetParams {
    key: vec2<u32>,
    step: u32,
    sub: u32,
    agents: u32,
    batch: u32,
    train: u32,
    // 1: Verlet (Hamiltonian) network, 0: forward Euler.
    verlet: u32,
    layer_step: f32,
    agent_base: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> np: NetParams;
// agents x (6 LAYERS + 6) parameters, the layout of src/nn/resnet.rs.
@group(0) @binding(1) var<storage, read> theta: array<f32>;
// The training set: (x0, x1, label, 0) per point.
@group(0) @binding(2) var<storage, read> data: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

var<workgroup> red: array<f32, 448>;

// Adds each invocation's 7 values (6 gradients and the loss) over the
// workgroup in a fixed order; invocation 0 gets the sums in red[0..7].
fn reduce7(lid: u32, v: array<f32, 7>) {
    for (var q = 0u; q < 7u; q++) {
        red[q * WG + lid] = v[q];
    }
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half = half >> 1u) {
        if lid < half {
            for (var q = 0u; q < 7u; q++) {
                red[q * WG + lid] += red[q * WG + lid + half];
            }
        }
        workgroupBarrier();
    }
    if lid == 0u {
        for (var q = 0u; q < 7u; q++) {
            red[q] = red[q * WG];
        }
    }
}

fn kmul(base: u32, v: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(theta[base] * v.x + theta[base + 1u] * v.y, theta[base + 2u] * v.x + theta[base + 3u] * v.y);
}

fn kmul_t(base: u32, v: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(theta[base] * v.x + theta[base + 2u] * v.y, theta[base + 1u] * v.x + theta[base + 3u] * v.y);
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let a = wid.x + wid.y * nwg.x;
    // Uniform across the workgroup, so the barriers below are too.
    if a >= np.agents {
        return;
    }
    let p_count = 6u * LAYERS + 6u;
    let base = a * p_count;
    let h = np.layer_step;
    var ys: array<vec2<f32>, LAYERS + 1u>;
    var zs: array<vec2<f32>, LAYERS>;
    var tu: array<vec2<f32>, LAYERS>;
    var tv: array<vec2<f32>, LAYERS>;
    let rounds = (np.batch + WG - 1u) / WG;
    let scale = 1.0 / f32(np.batch);
    for (var r = 0u; r < rounds; r++) {
        let s = r * WG + lid;
        let live = s < np.batch;
        var label = 0u;
        var y = vec2<f32>(0.0);
        if live {
            let w = philox4x32_10(vec4<u32>(s / 4u, np.agent_base + a, np.step, counter_word3(DOMAIN_MINIBATCH, np.sub)), np.key);
            let i = mulhilo(w[s % 4u], np.train).x;
            let d = data[i];
            y = d.xy;
            label = u32(d.z);
        }
        // Forward.
        var z = vec2<f32>(0.0);
        ys[0] = y;
        for (var j = 0u; j < LAYERS; j++) {
            let k = base + 6u * j;
            let b = vec2<f32>(theta[k + 4u], theta[k + 5u]);
            if np.verlet != 0u {
                let su = tanh(kmul_t(k, y) + b);
                z = z - h * su;
                let sv = tanh(kmul(k, z) + b);
                tu[j] = su;
                tv[j] = sv;
                zs[j] = z;
                y = y + h * sv;
            } else {
                let s1 = tanh(kmul(k, y) + b);
                tu[j] = s1;
                y = y + h * s1;
            }
            ys[j + 1u] = y;
        }
        let c = base + 6u * LAYERS;
        let o = kmul(c, y) + vec2<f32>(theta[c + 4u], theta[c + 5u]);
        let m = max(o.x, o.y);
        let e = exp(o - vec2<f32>(m));
        let p = e / (e.x + e.y);
        var dlog = p;
        dlog[label] -= 1.0;
        dlog = select(vec2<f32>(0.0), dlog * scale, live);
        let lossv = select(0.0, -log(max(p[label], 1.1754944e-38)) * scale, live);
        reduce7(lid, array<f32, 7>(dlog.x * y.x, dlog.x * y.y, dlog.y * y.x, dlog.y * y.y, dlog.x, dlog.y, lossv));
        if lid == 0u {
            for (var q = 0u; q < 6u; q++) {
                grad[c + q] = select(grad[c + q], 0.0, r == 0u) + red[q];
            }
            loss[a] = select(loss[a], 0.0, r == 0u) + red[6];
        }
        workgroupBarrier();
        // Backward.
        var gy = kmul_t(c, dlog);
        var gz = vec2<f32>(0.0);
        for (var jj = 0u; jj < LAYERS; jj++) {
            let j = LAYERS - 1u - jj;
            let k = base + 6u * j;
            var v: array<f32, 7>;
            if np.verlet != 0u {
                let sv = tv[j];
                let dv = h * gy * (vec2<f32>(1.0) - sv * sv);
                let zj = zs[j];
                gz = gz + kmul_t(k, dv);
                let su = tu[j];
                let du = -h * gz * (vec2<f32>(1.0) - su * su);
                let yj = ys[j];
                v = array<f32, 7>(dv.x * zj.x + yj.x * du.x, dv.x * zj.y + yj.x * du.y,
                    dv.y * zj.x + yj.y * du.x, dv.y * zj.y + yj.y * du.y, dv.x + du.x, dv.y + du.y, 0.0);
                gy = gy + kmul(k, du);
            } else {
                let s1 = tu[j];
                let da = h * gy * (vec2<f32>(1.0) - s1 * s1);
                let yj = ys[j];
                v = array<f32, 7>(da.x * yj.x, da.x * yj.y, da.y * yj.x, da.y * yj.y, da.x, da.y, 0.0);
                gy = gy + kmul_t(k, da);
            }
            reduce7(lid, v);
            if lid == 0u {
                for (var q = 0u; q < 6u; q++) {
                    grad[k + q] = select(grad[k + q], 0.0, r == 0u) + red[q];
                }
            }
            workgroupBarrier();
        }
    }
}
