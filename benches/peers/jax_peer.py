"""The homogenized and Euler schemes of docs/DESIGN.md section 2 on the rough potential,
written as a JAX user would: float32 arrays of shape (R, N, d), the inner steps
in `lax.fori_loop`, the outer steps in another, all under one `jit`; the noise
from `jax.random` with a key folded in per step (JAX's default generator).

    python3 benches/peers/jax_peer.py [--check OUT_DIR]
"""

import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from common import main

DELTA = 0.01  # the rough potential's delta, as in the bench and the check config


def grad_rough(x):
    u = x / DELTA
    s, c = jnp.sin(u), jnp.cos(u)
    return 2.0 * (x * s + 0.1 * x) * (s + u * c + 0.1)


def tame(g, h, taming):
    hg = h * g
    if taming == "coordinate":
        return hg / (1.0 + jnp.abs(hg))
    if taming == "norm":
        return hg / (1.0 + h * jnp.linalg.norm(g, axis=-1, keepdims=True))
    return hg


@partial(jax.jit, static_argnums=(0,))
def run(m, x, y, key, n0, k):
    """k outer steps from step n0; `m` (the method) is static."""

    def outer(n, state):
        x, y = state
        kn = jax.random.fold_in(key, n)
        mean = x.mean(axis=1, keepdims=True)
        if m.homogenized:
            def inner(j, s):
                y, ysum = s
                z = jax.random.normal(jax.random.fold_in(kn, j), x.shape, jnp.float32)
                y = y - tame(grad_rough(y), m.h, m.taming) + (m.h / m.gamma) * (x - y) + m.noise * z
                return y, jnp.where(j + 1 >= m.burn_in, ysum + y, ysum)

            y, ysum = jax.lax.fori_loop(0, m.inner_len, inner, (y, jnp.zeros_like(x)))
            xn = x - (m.dt / m.gamma) * (x - ysum / m.inner_steps)
        else:
            z = jax.random.normal(kn, x.shape, jnp.float32)
            xn = x - tame(grad_rough(x), m.dt, m.taming) + m.noise * z
        return xn - (m.dt * m.lam) * (x - mean), y

    return jax.lax.fori_loop(n0, n0 + k, outer, (x, y))


class Peer:
    def __init__(self, shape, m, seed, device):
        self.m, self.n = m, 0
        self.key = jax.random.PRNGKey(seed)
        x = jax.random.uniform(jax.random.fold_in(self.key, 1 << 30), shape, jnp.float32,
                               -10.0, 10.0)
        self.x = jax.device_put(x, device)
        self.y = self.x

    def steps(self, k):
        self.x, self.y = run(self.m, self.x, self.y, self.key, self.n, k)
        self.n += k

    def sync(self):
        self.x.block_until_ready()

    def positions(self):
        return np.asarray(self.x)


def pick(asked):
    if asked:
        return jax.devices(asked)[0]
    return jax.devices()[0]


def device_info(asked):
    d = pick(asked)
    kind = "cpu" if d.platform == "cpu" else "gpu"
    return f"{d.device_kind} ({d.platform}), JAX {jax.__version__}", kind


def make_for(variant, asked):
    return lambda shape, m, seed: Peer(shape, m, seed, pick(asked))


if __name__ == "__main__":
    sys.exit(main("jax", ["jit"], make_for, device_info))
