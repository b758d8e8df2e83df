using System.Globalization;

namespace NeuralCore.Data;

/// <summary>
/// Scales each column to zero mean and unit variance with statistics taken from training data, scikit-learn's
/// <c>StandardScaler</c>: <c>x' = (x - mean) / std</c>, std the population standard deviation (a constant column is
/// only centred). Fit it on the training split only, then apply it to every split, so no test data leaks into training.
/// The statistics are kept in double precision, as scikit-learn's <c>mean_</c> and <c>scale_</c>: a mean rounded to
/// float32 is off by up to half a float32 step of the values, which shifts every standardized value of a column whose
/// spread is a few such steps (values near 1e6 with a spread of 0.1) by a sizeable part of a standard deviation.
/// </summary>
/// <remarks>
/// To scale data in another process as in training (a model served after it was trained), save <see cref="Means"/> and
/// <see cref="Scales"/> with the model, written so that they read back exactly (<c>double.ToString("R",
/// CultureInfo.InvariantCulture)</c>, or the raw bits), and rebuild the standardizer with
/// <see cref="FromStatistics"/>: it then transforms bit for bit as the fitted one.
/// <code>
/// File.WriteAllLines("scaler.txt", [string.Join(',', s.Means.Select(m => m.ToString("R", CultureInfo.InvariantCulture))),
///                                   string.Join(',', s.Scales.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))]);
/// double[][] rows = [.. File.ReadAllLines("scaler.txt").Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())];
/// Standardizer again = Standardizer.FromStatistics(rows[0], rows[1]);
/// </code>
/// </remarks>
public sealed class Standardizer
{
    private readonly double[] _means;
    private readonly double[] _scales;

    private Standardizer(double[] means, double[] scales)
    {
        _means = means;
        _scales = scales;
    }

    /// <summary>The mean of each column, in double precision (scikit-learn's <c>mean_</c>).</summary>
    public IReadOnlyList<double> Means => Array.AsReadOnly(_means);

    /// <summary>The population standard deviation of each column, in double precision (scikit-learn's <c>scale_</c>; 1 for a constant column).</summary>
    public IReadOnlyList<double> Scales => Array.AsReadOnly(_scales);

    /// <summary>Takes each column's mean and standard deviation from <c>[rows, columns]</c> data, in double precision.</summary>
    /// <param name="data">The training data, row-major; at least one row.</param>
    /// <param name="columns">Values per row; positive.</param>
    /// <returns>The fitted standardizer.</returns>
    /// <exception cref="ArgumentException">The data is empty, not a whole number of rows, or holds a value that is not finite.</exception>
    public static Standardizer Fit(ReadOnlySpan<float> data, int columns)
    {
        ColumnScaling.CheckTrainingData(data, columns, nameof(data));
        int rows = data.Length / columns;
        double[] sum = new double[columns], squares = new double[columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                double v = data[(r * columns) + c];
                sum[c] += v;
            }
        }

        double[] means = new double[columns], scales = new double[columns];
        for (int c = 0; c < columns; c++)
        {
            // Kept in double: rounded to float32, the mean of values near 1e6 (a float32 step of 0.0625) was off by up
            // to 0.03, and a column of them spread by 0.03 was standardized 0.7 too high or low.
            means[c] = sum[c] / rows;
        }

        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                double d = data[(r * columns) + c] - means[c];
                squares[c] += d * d;
            }
        }

        for (int c = 0; c < columns; c++)
        {
            // Tested in float32: a deviation below the smallest float (values a subnormal apart) is a constant
            // column's, as before the statistics were kept in double; divided by it, any other value overflows float32.
            double std = Math.Sqrt(squares[c] / rows);
            scales[c] = (float)std > 0 ? std : 1;
        }

        return new Standardizer(means, scales);
    }

    /// <summary>
    /// Rebuilds a standardizer from statistics saved from <see cref="Means"/> and <see cref="Scales"/> (or computed
    /// elsewhere, such as scikit-learn's <c>mean_</c> and <c>scale_</c>, which are double precision too).
    /// </summary>
    /// <param name="means">The mean of each column; finite.</param>
    /// <param name="scales">The standard deviation of each column, as many as <paramref name="means"/>; finite and positive (1 for a constant column).</param>
    /// <returns>A standardizer of <c>means.Length</c> columns; it copies the statistics.</returns>
    /// <exception cref="ArgumentException">
    /// There are no columns, the lengths differ, a mean is not finite, or a scale is not finite and positive (the
    /// argument, column and value are named).
    /// </exception>
    public static Standardizer FromStatistics(ReadOnlySpan<double> means, ReadOnlySpan<double> scales)
    {
        if (means.IsEmpty)
        {
            throw new ArgumentException("Expected the statistics of at least one column. Received: no means.", nameof(means));
        }

        if (scales.Length != means.Length)
        {
            throw new ArgumentException($"Expected one scale per mean ({means.Length}). Received: {scales.Length} scales.", nameof(scales));
        }

        for (int c = 0; c < means.Length; c++)
        {
            if (!double.IsFinite(means[c]))
            {
                throw new ArgumentException($"Expected finite means. Received: column {c} = {means[c].ToString(CultureInfo.InvariantCulture)}.", nameof(means));
            }

            // Negated so that NaN is refused too; a zero scale would divide by zero (Fit gives a constant column 1).
            if (!(scales[c] > 0) || !double.IsFinite(scales[c]))
            {
                throw new ArgumentException($"Expected finite positive scales. Received: column {c} = {scales[c].ToString(CultureInfo.InvariantCulture)}.", nameof(scales));
            }
        }

        return new Standardizer(means.ToArray(), scales.ToArray());
    }

    /// <summary>Standardizes <c>[rows, Columns]</c> data in place: <c>x ← (x - mean) / std</c> per column.</summary>
    /// <param name="data">The data, row-major.</param>
    /// <exception cref="ArgumentException">
    /// The data is not a whole number of rows, holds a value that is not finite, or holds one whose result is beyond
    /// float32's range (far from a constant column's mean, whose scale is 1, say); the row, column and value are named,
    /// and the data is left as it was.
    /// </exception>
    public void Transform(Span<float> data)
    {
        CheckRows(data);
        // Checked before anything is written, so that a refused call leaves the data whole: an overflow gave ±∞, which
        // Fit then refused as a missing value, far from its cause.
        for (int i = 0; i < data.Length; i++)
        {
            CheckResult(data[i], Scaled(data[i], i % _means.Length), i, "standardized");
        }

        for (int i = 0; i < data.Length; i++)
        {
            data[i] = Scaled(data[i], i % _means.Length);
        }
    }

    /// <summary>Undoes <see cref="Transform"/> in place: <c>x ← x·std + mean</c> per column.</summary>
    /// <param name="data">The standardized data, row-major.</param>
    /// <exception cref="ArgumentException">
    /// The data is not a whole number of rows, holds a value that is not finite, or holds one whose result is beyond
    /// float32's range; the row, column and value are named, and the data is left as it was.
    /// </exception>
    public void InverseTransform(Span<float> data)
    {
        CheckRows(data);
        for (int i = 0; i < data.Length; i++)
        {
            CheckResult(data[i], Unscaled(data[i], i % _means.Length), i, "restored");
        }

        for (int i = 0; i < data.Length; i++)
        {
            data[i] = Unscaled(data[i], i % _means.Length);
        }
    }

    // In double, as the statistics: (3e38 - (-3e38)) overflows float32.
    private float Scaled(float x, int c) => (float)((x - _means[c]) / _scales[c]);

    private float Unscaled(float x, int c) => (float)((x * _scales[c]) + _means[c]);

    private void CheckResult(float x, float result, int i, string what)
    {
        int c = i % _means.Length;
        ColumnScaling.CheckResult(x, result, i, _means.Length, what, ("mean", _means[c]), ("scale", _scales[c]), "data");
    }

    private void CheckRows(ReadOnlySpan<float> data) => ColumnScaling.CheckWholeRows(data.Length, _means.Length, "standardizer", nameof(data));
}
