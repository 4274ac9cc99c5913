"""What the peers share: the method's constants (docs/DESIGN.md section 2), the size
ladder of `sgld-swarm bench`, the timing loop and the statistical check against
the library. Each peer module supplies a `Peer` with `start`, `steps`, `sync`
and `positions`; nothing here imports NumPy's rivals.
"""

import argparse
import json
import math
import os
import platform
import sys
import time
import tomllib
from dataclasses import dataclass

import numpy as np

# The ladder of `sgld-swarm bench --ladder` (src/bench.rs), R x N x d.
LADDER = [
    (10, 10, 100),
    (10, 100, 100),
    (50, 50, 50),
    (100, 100, 100),
    (100, 1000, 100),
    (100, 1000, 1000),
    (1000, 1000, 1000),
]

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK_CONFIG = os.path.join(HERE, "check.toml")


@dataclass(frozen=True)
class Method:
    """One method of docs/DESIGN.md section 2 with the constants the update uses."""

    name: str
    homogenized: bool
    dt: float
    beta: float
    lam: float
    taming: str
    eps: float = 0.0
    gamma: float = 0.0
    inner_steps: int = 1
    burn_in: int = 1

    @property
    def inner_len(self):
        """L = burn_in + M - 1 inner steps per outer step (1 for Euler)."""
        return self.burn_in + self.inner_steps - 1 if self.homogenized else 1

    @property
    def h(self):
        """The step factor of the gradient: delta / eps, or dt."""
        return self.dt / self.inner_steps / self.eps if self.homogenized else self.dt

    @property
    def noise(self):
        """sqrt(2 delta / (beta eps)) for Y, or sqrt(2 dt / beta) for X."""
        if self.homogenized:
            return math.sqrt(2.0 * self.dt / self.inner_steps / (self.beta * self.eps))
        return math.sqrt(2.0 * self.dt / self.beta)


def bench_method(euler):
    """The method `sgld-swarm bench` times (src/bench.rs): the paper's Figure 2
    parameters with lambda = 3 and coordinate taming."""
    if euler:
        return Method("MF-SGLD", False, 0.01, 1.0, 3.0, "coordinate")
    return Method("MF-HOM-SGLD", True, 0.005, 1.0, 3.0, "coordinate", 0.01, 0.1, 20, 1)


def load_check(path=CHECK_CONFIG):
    """The shared check: problem, ensemble and methods from a library config."""
    with open(path, "rb") as f:
        cfg = tomllib.load(f)
    problem, ens = cfg["problem"], cfg["ensemble"]
    if problem["potential"] != "rough":
        sys.exit(f"{path}: the peers implement the rough potential only")
    methods = []
    for m in cfg["method"]:
        hom = m["scheme"] == "homogenized"
        methods.append(
            Method(
                m["name"],
                hom,
                m["dt"],
                m["beta"],
                m.get("lambda", 0.0),
                m.get("taming", "none"),
                m.get("eps", 0.0),
                m.get("gamma", 0.0),
                m.get("inner_steps", 1),
                m.get("burn_in", 1),
            )
        )
    return problem, ens, methods


def slug(name):
    """The library's file-name form of a method name (src/config.rs)."""
    out, in_run = [], False
    for c in name.lower():
        if c.isascii() and c.isalnum():
            out.append(c)
            in_run = False
        elif not in_run:
            out.append("-")
            in_run = True
    return "".join(out)


def parse_size(s):
    try:
        r, n, d = (int(p) for p in s.split("x"))
        assert r > 0 and n > 0 and d > 0
    except (ValueError, AssertionError):
        raise argparse.ArgumentTypeError(f"{s!r}: expected RUNSxAGENTSxDIM, e.g. 50x50x50")
    return (r, n, d)


def arguments(description, variants):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--size", type=parse_size, action="append", dest="sizes",
                   help="RUNSxAGENTSxDIM (repeatable); default: the ladder up to --max-size")
    p.add_argument("--max-size", type=float, default=1e7,
                   help="largest R x N x d of the ladder (default 1e7)")
    p.add_argument("--euler", action="store_true", help="the Euler scheme (MF-SGLD)")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per size")
    p.add_argument("--step-limit", type=float, default=20.0,
                   help="skip a size when one outer step is predicted to take longer (s)")
    p.add_argument("--variant", choices=variants, action="append", dest="variants",
                   help=f"which variants to time (default: all of {', '.join(variants)})")
    p.add_argument("--device", default=None, help="the framework's device (default: its best)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--check", metavar="OUT_DIR",
                   help="an output folder of `sgld-swarm run --config benches/peers/check.toml`:"
                        " run the same config and compare final distances")
    a = p.parse_args()
    if not (a.seconds > 0 and math.isfinite(a.seconds)):
        p.error(f"--seconds = {a.seconds}: must be a finite number > 0")
    a.variants = a.variants or list(variants)
    a.sizes = a.sizes or [s for s in LADDER if s[0] * s[1] * s[2] <= a.max_size]
    return a


def time_peer(make, label, sizes, method, seconds, step_limit):
    """Units/s of `make(shape, method, seed)` for each size, like `sgld-swarm bench`:
    a warm-up step (compilation), a calibration step, then enough steps for
    `seconds`. Sizes predicted to need more than `step_limit` s per step are skipped."""
    rows, rate = [], None
    for (r, n, d) in sizes:
        units_per_step = r * n * d * method.inner_len
        if rate is not None and units_per_step / rate > step_limit:
            print(f"{label:<24} {r:>6} {n:>6} {d:>6}  skipped: one step would take "
                  f"about {units_per_step / rate:.0f} s", flush=True)
            continue
        try:
            peer = make((r, n, d), method, 1)
            peer.steps(1)
            peer.sync()
            t = time.perf_counter()
            peer.steps(1)
            peer.sync()
            per_step = time.perf_counter() - t
            steps = max(1, math.ceil(seconds / per_step))
            t = time.perf_counter()
            peer.steps(steps)
            peer.sync()
            elapsed = time.perf_counter() - t
        except Exception as e:  # out of memory, mostly: report it and go on
            print(f"{label:<24} {r:>6} {n:>6} {d:>6}  failed: {type(e).__name__}: "
                  f"{str(e).splitlines()[0] if str(e) else ''}", flush=True)
            break
        finally:
            peer = None
        rate = units_per_step * steps / elapsed
        print(f"{label:<24} {r:>6} {n:>6} {d:>6} {units_per_step:>12.3e} {steps:>8} "
              f"{elapsed:>9.3f} {rate:>12.3e}", flush=True)
        rows.append(dict(path=label, runs=r, agents=n, dim=d,
                         scheme="homogenized" if method.homogenized else "euler",
                         inner_steps=method.inner_len, steps=steps, seconds=elapsed,
                         units_per_s=rate))
    return rows


def ks_statistic(a, b):
    """The two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b|."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.size
    fb = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def compare_distances(a, b):
    """Compares two samples of final distances, each of shape (R, N): agents of a
    run share their run mean, so they are not independent, and the test takes the
    run as its unit where it matters. Two tests at level 1e-3 each:
    - the mean distance: z = (mean_a - mean_b) / sqrt(var_a / R_a + var_b / R_b),
      with the variances of the runs' mean distances (runs are independent);
      agree when |z| < 3.29;
    - the distribution: the two-sample Kolmogorov-Smirnov statistic against
      1.949 sqrt(2 / n_eff), where n_eff = R N / deff and the design effect
      deff = N var(run means) / var(distances) (at least 1) counts how many
      agents of a run are worth one independent sample.
    Returns (agree, text)."""
    ra, rb = a.mean(axis=1), b.mean(axis=1)
    z = (a.mean() - b.mean()) / math.sqrt(ra.var(ddof=1) / ra.size + rb.var(ddof=1) / rb.size)
    deff = max(1.0, 0.5 * (a.shape[1] * ra.var() / a.var() + b.shape[1] * rb.var() / b.var()))
    n_eff = min(a.size, b.size) / deff
    d = ks_statistic(a.ravel(), b.ravel())
    crit = 1.949 * math.sqrt(2.0 / n_eff)
    agree = abs(z) < 3.29 and d < crit
    return agree, (f"mean distance: library {a.mean():.4f}, peer {b.mean():.4f} (z = {z:+.2f}); "
                   f"KS {d:.4f} (critical {crit:.4f}, design effect {deff:.1f})")


def check(make, label, out_dir):
    """Runs the shared config with this peer and compares the final distances to
    x* = 0 with the library's (`positions-<slug>.npy` in `out_dir`). The streams
    differ, so only distributions can agree (see `compare_distances`). Returns
    True when every method agrees."""
    problem, ens, methods = load_check()
    shape = (ens["runs"], ens["agents"], problem["dim"])
    ok = True
    for i, m in enumerate(methods):
        ours = np.load(os.path.join(out_dir, f"positions-{slug(m.name)}.npy"))
        if ours.shape != shape:
            sys.exit(f"{out_dir}: positions of {m.name} have shape {ours.shape}, "
                     f"the check config says {shape}")
        peer = make(shape, m, ens["seed"] + 1000 * (i + 1))
        peer.steps(ens["steps"])
        theirs = np.asarray(peer.positions(), dtype=np.float64)
        if not np.all(np.isfinite(theirs)):
            print(f"check {label} {m.name}: non-finite positions", flush=True)
            ok = False
            continue
        agree, text = compare_distances(np.linalg.norm(ours.astype(np.float64), axis=-1),
                                        np.linalg.norm(theirs, axis=-1))
        ok &= agree
        print(f"check {label:<18} {m.name:<12} {text}: {'agree' if agree else 'DIFFER'}",
              flush=True)
    return ok


def main(peer_name, variants, make_for, device_info):
    """The command line of a peer: time each variant over the sizes, optionally
    check one variant against the library, write JSON. `device_info(asked)` gives
    the device's name and its kind, "cpu" or "gpu"."""
    a = arguments(f"The {peer_name} peer of `sgld-swarm bench`.", variants)
    method = bench_method(a.euler)
    device, kind = device_info(a.device)
    print(f"{peer_name} on {device}", flush=True)
    print(f"{'engine':<24} {'runs':>6} {'agents':>6} {'dim':>6} {'units/step':>12} "
          f"{'steps':>8} {'seconds':>9} {'units/s':>12}", flush=True)
    report = dict(backend=peer_name, kind=kind, device=device,
                  python=platform.python_version(), results=[])
    for v in a.variants:
        report["results"] += time_peer(make_for(v, a.device), v, a.sizes, method,
                                       a.seconds, a.step_limit)
    ok = True
    if a.check:
        ok = check(make_for(a.variants[0], a.device), a.variants[0], a.check)
        report["check"] = "agree" if ok else "differ"
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    return 0 if ok else 1
