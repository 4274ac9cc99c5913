"""Type stubs of sgld_swarm; the docstrings are in __init__.py."""

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np
import numpy.typing as npt

__version__: str

class ConfigError(ValueError):
    field: Optional[str]
    value: str
    allowed: str

class GpuError(RuntimeError): ...
class SgldSwarmError(RuntimeError): ...

@dataclass
class MethodResult:
    name: str
    slug: str
    steps: int
    positions: npt.NDArray[np.float32]
    history: dict[str, np.ndarray]
    summary: dict[str, Any]
    stopped: Optional[tuple[int, str]]
    error: Optional[str]
    backend: str
    device: str
    complete: bool

def presets() -> list[str]: ...
def preset(name: str) -> dict[str, Any]: ...
def run(
    config: str | os.PathLike[str] | Mapping[str, Any],
    backend: str = "auto",
    out: Optional[str | os.PathLike[str]] = None,
    observer: Optional[Callable[[str, int, dict[str, npt.NDArray[np.float64]]], Any]] = None,
) -> list[MethodResult]: ...

class Ensemble:
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
    ) -> None: ...
    def advance(self, steps: int) -> None: ...
    def run(self) -> None: ...
    @property
    def step(self) -> int: ...
    @property
    def positions(self) -> npt.NDArray[np.float32]: ...
    @positions.setter
    def positions(self, x: npt.ArrayLike) -> None: ...
    @property
    def run_means(self) -> npt.NDArray[np.float64]: ...
    @property
    def history(self) -> dict[str, np.ndarray]: ...
    @property
    def backend(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def stopped(self) -> Optional[tuple[int, str]]: ...
    def observe(self, f: Callable[[int, dict[str, npt.NDArray[np.float64]]], Any]) -> None: ...
    def stop_when(
        self,
        max_time_s: Optional[float] = None,
        best_phi_below: Optional[float] = None,
        spread_below: Optional[float] = None,
        stagnation: Optional[tuple[int, float]] = None,
    ) -> None: ...
    def checkpoint(self, path: str | os.PathLike[str]) -> None: ...
    def resume_from(self, path: str | os.PathLike[str]) -> None: ...

def effective_potential(
    potential: str, x: npt.ArrayLike, beta: float, gamma: float, **params: Any
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def critical_lambda(
    potential: str,
    beta: float,
    bracket: tuple[float, float] = (0.0, 100.0),
    range: tuple[float, float] = (-4.0, 4.0),
    points: int = 4001,
    **params: Any,
) -> float: ...
def stationary_states(
    potential: str,
    beta: float,
    lambda_: float,
    bracket: tuple[float, float] = (-3.0, 3.0),
    range: tuple[float, float] = (-4.0, 4.0),
    points: int = 4001,
    scan: int = 400,
    **params: Any,
) -> dict[str, np.ndarray]: ...
