"""Large ensembles of weakly interacting Langevin agents (SGLD, MF-SGLD,
HOM-SGLD, MF-HOM-SGLD) on the CPU and GPU, from Python.

    import sgld_swarm
    results = sgld_swarm.run("fig1-camel", backend="cpu")   # a preset, a path, TOML or a dict
    results[0].positions.shape                                # (runs, agents, dim), float32

The engines are the Rust library's (one random stream, addressed by agent and
step, so results do not depend on threads or on how the steps are split);
the interpreter is released while they run and Ctrl-C is checked between
pieces of steps. See the README's Python section and ``__init__.pyi``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np

# Mesa's Vulkan device-select layer looks for the display's GPU through the
# display server; without one (no XDG_RUNTIME_DIR) it only prints errors. Its
# documented switch turns it off there, as the command line does.
if "XDG_RUNTIME_DIR" not in os.environ:
    os.environ.setdefault("NODEVICE_SELECT", "1")

from . import _native  # noqa: E402
from ._native import ConfigError, GpuError, SgldSwarmError  # noqa: E402

__version__ = _native.__version__

# Every ConfigError has these, set where the library knows them.
ConfigError.field = None
ConfigError.value = ""
ConfigError.allowed = ""
__all__ = [
    "run",
    "presets",
    "preset",
    "Ensemble",
    "MethodResult",
    "effective_potential",
    "critical_lambda",
    "stationary_states",
    "ConfigError",
    "GpuError",
    "SgldSwarmError",
]

_STATS = ("best", "worst", "median", "best_phi", "spread")


@dataclass
class MethodResult:
    """What one method of a run produced."""

    name: str
    slug: str
    steps: int
    positions: np.ndarray
    """Final positions, float32 ``[R, N, d]``."""
    history: dict
    """``step`` ``[records]`` and each statistic ``[records, R]`` (float64)."""
    summary: dict
    """This method's entry of summary.json's ``methods`` list."""
    stopped: Optional[tuple]
    """``(step, reason)`` when a stopping rule ended it."""
    error: Optional[str]
    """The divergence that ended it, if any."""
    backend: str
    device: str
    complete: bool
    """False when the run was stopped (an observer returned False)."""


def presets() -> list[str]:
    """The names of the shipped presets."""
    return list(_native.preset_names())


def preset(name: str) -> dict:
    """The preset ``name`` as a dict (the TOML schema)."""
    return json.loads(_native.toml_to_json(_native.preset_text(name), f"preset {name}"))


def _config_text(config: Any) -> tuple[str, str]:
    """The TOML text of ``config`` and where it comes from."""
    if isinstance(config, Mapping):
        return _native.json_to_toml(json.dumps(config)), "the config dict"
    if isinstance(config, os.PathLike):
        path = os.fspath(config)
        with open(path, encoding="utf-8") as f:
            return f.read(), path
    if isinstance(config, str):
        if config in _native.preset_names():
            return _native.preset_text(config), f"preset {config}"
        if "\n" not in config and os.path.isfile(config):
            with open(config, encoding="utf-8") as f:
                return f.read(), config
        return config, "the config string"
    raise TypeError(
        "config must be a preset name, a path to a TOML file, a TOML string or a dict, "
        f"not {type(config).__name__}"
    )


def run(
    config: Any,
    backend: str = "auto",
    out: Optional[str | os.PathLike] = None,
    observer: Optional[Callable[[str, int, dict], Any]] = None,
) -> list[MethodResult]:
    """Runs every method of ``config`` (a preset name, a path, a TOML string or a
    dict with the TOML file's schema) and returns one result per method; writes
    the usual outputs into ``out`` when given. ``observer(method, step, stats)``
    is called at every record (``stats`` maps each statistic to a float64 array
    ``[R]``); a false return value (``False``, ``numpy.False_``; not ``None``)
    stops the run."""
    text, origin = _config_text(config)
    out_path = None if out is None else os.fspath(out)
    r = _native.run_toml(text, origin, backend, out_path, observer)
    summary = json.loads(r["summary"])
    return [
        MethodResult(
            name=m["name"],
            slug=m["slug"],
            steps=m["steps"],
            positions=m["positions"],
            history=m["history"],
            summary=s,
            stopped=m["stopped"],
            error=m["error"],
            backend=r["backend"],
            device=r["device"],
            complete=r["complete"],
        )
        for m, s in zip(r["methods"], summary["methods"])
    ]


class Ensemble:
    """One method on one potential: ``runs`` x ``agents`` agents for ``steps``
    outer steps.

    ``potential`` is a built-in's name (``"rastrigin"``, ...; its parameters
    such as ``delta``, ``a`` or ``shift`` as keywords, ``dim`` required) or an
    object with ``grad(x)`` (``x`` float32 ``[K, d]``, returning ``[K, d]``) and
    optionally ``value(x)`` (``x`` float64 ``[K, d]``, returning ``[K]``; for
    the diagnostics and the weighted mean; ``value`` alone is enough for
    ``scheme = "cbo"``, which takes no gradient), ``minima`` (the points
    distances are measured to; default the origin) and ``dim``; such an object
    runs on the CPU engine, or on the GPU with ``wgsl=`` a WGSL twin.
    ``method`` is a dict like a ``[[method]]`` table (``scheme``, ``dt``,
    ``beta``, ``lambda``, ``interaction``, ``alpha``, ``sigma``, ...).
    """

    def __init__(
        self,
        potential: Any,
        runs: int,
        agents: int,
        steps: int,
        method: Mapping[str, Any],
        seed: int = 0,
        init: tuple[float, float] = (-1.0, 1.0),
        backend: str = "auto",
        dim: Optional[int] = None,
        record_every: Optional[int] = None,
        wgsl: Optional[str] = None,
        **params: Any,
    ):
        ensemble: dict[str, Any] = {
            "runs": runs,
            "agents": agents,
            "steps": steps,
            "seed": seed,
            "init": {"uniform": list(init)},
        }
        if record_every is not None:
            ensemble["record_every"] = record_every
        method = dict(method)
        method.setdefault("name", method.get("scheme", "method"))
        if not isinstance(potential, str) and params:
            err = ConfigError(f"params = {sorted(params)}: keywords are for a built-in potential")
            err.field = "params"
            raise err
        self._inner = _native.Ensemble(
            potential,
            dim,
            json.dumps(ensemble),
            json.dumps(method),
            json.dumps(params),
            backend,
            wgsl,
        )

    def advance(self, steps: int) -> None:
        """Advances ``steps`` outer steps (an observer returning False stops it)."""
        self._inner.advance(steps)

    def run(self) -> None:
        """Advances to the configured number of steps."""
        self._inner.run()

    @property
    def step(self) -> int:
        """Outer steps done."""
        return self._inner.step

    @property
    def positions(self) -> np.ndarray:
        """Positions ``X``, float32 ``[R, N, d]`` (settable)."""
        return self._inner.positions

    @positions.setter
    def positions(self, x: np.ndarray) -> None:
        self._inner.positions = np.ascontiguousarray(x, dtype=np.float32)

    @property
    def run_means(self) -> np.ndarray:
        """Each run's mean position, float64 ``[R, d]``."""
        return self._inner.run_means

    @property
    def history(self) -> dict:
        """``step`` ``[records]`` and each statistic ``[records, R]``."""
        return self._inner.history

    @property
    def backend(self) -> str:
        return self._inner.backend

    @property
    def device(self) -> str:
        return self._inner.device

    @property
    def stopped(self) -> Optional[tuple]:
        """``(step, reason)`` when a stopping rule ended it."""
        return self._inner.stopped

    def observe(self, f: Callable[[int, dict], Any]) -> None:
        """Calls ``f(step, stats)`` at every record; a false return value (not
        ``None``) stops the ensemble there."""
        self._inner.observe(f)

    def stop_when(self, **rules: Any) -> None:
        """Stopping rules: ``max_time_s``, ``best_phi_below``, ``spread_below``,
        ``stagnation=(records, rel_tol)``."""
        self._inner.stop_when(**rules)

    def checkpoint(self, path: str | os.PathLike) -> None:
        """Writes a checkpoint into the folder ``path`` (atomically)."""
        self._inner.checkpoint(os.fspath(path))

    def resume_from(self, path: str | os.PathLike) -> None:
        """Continues exactly from the checkpoint in ``path`` (same potential,
        ensemble and method)."""
        self._inner.resume_from(os.fspath(path))


def _grid(x: Any) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a.reshape(-1, 1) if a.ndim <= 1 else a


def effective_potential(
    potential: str, x: Any, beta: float, gamma: float, **params: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``Phi_{beta,gamma}`` (the paper's eq. 12) and its gradient at the points
    ``x`` (``[K]`` in 1-D or ``[K, d]``)."""
    r = _native.effective_potential(potential, _grid(x), beta, gamma, json.dumps(params))
    return r["value"], r["grad"]


def critical_lambda(
    potential: str,
    beta: float,
    bracket: tuple[float, float] = (0.0, 100.0),
    range: tuple[float, float] = (-4.0, 4.0),
    points: int = 4001,
    **params: Any,
) -> float:
    """The critical interaction of a 1-D built-in at ``beta``, searched in
    ``bracket``; the densities on ``points`` Simpson nodes over ``range``."""
    return _native.critical_lambda(potential, beta, bracket, range, points, json.dumps(params))


def stationary_states(
    potential: str,
    beta: float,
    lambda_: float,
    bracket: tuple[float, float] = (-3.0, 3.0),
    range: tuple[float, float] = (-4.0, 4.0),
    points: int = 4001,
    scan: int = 400,
    **params: Any,
) -> dict:
    """Every stationary mean in ``bracket`` of the mean-field limit (1-D),
    found on ``scan`` intervals: arrays ``m``, ``free_energy``, ``slope``,
    ``stable``."""
    return _native.stationary_states(
        potential, beta, lambda_, bracket, range, points, scan, json.dumps(params)
    )
