"""The Figure 3 network's training step as a PyTorch user writes it: one agent's
loss with the 128 layers in a Python loop, `torch.func.vmap(grad_and_value)`
over the agents, the minibatch from `torch.randint` and the SGLD update. Two
variants: eager, and the whole step through `torch.compile`.

    python3 benches/peers/resnet_pytorch.py [--variant eager|compile] [--agents N]
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


def best_device(asked):
    return asked or ("cuda" if torch.cuda.is_available() else "cpu")


def device_info(asked):
    d = best_device(asked)
    gpu = d.startswith("cuda")
    name = torch.cuda.get_device_name(d) if gpu else f"CPU, {torch.get_num_threads()} threads"
    return f"{name}, PyTorch {torch.__version__}", "gpu" if gpu else "cpu"


def make_for(variant, asked):
    fn = compiled_step if variant == "compile" else train_step

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
    """The loss and gradient the check compares; both variants step with this
    `loss` (the compiled one through `torch.compile`, which traces it), so the
    check runs it eagerly rather than paying another compilation."""
    def run(theta, x, y):
        d = best_device(asked)
        g, l = grads_and_values(torch.tensor(theta, device=d), torch.tensor(x, device=d),
                                torch.tensor(y, dtype=torch.long, device=d))
        return l.detach().cpu().numpy(), g.detach().cpu().numpy()
    return run


if __name__ == "__main__":
    sys.exit(main("pytorch", ["eager", "compile"], make_for, device_info, loss_and_grad_for))
