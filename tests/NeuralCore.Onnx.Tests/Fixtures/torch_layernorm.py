"""Writes torch_layernorm.onnx, an MLP with a LayerNorm exported by PyTorch's own exporter at opset 17 (the first with
ONNX's LayerNormalization), and torch_layernorm.json, PyTorch's outputs for fixed inputs: an independent producer for
NeuralCore's import of that operator (OnnxImportTests reads only these two files).

Run: /usr/bin/python3 torch_layernorm.py   (Debian's python3-torch 1.13 and python3-onnx 1.12)
"""
import json

import onnx
import torch

torch.manual_seed(11)
model = torch.nn.Sequential(
    torch.nn.Linear(10, 8),
    torch.nn.LayerNorm(8, eps=1e-4),
    torch.nn.ReLU(),
    torch.nn.Linear(8, 3),
)
with torch.no_grad():
    # Away from PyTorch's starting 1 and 0, so that a scale or bias read wrongly, or not at all, shows.
    model[1].weight.copy_(torch.linspace(0.5, 2.0, 8))
    model[1].bias.copy_(torch.linspace(-0.4, 0.3, 8))
model.eval()
inputs = torch.randn(6, 10) * 3
with torch.no_grad():
    outputs = model(inputs)

torch.onnx.export(model, inputs, "torch_layernorm.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17)
onnx.checker.check_model(onnx.load("torch_layernorm.onnx"), full_check=True)
with open("torch_layernorm.json", "w") as f:
    json.dump({"inputs": inputs.tolist(), "outputs": outputs.tolist()}, f, indent=1)
