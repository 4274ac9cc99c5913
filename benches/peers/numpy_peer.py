"""The homogenized and Euler schemes of docs/DESIGN.md section 2 on the rough potential,
written as a NumPy user would: float32 arrays of shape (R, N, d), one array
expression per line, NumPy's own normal generator.

    python3 benches/peers/numpy_peer.py [--euler] [--size RxNxd] [--check OUT_DIR]
"""

import sys

import numpy as np

from common import main

DELTA = 0.01  # the rough potential's delta, as in the bench and the check config


def grad_rough(x):
    """grad of sum_k (x_k sin(x_k / delta) + 0.1 x_k)^2, coordinate by coordinate."""
    u = x / DELTA
    s, c = np.sin(u), np.cos(u)
    return 2.0 * (x * s + 0.1 * x) * (s + u * c + 0.1)


def tame(g, h, taming):
    """T_h(g) of docs/DESIGN.md section 2."""
    hg = h * g
    if taming == "coordinate":
        return hg / (1.0 + np.abs(hg))
    if taming == "norm":
        return hg / (1.0 + h * np.linalg.norm(g, axis=-1, keepdims=True))
    return hg


class Peer:
    def __init__(self, shape, m, seed):
        self.m = m
        self.rng = np.random.default_rng(seed)
        self.x = self.rng.uniform(-10.0, 10.0, size=shape).astype(np.float32)
        self.y = self.x.copy()
        f = np.float32
        self.h, self.noise = f(m.h), f(m.noise)
        self.dt, self.dt_lam = f(m.dt), f(m.dt * m.lam)
        if m.homogenized:
            self.h_gamma, self.dt_gamma = f(m.h / m.gamma), f(m.dt / m.gamma)

    def normal(self):
        return self.rng.standard_normal(self.x.shape, dtype=np.float32)

    def step(self):
        m, x = self.m, self.x
        mean = x.mean(axis=1, keepdims=True)
        if m.homogenized:
            y, ysum = self.y, np.zeros_like(x)
            for j in range(m.inner_len):
                y = (y - tame(grad_rough(y), self.h, m.taming)
                     + self.h_gamma * (x - y) + self.noise * self.normal())
                if j + 1 >= m.burn_in:
                    ysum += y
            self.y = y
            x = x - self.dt_gamma * (x - ysum / np.float32(m.inner_steps))
        else:
            x = x - tame(grad_rough(x), self.dt, m.taming) + self.noise * self.normal()
        self.x = x - self.dt_lam * (self.x - mean)

    def steps(self, k):
        for _ in range(k):
            self.step()

    def sync(self):
        pass

    def positions(self):
        return self.x


def make_for(variant, device):
    return Peer


if __name__ == "__main__":
    sys.exit(main("numpy", ["numpy"], make_for,
                  lambda _: (f"CPU, NumPy {np.__version__}", "cpu")))
