#!/usr/bin/python3
"""Golden values for ELU, SELU, SiLU and softplus and their derivatives from PyTorch (Debian's python3-torch), in
float64 at float32-exact inputs. Writes golden_torch_activations.json beside this script; the tests read only that file.

    /usr/bin/python3 tests/NeuralCore.Tests/Kernels/torch_activations.py

SELU is PyTorch's, whose constants (alpha 1.6732632423543772, scale 1.0507009873554805) round to the float32 constants
of Keras and of the layer; softplus is PyTorch's without its linear cut-off (threshold=1e9), so that the tails are the exact function.
"""
import json
import os

import torch

F = torch.nn.functional
INPUTS = [-100.0, -30.0, -10.0, -3.0, -1.0, -2.0 ** -10, -2.0 ** -24, -2.0 ** -40, 0.0, 2.0 ** -40, 2.0 ** -24, 2.0 ** -10, 0.5, 2.0, 20.0, 90.0]

FUNCTIONS = {
    "elu": lambda t: F.elu(t, 1.0),
    "elu_alpha_0.5": lambda t: F.elu(t, 0.5),
    # F.selu, not scale * where(x > 0, x, alpha * expm1(x)): expm1's backward is computed from its result + 1, which is
    # 0 at -100, where the derivative is 6.6e-44.
    "selu": F.selu,
    "silu": F.silu,
    "softplus": lambda t: F.softplus(t, beta=1, threshold=1e9),
}

golden = {"generator": f"torch {torch.__version__}", "inputs": INPUTS}
for name, f in FUNCTIONS.items():
    x = torch.tensor(INPUTS, dtype=torch.float64, requires_grad=True)
    y = f(x)
    y.sum().backward()
    golden[name] = {"output": y.detach().tolist(), "derivative": x.grad.tolist()}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_torch_activations.json"), "w") as out:
    json.dump(golden, out, indent=1)
    out.write("\n")
