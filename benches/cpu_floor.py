#!/usr/bin/env python3
"""The CPU lane path's instructions per unit and the floor its pipes set.

Counts every instruction the lane kernel executes (valgrind's callgrind, one
thread: exact and undisturbed by other load), asks llvm-mca which pipes each
distinct instruction may issue on for the given CPU model, and reports for each
family of pipes the least cycles per unit that any assignment of those
instructions to their pipes needs: max over sets S of pipes of (the uops that
can only go to S) / |S|. The largest is the floor of the compiled code; with
--ghz and --cores it becomes units/s.

It also models the latency: the instructions that ran equally often are taken
as one loop body (in address order; every hot loop of the lane path is one such
set), llvm-mca simulates each set as a loop with its dependencies, and the
cycles per iteration times the executions, summed over the sets that hold 2% or
more of the instructions, give cycles per unit. A set that is not one loop (two
code paths that happen to run equally often) makes this an estimate.

The workload is the setting of docs/PERFORMANCE.md's instruction counts (the
rough potential, d = 50, 8 runs x 16 agents, coordinate taming, lambda = 3):
MF-HOM-SGLD (M = 20, 40 steps) and MF-SGLD (800 steps), 5.12e6 units each.

Needs valgrind, llvm-mca (Debian: llvm) and objdump (binutils), and a C
compiler (`cc`) for --ghz measure; x86-64 only. Valgrind does not run AVX-512,
so the levels are the portable and AVX2 ones.

    python3 benches/cpu_floor.py                       # AVX2, both schemes, this CPU's model
    python3 benches/cpu_floor.py --mcpu znver3 --ghz measure --cores 2   # a Zen 3 core
    python3 benches/cpu_floor.py --bin old-binary       # before / after a change
    python3 benches/cpu_floor.py --scheme homogenized --loops   # each hot loop's cycles
"""

import argparse
import collections
import itertools
import math
import platform
import os
import re
import shutil
import subprocess
import sys
import tempfile

RUNS, AGENTS, DIM = 8, 16, 50
# Branches, calls and padding: issue slots, but no pipe's work that llvm-mca can place.
CONTROL = re.compile(r"(j\w+|call\w*|ret)\b|.*nop|cs |data16")
SCHEMES = {
    # name: (steps, [[method]] table, units)
    "homogenized": (40, """name = "MF-HOM-SGLD"
scheme = "homogenized"
dt = 0.005
beta = 1.0
lambda = 3.0
taming = "coordinate"
eps = 0.01
gamma = 0.1
inner_steps = 20
burn_in = 1
""", RUNS * AGENTS * DIM * 40 * 20),
    "euler": (800, """name = "MF-SGLD"
scheme = "euler"
dt = 0.01
beta = 1.0
lambda = 3.0
taming = "coordinate"
""", RUNS * AGENTS * DIM * 800),
}


def config(steps, method):
    return f"""[problem]
potential = "rough"
dim = {DIM}
delta = 0.01

[ensemble]
runs = {RUNS}
agents = {AGENTS}
steps = {steps}
seed = 1
record_every = {steps}
init = {{ uniform = [-10.0, 10.0] }}

[[method]]
{method}"""


def self_counts(path, function):
    """Executions of each instruction address inside `function` (self cost only)."""
    counts = collections.Counter()
    inside = after_call = False
    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                inside = re.search(function, line) is not None
            elif line.startswith("calls="):
                after_call = True  # the next cost line is the callee's inclusive cost
            elif line.startswith("0x"):
                if after_call:
                    after_call = False
                elif inside:
                    address, _line, ir = line.split()[:3]
                    counts[int(address, 16)] += int(ir)
    return counts


def disassemble(binary, addresses):
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn",
         f"--start-address={min(addresses)}", f"--stop-address={max(addresses) + 16}", binary],
        capture_output=True, text=True, check=True).stdout
    text = {}
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)$", line)
        if m and int(m.group(1), 16) in addresses:
            text[int(m.group(1), 16)] = m.group(2).split("#")[0].strip()
    return text


def pipes(instructions, mcpu):
    """For each instruction text: {family: (frozenset of pipes, uops)} from llvm-mca's
    steady-state pressure of that instruction alone (spread evenly over the pipes it
    may use). Instructions llvm-mca cannot parse are left out and counted."""
    unknown = set()
    while True:
        src = "".join(f"# LLVM-MCA-BEGIN r{i}\n{'nop' if i in unknown else t}\n# LLVM-MCA-END\n"
                      for i, t in enumerate(instructions))
        r = subprocess.run(["llvm-mca", f"-mcpu={mcpu}", "-iterations=100", "-resource-pressure",
                            "-instruction-info=0", "-timeline=0"],
                           input=src, capture_output=True, text=True)
        if r.returncode == 0:
            break
        lines = {int(x) for x in re.findall(r"<stdin>:(\d+):\d+: error", r.stderr)}
        new = {(x - 1) // 3 for x in lines} - unknown
        if not new:
            sys.exit(f"llvm-mca failed:\n{r.stderr[:2000]}")
        unknown |= new
    result = {}
    names = None
    for part in re.split(r"\n\[\d+\] Code Region - ", r.stdout)[1:]:
        i = int(part.split("\n", 1)[0].strip()[1:])
        if i in unknown:
            continue
        if names is None:
            # One column per unit: `[8] - Zn3FPP0` is a pipe of the family
            # Zn3FPP; `[12.0] - Zn3FPP45` and `[12.1] - Zn3FPP45` are the two
            # units of the family Zn3FPP45.
            names = []
            for unit, name in re.findall(r"\[(\d+(?:\.\d+)?)\]\s+- (\S+)",
                                         part.split("Resource pressure per iteration")[0]):
                family = name if "." in unit else re.sub(r"\d+$", "", name)
                names.append((family, name if "." not in unit else f"{name}.{unit.split('.')[1]}"))
        row = part.split("Resource pressure per iteration:")[1].splitlines()[2].split()
        families = collections.defaultdict(dict)
        if len(row) != len(names):
            sys.exit(f"llvm-mca printed {len(row)} pressure columns for {len(names)} resources")
        for (family, name), cell in zip(names, row):
            if cell != "-":
                families[family][name] = float(cell)
        result[instructions[i]] = {f: (frozenset(d), sum(d.values())) for f, d in families.items()}
    return result, {instructions[i] for i in unknown}


def latency_model(counts, text, mcpu, units):
    """Cycles per unit when every set of equally often executed instructions runs as
    a loop under llvm-mca's simulation, the fraction of instructions modelled, and
    each modelled set as (executions, addresses, cycles per iteration), largest
    share of the cycles first."""
    sets = collections.defaultdict(list)
    for a, c in counts.items():
        sets[c].append(a)
    total = sum(counts.values())
    cycles = modelled = 0
    loops = []
    for c, addresses in sets.items():
        if c * len(addresses) < 0.02 * total:
            continue
        body = [text[a] for a in sorted(addresses) if not CONTROL.match(text[a])]
        r = subprocess.run(["llvm-mca", f"-mcpu={mcpu}", "-iterations=200", "-timeline=0",
                            "-resource-pressure=0", "-instruction-info=0"],
                           input="\n".join(body) + "\n", capture_output=True, text=True)
        found = re.search(r"Total Cycles:\s+(\d+)", r.stdout)
        if r.returncode != 0 or not found:
            continue
        per_iteration = int(found.group(1)) / 200
        cycles += per_iteration * c
        modelled += c * len(addresses)
        loops.append((c, sorted(addresses), per_iteration))
    loops.sort(key=lambda loop: -loop[0] * loop[2])
    return cycles / units, modelled / total, loops


CLOCK_C = r"""
#include <stdio.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
    double best = 0;
    for (int r = 0; r < 5; r++) {
        long n = 100000000, x = 0;
        double t0 = now();
        for (long i = 0; i < n; i++)
            __asm__ volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\t"
                             "add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0" : "+r"(x));
        double ghz = 8.0 * n / (now() - t0) / 1e9;
        if (ghz > best) best = ghz;
    }
    printf("%.3f\n", best);
}
"""


def measure_clock(tmp):
    """The core clock from a chain of dependent integer adds (one cycle each on
    every x86-64 core of the last decade), timed by the thread's CPU clock so
    that time when this thread was not running does not count."""
    src, exe = os.path.join(tmp, "clock.c"), os.path.join(tmp, "clock")
    with open(src, "w") as f:
        f.write(CLOCK_C)
    subprocess.run(["cc", "-O2", src, "-o", exe], check=True)
    return float(subprocess.run([exe], capture_output=True, text=True, check=True).stdout)


def busiest(loads):
    """Least cycles that the busiest pipe of a family needs: max over pipe sets S of
    (uops restricted to S) / |S| (for a fractional assignment this bound is exact)."""
    all_pipes = sorted(set().union(*loads))
    best = (0.0, ())
    for k in range(1, len(all_pipes) + 1):
        for s in itertools.combinations(all_pipes, k):
            v = sum(u for p, u in loads.items() if p <= set(s)) / k
            best = max(best, (v, s))
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="target/release/sgld-swarm")
    ap.add_argument("--simd", default="avx2", choices=["portable", "avx2"])
    ap.add_argument("--scheme", default="both", choices=["homogenized", "euler", "both"])
    ap.add_argument("--mcpu", default="native", help="llvm-mca's CPU model (znver3, skylake, ...)")
    ap.add_argument("--ghz", help="the core clock in GHz, or 'measure', to state the floors in units/s")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                    help="cores for the units/s figures (default: the logical CPUs; on a machine with"
                         " two threads per core, give the physical cores)")
    ap.add_argument("--loops", nargs="?", const="list", choices=["list", "disassemble"],
                    help="also list each modelled loop (its instructions, runs and modelled cycles);"
                         " 'disassemble' prints their instructions too")
    args = ap.parse_args()
    if args.ghz not in (None, "measure"):
        try:
            args.ghz = float(args.ghz)
        except ValueError:
            args.ghz = -1.0
        if not (args.ghz > 0 and math.isfinite(args.ghz)):
            sys.exit(f"--ghz {ap.parse_args().ghz}: must be a clock in GHz > 0, or 'measure'")
    if args.cores < 1:
        sys.exit(f"--cores {args.cores}: must be at least 1")
    if platform.machine() not in ("x86_64", "AMD64"):
        sys.exit(f"the lane kernels counted here are x86-64's; this machine is {platform.machine()}")
    for tool in ("valgrind", "llvm-mca", "objdump") + (("cc",) if args.ghz == "measure" else ()):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: install valgrind, llvm and binutils (and a C compiler for --ghz measure)")
    args.bin = os.path.abspath(args.bin)
    if not os.path.exists(args.bin):
        sys.exit(f"--bin {args.bin}: no such file (cargo build --release)")
    # The portable level is inlined into its dispatcher.
    function = {"portable": r"lanes::dispatch_lanes$", "avx2": r"lanes::lanes_avx2$"}[args.simd]
    schemes = list(SCHEMES) if args.scheme == "both" else [args.scheme]
    env = dict(os.environ, RAYON_NUM_THREADS="1", SGLD_SWARM_SIMD=args.simd)
    with tempfile.TemporaryDirectory() as tmp:
        if args.ghz == "measure":
            args.ghz = measure_clock(tmp)
            print(f"clock: {args.ghz:.2f} GHz (dependent adds)")
        for name in schemes:
            steps, method, units = SCHEMES[name]
            cfg = os.path.join(tmp, f"{name}.toml")
            with open(cfg, "w") as f:
                f.write(config(steps, method))
            out = os.path.join(tmp, f"cg-{name}")
            r = subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", "--compress-strings=no",
                                "--compress-pos=no", f"--callgrind-out-file={out}", args.bin, "run",
                                "--backend", "cpu", "--config", cfg, "--out", os.path.join(tmp, f"out-{name}")],
                               env=env, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"{args.bin} under callgrind failed ({r.returncode}):\n{r.stderr[-2000:]}")
            counts = self_counts(out, function)
            if not counts:
                sys.exit(f"no instructions in {function}: does this CPU have {args.simd}?")
            text = disassemble(args.bin, set(counts))
            missing = set(counts) - set(text)
            if missing:
                sys.exit(f"objdump did not list {len(missing)} executed addresses: is --bin the binary that ran?")
            control = sum(c for a, c in counts.items() if CONTROL.match(text[a]))
            by_text = collections.Counter()
            for a, c in counts.items():
                if not CONTROL.match(text[a]):
                    by_text[text[a]] += c
            model, unknown = pipes(list(by_text), args.mcpu)
            families = collections.defaultdict(collections.Counter)
            for t, c in by_text.items():
                for family, (ps, uops) in model.get(t, {}).items():
                    families[family][ps] += uops * c
            total = sum(counts.values())
            print(f"{name} ({units:.3g} units, {args.simd}, llvm-mca -mcpu={args.mcpu}):")
            print(f"  {total / units:.2f} instructions per unit in {function.strip('$')}"
                  f" ({control / units:.2f} branches and nops, {len(by_text)} distinct,"
                  f" {sum(by_text[t] for t in unknown) / units:.2f} per unit not modelled)")
            floor = 0.0
            for family, loads in sorted(families.items()):
                cycles, pipe_set = busiest(loads)
                floor = max(floor, cycles / units)
                print(f"  {family:10s} {sum(loads.values()) / units:6.2f} uops per unit,"
                      f" busiest {'+'.join(pipe_set)}: {cycles / units:.2f} cycles per unit")
            modelled, share, loops = latency_model(counts, text, args.mcpu, units)
            rate = (lambda cycles: f" = {args.cores * args.ghz * 1e9 / cycles:.3g} units/s on"
                    f" {args.cores} cores at {args.ghz} GHz") if args.ghz else (lambda cycles: "")
            print(f"  floor of this code's pipes: {floor:.2f} cycles per unit{rate(floor)}")
            print(f"  with its dependencies (llvm-mca over {share:.0%} of the instructions, the rest"
                  f" left out): {modelled:.2f} cycles per unit{rate(modelled)}")
            if args.loops:
                print("  the modelled loops (instructions run equally often), most cycles first:")
                for c, addresses, per_iteration in loops:
                    print(f"    at {min(addresses):#x}: {len(addresses)} instructions x {c} runs,"
                          f" {len(addresses) * c / units:.2f} instructions and"
                          f" {per_iteration * c / units:.2f} cycles per unit"
                          f" ({per_iteration:.1f} cycles an iteration)")
                    if args.loops == "disassemble":
                        for a in addresses:
                            print(f"      {a:x}: {text[a]}")


if __name__ == "__main__":
    main()
