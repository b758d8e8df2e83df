#!/usr/bin/python3
"""A second, independent source of optimizer golden values: PyTorch (Debian's python3-torch) runs its own Adam, SGD
and RMSprop on the problem of golden_optimizers.py, in float64. Writes golden_torch_optimizers.json beside this script; the
tests read only that file.

    /usr/bin/python3 tests/NeuralCore.Tests/Optimizers/torch_optimizers.py

Keras (which NeuralCore follows) and PyTorch place epsilon differently (Keras adds it to sqrt(v), PyTorch to
sqrt(v)/sqrt(1 - beta2^t) in Adam; Keras's RMSprop adds it inside the square root, PyTorch's outside), so the runs
below use an epsilon of 1e-10, where the placements differ by far less than float32 rounding. SGD with momentum and
Nesterov are written differently in the two libraries but are the same updates at a constant learning rate.
"""
import json
import os

import torch

THETA0 = [0.5, -1.5, 2.0, 0.0]


def grad(t):
    return [0.1 * t, -0.3, 1.0 / t, -0.05 * t * t]


def run(make, steps):
    theta = torch.tensor(THETA0, dtype=torch.float64, requires_grad=True)
    optimizer = make([theta])
    for t in range(1, steps + 1):
        optimizer.zero_grad()
        theta.grad = torch.tensor(grad(t), dtype=torch.float64)
        optimizer.step()
    return theta.detach().tolist()


CASES = {
    "adam": lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-10),
    "adam_amsgrad": lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-10, amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-10, weight_decay=0.1),
    "sgd": lambda p: torch.optim.SGD(p, lr=0.01),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-10),
    "rmsprop_momentum": lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-10, momentum=0.5),
}

golden = {"generator": f"torch {torch.__version__}", "theta0": THETA0, "steps": [1, 2, 5, 20]}
for name, make in CASES.items():
    golden[name] = {str(steps): run(make, steps) for steps in golden["steps"]}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_torch_optimizers.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
