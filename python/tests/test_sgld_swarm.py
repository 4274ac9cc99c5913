"""The Python package against the library and the command line: the same
bytes as the CLI for a configuration, a Python potential against the same
potential built in, observers, stopping rules, checkpoints, errors by field,
the theory tools, and the GPU on lavapipe."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sgld_swarm

ROOT = Path(__file__).resolve().parents[2]

SMALL = {
    "problem": {"potential": "rastrigin", "dim": 3},
    "ensemble": {"runs": 2, "agents": 16, "steps": 60, "seed": 4, "record_every": 10,
                 "init": {"uniform": [-2.0, 2.0]}},
    "method": [
        {"name": "MF-SGLD", "scheme": "euler", "dt": 0.005, "beta": 10.0, "lambda": 2.0},
        {"name": "HOM", "scheme": "homogenized", "dt": 0.005, "eps": 0.1, "gamma": 0.2,
         "inner_steps": 3, "beta": {"from": 5.0, "to": 50.0, "kind": "geometric"}},
    ],
}


def cli() -> str:
    """The command line built from the same checkout."""
    exe = os.environ.get("SGLD_SWARM_BIN") or str(ROOT / "target" / "release" / "sgld-swarm")
    if not Path(exe).exists():
        pytest.fail(f"the sgld-swarm binary is not at {exe}: build it with cargo build --release")
    return exe


def test_run_gives_the_command_lines_bytes(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(sgld_swarm._native.json_to_toml(__import__("json").dumps(SMALL)))
    out_cli = tmp_path / "cli"
    subprocess.run([cli(), "run", "--config", str(config), "--out", str(out_cli),
                    "--backend", "cpu", "--checkpoint-every", "0"], check=True,
                   capture_output=True)
    out_py = tmp_path / "py"
    results = sgld_swarm.run(SMALL, backend="cpu", out=out_py)
    assert [r.name for r in results] == ["MF-SGLD", "HOM"]
    for r in results:
        want = np.load(out_cli / f"positions-{r.slug}.npy")
        assert r.positions.dtype == np.float32 and r.positions.shape == (2, 16, 3)
        assert r.positions.tobytes() == want.tobytes()
        assert (out_py / f"positions-{r.slug}.npy").read_bytes() == \
            (out_cli / f"positions-{r.slug}.npy").read_bytes()
        assert r.history["step"].tolist() == [0, 10, 20, 30, 40, 50, 60]
        assert r.history["best_phi"].shape == (7, 2)
        assert r.summary["name"] == r.name and r.backend == "cpu" and r.complete
    assert (out_py / "history.csv").read_bytes() == (out_cli / "history.csv").read_bytes()
    # The same configuration as a path, a TOML string and a preset name.
    again = sgld_swarm.run(config, backend="cpu")
    assert again[0].positions.tobytes() == results[0].positions.tobytes()
    again = sgld_swarm.run(config.read_text(), backend="cpu")
    assert again[1].positions.tobytes() == results[1].positions.tobytes()


def test_presets_are_dicts():
    names = sgld_swarm.presets()
    assert "fig1-camel" in names
    p = sgld_swarm.preset("fig1-camel")
    assert p["problem"]["potential"] == "six-hump-camel"
    p["ensemble"]["steps"] = 3
    p["ensemble"]["runs"] = 2
    results = sgld_swarm.run(p, backend="cpu")
    assert all(r.steps == 3 for r in results)
    with pytest.raises(sgld_swarm.ConfigError) as e:
        sgld_swarm.preset("nope")
    assert e.value.field == "preset"


class Quadratic:
    """0.5 sum a_k (x_k - s_k)^2, in NumPy, vectorised over agents."""

    dim = 3
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    s = np.array([0.5, -0.25, 0.0], dtype=np.float32)
    minima = [[0.5, -0.25, 0.0]]

    def grad(self, x):
        return self.a * (x - self.s)

    def value(self, x):
        return 0.5 * ((x - self.s) ** 2 * self.a).sum(axis=1)


def test_a_python_potential_matches_the_built_in():
    method = {"scheme": "homogenized", "dt": 0.01, "beta": 20.0, "lambda": 1.0, "eps": 0.1,
              "gamma": 0.2, "inner_steps": 3}
    # 3 x 300 agents: two batches of the engine (up to 512 agents each).
    common = dict(runs=3, agents=300, steps=50, method=method, seed=2, init=(-2.0, 2.0),
                  backend="cpu", record_every=10)
    mine = sgld_swarm.Ensemble(Quadratic(), **common)
    assert "batch path" in mine.device
    mine.run()
    built = sgld_swarm.Ensemble("quadratic", dim=3, a=[1.0, 2.0, 3.0],
                                shift=[0.5, -0.25, 0.0], **common)
    built.run()
    # The same f32 gradient a (x - s) up to the order of its two roundings: a
    # few ulps of positions of order 1 after 50 steps of a contraction.
    assert np.max(np.abs(mine.positions - built.positions)) <= 1e-6
    assert np.allclose(mine.history["best_phi"], built.history["best_phi"], rtol=1e-5, atol=1e-7)
    assert np.allclose(mine.history["best"], built.history["best"], rtol=1e-5, atol=1e-6)


def test_a_python_potentials_exception_is_raised():
    class Broken(Quadratic):
        def grad(self, x):
            raise RuntimeError("no gradient today")

    e = sgld_swarm.Ensemble(Broken(), runs=1, agents=4, steps=5,
                            method={"scheme": "euler", "dt": 0.01, "beta": 1.0}, backend="cpu")
    with pytest.raises(RuntimeError, match="no gradient today"):
        e.run()

    class WrongShape(Quadratic):
        def grad(self, x):
            return x[:, :2]

    e = sgld_swarm.Ensemble(WrongShape(), runs=1, agents=4, steps=5,
                            method={"scheme": "euler", "dt": 0.01, "beta": 1.0}, backend="cpu")
    with pytest.raises(sgld_swarm.ConfigError, match=r"\[4, 3\]"):
        e.run()


def test_observers_see_every_record_and_can_stop():
    seen = []
    results = sgld_swarm.run(SMALL, backend="cpu",
                             observer=lambda m, step, stats: seen.append((m, step, stats["best"].shape)))
    assert seen == [(m, s, (2,)) for m in ("MF-SGLD", "HOM") for s in range(0, 61, 10)]
    assert all(r.complete for r in results)

    e = sgld_swarm.Ensemble("rastrigin", dim=3, runs=2, agents=8, steps=100, record_every=10,
                            method={"scheme": "euler", "dt": 0.01, "beta": 5.0}, backend="cpu")
    steps = []
    e.observe(lambda step, stats: steps.append(step) or step < 30)
    e.run()
    assert e.step == 30 and steps == [0, 10, 20, 30]
    # A run stopped by its observer says so.
    stopped = sgld_swarm.run(SMALL, backend="cpu", observer=lambda m, step, stats: step < 20)
    assert len(stopped) == 1 and not stopped[0].complete and stopped[0].steps == 20


def test_stopping_rules_and_checkpoints(tmp_path):
    def make():
        return sgld_swarm.Ensemble("rastrigin", dim=3, runs=2, agents=32, steps=400,
                                   record_every=10, seed=7, init=(-3.0, 3.0), backend="cpu",
                                   method={"scheme": "euler", "dt": 0.005, "beta": 30.0,
                                           "lambda": 40.0})
    whole = make()
    whole.run()
    first = make()
    first.advance(123)
    first.checkpoint(tmp_path / "ck")
    resumed = make()
    resumed.resume_from(tmp_path / "ck")
    assert resumed.step == 123
    resumed.run()
    assert resumed.positions.tobytes() == whole.positions.tobytes()
    spread = np.median(whole.history["spread"], axis=1)
    level = 0.5 * (spread[0] + spread[-1])
    stopped = make()
    stopped.stop_when(spread_below=level)
    stopped.run()
    step, reason = stopped.stopped
    assert reason == "spread_below" and step < 400
    first_below = whole.history["step"][1:][spread[1:] < level][0]
    assert step == first_below


def test_bad_input_names_the_field():
    bad = {**SMALL, "ensemble": {**SMALL["ensemble"], "runs": 0}}
    with pytest.raises(sgld_swarm.ConfigError) as e:
        sgld_swarm.run(bad)
    assert e.value.field == "ensemble.runs"
    assert isinstance(e.value, ValueError)
    with pytest.raises(sgld_swarm.ConfigError) as e:
        sgld_swarm.Ensemble("rastrigin", dim=3, runs=1, agents=2, steps=5,
                            method={"scheme": "euler", "dt": -1.0, "beta": 1.0})
    assert e.value.field == "method[0].dt"
    with pytest.raises(sgld_swarm.ConfigError) as e:
        sgld_swarm.Ensemble("nope", dim=3, runs=1, agents=2, steps=5,
                            method={"scheme": "euler", "dt": 0.1, "beta": 1.0})
    assert e.value.field == "problem.potential"
    with pytest.raises(sgld_swarm.ConfigError) as e:
        sgld_swarm.run(SMALL, backend="tpu")
    assert e.value.field == "backend"


def test_theory_tools():
    lc = sgld_swarm.critical_lambda("double-well", beta=5.0)
    assert 0.0 < lc < 100.0
    below = sgld_swarm.stationary_states("double-well", 5.0, 0.5 * lc)
    above = sgld_swarm.stationary_states("double-well", 5.0, 2.0 * lc)
    assert len(below["m"]) == 1 and abs(below["m"][0]) < 1e-6
    assert len(above["m"]) == 3 and above["stable"].dtype == bool
    value, grad = sgld_swarm.effective_potential("double-well", [-1.0, 0.0, 1.0], 5.0, 0.1)
    assert value.shape == (3,) and grad.shape == (3, 1)
    assert abs(grad[1, 0]) < 1e-9 and grad[0, 0] == pytest.approx(-grad[2, 0])


# Steps small enough that CPU and GPU roundings stay at the rounding level
# (as in tests/gpu): every inner step contracts.
STABLE = {
    **SMALL,
    "method": [
        {"name": "MF-SGLD", "scheme": "euler", "dt": 5e-4, "beta": 1.0, "lambda": 3.0,
         "taming": "coordinate"},
        {"name": "MF-HOM-SGLD", "scheme": "homogenized", "dt": 1e-3, "beta": 1.0, "lambda": 3.0,
         "eps": 0.5, "gamma": 0.1, "inner_steps": 5, "taming": "coordinate"},
    ],
}


def test_gpu_runs_on_any_adapter():
    try:
        gpu = sgld_swarm.run(STABLE, backend="gpu")
    except sgld_swarm.GpuError as e:
        if os.environ.get("SGLD_SWARM_REQUIRE_GPU") == "1":
            pytest.fail(f"SGLD_SWARM_REQUIRE_GPU=1 but {e}")
        pytest.skip(f"no GPU adapter: {e}")
    cpu = sgld_swarm.run(STABLE, backend="cpu")
    for g, c in zip(gpu, cpu):
        assert g.backend == "gpu"
        # The engines' agreement (tests/gpu): 1e-5 of the positions' scale.
        assert np.max(np.abs(g.positions - c.positions)) <= 1e-5 * max(1.0, np.abs(c.positions).max())


QUADRATIC_WGSL = """
const SEPARABLE: bool = false;

fn potential_grad(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {
    (*g)[0] = 1.0 * ((*x)[0] - 0.5);
    (*g)[1] = 2.0 * ((*x)[1] + 0.25);
    (*g)[2] = 3.0 * ((*x)[2] - 0.0);
}
"""


def test_a_python_potential_with_a_wgsl_twin_runs_on_the_gpu():
    method = {"scheme": "euler", "dt": 0.01, "beta": 20.0, "lambda": 1.0}
    common = dict(runs=2, agents=32, steps=40, method=method, seed=3, init=(-2.0, 2.0))
    try:
        gpu = sgld_swarm.Ensemble(Quadratic(), backend="gpu", wgsl=QUADRATIC_WGSL, **common)
    except sgld_swarm.GpuError as e:
        if os.environ.get("SGLD_SWARM_REQUIRE_GPU") == "1":
            pytest.fail(f"SGLD_SWARM_REQUIRE_GPU=1 but {e}")
        pytest.skip(f"no GPU adapter: {e}")
    assert gpu.backend == "gpu"
    gpu.run()
    cpu = sgld_swarm.Ensemble(Quadratic(), backend="cpu", **common)
    cpu.run()
    # The engines' agreement, 1e-5 of the positions' scale (tests/gpu).
    assert np.max(np.abs(gpu.positions - cpu.positions)) <= 1e-5 * 2.0


def test_ctrl_c_raises_keyboard_interrupt():
    import signal
    import threading

    big = {**SMALL, "ensemble": {**SMALL["ensemble"], "steps": 10_000_000, "agents": 256}}
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        sgld_swarm.run(big, backend="cpu")
    e = sgld_swarm.Ensemble("rastrigin", dim=3, runs=2, agents=256, steps=10_000_000,
                            record_every=1000, method={"scheme": "euler", "dt": 0.001, "beta": 1.0},
                            backend="cpu")
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        e.run()
    assert 0 < e.step < 10_000_000


def test_an_observer_calling_back_gets_an_error_not_a_deadlock():
    e = sgld_swarm.Ensemble("rastrigin", dim=3, runs=1, agents=4, steps=20, record_every=5,
                            method={"scheme": "euler", "dt": 0.01, "beta": 1.0}, backend="cpu")
    with pytest.raises(sgld_swarm.SgldSwarmError, match="advancing"):
        e.observe(lambda step, stats: e.positions)
    # Outside the observer the ensemble answers.
    assert e.step == 0 and e.positions.shape == (1, 4, 3)


def test_numpy_false_stops_and_none_does_not():
    def make():
        return sgld_swarm.Ensemble("rastrigin", dim=3, runs=2, agents=8, steps=50, record_every=10,
                                   method={"scheme": "euler", "dt": 0.01, "beta": 5.0}, backend="cpu")
    e = make()
    e.observe(lambda step, stats: np.bool_(step < 20))
    e.run()
    assert e.step == 20
    e = make()
    e.observe(lambda step, stats: None)
    e.run()
    assert e.step == 50


def test_positions_in_and_out():
    e = sgld_swarm.Ensemble(Quadratic(), runs=2, agents=5, steps=10, backend="cpu",
                            method={"scheme": "euler", "dt": 0.01, "beta": 1.0})
    x = np.full((2, 5, 3), 0.25, dtype=np.float32)
    e.positions = x
    assert e.positions.tobytes() == x.tobytes()
    assert np.allclose(e.run_means, 0.25)
    with pytest.raises(sgld_swarm.ConfigError) as err:
        e.positions = np.zeros((2, 4, 3), dtype=np.float32)
    assert err.value.field == "positions"


def test_runs_release_the_interpreter():
    import threading
    import time

    big = {**SMALL, "ensemble": {**SMALL["ensemble"], "steps": 20_000, "agents": 512}}
    done = threading.Event()
    t = threading.Thread(target=lambda: (sgld_swarm.run(big, backend="cpu"), done.set()))
    count = 0
    start = time.perf_counter()
    t.start()
    while not done.is_set() and time.perf_counter() - start < 0.5:
        count += 1
    t.join()
    # Held for the run, the interpreter would let this loop run only at the
    # switch interval (every 5 ms): a hundred turns in 0.5 s at most.
    assert count > 10_000, count


def test_a_toml_syntax_error_has_no_field():
    with pytest.raises(sgld_swarm.ConfigError) as e:
        sgld_swarm.run("[problem\npotential = 1\n")
    assert e.value.field is None
    with pytest.raises(sgld_swarm.ConfigError) as e:
        sgld_swarm.run({"problem": {"potential": "rastrigin", "dim": 2}})
    assert e.value.field is None or e.value.field == "ensemble"


def test_cbo_on_a_value_only_potential():
    class Bowl:
        """sum (x - 1)^2 by its value alone: CBO needs no gradient."""

        dim = 4
        minima = [[1.0] * 4]

        def value(self, x):
            return ((x.astype(np.float64) - 1.0) ** 2).sum(axis=1)

    cbo = {"scheme": "cbo", "dt": 0.05, "lambda": 1.0, "sigma": 1.0, "alpha": 1000.0}
    e = sgld_swarm.Ensemble(Bowl(), runs=3, agents=40, steps=300, method=cbo, seed=4,
                            init=(-3.0, 3.0), backend="cpu")
    assert "batch path" not in e.device
    e.run()
    # Every run reaches consensus (sigma^2 = 1 < 2 lambda: the spread shrinks
    # geometrically, by e^-15 or so over 300 steps from the 6 it starts with, so
    # below 1e-3), at a point within 0.25 of the minimum in every coordinate (the
    # usual success criterion: CBO's consensus settles near, not at, the
    # minimiser; 0.14 here).
    assert np.max(e.positions.std(axis=1)) < 1e-3
    means = e.positions.mean(axis=1)
    assert np.max(np.abs(means - 1.0)) < 0.25, means

    # A gradient scheme on it, and the weighted mean without value, are refused by name.
    with pytest.raises(sgld_swarm.ConfigError) as err:
        sgld_swarm.Ensemble(Bowl(), runs=1, agents=4, steps=5,
                            method={"scheme": "euler", "dt": 0.01, "beta": 1.0}, backend="cpu")
    assert err.value.field == "method.scheme"

    class GradOnly:
        dim = 2

        def grad(self, x):
            return x

    with pytest.raises(sgld_swarm.ConfigError) as err:
        sgld_swarm.Ensemble(GradOnly(), runs=1, agents=4, steps=5,
                            method={"scheme": "euler", "dt": 0.01, "beta": 1.0, "lambda": 1.0,
                                    "interaction": "weighted"}, backend="cpu")
    assert err.value.field == "potential"
