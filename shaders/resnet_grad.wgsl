// The minibatch loss and gradient of the width-2 ResNet (src/nn/resnet.rs) for
// many parameter vectors: a workgroup per agent, an invocation per sample of the
// minibatch (in rounds of 64), and a reduction over the samples of each layer's
// 6 parameter gradients. Mirrors ResNet::loss (in f32 here, f64 there); the
// minibatch is EllipsesLoss::minibatch's, drawn from stream domain 2.
//!include philox

// The network's depth; the host replaces this line with the network's.
const LAYERS: u32 = 128u;
const WG: u32 = 64u;
// The kernel's version (SGLD_SWARM_GPU_NET_KERNEL, see src/gpu/resnet.rs); the
// host replaces these lines. TREE: the parameter gradients summed over the
// samples by a tree per layer (about eight barriers per layer, the first
// version), else CHUNK layers at a time, each invocation of the first 6 CHUNK
// summing one parameter over the 64 samples (two barriers per chunk). STAGED:
// the agent's parameters copied to workgroup memory first (the loads in each
// layer's chain then wait for workgroup memory, not for L2), and the backward
// pass loading each layer's trace one layer ahead. TRACE: the trace in the
// storage buffer `trace` instead of private arrays (`STAGED` otherwise).
const TREE: bool = false;
const STAGED: bool = true;
const TRACE: bool = false;
const CHUNK: u32 = 8u;
// A row of `part` per parameter of the chunk, one longer than WG so that the
// invocations summing different rows read different memory banks.
const ROW: u32 = 65u;

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
// With TRACE, each agent's forward trace: TRACE_SLOTS slots of WG vec2, one per
// invocation (consecutive invocations at consecutive vec2); a placeholder
// otherwise.
@group(0) @binding(5) var<storage, read_write> trace: array<vec2<f32>>;
// y_0 .. y_LAYERS, then z, tanh(u) and tanh(v) of each layer.
const TRACE_SLOTS: u32 = 4u * LAYERS + 1u;
const SLOT_Z: u32 = LAYERS + 1u;
const SLOT_U: u32 = 2u * LAYERS + 1u;
const SLOT_V: u32 = 3u * LAYERS + 1u;

// The chunk's per-sample parameter gradients, 6 CHUNK rows of ROW; also the
// scratch of reduce7, whose uses are fenced from the chunks' by barriers.
var<workgroup> part: array<f32, 3120>;
const_assert 6u * CHUNK * ROW == 3120u && ROW > WG && 3120u >= 7u * WG;
// The agent's 6 LAYERS + 6 parameters when STAGED (the host sets the size, 1
// when not staged).
var<workgroup> staged: array<f32, 774>;
// The agent's first parameter in theta.
var<private> base: u32;
// The invocation's entry of slot 0 in `trace` (TRACE).
var<private> trace_at: u32;

// Slot `slot` of the invocation's trace (TRACE): each invocation reads only
// what it wrote itself, so no barrier orders these accesses.
fn trace_get(slot: u32) -> vec2<f32> {
    return trace[trace_at + slot * WG];
}

fn trace_set(slot: u32, v: vec2<f32>) {
    trace[trace_at + slot * WG] = v;
}

// Parameter i of the agent.
fn th(i: u32) -> f32 {
    if STAGED {
        return staged[i];
    }
    return theta[base + i];
}

// Adds each invocation's 7 values (6 gradients and the loss) over the
// workgroup in a fixed order; invocation 0 gets the sums in part[0..7].
fn reduce7(lid: u32, v: array<f32, 7>) {
    for (var q = 0u; q < 7u; q++) {
        part[q * WG + lid] = v[q];
    }
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half = half >> 1u) {
        if lid < half {
            for (var q = 0u; q < 7u; q++) {
                part[q * WG + lid] += part[q * WG + lid + half];
            }
        }
        workgroupBarrier();
    }
    if lid == 0u {
        for (var q = 0u; q < 7u; q++) {
            part[q] = part[q * WG];
        }
    }
}

// The 2x2 matrix at parameter k (row-major) times v, and its transpose times v.
fn kmul(k: u32, v: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(th(k) * v.x + th(k + 1u) * v.y, th(k + 2u) * v.x + th(k + 3u) * v.y);
}

fn kmul_t(k: u32, v: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(th(k) * v.x + th(k + 2u) * v.y, th(k + 1u) * v.x + th(k + 3u) * v.y);
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
    base = a * p_count;
    trace_at = a * TRACE_SLOTS * WG + lid;
    if STAGED {
        for (var i = lid; i < p_count; i += WG) {
            staged[i] = theta[base + i];
        }
        workgroupBarrier();
    }
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
        if TRACE {
            trace_set(0u, y);
        } else {
            ys[0] = y;
        }
        for (var j = 0u; j < LAYERS; j++) {
            let k = 6u * j;
            let b = vec2<f32>(th(k + 4u), th(k + 5u));
            if np.verlet != 0u {
                let su = tanh(kmul_t(k, y) + b);
                z = z - h * su;
                let sv = tanh(kmul(k, z) + b);
                if TRACE {
                    trace_set(SLOT_U + j, su);
                    trace_set(SLOT_V + j, sv);
                    trace_set(SLOT_Z + j, z);
                } else {
                    tu[j] = su;
                    tv[j] = sv;
                    zs[j] = z;
                }
                y = y + h * sv;
            } else {
                let s1 = tanh(kmul(k, y) + b);
                if TRACE {
                    trace_set(SLOT_U + j, s1);
                } else {
                    tu[j] = s1;
                }
                y = y + h * s1;
            }
            if TRACE {
                trace_set(j + 1u, y);
            } else {
                ys[j + 1u] = y;
            }
        }
        let c = 6u * LAYERS;
        let o = kmul(c, y) + vec2<f32>(th(c + 4u), th(c + 5u));
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
                grad[base + c + q] = select(grad[base + c + q], 0.0, r == 0u) + part[q];
            }
            loss[a] = select(loss[a], 0.0, r == 0u) + part[6];
        }
        workgroupBarrier();
        // Backward. With STAGED (or TRACE), the trace of layer j - 1 is loaded
        // while layer j is computed (from private memory, which the driver
        // spills, or from `trace`).
        var gy = kmul_t(c, dlog);
        var gz = vec2<f32>(0.0);
        var next_v = tv[LAYERS - 1u];
        var next_z = zs[LAYERS - 1u];
        var next_u = tu[LAYERS - 1u];
        var next_y = ys[LAYERS - 1u];
        if TRACE {
            if np.verlet != 0u {
                next_v = trace_get(SLOT_V + LAYERS - 1u);
                next_z = trace_get(SLOT_Z + LAYERS - 1u);
            }
            next_u = trace_get(SLOT_U + LAYERS - 1u);
            next_y = trace_get(LAYERS - 1u);
        }
        for (var jj = 0u; jj < LAYERS; jj++) {
            let j = LAYERS - 1u - jj;
            let k = 6u * j;
            // The Euler network reads su (its only activation) and yj.
            var sv: vec2<f32>;
            var zj: vec2<f32>;
            var su: vec2<f32>;
            var yj: vec2<f32>;
            if STAGED || TRACE {
                sv = next_v;
                zj = next_z;
                su = next_u;
                yj = next_y;
                let jn = max(j, 1u) - 1u;
                if TRACE {
                    if np.verlet != 0u {
                        next_v = trace_get(SLOT_V + jn);
                        next_z = trace_get(SLOT_Z + jn);
                    }
                    next_u = trace_get(SLOT_U + jn);
                    next_y = trace_get(jn);
                } else {
                    if np.verlet != 0u {
                        next_v = tv[jn];
                        next_z = zs[jn];
                    }
                    next_u = tu[jn];
                    next_y = ys[jn];
                }
            } else {
                if np.verlet != 0u {
                    sv = tv[j];
                    zj = zs[j];
                }
                su = tu[j];
                yj = ys[j];
            }
            var v: array<f32, 7>;
            if np.verlet != 0u {
                let dv = h * gy * (vec2<f32>(1.0) - sv * sv);
                gz = gz + kmul_t(k, dv);
                let du = -h * gz * (vec2<f32>(1.0) - su * su);
                v = array<f32, 7>(dv.x * zj.x + yj.x * du.x, dv.x * zj.y + yj.x * du.y,
                    dv.y * zj.x + yj.y * du.x, dv.y * zj.y + yj.y * du.y, dv.x + du.x, dv.y + du.y, 0.0);
                gy = gy + kmul(k, du);
            } else {
                let da = h * gy * (vec2<f32>(1.0) - su * su);
                v = array<f32, 7>(da.x * yj.x, da.x * yj.y, da.y * yj.x, da.y * yj.y, da.x, da.y, 0.0);
                gy = gy + kmul_t(k, da);
            }
            if TREE {
                reduce7(lid, v);
                if lid == 0u {
                    for (var q = 0u; q < 6u; q++) {
                        grad[base + k + q] = select(grad[base + k + q], 0.0, r == 0u) + part[q];
                    }
                }
                workgroupBarrier();
                continue;
            }
            let slot = jj % CHUNK;
            for (var q = 0u; q < 6u; q++) {
                part[(6u * slot + q) * ROW + lid] = v[q];
            }
            // Uniform: the chunk is full or the layers are done.
            if slot == CHUNK - 1u || jj == LAYERS - 1u {
                workgroupBarrier();
                if lid < 6u * (slot + 1u) {
                    // Row lid is parameter q of the chunk's layer t; the sum over
                    // the samples in a fixed order, four partial sums for the
                    // latency of the adds.
                    let row = lid * ROW;
                    var acc = vec4<f32>(0.0);
                    for (var i = 0u; i < WG; i += 4u) {
                        acc += vec4<f32>(part[row + i], part[row + i + 1u], part[row + i + 2u], part[row + i + 3u]);
                    }
                    let t = lid / 6u;
                    let at = base + 6u * (LAYERS - 1u - (jj - slot + t)) + lid % 6u;
                    grad[at] = select(grad[at], 0.0, r == 0u) + ((acc.x + acc.y) + (acc.z + acc.w));
                }
                workgroupBarrier();
            }
        }
    }
}
