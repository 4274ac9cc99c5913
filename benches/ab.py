#!/usr/bin/env python3
"""Two builds of the command line timed against each other on the same cores:
`sgld-swarm bench` of each, alternately, for a number of rounds, so that a
slow spell of a shared machine falls on both. Prints each build's median
units/s per scheme, the ratio of the medians and the median of each round's
ratio (after / before), and, with both schemes, each build's Euler /
homogenized ratio by the medians.

    python3 benches/ab.py --before old-binary --after target/release/sgld-swarm
    python3 benches/ab.py --before A --after B --rounds 20 --seconds 1 --scheme euler

On the 2-vCPU development VM of docs/PERFORMANCE.md the wall clock moves 10 -
15% between runs; 20 rounds of 1 s give medians that move by a few percent
between batches there, so a change smaller than that needs an exact count
instead (benches/cpu_floor.py). The thread count is the bench's own
(RAYON_NUM_THREADS in the environment sets it for both builds).
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
    # A build that exits 0 without writing its JSON must not be read as the
    # previous run's number.
    if os.path.exists(out):
        os.remove(out)
    cmd = [binary, "bench", "--seconds", str(seconds), "--json", out]
    if scheme == "euler":
        cmd.append("--euler")
    if size:
        cmd += ["--size", size]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    try:
        with open(out) as f:
            return json.load(f)["results"][0]["units_per_s"]
    except (OSError, ValueError, KeyError, IndexError) as e:
        sys.exit(f"{' '.join(cmd)} wrote no readable result to {out}: {e}")


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
    if not (0 < args.seconds <= 86400):
        sys.exit(f"--seconds {args.seconds}: must be a number of seconds in (0, 86400]")
    for name in ("before", "after"):
        path = os.path.abspath(getattr(args, name))
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            sys.exit(f"--{name} {getattr(args, name)}: must be an executable sgld-swarm binary"
                     " (no such executable file)")
        setattr(args, name, path)
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
    print(f"{args.rounds} alternating rounds of {args.seconds} s: median units/s of each build,"
          " and after / before")
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
