#!/usr/bin/env python3
"""Golden values for OptimizerTests.cs, computed in float64 from the update rules of Keras 3
(keras/src/optimizers/adam.py and sgd.py), written out here without Keras so anyone can rerun it:

    python3 golden_optimizers.py

Problem: parameters theta0 = [0.5, -1.5, 2.0, 0.0]; at step t (1-based) the gradient is
g_t = [0.1*t, -0.3, 1.0/t, -0.05*t*t].
"""

THETA0 = [0.5, -1.5, 2.0, 0.0]


def grad(t):
    return [0.1 * t, -0.3, 1.0 / t, -0.05 * t * t]


def adam(steps, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    theta = list(THETA0)
    m = [0.0] * 4
    v = [0.0] * 4
    for t in range(1, steps + 1):
        g = grad(t)
        alpha = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
        for i in range(4):
            m[i] += (g[i] - m[i]) * (1 - b1)
            v[i] += (g[i] * g[i] - v[i]) * (1 - b2)
            theta[i] -= alpha * m[i] / (v[i] ** 0.5 + eps)
    return theta


def sgd(steps, lr=0.01, momentum=0.0, nesterov=False):
    theta = list(THETA0)
    u = [0.0] * 4
    for t in range(1, steps + 1):
        g = grad(t)
        for i in range(4):
            if momentum == 0:
                theta[i] -= lr * g[i]
            else:
                u[i] = momentum * u[i] - lr * g[i]
                theta[i] += momentum * u[i] - lr * g[i] if nesterov else u[i]
    return theta


def show(name, values):
    print(f"{name}: [" + ", ".join(f"{x:.9g}" for x in values) + "]")


for steps in (1, 2, 5):
    show(f"adam lr=1e-3 steps={steps}", adam(steps))
show("adam lr=0.1 steps=5", adam(5, lr=0.1))
show("sgd lr=0.01 steps=5", sgd(5))
show("sgd lr=0.01 momentum=0.9 steps=5", sgd(5, momentum=0.9))
show("sgd lr=0.01 momentum=0.9 nesterov steps=5", sgd(5, momentum=0.9, nesterov=True))
