#!/usr/bin/env python3
"""Two builds of the command line timed against each other on the same cores:
`sgld-swarm bench` of each, alternately, for a number of rounds, so that a
slow spell of a shared machine falls on both. Prints each build's median
units/s per scheme, the ratio of the medians and the median of each round's
ratio (after / before), and, with both schemes, each build's Euler /
homogenized ratio by the medians.

    python3 benches/ab.py --before old-binary --after target/release/sgld-swarm
    python3 benches/ab.py --before A --after B --rounds 20 --seconds 1 --scheme euler

A wall clock on a virtual machine moves 10 - 15% between runs; 20 rounds of
1 s give medians that move by a few percent between batches, so a change
smaller than that needs an exact count instead (benches/cpu_floor.py).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def units_per_s(binary, scheme, seconds, size, tmp):
    out = os.path.join(tmp, "bench.json")
    cmd = [binary, "bench", "--seconds", str(seconds), "--json", out]
    if scheme == "euler":
        cmd.append("--euler")
    if size:
        cmd += ["--size", size]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    with open(out) as f:
        return json.load(f)["results"][0]["units_per_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="the build before the change")
    ap.add_argument("--after", required=True, help="the build after the change")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=1.0, help="seconds of each bench run")
    ap.add_argument("--scheme", default="both", choices=["homogenized", "euler", "both"])
    ap.add_argument("--size", help="RUNSxAGENTSxDIM (default: the bench's, 50x50x50)")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit(f"--rounds {args.rounds}: must be at least 1")
    if not args.seconds > 0:
        sys.exit(f"--seconds {args.seconds}: must be > 0")
    for name in ("before", "after"):
        path = getattr(args, name)
        if not os.path.isfile(path):
            sys.exit(f"--{name} {path}: no such file")
    schemes = ["homogenized", "euler"] if args.scheme == "both" else [args.scheme]
    rates = {(b, s): [] for b in ("before", "after") for s in schemes}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            # Alternate which build goes first, so that neither always follows the other.
            order = ("before", "after") if r % 2 == 0 else ("after", "before")
            for scheme in schemes:
                for build in order:
                    rates[build, scheme].append(
                        units_per_s(getattr(args, build), scheme, args.seconds, args.size, tmp))
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(
                f"{s} {rates['after', s][-1] / rates['before', s][-1]:.3f}" for s in schemes),
                file=sys.stderr)
    print(f"{args.rounds} alternating rounds of {args.seconds} s (after / before)")
    print(f"{'scheme':12s} {'before':>10s} {'after':>10s} {'of medians':>11s} "
          f"{'median of rounds':>17s} {'rounds range':>14s}")
    for s in schemes:
        before, after = rates["before", s], rates["after", s]
        paired = [a / b for a, b in zip(after, before)]
        print(f"{s:12s} {statistics.median(before):10.3g} {statistics.median(after):10.3g} "
              f"{statistics.median(after) / statistics.median(before):11.3f} "
              f"{statistics.median(paired):17.3f} {min(paired):6.3f} - {max(paired):.3f}")
    if len(schemes) == 2:
        for build in ("before", "after"):
            e = statistics.median(rates[build, "euler"])
            h = statistics.median(rates[build, "homogenized"])
            print(f"euler / homogenized, {build}: {e / h:.3f} by the medians")


if __name__ == "__main__":
    main()
