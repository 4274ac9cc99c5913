#!/usr/bin/env python3
"""The communication model of docs/SCALING.md: predicted weak-scaling
efficiency of one run split over P GPUs, 1 to 1,024, on the paper's rough
potential at d = 10, 1,000 and 1e6, for the Euler scheme with interaction (an
exchange every step) and the homogenized scheme (one every M = 20 inner
steps). The exchange is the one built for GPU ranks (src/engine/gpu/split.rs:
an all-gather of every tile's f32 records, added in tile order on every rank,
with the run's records read back and written over PCIe), beside the
alternative of a fixed-order tree over the tiles and a stale mean. Every
assumption is a constant below; docs/SCALING.md states where each comes from.

Usage: python3 benches/scaling_model.py
"""
import math

# Measured (docs/PERFORMANCE.md, an H200, 2026-11-26), units/s per GPU.
RATE = {"Euler": 1.26e11, "homogenized": 2.76e11}
INNER = {"Euler": 1, "homogenized": 20}
# Assumed: kernel launches and the mean's two passes per outer step, seconds.
LAUNCH = 15e-6
# Assumed: an InfiniBand HDR cluster (200 Gb/s per GPU, one port each).
ALPHA = 2e-6  # seconds per message, MPI small-message latency
BETA = 25e9  # bytes/s per rank
# Assumed: reading the tiles' sums back from the GPU and writing the run's
# to it (PCIe Gen5 x16, and a blocking readback per step).
PCIE_LATENCY = 20e-6
PCIE = 50e9
# The collectives per step as built for GPU ranks (src/engine/gpu/split.rs):
# the readback's agreement and the tiles' records, each a count exchange then
# the data (the segment report, two more, comes once per 64 steps: left out).
COLLECTIVES = 4
# Bytes per value of a tile's record: the GPU kernels' f32.
VALUE = 4
# Agents per GPU for each d: about 1e7 to 3e8 units per step, where the
# measured rates hold (d = 1e6: one 256-agent tile, 1 GB of positions).
AGENTS = {10: 1 << 20, 1000: 1 << 14, 1_000_000: 256}
TILE = 256


def compute(d, scheme):
    """Seconds of one outer step's work on one GPU."""
    return AGENTS[d] * d * INNER[scheme] / RATE[scheme] + LAUNCH


def exchange_allgather(d, p):
    """Seconds of one outer step's exchange as the GPU ranks do it: every rank
    receives every tile's record (d + 2 f32) of the run, from P ranks
    (recursive doubling: ceil(log2 P) latencies per collective, the whole
    volume once)."""
    if p == 1:
        return 0.0
    mine = AGENTS[d] // TILE * (d + 2) * VALUE
    received = (p - 1) * mine
    # The run's records (every rank's tiles) are read back and written over.
    pcie = 2 * PCIE_LATENCY + 2 * p * mine / PCIE
    return COLLECTIVES * math.ceil(math.log2(p)) * ALPHA + received / BETA + pcie


def exchange_tree(d, p):
    """The same with a fixed-order tree over the tiles (not built): each rank
    sums its own subtrees, then ceil(log2 P) rounds of one d-record up the
    tree and down again."""
    if p == 1:
        return 0.0
    rounds = math.ceil(math.log2(p))
    record = (d + 2) * VALUE
    pcie = 2 * PCIE_LATENCY + 2 * record / PCIE
    return 2 * rounds * (ALPHA + record / BETA) + 2 * math.ceil(math.log2(p)) * ALPHA + pcie


def main():
    ps = [1, 2, 8, 64, 256, 1024]
    print("Weak scaling: efficiency = compute / (compute + exchange) per outer step.")
    print()
    print("| d | agents per GPU | scheme | compute per step | "
          + " | ".join(f"P = {p}" for p in ps) + " | crossover P (all-gather) |")
    print("| --- | --- | --- | --- | " + " | ".join("---" for _ in ps) + " | --- |")
    for d in AGENTS:
        for scheme in RATE:
            c = compute(d, scheme)
            cells = []
            for p in ps:
                x = exchange_allgather(d, p)
                a = c / (c + x)
                t = c / (c + exchange_tree(d, p))
                # A stale mean (the previous step's) lets the exchange run
                # beside the step's work: the step takes the longer of the two.
                s = c / max(c, x)
                cells.append(f"{a:.0%} / {t:.0%} / {s:.0%}")
            cross = next((p for p in (2 ** k for k in range(0, 21))
                          if exchange_allgather(d, p) >= c), None)
            cross = f"{cross}" if cross else "> 1e6"
            print(f"| {d:g} | {AGENTS[d]} | {scheme} | {c * 1e3:.3g} ms | "
                  + " | ".join(cells) + f" | {cross} |")
    print()
    print("Each cell: the all-gather (as built) / a fixed-order tree over the tiles /")
    print("the all-gather with a stale mean overlapping the step.")


if __name__ == "__main__":
    main()
