"""The Figure 3 network's training step as a JAX user writes it: one agent's loss
with the 128 layers in `lax.scan`, `vmap(value_and_grad)` over the agents, the
minibatch drawn with `jax.random` and the SGLD update, all under one `jit`.

    python3 benches/peers/resnet_jax.py [--agents N] [--json OUT]
"""

import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from resnet_common import BATCH, DT, H, LAYERS, NOISE, TRAIN, ellipses, initial, main

# f32 products, as ours and PyTorch's (which leaves TF32 off for matmuls by
# default). On an NVIDIA GPU, JAX's default precision rounds a matmul's inputs
# to TF32's 10-bit mantissa; on an H200 that put its gradient 3.1e-4 of its
# scale from the f64 reference, and the check below refused it.
jax.config.update("jax_default_matmul_precision", "highest")


def loss(theta, x, y):
    """The mean cross-entropy of one agent's network on a minibatch (x: [B, 2])."""
    def layer(state, p):
        yv, z = state
        k, b = p[:4].reshape(2, 2), p[4:]
        z = z - H * jnp.tanh(yv @ k + b)  # Z - h tanh(K^T Y + b), Y as rows
        yv = yv + H * jnp.tanh(z @ k.T + b)  # Y + h tanh(K Z + b)
        return (yv, z), None

    (yv, _), _ = jax.lax.scan(layer, (x, jnp.zeros_like(x)),
                              theta[:6 * LAYERS].reshape(LAYERS, 6))
    w, c = theta[6 * LAYERS:6 * LAYERS + 4].reshape(2, 2), theta[6 * LAYERS + 4:]
    logp = jax.nn.log_softmax(yv @ w.T + c)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


value_and_grads = jax.vmap(jax.value_and_grad(loss))


@partial(jax.jit, static_argnums=(0,))
def train_step(agents, theta, key, xs, ys):
    key, k_batch, k_noise = jax.random.split(key, 3)
    idx = jax.random.randint(k_batch, (agents, BATCH), 0, TRAIN)
    _, g = value_and_grads(theta, xs[idx], ys[idx])
    theta = theta - DT * g + NOISE * jax.random.normal(k_noise, theta.shape, theta.dtype)
    return theta, key


def pick(asked):
    return jax.devices(asked)[0] if asked else jax.devices()[0]


def device_info(asked):
    d = pick(asked)
    return f"{d.device_kind} ({d.platform}), JAX {jax.__version__}", \
        "cpu" if d.platform == "cpu" else "gpu"


def make_for(variant, asked):
    def make_step(agents):
        d = pick(asked)
        xs, ys = ellipses(TRAIN)
        xs = jax.device_put(jnp.asarray(xs, jnp.float32), d)
        ys = jax.device_put(jnp.asarray(ys, jnp.int32), d)
        state = [jax.device_put(jnp.asarray(initial(agents)), d),
                 jax.device_put(jax.random.PRNGKey(1), d)]

        def step():
            state[0], state[1] = train_step(agents, state[0], state[1], xs, ys)
            state[0].block_until_ready()
        return step
    return make_step


def loss_and_grad_for(variant, asked):
    f = jax.jit(value_and_grads)

    def run(theta, x, y):
        d = pick(asked)
        put = lambda v, t: jax.device_put(jnp.asarray(v, t), d)
        l, g = f(put(theta, jnp.float32), put(x, jnp.float32), put(y, jnp.int32))
        return np.asarray(l), np.asarray(g)
    return run


if __name__ == "__main__":
    sys.exit(main("jax", ["jit"], make_for, device_info, loss_and_grad_for))
