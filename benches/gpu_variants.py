#!/usr/bin/env python3
"""The GPU engine's selectable variants timed against its default in one
invocation, for a machine with a GPU: first the tests that hold each variant to the
default's bits on this adapter, or, for those that change the code the driver
compiles (the checks, the scheme read at run time), to the GPU engine's
tolerance against the CPU engine (if the GPU test binary is given), then rounds
in which every variant and the default run in turn (the order rotating from
round to round), so that the card's drift between runs falls on all alike.
Prints, per size, each variant's median rate, the ratio of the medians to the
default's and the median and range of each round's ratio; writes the same
table and every raw rate to --out.

    python3 benches/gpu_variants.py --bin target/release/sgld-swarm \\
        --tests target/release/deps/gpu-HASH --rounds 3 --seconds 0.5

Parts: `euler` and `homogenized` (the step kernels' variants of compare.py's
TUNE, by --step-variants), `network` (the network kernel's versions of
NET_TUNE, by --net-variants). --deadline stops starting rounds after that many
seconds, so that a run with a hard time limit still prints the rounds it
finished. Every SGLD_SWARM_GPU_* setting of the environment is cleared first,
so that the default is the default.
"""

import argparse
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import NET_TUNE, TUNE, slug  # noqa: E402  (the variants are compare.py's)

STEP_PARTS = ("euler", "homogenized")
# The rate each network row reports, and the rows a table shows.
NET_PATHS = ("gradient, GPU kernel on the device", "training step (gpu)")


# The environment without any tuning setting: each run adds its variant's.
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("SGLD_SWARM_GPU_")}


def bench(cmd, env, timeout, tmp):
    """Runs one `sgld-swarm bench ... --json`, returns its report or None."""
    out = os.path.join(tmp, "bench.json")
    if os.path.exists(out):  # never an earlier run's report
        os.remove(out)
    t = time.monotonic()
    try:
        r = subprocess.run(cmd + ["--json", out], capture_output=True, text=True,
                           timeout=timeout, env={**CLEAN_ENV, **env})
    except subprocess.TimeoutExpired:
        print(f"  {' '.join(cmd)}: killed after {timeout} s", flush=True)
        return None
    wall = time.monotonic() - t
    if r.returncode != 0:
        print(f"  {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}", flush=True)
        return None
    try:
        with open(out) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        print(f"  {' '.join(cmd)} wrote no readable report: {e}", flush=True)
        return None
    # Each call's rates and wall time as they come, so that a call killed
    # from outside still leaves them in the log.
    rates = [f"{row.get('units_per_s', row.get('samples_agents_per_s', 0)):.3e}"
             for row in rep.get("results", [])]
    print(f"  {' '.join(env_words(env) + cmd[1:])}: {' '.join(rates)} ({wall:.1f} s)",
          flush=True)
    return rep


def executable(path, flag):
    """`path` made absolute, or the script ends naming `flag`."""
    full = os.path.abspath(path)
    if not (os.path.isfile(full) and os.access(full, os.X_OK)):
        sys.exit(f"{flag} {path}: no such executable file")
    return full


def env_words(env):
    return [f"{k}={v}" for k, v in env.items()]


def table(title, keys, rates, variants):
    """Rows per key: the default's median, then per variant its median, the
    ratio of the medians and the median and range of the ratios of the rounds
    in which both ran (`rates`: (variant, key) -> {round: rate})."""
    lines = [title, f"{'':28s} {'default':>10s}" + "".join(
        f" | {v[:24]:>24s} {'of med.':>7s} {'med. of rounds':>14s} {'range':>13s}"
        for v in variants[1:])]
    for key in keys:
        base = rates.get((variants[0], key), {})
        if not base:
            continue
        row = f"{key:28s} {statistics.median(base.values()):10.3e}"
        for v in variants[1:]:
            mine = rates.get((v, key), {})
            paired = [mine[r] / base[r] for r in mine if r in base]
            if not paired:
                row += f" | {'-':>24s} {'':7s} {'':14s} {'':13s}"
                continue
            row += (f" | {statistics.median(mine.values()):24.3e} "
                    f"{statistics.median(mine.values()) / statistics.median(base.values()):7.3f} "
                    f"{statistics.median(paired):14.3f} "
                    f"{min(paired):6.3f}-{max(paired):6.3f}")
        lines.append(row)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="the sgld-swarm binary")
    ap.add_argument("--tests", help="the GPU test binary, to hold the variants to the "
                    "default's bits first (`cargo test --release --test gpu --no-run` names it)")
    ap.add_argument("--parts", default="euler,homogenized,network")
    ap.add_argument("--step-variants",
                    default="mean-passes,mean-fused,scalar-io,mean-passes-and-scalar-io,"
                            "scheme-at-run-time")
    ap.add_argument("--net-variants", default="trace")
    ap.add_argument("--sizes", default="100x100x100,100x1000x100,100x1000x1000")
    ap.add_argument("--agents", default="1056,4224")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--timeout", type=float, default=120, help="seconds per command at most")
    ap.add_argument("--deadline", type=float, default=None,
                    help="start no round after this many seconds")
    ap.add_argument("--out", default="bench-out/gpu-variants")
    a = ap.parse_args()
    if a.rounds < 1:
        sys.exit(f"--rounds {a.rounds}: must be at least 1")
    if not (0 < a.seconds <= 3600):
        sys.exit(f"--seconds {a.seconds}: must be in (0, 3600]")
    if not (math.isfinite(a.timeout) and a.timeout > 0):
        sys.exit(f"--timeout {a.timeout}: must be a positive number of seconds")
    if a.deadline is not None and not (math.isfinite(a.deadline) and a.deadline >= 0):
        sys.exit(f"--deadline {a.deadline}: must be a number of seconds, 0 or more")
    tests = executable(a.tests, "--tests") if a.tests else None
    binary = executable(a.bin, "--bin")
    parts = [p.strip() for p in a.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in STEP_PARTS + ("network",)]
    if unknown:
        sys.exit(f"--parts: unknown {', '.join(unknown)}; allowed: euler, homogenized, network")
    step_env = {slug(label): env for label, env in TUNE}
    net_env = {label: env for label, env in NET_TUNE}
    step_variants = [v.strip() for v in a.step_variants.split(",") if v.strip()]
    net_variants = [v.strip() for v in a.net_variants.split(",") if v.strip()]
    for names, known, flag in ((step_variants, step_env, "--step-variants"),
                               (net_variants, net_env, "--net-variants")):
        bad = [v for v in names if v not in known]
        if bad:
            sys.exit(f"{flag}: unknown {', '.join(bad)}; allowed: {', '.join(known)}")
    sizes = [s.strip() for s in a.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if not re.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*x[1-9][0-9]*", s)]
    if bad or not sizes:
        sys.exit(f"--sizes {a.sizes}: must be RUNSxAGENTSxDIM, comma-separated "
                 f"(wrong: {', '.join(bad) or 'none given'})")
    agents = [n.strip() for n in a.agents.split(",") if n.strip()]
    if not agents or not all(n.isdigit() and int(n) > 0 for n in agents):
        sys.exit(f"--agents {a.agents}: must be positive numbers, comma-separated")
    os.makedirs(a.out, exist_ok=True)
    start = time.monotonic()
    failed = 0

    if tests:
        cmd = [tests, "tuning", "resnet_gradient"]
        print("$ " + " ".join(cmd), flush=True)
        # In a session of its own, so that at the limit the command-line runs
        # it started end with it rather than share the GPU with the timing.
        p = subprocess.Popen(cmd, env={**CLEAN_ENV, "SGLD_SWARM_REQUIRE_GPU": "1",
                                       "SGLD_SWARM_BIN": binary},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
        try:
            text, _ = p.communicate(timeout=a.timeout * 3)
            code = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            text, _ = p.communicate()
            code = f"killed after {a.timeout * 3} s"
        with open(os.path.join(a.out, "bits.log"), "w") as f:
            f.write(text)
        print("\n".join(x for x in text.splitlines() if x.startswith(("test ", "test result"))),
              flush=True)
        if code != 0:
            print(f"the bit tests failed ({code}); the variants are timed all the same, "
                  "but a variant that changes bits becomes a default only as a change of "
                  "contract (docs/DESIGN.md section 6.1)", flush=True)
            failed += 1
    else:
        print("no --tests: the variants' bits are not checked on this adapter", flush=True)

    # (part, variant, key) -> {round: rate}; devices: (part, variant) -> report's device
    rates, devices = {}, {}
    done = 0
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            if a.deadline is not None and time.monotonic() - start > a.deadline:
                print(f"--deadline {a.deadline} s passed: {done} rounds of {a.rounds}", flush=True)
                break
            for part in parts:
                variants = ["default"] + (net_variants if part == "network" else step_variants)
                k = rnd % len(variants)
                for v in variants[k:] + variants[:k]:
                    env = {} if v == "default" else (net_env[v] if part == "network"
                                                     else step_env[v])
                    if part == "network":
                        for n in agents:
                            rep = bench([binary, "bench", "--resnet", n, "--backend", "gpu",
                                         "--seconds", str(a.seconds)], env, a.timeout, tmp)
                            if rep is None:
                                failed += 1
                                continue
                            devices[part, v] = f"{rep['device']}, kernel {rep.get('kernel')}"
                            for row in rep["results"]:
                                if row["path"] in NET_PATHS:
                                    rates.setdefault((part, v, f"{n} agents, {row['path'][:8]}"),
                                                     {})[rnd] = row["samples_agents_per_s"]
                    else:
                        cmd = [binary, "bench", "--backend", "gpu", "--seconds", str(a.seconds)]
                        cmd += ["--euler"] if part == "euler" else []
                        rep = bench(cmd + [x for s in sizes for x in ("--size", s)], env,
                                    a.timeout, tmp)
                        if rep is None:
                            failed += 1
                            continue
                        devices[part, v] = rep["device"]
                        for row in rep["results"]:
                            key = f"{row['runs']}x{row['agents']}x{row['dim']}"
                            rates.setdefault((part, v, key), {})[rnd] = row["units_per_s"]
            done += 1
            print(f"round {rnd + 1}/{a.rounds} done at {time.monotonic() - start:.0f} s",
                  flush=True)

    text = [f"{done} rounds of {a.seconds} s, each variant and the default in turn, "
            f"{time.strftime('%Y-%m-%d')}"]
    for part in parts:
        variants = ["default"] + (net_variants if part == "network" else step_variants)
        keys = ([f"{n} agents, {p[:8]}" for n in agents for p in NET_PATHS]
                if part == "network" else sizes)
        unit = "samples x agents/s" if part == "network" else "units/s"
        text.append("")
        text.append(table(f"{part}, {unit}", keys,
                          {(v, k): r for (p, v, k), r in rates.items() if p == part}, variants))
        text += [f"  {v}: {devices[part, v]}" for v in variants if (part, v) in devices]
    summary = "\n".join(text)
    print("\n" + summary, flush=True)
    with open(os.path.join(a.out, "variants.txt"), "w") as f:
        f.write(summary + "\n")
    with open(os.path.join(a.out, "variants.json"), "w") as f:
        json.dump({f"{p} | {v} | {k}": [r.get(i) for i in range(done)]
                   for (p, v, k), r in rates.items()}, f, indent=1)
        f.write("\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
