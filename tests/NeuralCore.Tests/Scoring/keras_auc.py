"""The values ConfusionMetricsTests.Auc_places_predictions_on_kerass_thresholds_as_keras_does expects: Keras 3's
AUC() (200 thresholds, ROC, interpolation; metrics_utils._update_confusion_matrix_variables_optimized and
AUC.result in keras/src/metrics) transcribed in numpy float32, on predictions exactly on the thresholds (k/199 in
float32), beyond [0, 1], and on targets that are real values (true where not 0)."""
import numpy as np

ks = [0, 1, 1, 2, 3, 3, 50, 51, 51, 99, 100, 100, 101, 150, 151, 151, 197, 198, 198, 199, 199]
targets = [0, 1, 0, 0.3, 0, -1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0]
predictions = np.array([np.float32(k) / np.float32(199) for k in ks] + [-0.25, 1.25, 0.5, np.nextafter(np.float32(0.5), 1)], np.float32)
y_true = np.array(targets, np.float32)


def keras_auc(y_true, y_pred, n=200):
    y_pred = np.clip(y_pred, np.float32(0), np.float32(1))
    t = (y_true != 0).astype(np.float32)
    bucket = np.maximum(np.ceil(y_pred * (np.float32(n) - np.float32(1))) - np.float32(1), 0).astype(np.int32)
    tp = np.cumsum(np.bincount(bucket, weights=t, minlength=n)[::-1])[::-1].astype(np.float32)
    fp = np.cumsum(np.bincount(bucket, weights=1 - t, minlength=n)[::-1])[::-1].astype(np.float32)
    fn, tn = np.float32(t.sum()) - tp, np.float32((1 - t).sum()) - fp

    def divide_no_nan(a, b):
        return np.where(b == 0, np.float32(0), a / np.where(b == 0, 1, b)).astype(np.float32)

    recall, fp_rate = divide_no_nan(tp, tp + fn), divide_no_nan(fp, fp + tn)
    return float(np.sum((fp_rate[:-1] - fp_rate[1:]) * ((recall[:-1] + recall[1:]) / np.float32(2)), dtype=np.float32))


print("auc:", repr(keras_auc(y_true, predictions)))
