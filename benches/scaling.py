#!/usr/bin/env python3
"""Time per outer step over MPI ranks, split into compute and exchange
(docs/SCALING.md): strong scaling (one ensemble over P = 1, 2, 3 ranks) and
weak scaling (agents proportional to P), for a run split over the ranks in
256-agent tiles and for whole runs per rank, on the CPU engine; with
`--backend gpu`, a run split over GPU ranks against the same run in one
process on the GPU (the split path's readback and exchange per step).

Each rank is one process bound to one core by mpirun (so P = 1 is one core,
and P = 3 on a 2-core machine is oversubscribed). `exchange` is rank 0's time
in the ranks' collectives while advancing (waiting for slower ranks
included); `compute` the rest of its advancing time.

Usage: cargo build --release --features mpi; python3 benches/scaling.py
       [--bin target/release/sgld-swarm] [--repeats 3] [--backend cpu|gpu]
"""
import argparse
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "scaling", "split.toml")


def run(binary, p, runs, agents, steps, backend):
    """The summary.json of one mpirun (the median of repeats is taken above)."""
    with tempfile.TemporaryDirectory() as out:
        with open(CONFIG) as f:
            text = f.read().replace("agents = 16384", f"agents = {agents}")
        config = os.path.join(out, "config-in.toml")
        with open(config, "w") as f:
            f.write(text)
        cmd = ["mpirun", "-n", str(p), "--oversubscribe", "--allow-run-as-root", binary,
               "run", "--config", config, "--runs", str(runs), "--steps", str(steps),
               "--backend", backend, "--checkpoint-every", "0", "--out", os.path.join(out, "o")]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(out, "o", "summary.json")) as f:
            return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/sgld-swarm")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backend", choices=("cpu", "gpu"), default="cpu")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    # (label, P, runs, agents)
    cases = []
    if args.backend == "gpu":
        # P = 1 is one process's GPU engine (64 steps a submit); P = 2 splits
        # the run: two submits, a readback and the exchange every step.
        for p in (1, 2):
            cases.append(("GPU, exchange-bound, split", p, 1, 512))
        for p in (1, 2):
            cases.append(("GPU, strong, split", p, 1, 16384))
    else:
        cpu_cases(cases)
    table(cases, binary, args)


def cpu_cases(cases):
    for p in (1, 2, 3):
        cases.append(("strong, split", p, 1, 16384))
    for p in (1, 2):
        cases.append(("weak, split", p, 1, 8192 * p))
    for p in (1, 2):
        cases.append(("strong, whole runs", p, 4, 4096))
    # Almost no compute (two tiles of 256 agents): the step's time over two
    # ranks is its exchange.
    for p in (1, 2):
        cases.append(("exchange-bound, split", p, 1, 512))
    for p in (1, 3):
        cases.append(("exchange-bound, split", p, 1, 768))


def table(cases, binary, args):
    print("| case | P | runs x agents | method | units/s | ms per outer step | compute ms | exchange ms | exchange share |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, p, runs, agents in cases:
        rows = {}
        for _ in range(args.repeats):
            s = run(binary, p, runs, agents, 2000 if agents <= 768 else 200, args.backend)
            for m in s["methods"]:
                rows.setdefault(m["name"], []).append(m)
        for name, ms in rows.items():
            ms.sort(key=lambda m: m["elapsed_s"])
            m = ms[len(ms) // 2]
            per_step = m["elapsed_s"] / m["steps"] * 1e3
            exchange = (m.get("exchange_s") or 0.0) / m["steps"] * 1e3
            print(f"| {label} | {p} | {runs} x {agents} | {name} | {m['units_per_s']:.3g} | "
                  f"{per_step:.3f} | {per_step - exchange:.3f} | {exchange:.3f} | "
                  f"{exchange / per_step:.1%} |")


if __name__ == "__main__":
    main()
