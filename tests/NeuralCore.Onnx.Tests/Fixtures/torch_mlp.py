"""Writes torch_mlp.onnx, an MLP exported by PyTorch's own exporter, and torch_mlp.json, PyTorch's outputs for fixed
inputs: an independent producer for NeuralCore's ONNX import (OnnxImportTests reads only these two files).

Run: /usr/bin/python3 torch_mlp.py   (Debian's python3-torch 1.13 and python3-onnx 1.12)
"""
import json

import torch

torch.manual_seed(7)
model = torch.nn.Sequential(
    torch.nn.Flatten(),
    torch.nn.Linear(12, 9),
    torch.nn.ReLU(),
    torch.nn.Dropout(0.3),
    torch.nn.Linear(9, 7),
    torch.nn.Tanh(),
    torch.nn.Linear(7, 6, bias=False),
    torch.nn.LeakyReLU(0.1),
    torch.nn.Linear(6, 5),
    torch.nn.Sigmoid(),
    torch.nn.Linear(5, 4),
    torch.nn.Softmax(dim=1),
)
model.eval()
inputs = torch.randn(8, 12)
with torch.no_grad():
    outputs = model(inputs)

torch.onnx.export(model, inputs, "torch_mlp.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13)
with open("torch_mlp.json", "w") as f:
    json.dump({"inputs": inputs.tolist(), "outputs": outputs.tolist()}, f, indent=1)
