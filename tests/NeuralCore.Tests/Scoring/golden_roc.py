#!/usr/bin/python3
"""Golden ROC, AUC, classification-report and top-k values from scikit-learn (Debian's python3-sklearn), an
implementation independent of NeuralCore's. Writes golden_roc.json beside this script; the tests read only that file.

    /usr/bin/python3 tests/NeuralCore.Tests/Scoring/golden_roc.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import classification_report, roc_auc_score, roc_curve, top_k_accuracy_score

rng = np.random.RandomState(7)
count, classes = 300, 4
labels = rng.randint(0, classes, size=count)
logits = rng.normal(size=(count, classes)).astype(np.float32)
logits[np.arange(count), labels] += 1.5  # an informative but imperfect classifier
# Rounded to two decimals so that many scores tie, which exercises the grouping of equal thresholds.
scores = np.round(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 2).astype(np.float32)
onehot = np.eye(classes)[labels]

per_class = []
for c in range(classes):
    fpr, tpr, thr = roc_curve(labels == c, scores[:, c])
    per_class.append({"fpr": fpr.tolist(), "tpr": tpr.tolist(),
                      "thresholds": thr[1:].astype(float).tolist(),  # the first is max+1 or inf by version
                      "auc": roc_auc_score(labels == c, scores[:, c])})
fpr_micro, tpr_micro, _ = roc_curve(onehot.ravel(), scores.ravel())
# The macro-average curve as scikit-learn's multi-class ROC example draws it: every class's TPR interpolated (np.interp)
# at each FPR of the union of the class curves, averaged.
all_fpr = np.unique(np.concatenate([np.array(c["fpr"]) for c in per_class]))
mean_tpr = np.mean([np.interp(all_fpr, c["fpr"], c["tpr"]) for c in per_class], axis=0)
# scikit-learn 1.2's example: the same interpolation on 1,000 evenly spaced rates, whose area approaches the mean AUC.
fpr_grid = np.linspace(0.0, 1.0, 1000)
grid_tpr = np.mean([np.interp(fpr_grid, c["fpr"], c["tpr"]) for c in per_class], axis=0)
predicted = scores.argmax(axis=1)
golden = {
    "generator": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}",
    "count": count,
    "classes": classes,
    "labels": labels.tolist(),
    "scores": scores.ravel().astype(float).tolist(),
    "per_class": per_class,
    "micro_auc": roc_auc_score(onehot, scores, average="micro"),
    "macro_auc": roc_auc_score(onehot, scores, average="macro"),  # one-vs-rest on one-hot labels
    "macro_fpr": all_fpr.tolist(),
    "macro_tpr": mean_tpr.tolist(),
    "macro_curve_auc": float(np.trapz(mean_tpr, all_fpr)),
    "macro_grid_tpr": grid_tpr.tolist(),
    "macro_grid_auc": float(np.trapz(grid_tpr, fpr_grid)),
    "micro_fpr": fpr_micro.tolist(),
    "micro_tpr": tpr_micro.tolist(),
    "predicted": predicted.tolist(),
    "report": classification_report(labels, predicted, zero_division=0, digits=4),
    # scikit-learn breaks ties by class order; Keras counts every tied class as in the top k. The data rounded to two
    # decimals have ties, so top-k is compared on the unrounded scores, which have none.
    "logits": logits.ravel().astype(float).tolist(),
    "top2": top_k_accuracy_score(labels, logits, k=2),
    "top3": top_k_accuracy_score(labels, logits, k=3),
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_roc.json"), "w") as f:
    json.dump(golden, f, indent=None)
    f.write("\n")
