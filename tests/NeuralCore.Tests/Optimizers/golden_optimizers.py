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


def amsgrad(steps, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    theta = list(THETA0)
    m = [0.0] * 4
    v = [0.0] * 4
    vhat = [0.0] * 4
    for t in range(1, steps + 1):
        g = grad(t)
        alpha = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
        for i in range(4):
            m[i] += (g[i] - m[i]) * (1 - b1)
            v[i] += (g[i] * g[i] - v[i]) * (1 - b2)
            vhat[i] = max(vhat[i], v[i])
            theta[i] -= alpha * m[i] / (vhat[i] ** 0.5 + eps)
    return theta


def rmsprop(steps, lr=1e-3, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    """keras/src/optimizers/rmsprop.py (Keras 3)."""
    theta = list(THETA0)
    v = [0.0] * 4
    u = [0.0] * 4
    a = [0.0] * 4
    for t in range(1, steps + 1):
        g = grad(t)
        for i in range(4):
            v[i] = rho * v[i] + (1 - rho) * g[i] * g[i]
            if centered:
                a[i] = rho * a[i] + (1 - rho) * g[i]
                d = v[i] - a[i] * a[i] + eps
            else:
                d = v[i] + eps
            inc = lr * g[i] / d ** 0.5
            if momentum > 0:
                u[i] = momentum * u[i] + inc
                theta[i] -= u[i]
            else:
                theta[i] -= inc
    return theta


def sgd_with(steps, lr=0.01, weight_decay=0.0, clipnorm=0.0, clipvalue=0.0, decay_mask=(1, 1, 1, 1)):
    """Keras 3's base optimizer around plain SGD: clip the gradient (clipnorm over the whole variable, or clipvalue per
    element), then weight decay variable -= variable * wd * lr (for the variables it applies to), then the update."""
    theta = list(THETA0)
    for t in range(1, steps + 1):
        g = grad(t)
        if clipnorm:
            norm = sum(x * x for x in g) ** 0.5
            g = [x * clipnorm / max(norm, clipnorm) for x in g]
        if clipvalue:
            g = [min(max(x, -clipvalue), clipvalue) for x in g]
        for i in range(4):
            if weight_decay and decay_mask[i]:
                theta[i] -= theta[i] * weight_decay * lr
            theta[i] -= lr * g[i]
    return theta


def show(name, values):
    print(f"{name}: [" + ", ".join(f"{x:.9g}" for x in values) + "]")


for steps in (1, 2, 5):
    show(f"adam lr=1e-3 steps={steps}", adam(steps))
show("adam lr=0.1 steps=5", adam(5, lr=0.1))
show("sgd lr=0.01 steps=5", sgd(5))
show("sgd lr=0.01 momentum=0.9 steps=5", sgd(5, momentum=0.9))
show("sgd lr=0.01 momentum=0.9 nesterov steps=5", sgd(5, momentum=0.9, nesterov=True))
show("adam lr=0.1 beta_2=0.5 steps=5", adam(5, lr=0.1, b2=0.5))
show("amsgrad lr=0.1 beta_2=0.5 steps=5", amsgrad(5, lr=0.1, b2=0.5))
show("rmsprop steps=5", rmsprop(5))
show("rmsprop momentum=0.9 centered steps=5", rmsprop(5, momentum=0.9, centered=True))
show("sgd lr=0.1 weight_decay=0.5 steps=5", sgd_with(5, lr=0.1, weight_decay=0.5))
show("sgd lr=0.1 weight_decay=0.5 on the first two only steps=5", sgd_with(5, lr=0.1, weight_decay=0.5, decay_mask=(1, 1, 0, 0)))
show("sgd lr=0.1 clipnorm=0.5 steps=5", sgd_with(5, lr=0.1, clipnorm=0.5))
show("sgd lr=0.1 clipvalue=0.2 steps=5", sgd_with(5, lr=0.1, clipvalue=0.2))
