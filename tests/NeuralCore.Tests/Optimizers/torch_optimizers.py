#!/usr/bin/python3
"""A second, independent source of optimizer golden values: PyTorch (Debian's python3-torch) runs its own Adam, SGD,
RMSprop, Adagrad, Adadelta, Adamax and NAdam on the problem of golden_optimizers.py, in float64. Writes golden_torch_optimizers.json beside this script; the
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


def grad(t, flipping=False):
    """keras_optimizers.py's gradients: `flipping` turns every third step's around and doubles it."""
    g = [0.1 * t, -0.3, 1.0 / t, -0.05 * t * t]
    return [-2.0 * x for x in g] if flipping and t % 3 == 0 else g


def run(make, steps, flipping=False):
    theta = torch.tensor(THETA0, dtype=torch.float64, requires_grad=True)
    optimizer = make([theta])
    for t in range(1, steps + 1):
        optimizer.zero_grad()
        theta.grad = torch.tensor(grad(t, flipping), dtype=torch.float64)
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
    # Keras starts Adagrad's accumulator at 0.1 and adds epsilon inside the square root; PyTorch starts it at 0 by
    # default and adds epsilon outside.
    "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-10),
    "adadelta": lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7),
    # Keras adds epsilon to the infinity norm, PyTorch to |g| inside the maximum.
    "adamax": lambda p: torch.optim.Adamax(p, lr=0.1, betas=(0.9, 0.999), eps=1e-10),
    "adamax_fast_norm": lambda p: torch.optim.Adamax(p, lr=0.1, betas=(0.8, 0.5), eps=1e-10),
    # momentum_decay=1 gives Keras's schedule mu_t = beta_1 (1 - 0.5 * 0.96^t) (PyTorch's default 0.004 is Dozat's
    # 0.96^(0.004 t)). foreach=True: torch 1.13's single-tensor NAdam multiplies mu_t into the next product twice.
    "nadam": lambda p: torch.optim.NAdam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-10, momentum_decay=1.0, foreach=True),
    "nadam_large_rate": lambda p: torch.optim.NAdam(p, lr=0.1, betas=(0.9, 0.999), eps=1e-10, momentum_decay=1.0, foreach=True),
}
# Cases run with the flipping gradient, and the case whose optimizer they use.
FLIPPING = {"adagrad_flipping": "adagrad", "adadelta_flipping": "adadelta", "adamax_flipping": "adamax_fast_norm",
            "nadam_flipping": "nadam_large_rate"}

golden = {"generator": f"torch {torch.__version__}", "theta0": THETA0, "steps": [1, 2, 5, 20]}
for name, make in CASES.items():
    golden[name] = {str(steps): run(make, steps) for steps in golden["steps"]}
for name, base in FLIPPING.items():
    golden[name] = {str(steps): run(CASES[base], steps, flipping=True) for steps in golden["steps"]}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_torch_optimizers.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
