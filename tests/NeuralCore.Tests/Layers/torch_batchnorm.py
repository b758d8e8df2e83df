#!/usr/bin/python3
"""Golden values for BatchNormalization from PyTorch's BatchNorm1d (Debian's python3-torch), in float64: one training
step's output, the gradients of sum(output * R) with respect to the input, gamma and beta, and the running mean after
the step. Writes golden_torch_batchnorm.json beside this script; the tests read only that file.

    /usr/bin/python3 tests/NeuralCore.Tests/Layers/torch_batchnorm.py

PyTorch's momentum is Keras's 1 - momentum. Its running variance takes the unbiased batch variance where Keras's takes
the biased one, so only the running mean is compared here (the variance's update is checked against the formula).
"""
import json
import os

import torch

BATCH, FEATURES = 5, 3
EPSILON, KERAS_MOMENTUM = 1e-3, 0.9

# Float32-exact values: features of different scales and offsets, one nearly constant.
x = torch.tensor([[0.5, -3.0, 10.0], [1.25, 2.0, 10.0625], [-0.75, 0.5, 9.875], [2.0, -1.5, 10.125], [0.0, 4.0, 10.0]],
                 dtype=torch.float64, requires_grad=True)
r = torch.tensor([[0.25, -1.0, 0.5], [1.0, 0.5, -0.25], [-0.5, 0.75, 1.0], [0.125, -0.25, 0.0], [2.0, 1.0, -1.5]],
                 dtype=torch.float64)
gamma = [1.5, -0.5, 2.0]
beta = [0.25, 1.0, -0.75]

bn = torch.nn.BatchNorm1d(FEATURES, eps=EPSILON, momentum=1 - KERAS_MOMENTUM).double()
with torch.no_grad():
    bn.weight.copy_(torch.tensor(gamma, dtype=torch.float64))
    bn.bias.copy_(torch.tensor(beta, dtype=torch.float64))
bn.train()
y = bn(x)
(y * r).sum().backward()

golden = {
    "generator": f"torch {torch.__version__}",
    "epsilon": EPSILON, "momentum": KERAS_MOMENTUM, "batch": BATCH, "features": FEATURES,
    "x": x.detach().flatten().tolist(), "r": r.flatten().tolist(), "gamma": gamma, "beta": beta,
    "output": y.detach().flatten().tolist(),
    "input_grad": x.grad.flatten().tolist(),
    "gamma_grad": bn.weight.grad.tolist(),
    "beta_grad": bn.bias.grad.tolist(),
    "running_mean": bn.running_mean.tolist(),
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_torch_batchnorm.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
