#!/usr/bin/env python3
"""Consensus-based optimisation side by side with CBXpy (`pip install cbx`; this
script installs nothing), on identical settings in one invocation on the same
CPU cores: the Rastrigin function with its minimum moved to (1, ..., 1), d, N
agents, M runs, dt, lambda, sigma, alpha, steps, anisotropic noise and the
initial box, all from the preset `cbo-rastrigin-d20` (or the flags below).

For each it prints the success rate (the runs whose consensus point ends within
0.25 of the minimum in the max-norm, the usual criterion; the consensus point
is computed the same way for both, the weighted mean of the final positions at
`alpha` in float64 with a log-sum-exp shift) with its 95% Wilson interval, and
agents x dimension x steps per second by the wall clock of the optimisation
(ours: the engine's own rate from summary.json, and the whole command's wall
clock; CBXpy: `optimize()`), with the ratio. CBXpy runs with its tracking off
and no scheduler, so that alpha stays constant as in ours (its CBO default
multiplies alpha by 1.05 each step).

    python3 benches/cbx_compare.py [--bin target/release/sgld-swarm] [--runs M]
        [--agents N] [--steps S] [--threads T]

Ours runs with all the machine's cores (rayon) and again with one thread
(numpy runs these array operations on one core).
"""

import argparse
import importlib.metadata
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None


def preset_settings():
    """The settings of presets/cbo-rastrigin-d20.toml."""
    path = os.path.join(ROOT, "presets", "cbo-rastrigin-d20.toml")
    if tomllib is None:
        sys.exit("needs Python 3.11 (tomllib) to read the preset")
    with open(path, "rb") as f:
        p = tomllib.load(f)
    m = p["method"][0]
    return {
        "dim": p["problem"]["dim"],
        "shift": p["problem"]["shift"],
        "runs": p["ensemble"]["runs"],
        "agents": p["ensemble"]["agents"],
        "steps": p["ensemble"]["steps"],
        "box": p["ensemble"]["init"]["uniform"],
        "dt": m["dt"],
        "lambda": m["lambda"],
        "sigma": m["sigma"],
        "alpha": m["alpha"],
    }


def rastrigin(x, shift):
    """10 d + sum (y^2 - 10 cos(2 pi y)), y = x - shift, over the last axis (float64)."""
    y = x - shift
    return 10.0 * y.shape[-1] + (y * y - 10.0 * np.cos(2.0 * np.pi * y)).sum(axis=-1)


def consensus(x, s):
    """The weighted mean of each run's agents at alpha, x: [M, N, d] (float64)."""
    x = np.asarray(x, dtype=np.float64)
    c = s["alpha"] * rastrigin(x, np.asarray(s["shift"]))
    w = np.exp(c.min(axis=1, keepdims=True) - c)
    return (w[..., None] * x).sum(axis=1) / w.sum(axis=1)[..., None]


def success(x, s):
    """Runs whose consensus point is within 0.25 of the minimum in every coordinate."""
    err = np.abs(consensus(x, s) - np.asarray(s["shift"])).max(axis=1)
    return int((err < 0.25).sum()), len(err)


def wilson(k, n, z=1.96):
    """The 95% Wilson score interval of a binomial proportion k / n."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def toml_text(s, seed):
    shift = ", ".join(repr(float(v)) for v in s["shift"])
    lo, hi = s["box"]
    return f"""[problem]
potential = "rastrigin"
dim = {s['dim']}
shift = [{shift}]

[ensemble]
runs = {s['runs']}
agents = {s['agents']}
steps = {s['steps']}
seed = {seed}
record_every = {s['steps']}
init = {{ uniform = [{float(lo)}, {float(hi)}] }}

[[method]]
name = "CBO"
scheme = "cbo"
dt = {s['dt']}
lambda = {s['lambda']}
sigma = {s['sigma']}
alpha = {s['alpha']}
noise = "anisotropic"
"""


def run_ours(binary, s, threads, seed=1):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "cbo.toml")
        with open(cfg, "w") as f:
            f.write(toml_text(s, seed))
        out = os.path.join(tmp, "out")
        env = dict(os.environ)
        if threads:
            env["RAYON_NUM_THREADS"] = str(threads)
        t0 = time.perf_counter()
        subprocess.run([binary, "run", "--config", cfg, "--out", out, "--backend", "cpu",
                        "--checkpoint-every", "0"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        x = np.load(os.path.join(out, "positions-cbo.npy"))
    m = summary["methods"][0]
    return x, m["units_per_s"], wall, summary["device"]


def run_cbx(s, seed=1):
    from cbx.dynamics import CBO

    rng = np.random.default_rng(seed)
    lo, hi = s["box"]
    x0 = rng.uniform(lo, hi, size=(s["runs"], s["agents"], s["dim"]))
    shift = np.asarray(s["shift"])
    dyn = CBO(lambda x: rastrigin(x, shift), f_dim="3D", x=x0, dt=s["dt"], lamda=s["lambda"],
              sigma=s["sigma"], alpha=s["alpha"], noise="anisotropic", max_it=s["steps"],
              verbosity=0, track_args={"names": []}, seed=seed)
    t0 = time.perf_counter()
    dyn.optimize(sched=None)
    elapsed = time.perf_counter() - t0
    return dyn.x, elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "sgld-swarm"))
    ap.add_argument("--runs", type=int)
    ap.add_argument("--agents", type=int)
    ap.add_argument("--steps", type=int)
    args = ap.parse_args()
    try:
        import cbx  # noqa: F401
    except ImportError:
        sys.exit("CBXpy is not installed: pip install cbx")
    s = preset_settings()
    for k in ("runs", "agents", "steps"):
        if getattr(args, k):
            s[k] = getattr(args, k)
    units = s["runs"] * s["agents"] * s["dim"] * s["steps"]
    print(f"CBO on Rastrigin d = {s['dim']} (minimum at {s['shift'][0]} each), "
          f"M = {s['runs']} runs x N = {s['agents']} agents, {s['steps']} steps, dt = {s['dt']}, "
          f"lambda = {s['lambda']}, sigma = {s['sigma']}, alpha = {s['alpha']}, anisotropic, "
          f"U{s['box']}^d; CBXpy {importlib.metadata.version('cbx')}, NumPy {np.__version__}, "
          f"{os.cpu_count()} CPUs")
    x_ours, rate_ours, wall_ours, device = run_ours(args.bin, s, None)
    x_one, rate_one, wall_one, _ = run_ours(args.bin, s, 1)
    # The CPU engine's results do not depend on the thread count.
    assert x_one.tobytes() == x_ours.tobytes(), "one thread changed the positions"

    x_cbx, t_cbx = run_cbx(s)
    rate_cbx = units / t_cbx
    rows = [
        ("sgld-swarm (all cores)", success(x_ours, s), rate_ours, units / wall_ours),
        ("sgld-swarm (1 thread)", success(x_one, s), rate_one, units / wall_one),
        ("CBXpy", success(x_cbx, s), rate_cbx, rate_cbx),
    ]
    print(f"ours: {device}")
    print("| implementation | success | 95% interval | units/s (engine) | units/s (wall) | ratio to CBXpy |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, succ, rate, wall_rate in rows:
        k, n = succ
        lo, hi = wilson(k, n)
        s_txt, ci = f"{k}/{n} = {k / n:.2f}", f"[{lo:.2f}, {hi:.2f}]"
        print(f"| {name} | {s_txt} | {ci} | {rate:.3g} | {wall_rate:.3g} | {rate / rate_cbx:.1f} |")


if __name__ == "__main__":
    main()
