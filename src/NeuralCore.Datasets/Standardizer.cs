namespace NeuralCore.Data;

/// <summary>
/// Scales each column to zero mean and unit variance with statistics taken from training data, scikit-learn's
/// <c>StandardScaler</c>: <c>x' = (x - mean) / std</c>, std the population standard deviation (a constant column is
/// only centred). Fit it on the training split only, then apply it to every split, so no test data leaks into training.
/// </summary>
public sealed class Standardizer
{
    private readonly float[] _means;
    private readonly float[] _scales;

    private Standardizer(float[] means, float[] scales)
    {
        _means = means;
        _scales = scales;
    }

    /// <summary>The mean of each column.</summary>
    public IReadOnlyList<float> Means => _means;

    /// <summary>The standard deviation of each column (1 for a constant column).</summary>
    public IReadOnlyList<float> Scales => _scales;

    /// <summary>Takes each column's mean and standard deviation from <c>[rows, columns]</c> data, in double precision.</summary>
    /// <param name="data">The training data, row-major; at least one row.</param>
    /// <param name="columns">Values per row; positive.</param>
    /// <returns>The fitted standardizer.</returns>
    /// <exception cref="ArgumentException">The data is empty, not a whole number of rows, or holds a value that is not finite.</exception>
    public static Standardizer Fit(ReadOnlySpan<float> data, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if (data.IsEmpty || data.Length % columns != 0)
        {
            throw new ArgumentException(
                $"Expected at least one row of {columns} values and a whole number of rows. Received: {data.Length} values.", nameof(data));
        }

        int bad = data.IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
        if (bad >= 0)
        {
            throw new ArgumentException($"Expected finite values. Received: row {bad / columns}, column {bad % columns} = {data[bad]}.", nameof(data));
        }

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

        float[] means = new float[columns], scales = new float[columns];
        for (int c = 0; c < columns; c++)
        {
            means[c] = (float)(sum[c] / rows);
        }

        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                double d = data[(r * columns) + c] - (sum[c] / rows);
                squares[c] += d * d;
            }
        }

        for (int c = 0; c < columns; c++)
        {
            double std = Math.Sqrt(squares[c] / rows);
            scales[c] = std > 0 ? (float)std : 1f;
        }

        return new Standardizer(means, scales);
    }

    /// <summary>Standardizes <c>[rows, Columns]</c> data in place: <c>x ← (x - mean) / std</c> per column.</summary>
    /// <param name="data">The data, row-major.</param>
    /// <exception cref="ArgumentException">The data is not a whole number of rows.</exception>
    public void Transform(Span<float> data)
    {
        CheckRows(data);
        for (int i = 0; i < data.Length; i++)
        {
            int c = i % _means.Length;
            // In double, as Fit computed the statistics: (3e38 - (-3e38)) overflows float32.
            data[i] = (float)((data[i] - (double)_means[c]) / _scales[c]);
        }
    }

    /// <summary>Undoes <see cref="Transform"/> in place: <c>x ← x·std + mean</c> per column.</summary>
    /// <param name="data">The standardized data, row-major.</param>
    /// <exception cref="ArgumentException">The data is not a whole number of rows.</exception>
    public void InverseTransform(Span<float> data)
    {
        CheckRows(data);
        for (int i = 0; i < data.Length; i++)
        {
            int c = i % _means.Length;
            data[i] = (float)((data[i] * (double)_scales[c]) + _means[c]);
        }
    }

    private void CheckRows(ReadOnlySpan<float> data)
    {
        if (data.Length % _means.Length != 0)
        {
            throw new ArgumentException(
                $"Expected rows of the {_means.Length} columns the standardizer was fitted on. Received: {data.Length} values.", nameof(data));
        }
    }
}
