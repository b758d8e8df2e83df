using System.Runtime.CompilerServices;

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
    private const ulong SignBit = 0x8000_0000_0000_0000UL;

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
    /// The threshold of each point, decreasing (non-increasing where double-precision scores round to the same float): the first is <see cref="float.PositiveInfinity"/> (nothing predicted
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
        Check.SameLength(positive.Length, scores.Length, nameof(positive), nameof(scores));

        double[] wide = new double[scores.Length];
        for (int i = 0; i < scores.Length; i++)
        {
            wide[i] = scores[i];
        }

        return Compute(wide, positive, dropIntermediate);
    }

    /// <summary>
    /// <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{bool}, bool)"/> of scores held in double precision: a
    /// one-output model's class 0 is scored by <c>1 - p</c>, which float rounds to 1 for every <c>p</c> below 3e-8.
    /// Scores are ordered to 52 bits of their mantissa (a float's 24 exactly); thresholds are rounded to float.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static RocCurve Compute(ReadOnlySpan<double> scores, ReadOnlySpan<bool> positive, bool dropIntermediate = true)
    {
        Check.SameLength(positive.Length, scores.Length, nameof(positive), nameof(scores));

        // Each sample becomes one integer: its score mapped to an unsigned key that ascends as the score descends, less
        // its lowest bit, which holds the sample's truth. Sorting those (a primitive sort, no comparer, no second array
        // to move) puts the highest score first; ties sit together whatever their order, and a tie's points are emitted
        // as one.
        ulong[] order = new ulong[scores.Length];
        long positives = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (double.IsNaN(scores[i]))
            {
                throw new ArgumentException($"scores[{i}] is NaN: a ROC curve needs ordered scores.", nameof(scores));
            }

            order[i] = (DescendingKey(scores[i]) & ~1UL) | (positive[i] ? 1UL : 0UL);
            positives += positive[i] ? 1 : 0;
        }

        long negatives = scores.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            throw new ArgumentException(
                $"The {scores.Length} samples hold {positives} positive(s) and {negatives} negative(s): a ROC curve needs both.", nameof(positive));
        }

        Array.Sort(order);

        // Point 0 is (0, 0) at an infinite threshold; then one point per distinct score: equal scores cross the
        // threshold together.
        long[] fps = new long[order.Length + 1];
        long[] tps = new long[order.Length + 1];
        float[] thresholds = new float[order.Length + 1];
        thresholds[0] = float.PositiveInfinity;
        int points = 1;
        long tp = 0, fp = 0;
        for (int i = 0; i < order.Length; i++)
        {
            long truth = (long)(order[i] & 1);
            tp += truth;
            fp += 1 - truth;
            ulong key = order[i] & ~1UL;
            if (i + 1 == order.Length || (order[i + 1] & ~1UL) != key)
            {
                (fps[points], tps[points], thresholds[points]) = (fp, tp, (float)ScoreOf(key));
                points++;
            }
        }

        double[] fpr = new double[points];
        double[] tpr = new double[points];
        float[] kept = new float[points];
        int count = 0;
        for (int i = 0; i < points; i++)
        {
            // As scikit-learn, the start point (0, 0) takes no part: the first point after it is always kept.
            bool interior = i > 1 && i + 1 < points;
            bool collinear = interior
                && fps[i + 1] - (2 * fps[i]) + fps[i - 1] == 0
                && tps[i + 1] - (2 * tps[i]) + tps[i - 1] == 0;
            if (!dropIntermediate || !collinear)
            {
                (fpr[count], tpr[count], kept[count]) = ((double)fps[i] / negatives, (double)tps[i] / positives, thresholds[i]);
                count++;
            }
        }

        return new RocCurve(fpr[..count], tpr[..count], kept[..count], positives, negatives);
    }

    // An unsigned key that orders scores from the highest (key 0 side) to the lowest: the IEEE bits made to ascend
    // with the value (sign flipped for positives, every bit for negatives), then inverted. -0 is taken as +0 first, so
    // the two zeros are one score, as a float comparison says.
    private static ulong DescendingKey(double score)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(score + 0.0);
        ulong ascending = (bits & SignBit) != 0 ? ~bits : bits | SignBit;
        return ~ascending;
    }

    // The score of a key whose lowest bit was cleared for the truth: that bit is the score's lowest, inverted for a
    // positive score, so it is cleared there too (a float's is 0; infinity's set would read NaN).
    private static double ScoreOf(ulong key)
    {
        ulong ascending = ~key;
        ulong bits = (ascending & SignBit) != 0 ? ascending & ~SignBit & ~1UL : ~ascending;
        return BitConverter.UInt64BitsToDouble(bits);
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
        Check.InRange(fpr, 0.0, 1.0, "[]", nameof(fpr), "a false positive rate");

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

    /// <summary>
    /// The true positive rate at <paramref name="fpr"/> as the curve arrives there from the left: on a vertical run (several
    /// points at that rate) the lowest, where <see cref="TruePositiveRateAt"/> gives the highest; elsewhere the same.
    /// </summary>
    internal double LowestTruePositiveRateAt(double fpr)
    {
        // The first point at or right of fpr.
        int lo = 0, hi = _fpr.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (_fpr[mid] >= fpr)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return _fpr[lo] == fpr ? _tpr[lo] : TruePositiveRateAt(fpr);
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
