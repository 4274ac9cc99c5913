"""Your own potential in NumPy: the Styblinski-Tang function, vectorised over
agents (x is float32 [K, d]: K agents). The engine asks for whole batches of
agents, so the interpreter is entered once per batch, not once per agent.
JAX or PyTorch work the same way: return anything numpy.asarray reads.

    python examples/python/own_potential.py
"""

import numpy as np

import sgld_swarm


class StyblinskiTang:
    dim = 5
    minima = [[-2.903534] * 5]

    def grad(self, x):
        return 0.5 * (4 * x**3 - 32 * x + 5)

    def value(self, x):
        return 0.5 * (x**4 - 16 * x**2 + 5 * x).sum(axis=1)


swarm = sgld_swarm.Ensemble(
    StyblinskiTang(),
    runs=8,
    agents=64,
    steps=2000,
    seed=1,
    init=(-5.0, 5.0),
    method={"name": "MF-SGLD", "scheme": "euler", "dt": 0.002,
            "beta": {"from": 1.0, "to": 50.0, "kind": "geometric"}, "lambda": 1.0},
)
swarm.observe(lambda step, stats: print(step, float(np.median(stats["best_phi"])))
              if step % 500 == 0 else None)
swarm.run()
print("final median best value:", float(np.median(swarm.history["best_phi"][-1])),
      "(minimum", 5 * -39.16617, ")")
