"""The homogenized and Euler schemes of docs/DESIGN.md section 2 on the rough potential,
written as a PyTorch user would: float32 tensors of shape (R, N, d) on the GPU
when there is one, `torch.randn` for the noise. Two variants: eager, and the
inner step through `torch.compile` (one fused kernel per inner step, dynamic
shapes so that the ladder compiles once).

    python3 benches/peers/pytorch_peer.py [--variant eager|compile] [--check OUT_DIR]
"""

import sys

import torch

from common import main

DELTA = 0.01  # the rough potential's delta, as in the bench and the check config


def grad_rough(x):
    u = x / DELTA
    s, c = torch.sin(u), torch.cos(u)
    return 2.0 * (x * s + 0.1 * x) * (s + u * c + 0.1)


def tame(g, h: float, taming: str):
    hg = h * g
    if taming == "coordinate":
        return hg / (1.0 + hg.abs())
    if taming == "norm":
        return hg / (1.0 + h * torch.linalg.vector_norm(g, dim=-1, keepdim=True))
    return hg


def inner_step(x, y, h: float, h_gamma: float, noise: float, taming: str):
    """Y(n, m+1) from Y(n, m) (docs/DESIGN.md section 2)."""
    return y - tame(grad_rough(y), h, taming) + h_gamma * (x - y) + noise * torch.randn_like(y)


def euler_step(x, dt: float, noise: float, taming: str):
    return x - tame(grad_rough(x), dt, taming) + noise * torch.randn_like(x)


class Peer:
    inner = staticmethod(inner_step)
    euler = staticmethod(euler_step)

    def __init__(self, shape, m, seed, device):
        self.m, self.device = m, device
        g = torch.Generator(device=device).manual_seed(seed)
        torch.manual_seed(seed)
        self.x = torch.empty(shape, device=device).uniform_(-10.0, 10.0, generator=g)
        self.y = self.x.clone()

    @torch.no_grad()
    def step(self):
        m, x = self.m, self.x
        mean = x.mean(dim=1, keepdim=True)
        if m.homogenized:
            y, ysum = self.y, torch.zeros_like(x)
            for j in range(m.inner_len):
                y = self.inner(x, y, m.h, m.h / m.gamma, m.noise, m.taming)
                if j + 1 >= m.burn_in:
                    ysum += y
            self.y = y
            x = x - (m.dt / m.gamma) * (x - ysum / m.inner_steps)
        else:
            x = self.euler(x, m.dt, m.noise, m.taming)
        self.x = x - (m.dt * m.lam) * (self.x - mean)

    def steps(self, k):
        for _ in range(k):
            self.step()

    def sync(self):
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()

    def positions(self):
        return self.x.cpu().numpy()


class Compiled(Peer):
    inner = staticmethod(torch.compile(inner_step, dynamic=True))
    euler = staticmethod(torch.compile(euler_step, dynamic=True))


def best_device(asked):
    return asked or ("cuda" if torch.cuda.is_available() else "cpu")


def device_info(asked):
    d = best_device(asked)
    gpu = d.startswith("cuda")
    name = torch.cuda.get_device_name(d) if gpu else "CPU"
    return f"{name}, PyTorch {torch.__version__}", "gpu" if gpu else "cpu"


def make_for(variant, asked):
    cls = Compiled if variant == "compile" else Peer
    return lambda shape, m, seed: cls(shape, m, seed, best_device(asked))


if __name__ == "__main__":
    sys.exit(main("pytorch", ["eager", "compile"], make_for, device_info))
