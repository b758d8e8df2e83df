#!/usr/bin/python3
"""Golden values for ELU, SELU, SiLU, softplus, softsign, hard sigmoid, hard SiLU and Mish and their derivatives, in float64 at float32-exact inputs, from the C
library's expm1, log1p and exp (Python's math module), and checked here against PyTorch's own functions and autograd
(Debian's python3-torch). Writes golden_torch_activations.json beside this script; the tests read only that file.

    /usr/bin/python3 tests/NeuralCore.Tests/Kernels/torch_activations.py

PyTorch agrees to 1e-9 (relative; SELU to 5e-8, its constants' difference) except where its float64 kernels lose digits themselves: F.elu with alpha != 1 and
F.selu compute exp(x) - 1, which keeps 4 digits at x = -3e-12, and autograd through expm1 takes its derivative from
expm1(x) + 1, which is 0 at x = -100. Those points are listed when the script runs. SELU's constants are Keras's rounded
to float32 (the layer's); PyTorch's differ from them by less than float32's resolution. The hard SiLU's derivative at
exactly -3 is automatic differentiation's of x*relu6(x + 3)/6 (Keras's: 0), where PyTorch 1.13's own kernel gives -0.5,
and its hard sigmoid's derivative is 1/6 rounded to float32 even in float64; those points are listed too.
"""
import json
import math
import os

import torch

F = torch.nn.functional
# TINY is 3e-12 rounded to float32: exp(x) - 1 in double keeps only 4 digits of it (a power of two would come out exact).
TINY = float(torch.tensor(3e-12, dtype=torch.float32))
INPUTS = [-100.0, -30.0, -10.0, -3.0, -1.0, -2.0 ** -10, -2.0 ** -24, -TINY, 0.0, TINY, 2.0 ** -24, 2.0 ** -10, 0.5, 2.0, 3.0, 20.0, 90.0]
ALPHA = float(torch.tensor(1.67326324, dtype=torch.float32))
SCALE = float(torch.tensor(1.05070098, dtype=torch.float32))


def sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x > -700 else math.exp(x)


def elu(alpha, scale=1.0):
    return (lambda x: scale * (x if x > 0 else alpha * math.expm1(x)),
            lambda x: scale * (1.0 if x > 0 else alpha * math.exp(x)))


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def hard_sigmoid(x):
    return min(max(x + 3.0, 0.0), 6.0) / 6.0


def mish_derivative(x):
    t = math.tanh(softplus(x))
    return t + x * sigmoid(x) * (1 - t * t)


FUNCTIONS = {
    # name: (value, derivative, PyTorch's function)
    "elu": (*elu(1.0), lambda t: F.elu(t, 1.0)),
    "elu_alpha_0.5": (*elu(0.5), lambda t: F.elu(t, 0.5)),
    "selu": (*elu(ALPHA, SCALE), F.selu),
    "silu": (lambda x: x * sigmoid(x), lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))), F.silu),
    "softplus": (softplus, sigmoid, lambda t: F.softplus(t, beta=1, threshold=1e9)),
    "softsign": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2, F.softsign),
    "hard_sigmoid": (hard_sigmoid, lambda x: 1 / 6 if -3 < x < 3 else 0.0, F.hardsigmoid),
    "hard_silu": (lambda x: x * hard_sigmoid(x), lambda x: (x + 3) / 6 + x / 6 if -3 < x < 3 else (1.0 if x >= 3 else 0.0), F.hardswish),
    "mish": (lambda x: x * math.tanh(softplus(x)), mish_derivative, F.mish),
}

golden = {"generator": f"Python math (libm) in float64; checked against torch {torch.__version__}", "inputs": INPUTS}
for name, (value, derivative, torch_function) in FUNCTIONS.items():
    y = [value(x) for x in INPUTS]
    dy = [derivative(x) for x in INPUTS]
    t = torch.tensor(INPUTS, dtype=torch.float64, requires_grad=True)
    out = torch_function(t)
    out.sum().backward()
    for x, a, b, what in [(x, a, b, "value") for x, a, b in zip(INPUTS, y, out.detach().tolist())] + \
                         [(x, a, b, "derivative") for x, a, b in zip(INPUTS, dy, t.grad.tolist())]:
        # SELU's constants differ from PyTorch's by up to 3.3e-8 (relative).
        if abs(a - b) > (5e-8 if name == "selu" else 1e-9) * abs(a) + 1e-300:
            print(f"{name} {what} at {x!r}: libm {a!r}, PyTorch {b!r}")
    golden[name] = {"output": y, "derivative": dy}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_torch_activations.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
