"""Runs the Figure 1 preset (six-hump camel, six methods) and prints each
method's final median distance to the nearest minimum; plots run 0's final
positions for the first two methods with matplotlib when it is installed.

    python examples/python/quickstart.py
"""

import numpy as np

import sgld_swarm

config = sgld_swarm.preset("fig1-camel")
config["ensemble"]["runs"] = 20          # fewer runs than the paper, for speed
results = sgld_swarm.run(config, out="out-python")
for r in results:
    best = np.median(r.history["best"][-1])
    print(f"{r.name:<28} median best distance {best:.4f} ({r.backend})")

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no plot")
else:
    for r in results[:2]:
        x = r.positions[0]                   # run 0: [agents, 2]
        plt.scatter(x[:, 0], x[:, 1], s=8, label=r.name)
    plt.legend()
    plt.savefig("out-python/final-positions.png")
    print("wrote out-python/final-positions.png")
