#!/usr/bin/python3
"""Golden values for LayerNormalization from PyTorch's LayerNorm (Debian's python3-torch), in float64: the output over
the last axis, and the gradients of sum(output * R) with respect to the input, gamma and beta. Writes
golden_torch_layernorm.json beside this script; the tests read only that file.

    /usr/bin/python3 tests/NeuralCore.Tests/Layers/torch_layernorm.py

PyTorch's LayerNorm and Keras's LayerNormalization compute the same function: the biased variance of each sample's
features, epsilon added to it inside the square root.
"""
import json
import os

import torch

BATCH, FEATURES = 4, 5
EPSILON = 1e-3

# Float32-exact values: rows of different scales and offsets, one nearly constant.
x = torch.tensor([[0.5, -3.0, 10.0, 2.25, -1.0],
                  [100.0, 100.125, 99.875, 100.0625, 100.0],
                  [-0.75, 0.5, 0.0, 4.0, -2.5],
                  [2.0, 2.0, 2.0, 2.0, 2.03125]], dtype=torch.float64, requires_grad=True)
r = torch.tensor([[0.25, -1.0, 0.5, 1.5, -0.25],
                  [1.0, 0.5, -0.25, 0.0, 2.0],
                  [-0.5, 0.75, 1.0, -1.25, 0.125],
                  [0.125, -0.25, 0.0, 1.0, -1.5]], dtype=torch.float64)
gamma = [1.5, -0.5, 2.0, 0.75, 1.0]
beta = [0.25, 1.0, -0.75, 0.0, 0.5]

ln = torch.nn.LayerNorm(FEATURES, eps=EPSILON).double()
with torch.no_grad():
    ln.weight.copy_(torch.tensor(gamma, dtype=torch.float64))
    ln.bias.copy_(torch.tensor(beta, dtype=torch.float64))
y = ln(x)
(y * r).sum().backward()

golden = {
    "generator": f"torch {torch.__version__}",
    "epsilon": EPSILON, "batch": BATCH, "features": FEATURES,
    "x": x.detach().flatten().tolist(), "r": r.flatten().tolist(), "gamma": gamma, "beta": beta,
    "output": y.detach().flatten().tolist(),
    "input_grad": x.grad.flatten().tolist(),
    "gamma_grad": ln.weight.grad.tolist(),
    "beta_grad": ln.bias.grad.tolist(),
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_torch_layernorm.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
