"""Golden values for LossGoldenTests, from the formulas Keras 3 documents and implements
(keras/src/losses/losses.py and keras/src/backend/*/nn.py), written out in float64 with numpy.

Run: python3 golden_losses.py  (prints the values pasted into LossGoldenTests.cs)
"""
import numpy as np

np.set_printoptions(precision=17)

EPS = 1e-7  # keras.backend.epsilon()


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def categorical_crossentropy(t, o, from_logits, label_smoothing=0.0):
    c = t.shape[-1]
    t = t * (1 - label_smoothing) + label_smoothing / c
    if from_logits:
        return -(t * np.log(softmax(o))).sum(axis=-1)  # log-softmax, what softmax_cross_entropy_with_logits computes
    p = o / o.sum(axis=-1, keepdims=True)
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p)).sum(axis=-1)


def binary_crossentropy(t, o, from_logits, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        per = np.maximum(o, 0) - o * t + np.log1p(np.exp(-np.abs(o)))
    else:
        p = np.clip(o, EPS, 1 - EPS)
        per = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return per.mean(axis=-1)


def mse(t, o):
    return ((o - t) ** 2).mean(axis=-1)


def mae(t, o):
    return np.abs(o - t).mean(axis=-1)


def huber(t, o, delta=1.0):
    e = o - t
    a = np.abs(e)
    return np.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta).mean(axis=-1)


def log_cosh(t, o):
    x = o - t
    return (x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0)).mean(axis=-1)  # Keras: x + softplus(-2x) - log(2)


def reduce(values, weights, reduction):
    w = values * weights
    return {"sum_over_batch_size": w.sum() / len(values), "sum": w.sum()}[reduction]


logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, -3.0]])
probs = softmax(logits)
onehot = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
soft = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
weights = np.array([2.0, 0.5])

print("cce logits, one-hot           ", categorical_crossentropy(onehot, logits, True))
print("cce logits, smoothing 0.1     ", categorical_crossentropy(onehot, logits, True, 0.1))
print("cce probabilities, soft       ", categorical_crossentropy(soft, probs, False))
print("cce logits weighted mean, sum ", reduce(categorical_crossentropy(onehot, logits, True), weights, "sum_over_batch_size"),
      reduce(categorical_crossentropy(onehot, logits, True), weights, "sum"))

b_logits = np.array([[1.5, -0.3], [-2.0, 4.0]])
b_targets = np.array([[1.0, 0.0], [0.0, 1.0]])
print("bce logits                    ", binary_crossentropy(b_targets, b_logits, True))
print("bce logits, smoothing 0.2     ", binary_crossentropy(b_targets, b_logits, True, 0.2))
b_probs = np.array([[0.9, 0.2], [0.0, 1.0]])  # 0 and 1 hit the clip
print("bce probabilities (clipped)   ", binary_crossentropy(b_targets, b_probs, False))

r_out = np.array([[1.0, 2.0], [3.0, -1.0]])
r_t = np.array([[1.5, 2.0], [0.0, 1.0]])
print("mse                           ", mse(r_t, r_out))
print("mae                           ", mae(r_t, r_out))
print("huber, delta 1 and 0.25       ", huber(r_t, r_out), huber(r_t, r_out, 0.25))
print("log_cosh                      ", log_cosh(r_t, r_out))
print("log_cosh gradient of each sample's loss", np.tanh(r_out - r_t) / r_out.shape[-1])
