#!/usr/bin/env python3
"""The Python package's overhead, measured side by side in one invocation on
the same cores:

1. the built-in rough potential (d = 10, R N d = 1e6, MF-HOM-SGLD) run by the
   command line and by `sgld_swarm.run`, alternately, three times each: the
   ratio of the medians of the engine's units/s (goal: within 5%), and the
   units per second of `sgld_swarm.run`'s whole call by the wall clock (its
   configuration, the engine's construction, the results' conversion to
   NumPy) against the engine's own;
2. the same potential written in NumPy (a Python object with `grad`) against
   the built-in through `sgld_swarm.Ensemble`, at a smaller size.

    python3 benches/python_overhead.py [--bin target/release/sgld-swarm]

Needs the package installed (`pip install ./python`) and a release binary.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np

import sgld_swarm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG = {
    "problem": {"potential": "rough", "dim": 10, "delta": 0.01},
    "ensemble": {"runs": 100, "agents": 1000, "steps": 100, "seed": 1, "record_every": 100,
                 "init": {"uniform": [-10.0, 10.0]}},
    "method": [{"name": "MF-HOM-SGLD", "scheme": "homogenized", "dt": 0.005, "beta": 1.0,
                "lambda": 3.0, "taming": "coordinate", "eps": 0.01, "gamma": 0.1,
                "inner_steps": 10}],
}


class RoughNumpy:
    """sum_k (y_k sin(y_k / delta) + 0.1 y_k)^2, vectorised over agents."""

    def __init__(self, dim, delta=0.01):
        self.dim, self.delta = dim, np.float32(delta)

    def grad(self, x):
        s, c = np.sin(x / self.delta), np.cos(x / self.delta)
        u = x * s + np.float32(0.1) * x
        return np.float32(2.0) * u * (s + x / self.delta * c + np.float32(0.1))

    def value(self, x):
        x = x.astype(np.float64)
        return ((x * np.sin(x / float(self.delta)) + 0.1 * x) ** 2).sum(axis=1)


def cli_units(binary, config_path, out):
    subprocess.run([binary, "run", "--config", config_path, "--out", out, "--backend", "cpu",
                    "--checkpoint-every", "0"], check=True, capture_output=True)
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)["methods"][0]["units_per_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "sgld-swarm"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rough.toml")
        with open(path, "w") as f:
            f.write(sgld_swarm._native.json_to_toml(json.dumps(CONFIG)))
        cli, py, wall = [], [], []
        units = 100 * 1000 * 10 * 10 * 100
        for _ in range(args.repeats):
            cli.append(cli_units(args.bin, path, os.path.join(tmp, "cli")))
            t = time.perf_counter()
            r = sgld_swarm.run(CONFIG, backend="cpu")
            wall.append(units / (time.perf_counter() - t))
            py.append(r[0].summary["units_per_s"])
        c, p, w = statistics.median(cli), statistics.median(py), statistics.median(wall)
        print(f"built-in rough, R N d = 1e6, MF-HOM-SGLD (M = 10), CPU engine:")
        print(f"  command line   {c:.3e} units/s  (runs: {', '.join(f'{v:.3e}' for v in cli)})")
        print(f"  sgld_swarm.run {p:.3e} units/s  (runs: {', '.join(f'{v:.3e}' for v in py)})")
        print(f"  Python / command line = {p / c:.3f}")
        print(f"  sgld_swarm.run by the wall clock {w:.3e} units/s: {w / p:.3f} of its engine's")

    method = {"name": "MF-SGLD", "scheme": "euler", "dt": 0.001, "beta": 1.0, "lambda": 3.0,
              "taming": "coordinate"}
    size = dict(runs=10, agents=1000, steps=50, record_every=50, seed=1, init=(-10.0, 10.0),
                method=method, backend="cpu")
    rates = {}
    for label, make in [
        ("built-in", lambda: sgld_swarm.Ensemble("rough", dim=10, delta=0.01, **size)),
        ("NumPy", lambda: sgld_swarm.Ensemble(RoughNumpy(10), **size)),
    ]:
        best = []
        for _ in range(args.repeats):
            e = make()
            t = time.perf_counter()
            e.run()
            best.append(10 * 1000 * 10 * 50 / (time.perf_counter() - t))
        rates[label] = statistics.median(best)
    print("rough d = 10, R N d = 1e5, MF-SGLD, CPU engine, through sgld_swarm.Ensemble:")
    for label, r in rates.items():
        print(f"  {label:<9} {r:.3e} units/s")
    print(f"  NumPy / built-in = {rates['NumPy'] / rates['built-in']:.3f}")


if __name__ == "__main__":
    main()
