#!/usr/bin/env python3
"""One comparison: `sgld-swarm bench` and every peer present on this machine
(benches/peers: NumPy, PyTorch eager and torch.compile, JAX jit), over the same
size ladder, in one go; then one table of units/s and of our ratio to each peer
(the CPU engine against peers on the CPU, the GPU engine against peers on the
GPU), a JSON of everything and, where matplotlib is installed, a plot of units/s
against size.

    python3 benches/compare.py                       # CPU engine vs CPU peers
    python3 benches/compare.py --gpu --check --tune  # on a GPU machine
    python3 benches/compare.py --resnet [--gpu [--tune]]  # the Figure 3 network's training

With --resnet: `sgld-swarm bench --resnet AGENTS` (the network's gradient and its
whole training step) against the PyTorch (eager, and `torch.compile` with the
layer compiled once as a nested region) and JAX (jit) peers of the same network,
minibatch and SGLD update (benches/peers/resnet_*.py, each checked against an
f64 reference before it is timed), over an agent ladder, in samples x agents
per second.

Needs only Python 3.11+ and NumPy beside a release binary of sgld-swarm
(`cargo build --release`, or --bin for one built elsewhere); PyTorch and JAX
are used where installed. Each peer runs in its own process (JAX takes most of
the GPU's memory when it starts), with a time limit.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "benches", "peers")
# Peer script and the module it needs.
PEER_SCRIPTS = [("numpy", "numpy"), ("pytorch", "torch"), ("jax", "jax")]
# GPU variants for --tune: environment of the engine (src/engine/gpu/step.rs, Tuning).
TUNE = [
    ("workgroup 32", {"SGLD_SWARM_GPU_WORKGROUP": "32"}),
    ("workgroup 128", {"SGLD_SWARM_GPU_WORKGROUP": "128"}),
    ("workgroup 256", {"SGLD_SWARM_GPU_WORKGROUP": "256"}),
    ("portable Philox", {"SGLD_SWARM_GPU_INT64": "0"}),
    ("checks all", {"SGLD_SWARM_GPU_CHECKS": "all"}),
    ("checks none", {"SGLD_SWARM_GPU_CHECKS": "none"}),
    ("mean passes", {"SGLD_SWARM_GPU_MEAN": "passes"}),
    ("mean fused", {"SGLD_SWARM_GPU_MEAN": "fused"}),
    ("scalar io", {"SGLD_SWARM_GPU_VEC4": "0"}),
    ("mean passes and scalar io", {"SGLD_SWARM_GPU_MEAN": "passes", "SGLD_SWARM_GPU_VEC4": "0"}),
    ("scheme at run time", {"SGLD_SWARM_GPU_SPECIALIZE": "0"}),
]


def slug(label):
    """A tuning variant's name in file names and --tune-only."""
    return label.replace(" ", "-").lower()


def log(msg):
    print(msg, flush=True)


def run(cmd, out_path, timeout, env=None):
    """Runs cmd, echoing and saving its output; returns True on success."""
    return run_status(cmd, out_path, timeout, env) == 0


def run_status(cmd, out_path, timeout, env=None):
    """Runs cmd, echoing and saving its output; returns its exit status (-9 when
    killed at `timeout`, None when it cannot start)."""
    log("$ " + " ".join(cmd))
    t = time.perf_counter()
    with open(out_path, "w") as f:
        try:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, env={**os.environ, **(env or {})}, cwd=ROOT)
            # Kill it at the limit even if it has gone quiet.
            timer = threading.Timer(timeout, p.kill)
            timer.start()
            for line in p.stdout:
                if "XDG_RUNTIME_DIR" in line:  # Mesa's device-select layer, harmless
                    continue
                sys.stdout.write("  " + line)
                sys.stdout.flush()
                f.write(line)
            p.wait()
            timer.cancel()
        except OSError as e:
            log(f"  cannot run: {e}")
            return None
    if p.returncode != 0:
        log(f"  exit status {p.returncode} after {time.perf_counter() - t:.0f} s")
    return p.returncode


def unfinished(status, log_path):
    """What a check line says of a command that exited with `status` (not 0)
    after writing a report, which may lack what it did not reach."""
    why = ("killed at --timeout" if status == -9
           else "a check that differs or fails exits 1, so does an error")
    return f"exit status {status} ({why}; its log: {log_path})"


def has_module(python, module):
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def columns(reports):
    """(name, kind, {size: units/s}) for every engine and peer variant."""
    cols = []
    for rep in reports:
        by_path = {}
        for row in rep["results"]:
            by_path.setdefault(row["path"], {})[(row["runs"], row["agents"], row["dim"])] = \
                row["units_per_s"]
        for path, rates in by_path.items():
            if rep["backend"] in ("cpu", "gpu"):
                name = f"sgld-swarm {rep['backend']}" + ("" if rep.get("variant") is None
                                                         else f" ({rep['variant']})")
                kind = rep["backend"]
            else:
                name = f"{rep['backend']} {path}" if path != rep["backend"] else path
                kind = rep.get("kind", "cpu")
            cols.append((name, kind, rates))
    return cols


def fmt_table(head, rows):
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    line = lambda r: "  ".join(x.rjust(w) for x, w in zip(r, widths))
    return "\n".join([line(head)] + [line(r) for r in rows])


def sizes_of(cols):
    return sorted({s for (_, _, r) in cols for s in r}, key=lambda s: (s[0] * s[1] * s[2], s))


def table(cols):
    """Units/s of our engines and every peer, and our ratio to each peer (the
    engine on the peer's kind of device)."""
    base = [c for c in cols if "(" not in c[0]]
    ours = {k: r for (n, k, r) in base if n == f"sgld-swarm {k}"}
    peers = [(n, k, r) for (n, k, r) in base if not n.startswith("sgld-swarm")]
    head = ["R x N x d"] + [n for (n, _, _) in base] + \
        [f"ours/{n}" for (n, k, _) in peers if k in ours]
    rows = []
    for s in sizes_of(base):
        row = [f"{s[0]}x{s[1]}x{s[2]}"]
        row += [f"{r[s]:.2e}" if s in r else "-" for (_, _, r) in base]
        for (_, k, r) in peers:
            if k in ours:
                row.append(f"{ours[k][s] / r[s]:.1f}x" if s in r and s in ours[k] else "-")
        rows.append(row)
    return fmt_table(head, rows)


def variants_table(cols):
    """The GPU engine's tuning variants against its default, size by size."""
    default = next((r for (n, _, r) in cols if n == "sgld-swarm gpu"), {})
    variants = [(n[len("sgld-swarm gpu ("):-1], r) for (n, _, r) in cols
                if n.startswith("sgld-swarm gpu (")]
    if not variants:
        return ""
    sizes = sizes_of([(None, None, r) for (_, r) in variants])
    rows = []
    for name, r in [("default", default)] + variants:
        row = [name]
        for s in sizes:
            ratio = f" ({r[s] / default[s]:.2f})" if s in r and s in default else ""
            row.append(f"{r[s]:.2e}{ratio}" if s in r else "-")
        rows.append(row)
    return fmt_table(["GPU variant"] + [f"{s[0]}x{s[1]}x{s[2]}" for s in sizes], rows)


def plot(cols, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for (name, kind, rates) in cols:
        if "(" in name:  # tuning variants: in the table only
            continue
        pts = sorted((s[0] * s[1] * s[2], v) for s, v in rates.items())
        style = "-o" if name.startswith("sgld-swarm") else "--s"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=f"{name} [{kind}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("R x N x d")
    ax.set_ylabel("units/s (agents x coordinates x inner steps)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    log(f"wrote {path}")


def eager_only(a, peer):
    """The PyTorch peers' arguments for --no-compile (and, for the network's
    peer, --pytorch-variant)."""
    if peer != "pytorch":
        return []
    if a.no_compile:
        return ["--variant", "eager"]
    return [x for v in a.pytorch_variant or [] for x in ("--variant", v)]


# The network kernel's other versions for --resnet --gpu --tune (src/gpu/resnet.rs,
# NetKernel; the default is staged).
NET_TUNE = [
    ("chunked", {"SGLD_SWARM_GPU_NET_KERNEL": "chunked"}),
    ("tree", {"SGLD_SWARM_GPU_NET_KERNEL": "tree"}),
    ("trace", {"SGLD_SWARM_GPU_NET_KERNEL": "trace"}),
]


def net_versions(a, ladder, ours, base_kernel):
    """With --gpu --tune: our GPU bench once per other kernel version, and a
    table of the gradient on the device and the training step per version;
    also whether every run succeeded."""
    paths = ["gradient, GPU kernel on the device", "training step (gpu)"]
    versions = [(f"{base_kernel} (as run above)",
                 {p: ours.get(("gpu", p), {}) for p in paths})]
    ok = True
    for label, env in NET_TUNE:
        rates = {p: {} for p in paths}
        for agents in ladder:
            js = os.path.join(a.out, f"resnet-gpu-{label}-{agents}.json")
            if os.path.exists(js):
                os.remove(js)
            if run([a.bin, "bench", "--resnet", str(agents), "--backend", "gpu", "--seconds",
                    str(a.seconds), "--json", js], js[:-5] + ".log", a.timeout, env) and load(js):
                for row in load(js)["results"]:
                    if row["path"] in rates:
                        rates[row["path"]][agents] = row["samples_agents_per_s"]
            else:
                ok = False
        versions.append((label, rates))
    head = ["agents"] + [f"{v}: {'gradient' if p.startswith('gradient') else 'step'}"
                         for v, _ in versions for p in paths]
    rows = [[str(n)] + [f"{r[p][n]:.2e}" if n in r[p] else "-" for _, r in versions for p in paths]
            for n in ladder]
    return ("the network kernel's versions (SGLD_SWARM_GPU_NET_KERNEL), samples x agents/s: "
            "the gradient on the device (16 calls per submit) and the training step\n"
            + fmt_table(head, rows)), ok


# Network peers: script and the module it needs.
RESNET_PEERS = [("pytorch", "torch"), ("jax", "jax")]
# The variants of benches/peers/resnet_pytorch.py.
RESNET_PYTORCH_VARIANTS = ["eager", "compile", "compile-regional"]


def resnet(a, wanted):
    """The network comparison: our training step (and gradient) per agent count
    and backend, each peer's training step, one table of samples x agents/s with
    our training step's ratio to each peer on the same kind of device."""
    ladder = a.agents or [64, 256, 1024]
    backends = ["cpu"] + (["gpu"] if a.gpu else [])
    ours = {}  # (backend, path) -> {agents: rate}
    devices = []
    base_kernel = "default"  # the GPU gradient kernel's version, from our report
    failed = False
    for backend in backends:
        for agents in ladder:
            js = os.path.join(a.out, f"resnet-{backend}-{agents}.json")
            if os.path.exists(js):  # never a report of an earlier invocation
                os.remove(js)
            if run([a.bin, "bench", "--resnet", str(agents), "--backend", backend, "--seconds",
                    str(a.seconds), "--json", js], js[:-5] + ".log", a.timeout) and load(js):
                rep = load(js)
                base_kernel = rep.get("kernel", base_kernel)
                devices.append(f"sgld-swarm {backend}: {rep['device']}, {rep['threads']} threads"
                               + (f", gradient kernel {rep['kernel']}" if "kernel" in rep else ""))
                for row in rep["results"]:
                    ours.setdefault((backend, row["path"]), {})[agents] = \
                        row["samples_agents_per_s"]
            else:
                failed = True
    peers, checks = [], {}
    for name, module in RESNET_PEERS:
        if name not in wanted:
            continue
        if not has_module(a.python, module):
            log(f"{name}: `import {module}` fails with {a.python}; skipped")
            continue
        js = os.path.join(a.out, f"resnet-peer-{name}.json")
        if os.path.exists(js):
            os.remove(js)
        cmd = [a.python, os.path.join(PEERS, f"resnet_{name}.py"), "--seconds", str(a.seconds),
               "--json", js] + [x for n in ladder for x in ("--agents", str(n))] + \
            eager_only(a, name)
        status = run_status(cmd, js[:-5] + ".log", a.timeout, {"PYTHONUNBUFFERED": "1"})
        ok = status == 0
        rep = load(js)
        if not rep:
            checks[name] = "failed" if not ok else "no report"
            continue
        if status != 0:  # perhaps a partial report: say so beside the table
            checks[f"{name} command"] = unfinished(status, js[:-5] + ".log")
        devices.append(f"{name}: {rep['device']}")
        checks.update({f"{name} {v}": c for v, c in rep.get("checks", {}).items()})
        by_path = {}
        for row in rep["results"]:
            by_path.setdefault(row["path"], {})[row["agents"]] = row["samples_agents_per_s"]
        peers += [(path, rep["kind"], rates) for path, rates in by_path.items()]
    cols = [(f"sgld-swarm {b}: {path}", b, r) for (b, path), r in ours.items()] + peers
    train = {b: r for (b, path), r in ours.items() if path.startswith("training step")}
    head = ["agents"] + [n for (n, _, _) in cols] + \
        [f"ours/{n}" for (n, k, _) in peers if k in train]
    rows = []
    for agents in ladder:
        row = [str(agents)] + [f"{r[agents]:.2e}" if agents in r else "-" for (_, _, r) in cols]
        for (_, k, r) in peers:
            if k in train:
                mine = train[k]
                row.append(f"{mine[agents] / r[agents]:.1f}x"
                           if agents in r and agents in mine else "-")
        rows.append(row)
    versions = []
    if a.gpu and a.tune:
        text, ok = net_versions(a, ladder, ours, base_kernel)
        versions.append(text)
        failed |= not ok
    summary = "\n".join(
        [f"samples x agents/s, the Figure 3 network (Verlet, 128 layers, batch 64, SGLD "
         f"training step), {time.strftime('%Y-%m-%d')}"] + sorted(set(devices)) + [""]
        + [fmt_table(head, rows)] + [""] + [f"check {k}: {v}" for k, v in checks.items()]
        + [x for v in versions for x in ("", v)])
    log("\n" + summary)
    with open(os.path.join(a.out, "resnet-table.txt"), "w") as f:
        f.write(summary + "\n")
    with open(os.path.join(a.out, "resnet-compare.json"), "w") as f:
        json.dump(dict(ours={f"{b}: {p}": r for (b, p), r in ours.items()},
                       peers=[dict(path=n, kind=k, rates=r) for (n, k, r) in peers],
                       checks=checks), f, indent=2)
        f.write("\n")
    return 1 if failed or any(v != "agree" for v in checks.values()) else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "sgld-swarm"),
                   help="the sgld-swarm binary (default target/release/sgld-swarm)")
    p.add_argument("--python", default=sys.executable, help="Python for the peers")
    p.add_argument("--gpu", action="store_true",
                   help="also time the GPU engine (the peers use the GPU where they can)")
    p.add_argument("--max-size", type=float, default=None,
                   help="largest R x N x d (default 1e6 CPU only, 1e9 with --gpu)")
    p.add_argument("--cpu-max-size", type=float, default=None,
                   help="largest size for the CPU engine and NumPy (default: --max-size, "
                        "at most 1e8)")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per size")
    p.add_argument("--euler", action="store_true", help="the Euler scheme (MF-SGLD)")
    p.add_argument("--check", action="store_true",
                   help="check each peer's final statistics against the library's first")
    p.add_argument("--tune", action="store_true",
                   help="also time the GPU engine's tuning variants (workgroup size, Philox path, "
                        "checks, how the run means are made, X and Y a float at a time, the "
                        "scheme read at run time; with --resnet the network kernel's other "
                        "versions)")
    p.add_argument("--tune-only", default=None,
                   help="with --tune: only these variants, comma-separated ("
                        + ", ".join(slug(label) for label, _ in TUNE) + ")")
    p.add_argument("--resnet", action="store_true",
                   help="the Figure 3 network's training step instead (PyTorch and JAX peers)")
    p.add_argument("--agents", type=int, action="append",
                   help="with --resnet: agents (repeatable; default 64, 256, 1024)")
    p.add_argument("--peers", default="numpy,pytorch,jax",
                   help="which peers to run, where installed (default numpy,pytorch,jax)")
    p.add_argument("--no-compile", action="store_true",
                   help="time PyTorch eager only, not torch.compile (with --resnet, its "
                        "one compilation of the Figure 3 network took 160 s on a 2-core VM)")
    p.add_argument("--pytorch-variant", action="append", choices=RESNET_PYTORCH_VARIANTS,
                   help="with --resnet: a variant of the PyTorch peer to time (repeatable; "
                        "default eager and compile-regional; compile, the whole step unrolled, "
                        "compiles for minutes per agent count)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per command at most")
    p.add_argument("--out", default=os.path.join(ROOT, "bench-out"),
                   help="folder for the JSON, logs, table and plot (default bench-out)")
    a = p.parse_args()
    if not (a.seconds > 0):
        p.error(f"--seconds = {a.seconds}: must be > 0")
    if not (os.path.isfile(a.bin) and os.access(a.bin, os.X_OK)):
        p.error(f"--bin = {a.bin}: no executable there; build it with `cargo build --release`")
    wanted = [x.strip() for x in a.peers.split(",") if x.strip()]
    unknown = [x for x in wanted if x not in dict(PEER_SCRIPTS)]
    if unknown:
        p.error(f"--peers: unknown {', '.join(unknown)}; allowed: numpy, pytorch, jax")
    max_size = a.max_size or (1e9 if a.gpu else 1e6)
    cpu_max = a.cpu_max_size or min(max_size, 1e8)
    tune = TUNE
    if a.tune_only is not None:
        names = [x.strip() for x in a.tune_only.split(",") if x.strip()]
        unknown = [x for x in names if x not in [slug(label) for label, _ in TUNE]]
        if not (a.gpu and a.tune) or a.resnet:
            p.error("--tune-only: only with --gpu --tune, and not with --resnet")
        if not names:
            p.error("--tune-only: no variant named; allowed: "
                    + ", ".join(slug(label) for label, _ in TUNE))
        if unknown:
            p.error(f"--tune-only: unknown {', '.join(unknown)}; allowed: "
                    + ", ".join(slug(label) for label, _ in TUNE))
        tune = [(label, env) for label, env in TUNE if slug(label) in names]
    if a.agents and not a.resnet:
        p.error("--agents: only with --resnet")
    if a.pytorch_variant and not a.resnet:
        p.error("--pytorch-variant: only with --resnet")
    if a.pytorch_variant and a.no_compile:
        p.error("--pytorch-variant: not with --no-compile, which times eager alone")
    if any(n <= 0 for n in a.agents or []):
        p.error(f"--agents: must be positive, got {a.agents}")
    os.makedirs(a.out, exist_ok=True)
    if a.resnet:
        return resnet(a, wanted)
    common = ["--seconds", str(a.seconds)] + (["--euler"] if a.euler else [])

    reports = []
    backends = [("cpu", cpu_max)] + ([("gpu", max_size)] if a.gpu else [])
    for backend, size in backends:
        js = os.path.join(a.out, f"sgld-swarm-{backend}.json")
        if run([a.bin, "bench", "--backend", backend, "--ladder", "--max-size", str(int(size)),
                "--json", js] + common, os.path.join(a.out, f"sgld-swarm-{backend}.log"),
               a.timeout) and load(js):
            reports.append(load(js))
    if a.gpu and a.tune and max_size < 1e6:
        log("--tune times sizes from 1e6 up: skipped below --max-size 1e6")
    elif a.gpu and a.tune:
        # 1e6 for the fused mean (a dispatch fewer per step), 1e7 up for the rest.
        big = [f"{r}x{n}x{d}" for (r, n, d) in [(100, 100, 100), (100, 1000, 100),
                                                 (100, 1000, 1000), (1000, 1000, 1000)]
               if r * n * d <= max_size]
        for label, env in tune:
            js = os.path.join(a.out, f"sgld-swarm-gpu-{slug(label)}.json")
            sizes = [x for s in big for x in ("--size", s)]
            if run([a.bin, "bench", "--backend", "gpu", "--json", js] + sizes + common,
                   js[:-5] + ".log", a.timeout, env) and load(js):
                rep = load(js)
                rep["variant"] = label
                reports.append(rep)

    check_dir = None
    if a.check:
        check_dir = os.path.join(a.out, "check")
        shutil.rmtree(check_dir, ignore_errors=True)
        if not run([a.bin, "run", "--config", os.path.join(PEERS, "check.toml"), "--out",
                    check_dir, "--backend", "gpu" if a.gpu else "cpu"],
                   os.path.join(a.out, "check.log"), a.timeout):
            check_dir = None

    checks = {}
    for name, module in PEER_SCRIPTS:
        if name not in wanted:
            continue
        if not has_module(a.python, module):
            log(f"{name}: `import {module}` fails with {a.python}; skipped")
            continue
        js = os.path.join(a.out, f"peer-{name}.json")
        size = cpu_max if name == "numpy" else max_size
        cmd = [a.python, os.path.join(PEERS, f"{name}_peer.py"), "--max-size", str(size),
               "--json", js] + common + (["--check", check_dir] if check_dir else []) + \
            eager_only(a, name)
        peer_log = os.path.join(a.out, f"peer-{name}.log")
        status = run_status(cmd, peer_log, a.timeout, {"PYTHONUNBUFFERED": "1"})
        ok = status == 0
        rep = load(js)
        if rep:
            reports.append(rep)
            if check_dir:
                checks[name] = rep.get("check", "not run")
            if not ok:  # perhaps a partial report: say so beside the table
                checks[f"{name} command"] = unfinished(status, peer_log)
        elif check_dir or not ok:
            checks[name] = "failed"

    cols = columns(reports)
    text = table(cols)
    tuned = variants_table(cols)
    if tuned:
        text += "\n\n" + tuned
    devices = sorted({f"{r['backend']}: {r['device']}" for r in reports if "variant" not in r})
    scheme = "Euler (MF-SGLD)" if a.euler else "homogenized (MF-HOM-SGLD, M = 20)"
    summary = "\n".join([f"units/s, {scheme}, rough potential, {time.strftime('%Y-%m-%d')}"]
                        + devices + [""] + [text]
                        + ([""] + [f"check {k}: {v}" for k, v in checks.items()] if checks else []))
    log("\n" + summary)
    with open(os.path.join(a.out, "table.txt"), "w") as f:
        f.write(summary + "\n")
    with open(os.path.join(a.out, "compare.json"), "w") as f:
        json.dump(dict(scheme=scheme, reports=reports, checks=checks), f, indent=2)
        f.write("\n")
    plot(cols, os.path.join(a.out, "units.png"), scheme)
    return 1 if any(v != "agree" for v in checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
