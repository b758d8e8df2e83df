#!/usr/bin/python3
"""Golden values from Keras 3's own optimizer code: the `update_step` methods of keras/src/optimizers/*.py (and Nadam's
`_backend_update_step`) are read from a Keras source tree, compiled as they are, and run in float64 against a small
NumPy stand-in for `keras.ops` and for the optimizer's variables. Nothing of NeuralCore is used. Writes
golden_keras_optimizers.json beside this script; the tests read only that file.

    /usr/bin/python3 tests/NeuralCore.Tests/Optimizers/keras_optimizers.py PATH_TO_KERAS

PATH_TO_KERAS is a checkout of https://github.com/keras-team/keras, or a bare clone of it (read at HEAD). The problem
is golden_optimizers.py's: theta0 = [0.5, -1.5, 2, 0], gradient at step t [0.1t, -0.3, 1/t, -0.05t^2]; the cases
marked "flipping" use -2 times that gradient at every third step.
"""
import ast
import json
import os
import subprocess
import sys
import types

import numpy as np

THETA0 = [0.5, -1.5, 2.0, 0.0]
STEPS = [1, 2, 3, 4, 5, 20]


# Matrix cases (Adafactor's factored moments) use a [2, 3] variable, so that rows and columns differ.
THETA0_MATRIX = [0.5, -1.5, 2.0, 0.0, 0.25, -0.75]


def grad(t, flipping=False, size=4):
    """The base gradient; `flipping` turns every third step's around and doubles it, so that signs and maxima change.
    A 6-element variable's gradient adds 0.2 and -0.02t."""
    g = np.array([0.1 * t, -0.3, 1.0 / t, -0.05 * t * t, 0.2, -0.02 * t][:size])
    return -2.0 * g if flipping and t % 3 == 0 else g


def read_source(root, relative):
    path = os.path.join(root, relative)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return f.read(), "files"
    text = subprocess.run(["git", "-C", root, "show", "HEAD:" + relative], check=True, capture_output=True, text=True).stdout
    commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    return text, commit


class Ops:
    """The keras.ops functions the update rules call, on float64 NumPy arrays."""
    cast = staticmethod(lambda x, dtype=None: np.asarray(x, dtype=np.float64))
    add = staticmethod(np.add)
    subtract = staticmethod(np.subtract)
    multiply = staticmethod(np.multiply)
    divide = staticmethod(np.divide)
    square = staticmethod(np.square)
    sqrt = staticmethod(np.sqrt)
    power = staticmethod(np.power)
    abs = staticmethod(np.abs)
    maximum = staticmethod(np.maximum)
    negative = staticmethod(np.negative)
    sign = staticmethod(np.sign)
    sum = staticmethod(np.sum)
    where = staticmethod(np.where)
    greater = staticmethod(np.greater)
    clip = staticmethod(np.clip)
    minimum = staticmethod(np.minimum)
    mean = staticmethod(np.mean)
    expand_dims = staticmethod(np.expand_dims)


class SuperCall(ast.NodeTransformer):
    """`super()._backend_update_step(...)` becomes `self._base_backend_update_step(...)` (the base class's loop)."""

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Call) and getattr(f.value.func, "id", None) == "super":
            node.func = ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr="_base" + f.attr, ctx=ast.Load())
        return node


def methods(source, class_name, names):
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    found = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            node.decorator_list = []
            module = ast.Module(body=[SuperCall().visit(node)], type_ignores=[])
            ast.fix_missing_locations(module)
            scope = {"ops": Ops, "np": np}
            exec(compile(module, f"<keras {class_name}.{node.name}>", "exec"), scope)
            found[node.name] = scope[node.name]
    return found


class Fake(types.SimpleNamespace):
    """The optimizer object the methods see: its hyperparameters, its variables, and Keras's assign helpers."""

    def _get_variable_index(self, variable):
        return 0

    def assign(self, variable, value):
        variable[...] = value

    def assign_add(self, variable, value):
        variable[...] = variable + value

    def assign_sub(self, variable, value):
        variable[...] = variable - value

    def _base_backend_update_step(self, grads, trainable_variables, learning_rate):
        for g, v in zip(grads, trainable_variables):
            self.update_step(g, v, learning_rate)


CASES = {
    # name: (module, class, learning rate, hyperparameters, variables: name -> initial value)
    "adam": ("adam", "Adam", 1e-3, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
             {"_momentums": 0.0, "_velocities": 0.0}),
    "adagrad": ("adagrad", "Adagrad", 0.1, {"epsilon": 1e-7}, {"_accumulators": 0.1}),
    "adagrad_from_zero": ("adagrad", "Adagrad", 0.1, {"epsilon": 1e-7}, {"_accumulators": 0.0}),
    "adadelta": ("adadelta", "Adadelta", 1.0, {"rho": 0.95, "epsilon": 1e-7},
                 {"_accumulated_grads": 0.0, "_accumulated_delta_vars": 0.0}),
    "adamax": ("adamax", "Adamax", 0.1, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}, {"_m": 0.0, "_u": 0.0}),
    "adamax_fast_norm": ("adamax", "Adamax", 0.1, {"beta_1": 0.8, "beta_2": 0.5, "epsilon": 1e-7}, {"_m": 0.0, "_u": 0.0}),
    "nadam": ("nadam", "Nadam", 1e-3, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
              {"_momentums": 0.0, "_velocities": 0.0}),
    "nadam_large_rate": ("nadam", "Nadam", 0.1, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
                         {"_momentums": 0.0, "_velocities": 0.0}),
    "lion": ("lion", "Lion", 1e-3, {"beta_1": 0.9, "beta_2": 0.99}, {"_momentums": 0.0}),
    "lion_small_betas": ("lion", "Lion", 0.1, {"beta_1": 0.5, "beta_2": 0.6}, {"_momentums": 0.0}),
    # beta_2 < beta_1: the momentum follows the last gradient, and at a flip the step keeps the momentum's sign, which
    # an interpolation by beta_2 (or by the new momentum) would not.
    "lion_fast_momentum": ("lion", "Lion", 0.1, {"beta_1": 0.9, "beta_2": 0.1}, {"_momentums": 0.0}),
    # The trust ratio ||theta|| / ||update|| of the one variable scales Adam-like steps.
    "lamb": ("lamb", "Lamb", 0.01, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}, {"_momentums": 0.0, "_velocities": 0.0}),
    "lamb_fast_moments": ("lamb", "Lamb", 0.05, {"beta_1": 0.5, "beta_2": 0.8, "epsilon": 1e-7}, {"_momentums": 0.0, "_velocities": 0.0}),
    # FTRL: Keras's defaults at a larger rate; every regularization and beta with the square-root power; a power of
    # -0.3 (the general power path) and of 0 (a fixed rate, accumulators from 0).
    "ftrl": ("ftrl", "Ftrl", 0.1, {"learning_rate_power": -0.5, "initial_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
                                    "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0},
             {"_accumulators": 0.1, "_linears": 0.0}),
    "ftrl_regularized": ("ftrl", "Ftrl", 0.5, {"learning_rate_power": -0.5, "initial_accumulator_value": 0.2, "l1_regularization_strength": 0.05,
                                                "l2_regularization_strength": 0.1, "l2_shrinkage_regularization_strength": 0.02, "beta": 0.3},
                         {"_accumulators": 0.2, "_linears": 0.0}),
    "ftrl_power": ("ftrl", "Ftrl", 0.2, {"learning_rate_power": -0.3, "initial_accumulator_value": 0.1, "l1_regularization_strength": 0.01,
                                          "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0},
                   {"_accumulators": 0.1, "_linears": 0.0}),
    "ftrl_fixed_rate": ("ftrl", "Ftrl", 0.05, {"learning_rate_power": 0.0, "initial_accumulator_value": 0.0, "l1_regularization_strength": 0.0,
                                                "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0},
                        {"_accumulators": 0.0, "_linears": 0.0}),
    # Adafactor on a vector (one second moment per element) and on a [2, 3] matrix (row and column moments); the
    # "clipped" cases take a threshold the update's RMS exceeds, a faster beta_2 decay and a larger epsilon_2.
    "adafactor": ("adafactor", "Adafactor", 0.1, {"beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 1e-3, "clip_threshold": 1.0,
                                                  "relative_step": True}, {"_r": 0.0, "_c": 0.0, "_v": 0.0}),
    "adafactor_matrix": ("adafactor", "Adafactor", 0.1, {"beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 1e-3, "clip_threshold": 1.0,
                                                         "relative_step": True, "shape": [2, 3]}, {"_r": 0.0, "_c": 0.0, "_v": 0.0}),
    "adafactor_clipped": ("adafactor", "Adafactor", 1.0, {"beta_2_decay": -0.5, "epsilon_1": 1e-30, "epsilon_2": 1e-2, "clip_threshold": 0.5,
                                                          "relative_step": True}, {"_r": 0.0, "_c": 0.0, "_v": 0.0}),
    "adafactor_matrix_clipped": ("adafactor", "Adafactor", 1.0, {"beta_2_decay": -0.5, "epsilon_1": 1e-30, "epsilon_2": 1e-2, "clip_threshold": 0.5,
                                                                 "relative_step": True, "shape": [2, 3]}, {"_r": 0.0, "_c": 0.0, "_v": 0.0}),
}
# Cases run with the flipping gradient.
FLIPPING = {"adadelta_flipping": "adadelta", "adamax_flipping": "adamax_fast_norm", "nadam_flipping": "nadam_large_rate",
            "lion_flipping": "lion_small_betas", "adagrad_flipping": "adagrad", "lion_fast_momentum_flipping": "lion_fast_momentum",
            "lamb_flipping": "lamb_fast_moments", "ftrl_flipping": "ftrl_regularized", "adafactor_matrix_flipping": "adafactor_matrix_clipped"}


def state(name, initial, shape):
    """A state variable as Keras builds it: Adafactor's r drops a matrix's last axis and c its second last (a vector gets
    scalar placeholders); everything else is shaped as the variable."""
    if name in ("_r", "_c") and len(shape) < 2:
        return np.array(initial)
    if name == "_r":
        return np.full(shape[:-1], initial)
    if name == "_c":
        return np.full(shape[:-2] + shape[-1:], initial)
    return np.full(shape, initial)


def run(root, case, steps):
    flipping = case in FLIPPING
    module, class_name, lr, hyper, variables = CASES[FLIPPING.get(case, case)]
    source, revision = read_source(root, f"keras/src/optimizers/{module}.py")
    found = methods(source, class_name, {"update_step", "_backend_update_step", "_rms"})
    hyper = dict(hyper)
    shape = tuple(hyper.pop("shape", [4]))
    opt = Fake(**hyper)
    opt._learning_rate = lr
    for name, initial in variables.items():
        setattr(opt, name, [state(name, initial, shape)])
    opt._u_product = np.array(1.0)
    if "_rms" in found:
        opt._rms = types.MethodType(found["_rms"], opt)
    update_step = types.MethodType(found["update_step"], opt)
    opt.update_step = update_step
    backend_step = types.MethodType(found.get("_backend_update_step", Fake._base_backend_update_step), opt)
    size = int(np.prod(shape))
    theta = np.array(THETA0 if size == 4 else THETA0_MATRIX).reshape(shape)
    for t in range(1, steps + 1):
        opt.iterations = t - 1
        backend_step([grad(t, flipping, size).reshape(shape)], [theta], lr)
    return theta.reshape(-1).tolist(), revision


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    golden = {"theta0": THETA0, "steps": STEPS, "cases": {}}
    for case in [*CASES, *FLIPPING]:
        module, class_name, lr, hyper, variables = CASES[FLIPPING.get(case, case)]
        results = {}
        for steps in STEPS:
            results[str(steps)], revision = run(root, case, steps)
        golden["generator"] = f"keras/src/optimizers at {revision}, NumPy {np.__version__}"
        golden["cases"][case] = {"class": class_name, "learning_rate": lr, **{k: v for k, v in hyper.items()},
                                 **({"theta0": THETA0_MATRIX} if "shape" in hyper else {}),
                                 "initial_state": variables,
                                 "gradient": "flipping" if case in FLIPPING else "base", "theta": results}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_keras_optimizers.json")
    with open(out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
