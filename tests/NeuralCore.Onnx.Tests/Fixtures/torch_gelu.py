"""Writes torch_gelu.onnx, an MLP with PyTorch's exact GELU and its tanh approximation, exported at opset 13 (ONNX has
no Gelu operator before opset 20), and torch_gelu.json, PyTorch's outputs for fixed inputs: an independent producer of
the two compositions (x·(1 + Erf(x / √2))·½ and x·(1 + Tanh(√(2/π)·(x + 0.044715·x³)))·½ in PyTorch's order of
nodes and operands). OnnxImportTests reads only these two files.

Run: /usr/bin/python3 torch_gelu.py   (Debian's python3-torch 1.13 and python3-onnx 1.12)
"""
import json

import onnx
import torch

torch.manual_seed(7)
model = torch.nn.Sequential(
    torch.nn.Linear(6, 8), torch.nn.GELU(), torch.nn.Linear(8, 8), torch.nn.GELU(approximate="tanh"),
    torch.nn.Linear(8, 3)).eval()
# Wide inputs, so that both tails and the bend between are crossed.
inputs = torch.randn(16, 6) * 3
with torch.no_grad():
    outputs = model(inputs)

torch.onnx.export(model, inputs, "torch_gelu.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13)
onnx.checker.check_model(onnx.load("torch_gelu.onnx"), full_check=True)
with open("torch_gelu.json", "w") as f:
    json.dump({"inputs": inputs.tolist(), "outputs": outputs.tolist()}, f, indent=1)
