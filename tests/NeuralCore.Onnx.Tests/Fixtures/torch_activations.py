"""Writes torch_activations.onnx, an MLP of every activation PyTorch 1.13's exporter writes in a form this library
reads, exported at opset 13, and torch_activations.json, PyTorch's outputs for fixed inputs: an independent producer
of the node patterns (Softsign as Abs/Add/Div, Hardswish as HardSigmoid and Mul, Mish as Softplus/Tanh/Mul, SiLU as
Sigmoid and Mul, ReLU6 as Clip with Constant bounds). OnnxImportTests reads only these two files.

Run: /usr/bin/python3 torch_activations.py   (Debian's python3-torch 1.13 and python3-onnx 1.12)
"""
import json

import onnx
import torch

torch.manual_seed(5)
activations = [
    torch.nn.Softsign(), torch.nn.Hardswish(), torch.nn.Mish(), torch.nn.SiLU(), torch.nn.ReLU6(), torch.nn.ELU(),
    torch.nn.SELU(), torch.nn.Hardsigmoid(), torch.nn.LeakyReLU(0.1), torch.nn.Softplus(), torch.nn.Tanh(),
    torch.nn.Sigmoid(),
]
layers = []
for activation in activations:
    layers += [torch.nn.Linear(6, 6), activation]
layers += [torch.nn.Linear(6, 3), torch.nn.Softmax(dim=1)]
model = torch.nn.Sequential(*layers).eval()
# Wide inputs, so that every activation's bends (ReLU6's cap, the hard sigmoid's ±3) are crossed.
inputs = torch.randn(8, 6) * 4
with torch.no_grad():
    outputs = model(inputs)

torch.onnx.export(model, inputs, "torch_activations.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13)
onnx.checker.check_model(onnx.load("torch_activations.onnx"), full_check=True)
with open("torch_activations.json", "w") as f:
    json.dump({"inputs": inputs.tolist(), "outputs": outputs.tolist()}, f, indent=1)
