"""What the network peers share: the paper's Figure 3 network as src/nn/resnet.rs
defines it (width 2, 128 Verlet layers of step h = 0.05, tanh, a 2 x 2 + 2
softmax classifier; 774 parameters laid out [K_0, b_0, ..., K_127, b_127, W, c]),
the two ellipses (src/nn/data.rs: label 0 inside the inner ellipse, 1 in the
ring), the training step `sgld-swarm bench --resnet` times (a minibatch of 64 of
500 points per agent, its gradient, the SGLD update with the preset's dt = 2 and
beta = 1e4), the agent ladder, the timing loop, and a NumPy f64 reference of the
loss that every peer's forward pass and gradient are checked against before
they are timed. Each peer module supplies `make_step(agents)` and `device_info`.
"""

import argparse
import json
import math
import platform
import time

import numpy as np

LAYERS, H, PARAMS = 128, 0.05, 6 * 128 + 6
TRAIN, BATCH = 500, 64
DT, BETA = 2.0, 1e4
NOISE = math.sqrt(2.0 * DT / BETA)
AGENTS = [64, 256, 1024]


def ellipses(n, seed=1):
    """n labelled points of the box [-1, 1] x [-2, 2] that have a class: inside the
    inner ellipse (axes 0.5, 1) label 0, between the ellipses (0.7, 1.4) and
    (1, 2) label 1 (the library's geometry; its own stream picks its points)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    while len(xs) < n:
        p = rng.uniform([-1.0, -2.0], [1.0, 2.0])
        r = lambda a, b: (p[0] / a) ** 2 + (p[1] / b) ** 2
        if r(0.5, 1.0) < 1.0:
            xs.append(p), ys.append(0)
        elif r(0.7, 1.4) >= 1.0 and r(1.0, 2.0) < 1.0:
            xs.append(p), ys.append(1)
    return np.array(xs), np.array(ys)


def initial(agents, seed=1):
    """Every agent's parameters from U[-1, 1], as the preset's `init = 1.0`."""
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (agents, PARAMS)).astype(np.float32)


def reference_loss(theta, x, y):
    """The mean cross-entropy of one agent's network (f64, src/nn/resnet.rs's
    Verlet forward pass, written out again in NumPy)."""
    theta = np.asarray(theta, dtype=np.float64)
    yv = np.asarray(x, dtype=np.float64)
    z = np.zeros_like(yv)
    for j in range(LAYERS):
        k, b = theta[6 * j:6 * j + 4].reshape(2, 2), theta[6 * j + 4:6 * j + 6]
        z = z - H * np.tanh(yv @ k + b)  # K^T y per row
        yv = yv + H * np.tanh(z @ k.T + b)  # K z per row
    w, c = theta[6 * LAYERS:6 * LAYERS + 4].reshape(2, 2), theta[6 * LAYERS + 4:]
    o = yv @ w.T + c
    o = o - o.max(axis=1, keepdims=True)
    logp = o - np.log(np.exp(o).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), np.asarray(y)].mean())


def check(loss_and_grad, label):
    """The peer's loss and gradient for 3 agents on one minibatch against the f64
    reference: the loss within 1e-5 relative (f32 through 256 tanh layers; the
    library's own f32 gradient is held to 1e-4 of its scale), and 6 entries of
    the gradient against central differences of the reference (step 1e-4:
    truncation 1e-8 f''', rounding 1e-16 / 1e-4; within 1e-3 of the gradient's
    largest entry, the f32 gradient's rounding through the layers). Returns
    (ok, text)."""
    xs, ys = ellipses(TRAIN)
    theta = initial(3, seed=7)
    idx = np.random.default_rng(8).integers(0, TRAIN, (3, BATCH))
    losses, grads = loss_and_grad(theta, xs[idx].astype(np.float32), ys[idx])
    worst_loss, worst_grad = 0.0, 0.0
    for a in range(3):
        want = reference_loss(theta[a], xs[idx[a]], ys[idx[a]])
        worst_loss = max(worst_loss, abs(float(losses[a]) - want) / want)
        scale = float(np.abs(grads[a]).max())
        for k in [0, 5, 300, 767, 770, 773]:
            e = np.zeros(PARAMS)
            e[k] = 1e-4
            t64 = theta[a].astype(np.float64)
            fd = (reference_loss(t64 + e, xs[idx[a]], ys[idx[a]])
                  - reference_loss(t64 - e, xs[idx[a]], ys[idx[a]])) / 2e-4
            worst_grad = max(worst_grad, abs(float(grads[a][k]) - fd) / scale)
    ok = worst_loss < 1e-5 and worst_grad < 1e-3
    return ok, (f"check {label}: loss within {worst_loss:.1e} of the f64 reference, gradient "
                f"within {worst_grad:.1e} of its scale: {'agree' if ok else 'DIFFER'}")


def time_steps(make_step, label, ladder, seconds):
    """Samples x agents per second of `make_step(agents)()` (one training step
    per call, synchronised): two warm-up calls (compilation, and a second one
    where the first call's outputs are placed differently from its inputs), a
    calibration call, then enough calls for `seconds`."""
    rows = []
    for agents in ladder:
        try:
            step = make_step(agents)
            step()
            step()
            t = time.perf_counter()
            step()
            per = time.perf_counter() - t
            calls = max(1, math.ceil(seconds / per))
            t = time.perf_counter()
            for _ in range(calls):
                step()
            elapsed = time.perf_counter() - t
        except Exception as e:  # out of memory, mostly: report it and go on
            print(f"{label:<24} {agents:>6}  failed: {type(e).__name__}: "
                  f"{str(e).splitlines()[0] if str(e) else ''}", flush=True)
            break
        rate = calls * agents * BATCH / elapsed
        print(f"{label:<24} {agents:>6} {calls:>8} {elapsed:>9.3f} {rate:>14.3e}", flush=True)
        rows.append(dict(path=label, agents=agents, batch=BATCH, calls=calls, seconds=elapsed,
                         samples_agents_per_s=rate))
    return rows


def main(peer_name, variants, make_for, device_info, loss_and_grad_for, default_variants=None):
    """The command line of a network peer: check each variant's loss and gradient
    against the reference, time its training step over the agent ladder, write
    JSON. `default_variants` (all of `variants` if None) are those timed when
    none is asked for. A variant whose check raises is reported as failed and
    not timed. Exit status 1 when a check differs or fails."""
    default_variants = default_variants or variants
    p = argparse.ArgumentParser(description=f"The {peer_name} peer of `sgld-swarm bench "
                                            f"--resnet`: the Figure 3 network's training step.")
    p.add_argument("--agents", type=int, action="append",
                   help=f"agents (repeatable; default {', '.join(map(str, AGENTS))})")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per size")
    p.add_argument("--variant", choices=variants, action="append", dest="variants",
                   help=f"which variants to time (default: {', '.join(default_variants)})")
    p.add_argument("--device", default=None, help="the framework's device (default: its best)")
    p.add_argument("--json", help="write the results here")
    a = p.parse_args()
    if not (a.seconds > 0 and math.isfinite(a.seconds)):
        p.error(f"--seconds = {a.seconds}: must be a finite number > 0")
    if any(n <= 0 for n in a.agents or []):
        p.error(f"--agents: must be positive, got {a.agents}")
    device, kind = device_info(a.device)
    print(f"{peer_name} on {device}", flush=True)
    report = dict(backend=peer_name, kind=kind, device=device,
                  python=platform.python_version(), results=[], checks={})
    ok = True
    for v in a.variants or default_variants:
        started = time.perf_counter()
        try:
            agree, text = check(loss_and_grad_for(v, a.device), f"{peer_name} {v}")
            report["checks"][v] = "agree" if agree else "differ"
            # The first call of a compiled variant compiles: its cost, once.
            took = time.perf_counter() - started
            text += f" ({took:.1f} s, with any compilation)"
            report.setdefault("check_seconds", {})[v] = took
        except Exception as e:  # a framework that cannot run the variant here
            agree, text = False, (f"check {peer_name} {v}: failed: {type(e).__name__}: "
                                  f"{str(e).splitlines()[0] if str(e) else ''}")
            report["checks"][v] = "failed"
        print(text, flush=True)
        ok &= agree
        if report["checks"][v] != "failed":
            print(f"{'peer':<24} {'agents':>6} {'calls':>8} {'seconds':>9} "
                  f"{'samples x agents/s':>14}", flush=True)
            report["results"] += time_steps(make_for(v, a.device), f"{peer_name} {v}",
                                            a.agents or AGENTS, a.seconds)
        # After each variant, so that a time limit on a slow one keeps the others.
        if a.json:
            with open(a.json, "w") as f:
                json.dump(report, f, indent=2)
                f.write("\n")
    return 0 if ok else 1
