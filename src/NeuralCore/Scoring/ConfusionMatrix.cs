using System.Globalization;
using System.Text;

namespace NeuralCore.Scoring;

/// <summary>
/// Counts of (true class, predicted class) pairs: <c>this[t, p]</c> is how many samples of class <c>t</c> were
/// predicted as <c>p</c>. Rows are true classes, columns predictions, as in scikit-learn and Keras examples.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;

    /// <summary>Builds the matrix from labels and predictions.</summary>
    /// <param name="labels">The true classes.</param>
    /// <param name="predictions">The predicted classes, as many as <paramref name="labels"/>.</param>
    /// <param name="classes">The number of classes; positive.</param>
    /// <exception cref="ArgumentException">The lengths differ, or a value is outside [0, classes).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classes"/> is not positive, or its square exceeds one array.</exception>
    /// <exception cref="InsufficientMemoryException">The counts exceed the memory the process may use.</exception>
    public ConfusionMatrix(ReadOnlySpan<int> labels, ReadOnlySpan<int> predictions, int classes)
    {
        Check.Positive(classes, nameof(classes), "number of classes");
        Check.SameLength(predictions.Length, labels.Length, nameof(predictions), nameof(labels));

        // classes² counts in one array: checked in 64-bit arithmetic (65,536 classes wrapped to an empty array, and
        // int.MaxValue to one of length 1) and against the memory the process may use.
        long cells = (long)classes * classes;
        if (cells > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(classes), classes,
                $"{classes} classes need {cells} counts, more than one array holds ({Array.MaxLength}); a confusion matrix takes at most {(int)Math.Sqrt(Array.MaxLength)} classes.");
        }

        Check.FitsInMemory(cells * (decimal)sizeof(long), $"A confusion matrix of {classes} classes", "count fewer classes");
        Classes = classes;
        _counts = new long[cells];
        for (int i = 0; i < labels.Length; i++)
        {
            Check.Class(labels[i], i, classes, nameof(labels));
            Check.Class(predictions[i], i, classes, nameof(predictions));

            _counts[(labels[i] * classes) + predictions[i]]++;
        }

        Total = labels.Length;
    }

    /// <summary>The number of classes.</summary>
    public int Classes { get; }

    /// <summary>The number of samples counted.</summary>
    public long Total { get; }

    /// <summary>How many samples of class <paramref name="actual"/> were predicted as <paramref name="predicted"/>.</summary>
    /// <param name="actual">The true class.</param>
    /// <param name="predicted">The predicted class.</param>
    public long this[int actual, int predicted]
    {
        get
        {
            CheckClass(actual, nameof(actual));
            CheckClass(predicted, nameof(predicted));
            return _counts[(actual * Classes) + predicted];
        }
    }

    private void CheckClass(int c, string name)
    {
        Check.InRange(c, 0, Classes - 1, name, "a class");
    }

    /// <summary>The fraction on the diagonal: correct predictions over all samples (0 when empty).</summary>
    public double Accuracy => Total == 0 ? 0 : (double)Enumerable.Range(0, Classes).Sum(c => _counts[(c * Classes) + c]) / Total;

    /// <summary>Samples of class <paramref name="c"/> (the row sum).</summary>
    /// <param name="c">The class.</param>
    /// <returns>The support.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="c"/> is not a class.</exception>
    public long Support(int c)
    {
        CheckClass(c, nameof(c));
        return Enumerable.Range(0, Classes).Sum(p => this[c, p]);
    }

    /// <summary>Precision of class <paramref name="c"/>: <c>TP / (TP + FP)</c>, the column's diagonal share (0 when nothing was predicted as c).</summary>
    /// <param name="c">The class.</param>
    /// <returns>The precision.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="c"/> is not a class.</exception>
    public double Precision(int c)
    {
        CheckClass(c, nameof(c));
        long predicted = Enumerable.Range(0, Classes).Sum(t => this[t, c]);
        return predicted == 0 ? 0 : (double)this[c, c] / predicted;
    }

    /// <summary>Recall of class <paramref name="c"/>: <c>TP / (TP + FN)</c>, the row's diagonal share (0 when the class is absent).</summary>
    /// <param name="c">The class.</param>
    /// <returns>The recall.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="c"/> is not a class.</exception>
    public double Recall(int c)
    {
        CheckClass(c, nameof(c));
        long support = Support(c);
        return support == 0 ? 0 : (double)this[c, c] / support;
    }

    /// <summary>F1 of class <paramref name="c"/>: the harmonic mean <c>2PR / (P + R)</c> (0 when both are 0).</summary>
    /// <param name="c">The class.</param>
    /// <returns>The F1 score.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="c"/> is not a class.</exception>
    public double F1(int c)
    {
        CheckClass(c, nameof(c));
        double p = Precision(c), r = Recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /// <summary>The off-diagonal cells, largest count first: which true class is most often taken for which.</summary>
    /// <param name="count">How many pairs to return at most.</param>
    /// <returns>(actual, predicted, count) triples with a positive count.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public IReadOnlyList<(int Actual, int Predicted, long Count)> MostConfused(int count = 5)
    {
        Check.NonNegative(count, nameof(count), "count of pairs");
        return [.. (from t in Enumerable.Range(0, Classes)
                    from p in Enumerable.Range(0, Classes)
                    where t != p && this[t, p] > 0
                    orderby this[t, p] descending, t, p
                    select (t, p, this[t, p])).Take(count)];
    }

    /// <summary>The counts as a jagged array, rows true classes.</summary>
    /// <returns>A copy of the counts.</returns>
    public long[][] ToArray() =>
        [.. Enumerable.Range(0, Classes).Select(t => Enumerable.Range(0, Classes).Select(p => this[t, p]).ToArray())];

    /// <summary>A plain-text table with true classes down and predictions across.</summary>
    /// <returns>The table.</returns>
    public override string ToString()
    {
        int width = Math.Max(5, Total.ToString(CultureInfo.InvariantCulture).Length + 1);
        var text = new StringBuilder("true\\pred");
        for (int p = 0; p < Classes; p++)
        {
            text.Append(p.ToString(CultureInfo.InvariantCulture).PadLeft(width));
        }

        text.Append('\n');
        for (int t = 0; t < Classes; t++)
        {
            text.Append(t.ToString(CultureInfo.InvariantCulture).PadLeft(9));
            for (int p = 0; p < Classes; p++)
            {
                text.Append(this[t, p].ToString(CultureInfo.InvariantCulture).PadLeft(width));
            }

            text.Append('\n');
        }

        return text.ToString();
    }
}
