#!/usr/bin/python3
"""A second, independent source of golden values for the core losses: PyTorch's own loss functions
(torch.nn.functional), run in float64 on fixed small inputs, give each case's reduced loss and, by autograd, its gradient
with respect to the model output. Writes golden_torch_losses.json beside this script; TorchLossGoldenTests reads only
that file. (golden_losses.py re-derives Keras's formulas in numpy; this script does not write a formula where PyTorch has
the loss.)

    /usr/bin/python3 tests/NeuralCore.Tests/Losses/torch_losses.py

Needs Debian's python3-torch (1.13). Every input and setting is rounded to float32 first, so NeuralCore (float32) and
PyTorch (float64) see the same numbers.

NeuralCore follows Keras; where PyTorch's definition differs, the cases are chosen or written so the two agree:
- Reduction. Keras's sum_over_batch_size is the mean over the batch of each sample's loss, itself the mean over the
  outputs for the element-wise losses (MSE, MAE, Huber, log-cosh, binary cross-entropy). With every sample the same
  width, that is PyTorch's reduction="mean" over all elements. Keras's "sum" (sum over samples of each sample's mean) is
  not PyTorch's reduction="sum" (sum over all elements): those cases take reduction="none", average over the outputs
  and sum. Keras's sample weights divide by the batch size, not by the sum of the weights (as PyTorch's class `weight`
  of cross_entropy would): those cases weight reduction="none"'s per-sample losses and divide by the batch size.
- Clipping. Keras (and NeuralCore) clip probabilities to [1e-7, 1 - 1e-7]; PyTorch's binary_cross_entropy only clamps
  each log at -100. The probability cases keep every probability well inside the clip, where the two are the same
  function; the clip itself is tested against Keras's formula in LossGoldenTests and ClipBoundTests.
- Categorical cross-entropy from probabilities o: Keras normalizes p = o / sum(o) before the log. PyTorch has no loss
  on probabilities, but cross_entropy(log(o), t) is -sum_j t_j log(softmax(log o)_j) = -sum_j t_j log(o_j / sum(o)),
  the same function of o, normalization included (rows that do not sum to 1 test it).
- Label smoothing: PyTorch's cross_entropy(label_smoothing=e) uses targets t(1 - e) + e/C, as Keras's categorical
  one. PyTorch's binary cross-entropies have no label smoothing: not covered here.
- Huber: PyTorch's huber_loss(delta) is Keras's Huber (0.5 d^2 inside delta, delta(|d| - delta/2) outside); its
  smooth_l1_loss is that divided by delta, not used. No element of the inputs lies at |d| = delta exactly.
- Log-cosh: PyTorch has no log-cosh loss; it is written as torch.log(torch.cosh(d)).mean() (safe in float64 for
  these |d| < 6), its gradient tanh(d)/N from autograd.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F


def f32(values):
    """The float32 rounding of `values`, as a float64 tensor."""
    return torch.tensor(np.asarray(values, dtype=np.float32).astype(np.float64))


def f32_scalar(value):
    return float(np.float32(value))


def keras_sum(per_element):
    """Keras's reduction="sum" of an element-wise loss: each sample's mean over its outputs, summed over samples."""
    return per_element.mean(dim=-1).sum()


# Each case: the NeuralCore loss it is for, its arguments, the reduction (Keras's names), the model output, class
# labels or target rows, optional sample weights, and the PyTorch computation as a function of
# (output, targets, weights) returning the reduced loss. `expression` documents it in the JSON.
SMOOTHING = f32_scalar(0.1)
LOGITS = [[2.0, -1.0, 0.5, 0.1], [0.2, -3.0, 1.7, 0.0], [-0.4, 0.9, -2.2, 3.1]]
REGRESSION_OUTPUT = [[1.0, 2.0, 3.0, -1.0], [0.3, -0.7, 2.5, 4.0], [-1.2, 0.05, 0.8, -3.3]]
REGRESSION_TARGET = [[1.5, 2.0, 0.0, 1.0], [0.1, -0.2, 2.0, -1.5], [-1.0, 0.6, 0.8, 2.1]]

CASES = {
    "softmax_cross_entropy_labels": dict(
        loss="softmax_cross_entropy", arguments={}, reduction="sum_over_batch_size",
        output=LOGITS, labels=[2, 1, 3],
        expression="F.cross_entropy(output, labels)",
        torch=lambda o, t, w: F.cross_entropy(o, t)),
    "softmax_cross_entropy_labels_large_logits": dict(
        loss="softmax_cross_entropy", arguments={}, reduction="sum_over_batch_size",
        output=[[40.0, -35.0, 10.0], [-60.0, -58.5, -61.0], [0.0, 88.0, 87.5]], labels=[2, 1, 1],
        expression="F.cross_entropy(output, labels)",
        torch=lambda o, t, w: F.cross_entropy(o, t)),
    "softmax_cross_entropy_labels_smoothing": dict(
        loss="softmax_cross_entropy", arguments={"label_smoothing": SMOOTHING}, reduction="sum_over_batch_size",
        output=LOGITS, labels=[2, 1, 3],
        expression="F.cross_entropy(output, labels, label_smoothing=0.1)",
        torch=lambda o, t, w: F.cross_entropy(o, t, label_smoothing=SMOOTHING)),
    "softmax_cross_entropy_soft_targets_smoothing": dict(
        loss="categorical_crossentropy", arguments={"from_logits": True, "label_smoothing": SMOOTHING},
        reduction="sum_over_batch_size",
        output=LOGITS, targets=[[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 0.0], [0.5, 0.25, 0.0, 0.25]],
        expression="F.cross_entropy(output, targets, label_smoothing=0.1) (probability targets)",
        torch=lambda o, t, w: F.cross_entropy(o, t, label_smoothing=SMOOTHING)),
    "softmax_cross_entropy_labels_weighted_sum": dict(
        loss="softmax_cross_entropy", arguments={}, reduction="sum",
        output=LOGITS, labels=[0, 3, 1], sample_weights=[2.0, 0.5, 1.25],
        expression="(w * F.cross_entropy(output, labels, reduction='none')).sum()",
        torch=lambda o, t, w: (w * F.cross_entropy(o, t, reduction="none")).sum()),
    "categorical_crossentropy_probabilities_labels": dict(
        loss="categorical_crossentropy", arguments={}, reduction="sum_over_batch_size",
        output=torch.softmax(f32(LOGITS), dim=-1).tolist(), labels=[2, 1, 3],
        expression="F.cross_entropy(torch.log(output), labels)",
        torch=lambda o, t, w: F.cross_entropy(torch.log(o), t)),
    "categorical_crossentropy_probabilities_unnormalized_soft_targets": dict(
        loss="categorical_crossentropy", arguments={}, reduction="sum_over_batch_size",
        output=[[0.2, 0.3, 0.6], [0.05, 0.7, 0.15], [0.4, 0.4, 0.2]],
        targets=[[0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [0.6, 0.4, 0.0]],
        expression="F.cross_entropy(torch.log(output), targets) (rows of output sum to 1.1, 0.9, 1)",
        torch=lambda o, t, w: F.cross_entropy(torch.log(o), t)),
    "categorical_crossentropy_probabilities_weighted": dict(
        loss="categorical_crossentropy", arguments={}, reduction="sum_over_batch_size",
        output=[[0.2, 0.3, 0.5], [0.05, 0.7, 0.25], [0.4, 0.4, 0.2]], labels=[0, 1, 2],
        sample_weights=[0.5, 3.0, 1.0],
        expression="(w * F.cross_entropy(torch.log(output), labels, reduction='none')).sum() / batch",
        torch=lambda o, t, w: (w * F.cross_entropy(torch.log(o), t, reduction="none")).sum() / o.shape[0]),
    "binary_crossentropy_probabilities": dict(
        loss="binary_crossentropy", arguments={}, reduction="sum_over_batch_size",
        output=[[0.9, 0.2, 0.01], [0.6, 0.999, 0.35], [0.5, 0.05, 0.75]],
        targets=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.3], [1.0, 1.0, 0.8]],
        expression="F.binary_cross_entropy(output, targets)",
        torch=lambda o, t, w: F.binary_cross_entropy(o, t)),
    "binary_crossentropy_probabilities_one_output_labels": dict(
        loss="binary_crossentropy", arguments={}, reduction="sum_over_batch_size",
        output=[[0.8], [0.3], [0.55], [0.02]], labels=[1, 0, 0, 1],
        expression="F.binary_cross_entropy(output, labels.double().unsqueeze(1))",
        torch=lambda o, t, w: F.binary_cross_entropy(o, t.double().unsqueeze(1))),
    "binary_crossentropy_logits": dict(
        loss="binary_crossentropy", arguments={"from_logits": True}, reduction="sum_over_batch_size",
        output=[[1.5, -0.3, 30.0], [-2.0, 4.0, -25.0], [0.0, 0.7, -1.1]],
        targets=[[1.0, 0.0, 1.0], [0.0, 1.0, 0.2], [1.0, 0.5, 0.0]],
        expression="F.binary_cross_entropy_with_logits(output, targets)",
        torch=lambda o, t, w: F.binary_cross_entropy_with_logits(o, t)),
    "binary_crossentropy_logits_weighted_sum": dict(
        loss="binary_crossentropy", arguments={"from_logits": True}, reduction="sum",
        output=[[1.5, -0.3], [-2.0, 4.0], [0.0, 0.7]], targets=[[1.0, 0.0], [0.0, 1.0], [1.0, 0.5]],
        sample_weights=[1.0, 0.25, 2.0],
        expression="(w * F.binary_cross_entropy_with_logits(output, targets, reduction='none').mean(-1)).sum()",
        torch=lambda o, t, w: (w * F.binary_cross_entropy_with_logits(o, t, reduction="none").mean(dim=-1)).sum()),
    "mean_squared_error": dict(
        loss="mean_squared_error", arguments={}, reduction="sum_over_batch_size",
        output=REGRESSION_OUTPUT, targets=REGRESSION_TARGET,
        expression="F.mse_loss(output, targets)",
        torch=lambda o, t, w: F.mse_loss(o, t)),
    "mean_squared_error_sum": dict(
        loss="mean_squared_error", arguments={}, reduction="sum",
        output=REGRESSION_OUTPUT, targets=REGRESSION_TARGET,
        expression="F.mse_loss(output, targets, reduction='none').mean(-1).sum()",
        torch=lambda o, t, w: keras_sum(F.mse_loss(o, t, reduction="none"))),
    "mean_absolute_error": dict(
        loss="mean_absolute_error", arguments={}, reduction="sum_over_batch_size",
        output=REGRESSION_OUTPUT, targets=REGRESSION_TARGET,
        expression="F.l1_loss(output, targets) (two elements with output = target: gradient sign(0) = 0)",
        torch=lambda o, t, w: F.l1_loss(o, t)),
    "huber": dict(
        loss="huber_loss", arguments={"delta": 1.0}, reduction="sum_over_batch_size",
        output=REGRESSION_OUTPUT, targets=REGRESSION_TARGET,
        expression="F.huber_loss(output, targets, delta=1.0)",
        torch=lambda o, t, w: F.huber_loss(o, t, delta=1.0)),
    "huber_delta_0.25_weighted": dict(
        loss="huber_loss", arguments={"delta": 0.25}, reduction="sum_over_batch_size",
        output=REGRESSION_OUTPUT, targets=REGRESSION_TARGET, sample_weights=[0.5, 2.0, 1.0],
        expression="(w * F.huber_loss(output, targets, reduction='none', delta=0.25).mean(-1)).sum() / batch",
        torch=lambda o, t, w: (w * F.huber_loss(o, t, reduction="none", delta=0.25).mean(dim=-1)).sum() / o.shape[0]),
    "log_cosh": dict(
        loss="log_cosh", arguments={}, reduction="sum_over_batch_size",
        output=REGRESSION_OUTPUT, targets=REGRESSION_TARGET,
        expression="torch.log(torch.cosh(output - targets)).mean()",
        torch=lambda o, t, w: torch.log(torch.cosh(o - t)).mean()),
}


def run(case):
    output = f32(case["output"]).requires_grad_(True)
    if "labels" in case:
        targets = torch.tensor(case["labels"], dtype=torch.int64)
    else:
        targets = f32(case["targets"])
    weights = f32(case["sample_weights"]) if "sample_weights" in case else None
    loss = case["torch"](output, targets, weights)
    loss.backward()
    entry = {
        "loss": case["loss"],
        "arguments": case["arguments"],
        "reduction": case["reduction"],
        "torch": case["expression"],
        "output": output.detach().tolist(),
    }
    if "labels" in case:
        entry["labels"] = case["labels"]
    else:
        entry["targets"] = targets.tolist()
    if weights is not None:
        entry["sample_weights"] = weights.tolist()
    entry["value"] = loss.item()
    entry["gradient"] = output.grad.tolist()
    return entry


golden = {
    "generator": f"torch {torch.__version__}, torch.nn.functional in float64 (torch_losses.py)",
    "dtype": "float64; inputs and settings rounded to float32 first",
    "cases": {name: run(case) for name, case in CASES.items()},
}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_torch_losses.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
