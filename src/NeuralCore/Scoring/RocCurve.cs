namespace NeuralCore.Scoring;

/// <summary>
/// A receiver operating characteristic curve of one binary decision, as scikit-learn's <c>roc_curve</c>: for each
/// distinct score taken as a threshold, from the highest down, the false positive rate <c>FP/N</c> and the true positive
/// rate <c>TP/P</c> of the rule "positive when score ≥ threshold". The curve starts at (0, 0) with an infinite
/// threshold and ends at (1, 1). The area under it (<see cref="Auc"/>) is the probability that a random positive
/// scores above a random negative, ties counting one half.
/// </summary>
public sealed class RocCurve
{
    private readonly double[] _fpr;
    private readonly double[] _tpr;
    private readonly float[] _thresholds;

    private RocCurve(double[] fpr, double[] tpr, float[] thresholds, long positives, long negatives)
    {
        _fpr = fpr;
        _tpr = tpr;
        _thresholds = thresholds;
        Positives = positives;
        Negatives = negatives;
        Auc = Area(fpr, tpr);
    }

    /// <summary>The false positive rates, non-decreasing from 0 to 1.</summary>
    public IReadOnlyList<double> FalsePositiveRates => _fpr;

    /// <summary>The true positive rates, non-decreasing from 0 to 1, one per false positive rate.</summary>
    public IReadOnlyList<double> TruePositiveRates => _tpr;

    /// <summary>
    /// The threshold of each point, decreasing: the first is <see cref="float.PositiveInfinity"/> (nothing predicted
    /// positive). An averaged curve (<see cref="MulticlassRoc.Macro"/>) has no thresholds: every entry is NaN.
    /// </summary>
    public IReadOnlyList<float> Thresholds => _thresholds;

    /// <summary>The area under the curve by the trapezoidal rule, in [0, 1].</summary>
    public double Auc { get; }

    /// <summary>The number of positive samples (0 for an averaged curve).</summary>
    public long Positives { get; }

    /// <summary>The number of negative samples (0 for an averaged curve).</summary>
    public long Negatives { get; }

    /// <summary>
    /// Computes the curve of <paramref name="scores"/> (higher means more likely positive) against the truth.
    /// </summary>
    /// <param name="scores">One score per sample: a probability, a logit, any value ordered like them.</param>
    /// <param name="positive">Whether each sample is positive; as many as <paramref name="scores"/>.</param>
    /// <param name="dropIntermediate">
    /// Whether to drop the points that lie on a straight horizontal or vertical run between their neighbours, as
    /// scikit-learn's default (<c>drop_intermediate=True</c>); the shape and the area do not change.
    /// </param>
    /// <returns>The curve.</returns>
    /// <exception cref="ArgumentException">
    /// The lengths differ, a score is NaN, or the samples hold no positive or no negative (the curve is then undefined).
    /// </exception>
    public static RocCurve Compute(ReadOnlySpan<float> scores, ReadOnlySpan<bool> positive, bool dropIntermediate = true)
    {
        if (scores.Length != positive.Length)
        {
            throw new ArgumentException($"scores holds {scores.Length} values but positive holds {positive.Length}.", nameof(positive));
        }

        float[] keys = new float[scores.Length];
        bool[] truth = positive.ToArray();
        long positives = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (float.IsNaN(scores[i]))
            {
                throw new ArgumentException($"scores[{i}] is NaN: a ROC curve needs ordered scores.", nameof(scores));
            }

            // Negated so that an ascending sort puts the highest score first.
            keys[i] = -scores[i];
            positives += truth[i] ? 1 : 0;
        }

        long negatives = scores.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            throw new ArgumentException(
                $"The {scores.Length} samples hold {positives} positive(s) and {negatives} negative(s): a ROC curve needs both.", nameof(positive));
        }

        Array.Sort(keys, truth);
        var fps = new List<long>(Math.Min(keys.Length, 4096) + 1) { 0 };
        var tps = new List<long>(fps.Capacity) { 0 };
        var thresholds = new List<float>(fps.Capacity) { float.PositiveInfinity };
        long tp = 0, fp = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            tp += truth[i] ? 1 : 0;
            fp += truth[i] ? 0 : 1;
            // One point per distinct score: equal scores cross the threshold together.
            if (i + 1 == keys.Length || keys[i + 1] != keys[i])
            {
                fps.Add(fp);
                tps.Add(tp);
                thresholds.Add(-keys[i]);
            }
        }

        var keep = new List<int>(fps.Count);
        for (int i = 0; i < fps.Count; i++)
        {
            // As scikit-learn, the start point (0, 0) takes no part: the first point after it is always kept.
            bool interior = i > 1 && i + 1 < fps.Count;
            bool collinear = interior
                && fps[i + 1] - (2 * fps[i]) + fps[i - 1] == 0
                && tps[i + 1] - (2 * tps[i]) + tps[i - 1] == 0;
            if (!dropIntermediate || !collinear)
            {
                keep.Add(i);
            }
        }

        return new RocCurve(
            [.. keep.Select(i => (double)fps[i] / negatives)],
            [.. keep.Select(i => (double)tps[i] / positives)],
            [.. keep.Select(i => thresholds[i])],
            positives,
            negatives);
    }

    /// <summary>An averaged curve with no thresholds (<see cref="MulticlassRoc.Macro"/>).</summary>
    internal static RocCurve Averaged(double[] fpr, double[] tpr) =>
        new(fpr, tpr, [.. fpr.Select(_ => float.NaN)], 0, 0);

    /// <summary>
    /// The true positive rate at <paramref name="fpr"/>, interpolated linearly between the curve's points; on a
    /// vertical run (several points at that rate) the highest, as NumPy's <c>interp</c> gives.
    /// </summary>
    /// <param name="fpr">A false positive rate in [0, 1].</param>
    /// <returns>The true positive rate.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fpr"/> is outside [0, 1].</exception>
    public double TruePositiveRateAt(double fpr)
    {
        if (!(fpr >= 0 && fpr <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fpr), fpr, "Expected a false positive rate in [0, 1].");
        }

        // The last point at or left of fpr, then a straight line to the next one.
        int hi = _fpr.Length - 1;
        int lo = 0;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (_fpr[mid] <= fpr)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        if (lo + 1 >= _fpr.Length || _fpr[lo] == fpr)
        {
            return _tpr[lo];
        }

        double t = (fpr - _fpr[lo]) / (_fpr[lo + 1] - _fpr[lo]);
        return _tpr[lo] + (t * (_tpr[lo + 1] - _tpr[lo]));
    }

    private static double Area(double[] x, double[] y)
    {
        double area = 0;
        for (int i = 1; i < x.Length; i++)
        {
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
        }

        return area;
    }
}
