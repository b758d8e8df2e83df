#!/usr/bin/python3
"""Golden values from Keras 3's own loss code: the loss functions of keras/src/losses/losses.py (and the helpers they
call: `normalize` from keras/src/ops/nn.py, the torch backend's `binary_crossentropy`) are read from a Keras source tree,
compiled as they are, and run in float64 on PyTorch tensors through a small stand-in for `keras.ops`. PyTorch's autograd
then gives each sample's gradient (null where it is NaN), so values and gradients both come from Keras's code, not from NeuralCore's formulas.
Where PyTorch has the same loss natively (poisson_nll_loss, kl_div) its value is written beside Keras's as a second
source. Writes golden_keras_losses.json beside this script; the tests read only that file.

    /usr/bin/python3 tests/NeuralCore.Tests/Losses/keras_losses.py PATH_TO_KERAS

PATH_TO_KERAS is a checkout of https://github.com/keras-team/keras, or a bare clone of it (read at HEAD). Needs Debian's
python3-torch.
"""
import ast
import json
import os
import subprocess
import sys
import types
import warnings

import torch
import torch.nn.functional as tnn

EPSILON = 1e-7  # keras.backend.epsilon()


def read_source(root, relative):
    path = os.path.join(root, relative)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return f.read(), "files"
    text = subprocess.run(["git", "-C", root, "show", "HEAD:" + relative], check=True, capture_output=True, text=True).stdout
    commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    return text, commit


def functions(source, names, scope, label):
    """The module-level functions `names` of `source`, compiled without their decorators into `scope`."""
    tree = ast.parse(source)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            node.decorator_list = []
            module = ast.Module(body=[node], type_ignores=[])
            ast.fix_missing_locations(module)
            exec(compile(module, f"<keras {label}.{node.name}>", "exec"), scope)
            found[node.name] = scope[node.name]
    missing = set(names) - set(found)
    if missing:
        sys.exit(f"{label}: not found: {sorted(missing)}")
    return found


def tensor(x):
    return x if torch.is_tensor(x) else torch.tensor(x, dtype=torch.float64)


class Backend:
    """The `backend` module the functions see."""
    epsilon = staticmethod(lambda: EPSILON)

    class numpy:
        sum = staticmethod(lambda x, axis=None, keepdims=False: torch.sum(x, dim=axis, keepdim=keepdims))
        square = staticmethod(torch.square)
        maximum = staticmethod(lambda a, b: torch.maximum(tensor(a), tensor(b)))
        expand_dims = staticmethod(torch.unsqueeze)

    class math:
        rsqrt = staticmethod(torch.rsqrt)

    convert_to_tensor = staticmethod(tensor)


class Ops:
    """The keras.ops functions the losses call, on float64 torch tensors."""
    convert_to_tensor = staticmethod(lambda x, dtype=None: tensor(x))
    cast = staticmethod(lambda x, dtype=None: tensor(x))
    equal = staticmethod(lambda a, b: torch.eq(tensor(a), tensor(b)))
    logical_or = staticmethod(torch.logical_or)
    all = staticmethod(torch.all)
    cond = staticmethod(lambda c, a, b: a() if bool(c) else b())
    mean = staticmethod(lambda x, axis=None: torch.mean(x, dim=axis))
    sum = staticmethod(lambda x, axis=None, keepdims=False: torch.sum(x, dim=axis, keepdim=keepdims))
    max = staticmethod(lambda x, axis=None: torch.amax(x, dim=axis))
    maximum = staticmethod(lambda a, b: torch.maximum(tensor(a), tensor(b)))
    square = staticmethod(torch.square)
    abs = staticmethod(torch.abs)
    log = staticmethod(torch.log)
    clip = staticmethod(lambda x, lo, hi: torch.clamp(x, lo, hi))
    power = staticmethod(lambda x, p: torch.pow(x, p))
    multiply = staticmethod(lambda a, b: tensor(a) * tensor(b))
    sigmoid = staticmethod(torch.sigmoid)
    softmax = staticmethod(lambda x, axis=-1: torch.softmax(x, dim=axis))
    expand_dims = staticmethod(torch.unsqueeze)
    squeeze = staticmethod(torch.squeeze)
    shape = staticmethod(lambda x: tuple(x.shape))


def load(root):
    revisions = set()
    nn_source, rev = read_source(root, "keras/src/ops/nn.py")
    revisions.add(rev)
    normalize_impl = functions(nn_source, ["_normalize"], {"backend": Backend}, "ops/nn")["_normalize"]
    torch_nn, rev = read_source(root, "keras/src/backend/torch/nn.py")
    revisions.add(rev)
    bce = functions(torch_nn, ["binary_crossentropy"],
                    {"torch": torch, "tnn": tnn, "backend": Backend, "convert_to_tensor": tensor}, "backend/torch/nn")
    Ops.binary_crossentropy = staticmethod(bce["binary_crossentropy"])
    Ops.nn = types.SimpleNamespace(normalize=lambda x, axis=-1, order=2: normalize_impl(x, axis=axis, order=order))
    loss_source, rev = read_source(root, "keras/src/losses/losses.py")
    revisions.add(rev)
    scope = {
        "ops": Ops, "backend": Backend, "warnings": warnings,
        "canonicalize_axis": lambda axis, ndim: axis % ndim,
        "squeeze_or_expand_to_same_rank": lambda a, b: (a, b),
        "normalize": lambda x, axis=-1, order=2: normalize_impl(x, axis=axis, order=order),
    }
    names = ["convert_binary_labels_to_hinge", "hinge", "squared_hinge", "categorical_hinge", "mean_absolute_percentage_error",
             "mean_squared_logarithmic_error", "cosine_similarity", "kl_divergence", "poisson", "binary_focal_crossentropy",
             "categorical_focal_crossentropy"]
    return functions(loss_source, names, scope, "losses"), revisions


def evaluate(fn, y_true, y_pred, **kwargs):
    """Each sample's loss and the gradient of their sum (row r: the gradient of sample r's loss)."""
    pred = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    losses = fn(torch.tensor(y_true, dtype=torch.float64), pred, **kwargs)
    losses.sum().backward()
    # JSON has no NaN: a gradient Keras's autodiff leaves undefined is written as null.
    gradients = [[None if g != g else g for g in row] for row in pred.grad.tolist()]
    return losses.detach().tolist(), gradients


# name: (function, y_true, y_pred, keyword arguments)
PRED_REGRESSION = [[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]]
CASES = {
    "mean_absolute_percentage_error": ("mean_absolute_percentage_error", [[1.5, 2.0], [0.0, 1.0], [-2.0, 0.25]], PRED_REGRESSION, {}),
    # A prediction below epsilon is clipped (no gradient); targets are non-negative.
    "mean_squared_logarithmic_error": ("mean_squared_logarithmic_error", [[1.5, 2.0], [0.0, 1.0], [2.0, 0.25]], PRED_REGRESSION, {}),
    # A rate of 0 meets log(0 + epsilon).
    "poisson": ("poisson", [[1.5, 2.0], [0.0, 1.0], [2.0, 0.0]], [[1.0, 2.0], [3.0, 0.1], [0.5, 0.0]], {}),
    "kl_divergence": ("kl_divergence", [[0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [0.6, 0.4, 0.0]],
                      [[0.1, 0.6, 0.3], [0.25, 0.7, 0.05], [0.5, 0.5, 0.0]], {}),
    # The zero row meets the clamp of its squared norm.
    "cosine_similarity": ("cosine_similarity", [[1.5, 2.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
                          [[1.0, 2.0, 0.0], [3.0, -1.0, 0.5], [0.0, 0.0, 0.0]], {}),
    "hinge_01": ("hinge", [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0.3, -2.0], [1.5, 0.8], [-0.4, 2.5]], {}),
    "hinge_pm1": ("hinge", [[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]], [[0.3, -2.0], [1.5, 0.8], [-0.4, 2.5]], {}),
    "squared_hinge_01": ("squared_hinge", [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0.3, -2.0], [1.5, 0.8], [-0.4, 2.5]], {}),
    "squared_hinge_pm1": ("squared_hinge", [[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]], [[0.3, -2.0], [1.5, 0.8], [-0.4, 2.5]], {}),
    # Row 3: every other score negative, so the 0 of the true class is the largest "negative" term; row 4 is past the margin.
    "categorical_hinge": ("categorical_hinge", [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
                          [[0.3, -0.2, 1.5], [2.0, -1.0, 0.5], [-0.5, -2.0, -1.0], [-1.0, 2.5, 0.5]], {}),
    "categorical_hinge_soft": ("categorical_hinge", [[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]], [[0.3, -0.2, 1.5], [2.0, -1.0, 0.5]], {}),
}
B_TRUE = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
B_LOGITS = [[1.5, -0.3], [-2.0, 4.0], [0.2, -1.1]]
B_PROBS = [[0.9, 0.2], [0.35, 1.0], [0.6, 0.05]]  # 1.0 meets the clip
C_TRUE = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5]]
C_LOGITS = [[2.0, -1.0, 0.5], [0.1, 0.2, -3.0], [1.0, 1.5, -0.5]]
C_PROBS = [[0.2, 0.1, 0.7], [0.3, 0.6, 0.1], [0.25, 0.45, 0.3]]
CASES.update({
    "binary_focal_logits": ("binary_focal_crossentropy", B_TRUE, B_LOGITS, {"from_logits": True}),
    "binary_focal_probabilities": ("binary_focal_crossentropy", B_TRUE, B_PROBS, {}),
    "binary_focal_balanced_smoothed": ("binary_focal_crossentropy", B_TRUE, B_LOGITS,
                                       {"from_logits": True, "apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "label_smoothing": 0.1}),
    "binary_focal_gamma_half": ("binary_focal_crossentropy", B_TRUE, B_PROBS, {"gamma": 0.5}),
    "binary_focal_gamma_zero": ("binary_focal_crossentropy", B_TRUE, B_LOGITS, {"from_logits": True, "gamma": 0.0}),
    "categorical_focal_logits": ("categorical_focal_crossentropy", C_TRUE, C_LOGITS, {"from_logits": True}),
    "categorical_focal_probabilities": ("categorical_focal_crossentropy", C_TRUE, C_PROBS, {}),
    # Rows not summing to 1: Keras normalizes them first.
    "categorical_focal_unnormalized": ("categorical_focal_crossentropy", C_TRUE, [[0.4, 0.2, 1.4], [0.3, 0.6, 0.1], [0.5, 0.9, 0.6]],
                                       {"alpha": 0.5, "gamma": 1.0}),
    "categorical_focal_smoothed": ("categorical_focal_crossentropy", C_TRUE, C_LOGITS,
                                   {"from_logits": True, "alpha": 1.0, "gamma": 0.5, "label_smoothing": 0.2}),
    # One alpha per class (Keras's alpha as a list), on probabilities and on logits.
    "categorical_focal_class_alphas": ("categorical_focal_crossentropy", C_TRUE, C_PROBS, {"alpha": [0.25, 0.5, 1.0]}),
    "categorical_focal_class_alphas_logits": ("categorical_focal_crossentropy", C_TRUE, C_LOGITS,
                                              {"from_logits": True, "alpha": [2.0, 0.3, 0.7], "gamma": 1.5}),
})


def torch_native(name, y_true, y_pred):
    """PyTorch's own loss where it is Keras's, per sample; None elsewhere."""
    t = torch.tensor(y_true, dtype=torch.float64)
    p = torch.tensor(y_pred, dtype=torch.float64)
    if name == "poisson":
        return tnn.poisson_nll_loss(p, t, log_input=False, full=False, eps=EPSILON, reduction="none").mean(dim=-1).tolist()
    if name == "kl_divergence":
        tc, pc = t.clamp(EPSILON, 1), p.clamp(EPSILON, 1)
        return tnn.kl_div(pc.log(), tc, reduction="none").sum(dim=-1).tolist()
    if name == "categorical_hinge":
        # torch.nn.MultiMarginLoss is a different (averaged) hinge; none native matches.
        return None
    return None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found, revisions = load(sys.argv[1])
    golden = {"generator": f"keras/src/losses at {', '.join(sorted(revisions))}, run on PyTorch {torch.__version__} in float64",
              "epsilon": EPSILON, "cases": {}}
    for case, (fn, y_true, y_pred, kwargs) in CASES.items():
        losses, gradients = evaluate(found[fn], y_true, y_pred, **kwargs)
        entry = {"function": fn, "arguments": kwargs, "y_true": y_true, "y_pred": y_pred, "losses": losses, "gradients": gradients}
        native = torch_native(fn, y_true, y_pred)
        if native is not None:
            entry["torch_losses"] = native
        golden["cases"][case] = entry
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_keras_losses.json")
    with open(out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
