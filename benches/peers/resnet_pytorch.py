"""The Figure 3 network's training step as a PyTorch user writes it: one agent's
loss with the 128 layers in a Python loop, `torch.func.vmap(grad_and_value)`
over the agents, the minibatch from `torch.randint` and the SGLD update. Three
variants:

- `eager`;
- `compile`: the whole step through `torch.compile`, which unrolls the 128
  layers (7 minutes to compile per agent count on a 2-core VM);
- `compile-regional`: PyTorch's remedy for that, regional compilation. The
  layer is a `torch.compiler.nested_compile_region`, compiled once and stamped
  out 128 times, and the agents are a dimension marked dynamic, so one
  compilation serves every agent count (160 s on the same VM).
  Nested regions do not compose with `torch.func`'s transforms inside
  `torch.compile` (PyTorch 2.15 fails on it), so this variant batches the
  agents by hand (`torch.bmm` over `[agents, batch, 2]`) and takes the
  gradient with autograd: the agents' losses are independent, so the gradient
  of their sum is each agent's own.

    python3 benches/peers/resnet_pytorch.py [--variant eager|compile|compile-regional] [--agents N]
"""

import sys

import torch
import torch.nn.functional as F

from resnet_common import BATCH, DT, H, LAYERS, NOISE, TRAIN, ellipses, initial, main


def loss(theta, x, y):
    """The mean cross-entropy of one agent's network on a minibatch (x: [B, 2])."""
    yv, z = x, torch.zeros_like(x)
    for j in range(LAYERS):
        k, b = theta[6 * j:6 * j + 4].view(2, 2), theta[6 * j + 4:6 * j + 6]
        z = z - H * torch.tanh(yv @ k + b)  # Z - h tanh(K^T Y + b), Y as rows
        yv = yv + H * torch.tanh(z @ k.T + b)  # Y + h tanh(K Z + b)
    w, c = theta[6 * LAYERS:6 * LAYERS + 4].view(2, 2), theta[6 * LAYERS + 4:]
    return F.cross_entropy(yv @ w.T + c, y)


grads_and_values = torch.func.vmap(torch.func.grad_and_value(loss))


def train_step(theta, xs, ys):
    idx = torch.randint(0, TRAIN, (theta.shape[0], BATCH), device=theta.device)
    g, _ = grads_and_values(theta, xs[idx], ys[idx])
    return theta - DT * g + NOISE * torch.randn_like(theta)


compiled_step = torch.compile(train_step)


@torch.compiler.nested_compile_region
def layer(yv, z, p):
    """One Verlet layer of every agent: yv, z [A, B, 2], p [A, 6] (K, b)."""
    k, b = p[:, :4].reshape(-1, 2, 2), p[:, None, 4:6]
    z = z - H * torch.tanh(torch.bmm(yv, k) + b)
    yv = yv + H * torch.tanh(torch.bmm(z, k.transpose(1, 2)) + b)
    return yv, z


def agent_logits(theta, x):
    """Every agent's logits on its minibatch: theta [A, P], x [A, B, 2] -> [A, B, 2];
    the layers as `loss` has them, batched over the agents."""
    yv, z = x, torch.zeros_like(x)
    for j in range(LAYERS):
        yv, z = layer(yv, z, theta[:, 6 * j:6 * j + 6])
    w = theta[:, 6 * LAYERS:6 * LAYERS + 4].reshape(-1, 2, 2)
    c = theta[:, None, 6 * LAYERS + 4:]
    return torch.bmm(yv, w.transpose(1, 2)) + c


def summed_loss(theta, x, y):
    """The sum over the agents of each one's mean cross-entropy (y: [A, B]): its
    gradient is every agent's own. (Each agent's mean taken apart, with
    `reduction="none"`, ran the compiled step 1.7x slower on the CPU.)"""
    logits = agent_logits(theta, x)
    return F.cross_entropy(logits.reshape(-1, 2), y.reshape(-1), reduction="sum") / x.shape[1]


compiled_summed_loss = torch.compile(summed_loss)


def regional_grads(theta, x, y):
    """Each agent's gradient through the regionally compiled loss, with the agent
    dimension dynamic (one compilation for every count)."""
    theta = theta.detach().requires_grad_()
    for t in (theta, x, y):
        torch._dynamo.mark_dynamic(t, 0)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(compiled_summed_loss(theta, x, y), theta)
    return g


def regional_step(theta, xs, ys):
    idx = torch.randint(0, TRAIN, (theta.shape[0], BATCH), device=theta.device)
    g = regional_grads(theta, xs[idx], ys[idx])
    return theta - DT * g + NOISE * torch.randn_like(theta)


STEPS = {"eager": train_step, "compile": compiled_step, "compile-regional": regional_step}


def best_device(asked):
    return asked or ("cuda" if torch.cuda.is_available() else "cpu")


def device_info(asked):
    d = best_device(asked)
    gpu = d.startswith("cuda")
    name = torch.cuda.get_device_name(d) if gpu else f"CPU, {torch.get_num_threads()} threads"
    return f"{name}, PyTorch {torch.__version__}", "gpu" if gpu else "cpu"


def make_for(variant, asked):
    fn = STEPS[variant]

    def make_step(agents):
        d = best_device(asked)
        torch.manual_seed(1)
        xs, ys = ellipses(TRAIN)
        xs = torch.tensor(xs, dtype=torch.float32, device=d)
        ys = torch.tensor(ys, dtype=torch.long, device=d)
        state = [torch.tensor(initial(agents), device=d)]

        @torch.no_grad()
        def step():
            state[0] = fn(state[0], xs, ys)
            if d.startswith("cuda"):
                torch.cuda.synchronize()
        return step
    return make_step


def loss_and_grad_for(variant, asked):
    """The loss and gradient the check compares. `eager` and `compile` step
    with `loss` (the compiled one through `torch.compile`, which traces it),
    so for both the check runs it eagerly rather than paying another
    compilation. `compile-regional`'s gradient is its compiled one, whose one
    compilation the timing then reuses; its losses, which the step does not
    use, are each agent's from `agent_logits` run eagerly."""
    def run(theta, x, y):
        d = best_device(asked)
        args = (torch.tensor(theta, device=d), torch.tensor(x, device=d),
                torch.tensor(y, dtype=torch.long, device=d))
        if variant == "compile-regional":
            g = regional_grads(*args)
            with torch.no_grad():
                logits = agent_logits(args[0], args[1])
                l = F.cross_entropy(logits.transpose(1, 2), args[2], reduction="none").mean(dim=1)
        else:
            g, l = grads_and_values(*args)
        return l.detach().cpu().numpy(), g.detach().cpu().numpy()
    return run


if __name__ == "__main__":
    sys.exit(main("pytorch", ["eager", "compile", "compile-regional"], make_for, device_info,
                  loss_and_grad_for, default_variants=["eager", "compile-regional"]))
