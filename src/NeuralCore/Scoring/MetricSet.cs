using System.Globalization;
using System.Runtime.CompilerServices;
using NeuralCore.Losses;

namespace NeuralCore.Scoring;

/// <summary>
/// Accumulates named metrics over many batches (an epoch, an evaluation): <c>accuracy</c> from counts (also under
/// Keras's name for its kind: <c>binary_accuracy</c>, <c>categorical_accuracy</c>, <c>sparse_categorical_accuracy</c>), and the
/// regression metrics <c>mae</c>, <c>mse</c>, <c>rmse</c> and <c>r2</c> (Keras's <c>R2Score</c>, averaged over outputs)
/// from predictions and targets. Where Keras's R² is undefined this follows scikit-learn's <c>r2_score</c>: an output
/// whose targets are constant scores 1 when predicted exactly (Keras: NaN) and 0 otherwise (as Keras), and fewer than
/// two samples give NaN, which monitoring callbacks count as no improvement. The metrics named after a loss
/// (<c>mape</c>, <c>msle</c>, <c>log_cosh</c>, <c>poisson</c>, <c>kl_divergence</c>, <c>hinge</c>, <c>squared_hinge</c>,
/// <c>categorical_hinge</c>; <c>cosine_similarity</c> with the opposite sign, the similarity) are that loss's unweighted
/// mean over the samples, computed on the predictions. <c>precision</c> and <c>recall</c> are Keras's
/// <c>Precision()</c> and <c>Recall()</c>: every output of every sample a binary decision, positive where the prediction
/// is above 0.5 and true where the target is not 0 (a class label as its one-hot row), with 0 where nothing was
/// predicted positive or nothing is positive. <c>auc</c> is Keras's <c>AUC()</c>: the ROC curve of the same binary
/// decisions at Keras's 200 thresholds (−1e-7, i/199 for i = 1..198, 1 + 1e-7; predictions clipped to [0, 1], each in
/// bucket <c>max(0, ⌈199·p⌉ − 1)</c> as Keras computes it in float32; a NaN prediction left out, as TensorFlow and JAX
/// drop it), its area summed by trapezoids; counts are exact
/// integers and the area is summed in double, where Keras keeps float32 counts. Allocates when created, and for the
/// loss metrics on class labels a buffer of their values when a batch is larger than any before (so once per Fit or Evaluate).
/// </summary>
internal sealed class MetricSet
{
    /// <summary>The metric names a model accepts.</summary>
    public static readonly string[] Known =
    [
        "accuracy", "mae", "mse", "rmse", "r2", "mape", "msle", "log_cosh", "poisson", "kl_divergence", "cosine_similarity", "hinge",
        "squared_hinge", "categorical_hinge", "auc", "precision", "recall", "binary_accuracy", "categorical_accuracy",
        "sparse_categorical_accuracy",
    ];

    /// <summary>
    /// Whether <paramref name="name"/> is the model's accuracy: <c>accuracy</c>, or one of Keras's names for the kind
    /// it is (<c>binary_accuracy</c>, <c>categorical_accuracy</c>, <c>sparse_categorical_accuracy</c>), which
    /// <see cref="CheckAccuracyKind"/> accepts only where the model's accuracy is that kind.
    /// </summary>
    public static bool IsAccuracy(string name) => Array.IndexOf(AccuracyNames, name) >= 0;

    private static readonly string[] AccuracyNames = ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy"];

    /// <summary>
    /// Refuses a Keras accuracy name that is not the kind of accuracy the model counts (<see cref="Metrics.AccuracyFor"/>):
    /// every accuracy name reads the one count, so <c>binary_accuracy</c> of a categorical model would report its
    /// categorical accuracy under Keras's binary name.
    /// </summary>
    /// <exception cref="ArgumentException">A name asks for the other kind.</exception>
    public static void CheckAccuracyKind(IReadOnlyList<string> names, ILoss loss, int outputs, string paramName)
    {
        AccuracyKind kind = Metrics.AccuracyFor(loss, outputs);
        foreach (string name in names)
        {
            bool binaryName = name == "binary_accuracy";
            bool categoricalName = name is "categorical_accuracy" or "sparse_categorical_accuracy";
            if ((binaryName && kind != AccuracyKind.Binary) || (categoricalName && kind != AccuracyKind.Categorical))
            {
                string counted = kind == AccuracyKind.Binary
                    ? "binary (each output above the threshold or not)"
                    : "categorical (the argmax of each sample's outputs)";
                string instead = kind == AccuracyKind.Binary ? "'binary_accuracy'" : "'categorical_accuracy'";
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"The metric '{name}' is not this model's accuracy: with the loss {loss.Name} over {outputs} output(s) it is {counted}. Use 'accuracy' or {instead}."),
                    paramName);
            }
        }
    }

    /// <summary>
    /// The model's accuracy in <paramref name="values"/> (under <c>accuracy</c> or a Keras name for it, the first of
    /// <c>accuracy</c>, <c>binary_accuracy</c>, <c>categorical_accuracy</c>, <c>sparse_categorical_accuracy</c> found),
    /// or NaN where none is there.
    /// </summary>
    /// <param name="values">An epoch's or an evaluation's values by name (<see cref="Training.EpochMetrics.Values"/>).</param>
    /// <param name="prefix">Put before each name: <c>"val_"</c> for the validation accuracy among an epoch's values.</param>
    /// <returns>The accuracy, or NaN.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> or <paramref name="prefix"/> is null.</exception>
    public static double AccuracyOf(IReadOnlyDictionary<string, double> values, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(prefix);
        foreach (string name in AccuracyNames)
        {
            if (values.TryGetValue(prefix + name, out double value))
            {
                return value;
            }
        }

        return double.NaN;
    }

    /// <summary>Keras's <c>AUC()</c> default <c>num_thresholds</c>.</summary>
    internal const int AucThresholds = 200;

    // The metrics that are a loss's mean over the samples (Keras's metric of the same name), with the sign they are
    // reported with: cosine_similarity is the similarity itself, the loss its negative.
    private static (ILoss Loss, double Sign)? LossMetric(string name) => name switch
    {
        "mape" => (new MeanAbsolutePercentageError(Reduction.Sum), 1),
        "msle" => (new MeanSquaredLogarithmicError(Reduction.Sum), 1),
        "log_cosh" => (new LogCosh(Reduction.Sum), 1),
        "poisson" => (new Poisson(Reduction.Sum), 1),
        "kl_divergence" => (new KLDivergence(Reduction.Sum), 1),
        "cosine_similarity" => (new CosineSimilarity(Reduction.Sum), -1),
        "hinge" => (new Hinge(Reduction.Sum), 1),
        "squared_hinge" => (new SquaredHinge(Reduction.Sum), 1),
        "categorical_hinge" => (new CategoricalHinge(Reduction.Sum), 1),
        _ => null,
    };

    private readonly (ILoss Loss, double Sign)?[] _lossMetrics;
    private readonly double[] _lossSums;

    // Labels as the values the losses read (one-hot rows, or the label itself for one output, as mae reads them), grown
    // to the largest batch: a custom loss's labels beyond a built-in loss's range (ratings 0-4 on one output) made
    // the metric's loss refuse them mid-Fit.
    private float[] _labelValues = [];
    private readonly bool _hasLossMetrics;

    private readonly int _outputs;
    // Each output's target mean and sum of squared deviations from it (for R²), merged batch by batch (Chan et al.):
    // Σt² - n·mean² cancelled to noise for targets that barely vary (constant 0.1 gave R² = -2.7e16, not 0).
    private readonly double[] _targetMean;
    private readonly double[] _targetDeviations;
    private readonly double[] _squaredErrors;
    private readonly bool _countsR2;
    private long _correct;
    private long _judged;
    private double _absolute;
    private long _count;

    // Keras's Precision and Recall at 0.5, and AUC's positives and negatives per bucket of the prediction.
    private readonly bool _countsDecisions;
    private readonly bool _countsBuckets;
    private long _truePositives;
    private long _falsePositives;
    private long _falseNegatives;
    private readonly long[] _positiveBuckets = new long[AucThresholds];
    private readonly long[] _negativeBuckets = new long[AucThresholds];

    public MetricSet(IReadOnlyList<string> names, int outputs)
    {
        Names = names;
        _outputs = outputs;
        NeedsPredictions = names.Any(n => !IsAccuracy(n));
        _targetMean = new double[outputs];
        _targetDeviations = new double[outputs];
        _countsR2 = names.Contains("r2");
        _squaredErrors = new double[outputs];
        _lossMetrics = [.. names.Select(LossMetric)];
        _hasLossMetrics = Array.Exists(_lossMetrics, m => m is not null);
        _lossSums = new double[names.Count];
        _countsDecisions = names.Contains("precision") || names.Contains("recall");
        _countsBuckets = names.Contains("auc");
    }

    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether a metric other than accuracy is measured (they need predictions and targets).</summary>
    public bool NeedsPredictions { get; }

    /// <summary>The metrics a model measures: the ones it was compiled with, or by default <c>mae</c> for a regression loss on real-valued targets and <c>accuracy</c> otherwise.</summary>
    public static IReadOnlyList<string> Resolve(IReadOnlyList<string>? compiled, ILoss loss, bool labels) =>
        compiled ?? (loss.Task == LossTask.Regression && !labels ? ["mae"] : ["accuracy"]);

    /// <summary>Checks metric names, naming an unknown one.</summary>
    public static void Validate(IReadOnlyList<string> names, string paramName)
    {
        foreach (string name in names)
        {
            if (Array.IndexOf(Known, name) < 0)
            {
                throw new ArgumentException(
                    $"Unknown metric '{name}': expected one of {string.Join(", ", Known)}.", paramName);
            }
        }
    }

    public void Reset()
    {
        _correct = _judged = _count = 0;
        _absolute = 0;
        Array.Clear(_targetMean);
        Array.Clear(_targetDeviations);
        Array.Clear(_squaredErrors);
        Array.Clear(_lossSums);
        _truePositives = _falsePositives = _falseNegatives = 0;
        Array.Clear(_positiveBuckets);
        Array.Clear(_negativeBuckets);
    }

    public void AddAccuracy(int correct, int judged)
    {
        _correct += correct;
        _judged += judged;
    }

    /// <summary>Adds a batch of predictions against its targets (labels read as one-hot rows, or as 0/1 for one output).</summary>
    public void AddPredictions(ReadOnlySpan<float> predictions, LossTargets targets, int batch)
    {
        int outputs = _outputs;
        for (int r = 0; r < batch; r++)
        {
            for (int j = 0; j < outputs; j++)
            {
                double e = predictions[(r * outputs) + j] - Target(targets, r, j);
                _absolute += Math.Abs(e);
                _squaredErrors[j] += e * e;
            }
        }

        if (_countsR2)
        {
            AddTargetSpread(targets, batch);
        }

        if (_countsDecisions || _countsBuckets)
        {
            AddDecisions(predictions, targets, batch);
        }

        // Unweighted, as Keras's metrics without sample weights.
        if (_hasLossMetrics)
        {
            ReadOnlySpan<float> values = targets.Values;
            if (targets.HasLabels)
            {
                if (_labelValues.Length < batch * outputs)
                {
                    _labelValues = new float[batch * outputs];
                }

                for (int r = 0; r < batch; r++)
                {
                    for (int j = 0; j < outputs; j++)
                    {
                        _labelValues[(r * outputs) + j] = Loss.LabelTarget(targets.Labels[r], j, outputs);
                    }
                }

                values = _labelValues.AsSpan(0, batch * outputs);
            }

            for (int i = 0; i < _lossMetrics.Length; i++)
            {
                if (_lossMetrics[i] is { } metric)
                {
                    _lossSums[i] += metric.Loss.Sum(predictions, LossTargets.FromValues(values), batch, outputs);
                }
            }
        }

        _count += batch;
    }

    // Every output of every sample as a binary decision (Keras's confusion metrics without multi_label): true where the
    // target is not 0, positive above 0.5, and its AUC bucket, the thresholds it is above less one.
    private void AddDecisions(ReadOnlySpan<float> predictions, LossTargets targets, int batch)
    {
        int outputs = _outputs;
        for (int r = 0; r < batch; r++)
        {
            for (int j = 0; j < outputs; j++)
            {
                bool positive = targets.HasLabels ? Loss.LabelTarget(targets.Labels[r], j, outputs) != 0 : targets.Values[(r * outputs) + j] != 0;
                float p = predictions[(r * outputs) + j];
                if (p > 0.5f && positive)
                {
                    _truePositives++;
                }
                else if (p > 0.5f)
                {
                    _falsePositives++;
                }
                else if (positive)
                {
                    _falseNegatives++;
                }

                // Keras: clip to [0, 1], then ceil(p·199) - 1 in float32, at least 0. A NaN is left out of the curve, as
                // TensorFlow's and JAX's segment sums drop its index.
                if (_countsBuckets && !float.IsNaN(p))
                {
                    int bucket = Math.Max(0, (int)MathF.Ceiling(Math.Clamp(p, 0f, 1f) * (AucThresholds - 1)) - 1);
                    (positive ? _positiveBuckets : _negativeBuckets)[bucket]++;
                }
            }
        }
    }

    // Keras's AUC(curve="ROC", summation_method="interpolation"): at threshold i the decisions in buckets i and above
    // are positive; recall and the false positive rate are 0 where their denominators are (divide_no_nan).
    private double Auc()
    {
        long positives = 0, negatives = 0;
        for (int b = 0; b < AucThresholds; b++)
        {
            positives += _positiveBuckets[b];
            negatives += _negativeBuckets[b];
        }

        double area = 0, previousRecall = 0, previousRate = 0;
        long truePositives = 0, falsePositives = 0;
        // From the highest threshold down: bucket i's counts join at threshold i.
        for (int i = AucThresholds - 1; i >= 0; i--)
        {
            truePositives += _positiveBuckets[i];
            falsePositives += _negativeBuckets[i];
            double recall = positives == 0 ? 0 : (double)truePositives / positives;
            double rate = negatives == 0 ? 0 : (double)falsePositives / negatives;
            if (i < AucThresholds - 1)
            {
                area += (rate - previousRate) * (recall + previousRecall) / 2;
            }

            (previousRecall, previousRate) = (recall, rate);
        }

        return area;
    }

    /// <summary>Writes each metric's value under <paramref name="prefix"/> + its name (NaN when nothing was measured).</summary>
    public void WriteTo(IDictionary<string, double> values, string prefix)
    {
        double n = _count * (double)_outputs;
        double squared = _squaredErrors.Sum();
        for (int i = 0; i < Names.Count; i++)
        {
            string name = Names[i];
            if (_lossMetrics[i] is { } metric)
            {
                values[prefix + name] = _count == 0 ? double.NaN : metric.Sign * _lossSums[i] / _count;
                continue;
            }

            values[prefix + name] = name switch
            {
                _ when IsAccuracy(name) => _judged == 0 ? double.NaN : (double)_correct / _judged,
                "mae" => n == 0 ? double.NaN : _absolute / n,
                "mse" => n == 0 ? double.NaN : squared / n,
                "rmse" => n == 0 ? double.NaN : Math.Sqrt(squared / n),
                "r2" => R2(),
                "auc" => _count == 0 ? double.NaN : Auc(),
                "precision" => _count == 0 ? double.NaN : _truePositives + _falsePositives == 0 ? 0 : (double)_truePositives / (_truePositives + _falsePositives),
                "recall" => _count == 0 ? double.NaN : _truePositives + _falseNegatives == 0 ? 0 : (double)_truePositives / (_truePositives + _falseNegatives),
                _ => throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Unknown metric {name}.")),
            };
        }
    }

    // Merges the batch's target mean and squared deviations per output into the running ones: the batch's own in two
    // passes (its mean, then the deviations from it), then Chan's pairwise update, exact for constant targets.
    private void AddTargetSpread(LossTargets targets, int batch)
    {
        if (batch == 0)
        {
            return;
        }

        int outputs = _outputs;
        double seen = _count, total = _count + (double)batch;
        for (int j = 0; j < outputs; j++)
        {
            double sum = 0;
            for (int r = 0; r < batch; r++)
            {
                sum += Target(targets, r, j);
            }

            double mean = sum / batch, deviations = 0;
            for (int r = 0; r < batch; r++)
            {
                double d = Target(targets, r, j) - mean;
                deviations += d * d;
            }

            double delta = mean - _targetMean[j];
            _targetMean[j] += delta * batch / total;
            _targetDeviations[j] += deviations + (delta * delta * seen * batch / total);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double Target(in LossTargets targets, int row, int output) =>
        targets.HasLabels ? Loss.LabelTarget(targets.Labels[row], output, _outputs) : targets.Values[(row * _outputs) + output];

    // Keras's R2Score with uniform averaging: 1 - SSE_j / SST_j per output, then the mean over outputs; constant targets
    // as scikit-learn's r2_score (1 when exact, else 0).
    private double R2()
    {
        if (_count < 2)
        {
            return double.NaN;
        }

        double total = 0;
        for (int j = 0; j < _outputs; j++)
        {
            double sst = _targetDeviations[j];
            total += sst > 0 ? 1 - (_squaredErrors[j] / sst) : (_squaredErrors[j] == 0 ? 1 : 0);
        }

        return total / _outputs;
    }
}
