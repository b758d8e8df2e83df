using System.Globalization;

namespace NeuralCore.Data;

/// <summary>
/// Scales each column linearly so that the training data's minimum and maximum map to a feature range (by default
/// [0, 1]), scikit-learn's <c>MinMaxScaler</c>: <c>x' = x·scale + min</c>, with
/// <c>scale = (rangeMax - rangeMin) / (dataMax - dataMin)</c> and <c>min = rangeMin - dataMin·scale</c>; a constant
/// column (a spread below ten double epsilons, as scikit-learn) gets a spread of 1, so it is shifted, never divided by
/// zero. Fit it on the training split only, then apply it to every split: values outside the training range map
/// outside the feature range (scikit-learn's default, <c>clip=False</c>).
/// </summary>
/// <remarks>
/// The statistics are kept in double precision and every result is computed in double, then rounded once to float32,
/// with scikit-learn's operations in its order: given the same values as float64, it gives the same floats. To scale
/// data in another process as in training, save <see cref="DataMin"/> and <see cref="DataMax"/> (written so that they
/// read back exactly, <c>double.ToString("R", CultureInfo.InvariantCulture)</c>) and the feature range, and rebuild
/// with <see cref="FromStatistics"/>: it transforms bit for bit as the fitted one.
/// </remarks>
public sealed class MinMaxScaler
{
    // Ten times double's machine epsilon (2^-52), as numpy's finfo(float64).eps.
    private const double ConstantSpread = 10 * 2.220446049250313e-16;

    private readonly double[] _dataMin;
    private readonly double[] _dataMax;
    private readonly double[] _scales;
    private readonly double[] _mins;

    private MinMaxScaler(double[] dataMin, double[] dataMax, double rangeMin, double rangeMax)
    {
        _dataMin = dataMin;
        _dataMax = dataMax;
        RangeMin = rangeMin;
        RangeMax = rangeMax;
        _scales = new double[dataMin.Length];
        _mins = new double[dataMin.Length];
        for (int c = 0; c < dataMin.Length; c++)
        {
            double spread = dataMax[c] - dataMin[c];
            // scikit-learn's _handle_zeros_in_scale: a spread below ten machine epsilons is a constant column's.
            _scales[c] = (rangeMax - rangeMin) / (spread < ConstantSpread ? 1 : spread);
            _mins[c] = rangeMin - (dataMin[c] * _scales[c]);
        }
    }

    /// <summary>The lower end of the feature range the training minimum maps to.</summary>
    public double RangeMin { get; }

    /// <summary>The upper end of the feature range the training maximum maps to.</summary>
    public double RangeMax { get; }

    /// <summary>The number of columns the scaler was fitted on.</summary>
    public int Columns => _dataMin.Length;

    /// <summary>Each column's minimum in the training data (scikit-learn's <c>data_min_</c>).</summary>
    public IReadOnlyList<double> DataMin => Array.AsReadOnly(_dataMin);

    /// <summary>Each column's maximum in the training data (scikit-learn's <c>data_max_</c>).</summary>
    public IReadOnlyList<double> DataMax => Array.AsReadOnly(_dataMax);

    /// <summary>Each column's factor, <c>(RangeMax - RangeMin) / (dataMax - dataMin)</c> (scikit-learn's <c>scale_</c>).</summary>
    public IReadOnlyList<double> Scales => Array.AsReadOnly(_scales);

    /// <summary>Each column's offset, <c>RangeMin - dataMin·scale</c> (scikit-learn's <c>min_</c>).</summary>
    public IReadOnlyList<double> Mins => Array.AsReadOnly(_mins);

    /// <summary>Takes each column's minimum and maximum from <c>[rows, columns]</c> data.</summary>
    /// <param name="data">The training data, row-major; at least one row, every value finite.</param>
    /// <param name="columns">Values per row; positive.</param>
    /// <param name="rangeMin">The value the training minimum maps to; finite.</param>
    /// <param name="rangeMax">The value the training maximum maps to; finite and above <paramref name="rangeMin"/>.</param>
    /// <returns>The fitted scaler.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> is not positive, or the feature range is not finite and increasing.</exception>
    /// <exception cref="ArgumentException">The data is empty, not a whole number of rows, or holds a value that is not finite (its row and column are named).</exception>
    public static MinMaxScaler Fit(ReadOnlySpan<float> data, int columns, double rangeMin = 0, double rangeMax = 1)
    {
        ColumnScaling.CheckTrainingData(data, columns, nameof(data));
        CheckRange(rangeMin, rangeMax);
        double[] low = new double[columns], high = new double[columns];
        for (int c = 0; c < columns; c++)
        {
            low[c] = high[c] = data[c];
        }

        for (int i = columns; i < data.Length; i++)
        {
            int c = i % columns;
            double v = data[i];
            low[c] = Math.Min(low[c], v);
            high[c] = Math.Max(high[c], v);
        }

        return new MinMaxScaler(low, high, rangeMin, rangeMax);
    }

    /// <summary>
    /// Rebuilds a scaler from the minima and maxima saved from <see cref="DataMin"/> and <see cref="DataMax"/> (or
    /// scikit-learn's <c>data_min_</c> and <c>data_max_</c>) and the feature range it was fitted with.
    /// </summary>
    /// <param name="dataMin">Each column's minimum; finite.</param>
    /// <param name="dataMax">Each column's maximum, as many as <paramref name="dataMin"/>; finite and not below the minimum.</param>
    /// <param name="rangeMin">The value the minimum maps to; finite.</param>
    /// <param name="rangeMax">The value the maximum maps to; finite and above <paramref name="rangeMin"/>.</param>
    /// <returns>A scaler of <c>dataMin.Length</c> columns; it copies the statistics.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The feature range is not finite and increasing.</exception>
    /// <exception cref="ArgumentException">
    /// There are no columns, the lengths differ, a value is not finite, or a maximum is below its minimum (the argument,
    /// column and values are named).
    /// </exception>
    public static MinMaxScaler FromStatistics(ReadOnlySpan<double> dataMin, ReadOnlySpan<double> dataMax, double rangeMin = 0, double rangeMax = 1)
    {
        CheckRange(rangeMin, rangeMax);
        if (dataMin.IsEmpty)
        {
            throw new ArgumentException("Expected the statistics of at least one column. Received: no minima.", nameof(dataMin));
        }

        if (dataMax.Length != dataMin.Length)
        {
            throw new ArgumentException($"Expected one maximum per minimum ({dataMin.Length}). Received: {dataMax.Length} maxima.", nameof(dataMax));
        }

        for (int c = 0; c < dataMin.Length; c++)
        {
            if (!double.IsFinite(dataMin[c]))
            {
                throw new ArgumentException($"Expected finite minima. Received: column {c} = {Format(dataMin[c])}.", nameof(dataMin));
            }

            // Negated so that NaN is refused too. The spread too: [-1e308, 1e308] overflowed to a scale of 0, which mapped
            // every value to rangeMin.
            if (!double.IsFinite(dataMax[c]) || !(dataMax[c] >= dataMin[c]) || !double.IsFinite(dataMax[c] - dataMin[c]))
            {
                throw new ArgumentException(
                    $"Expected finite maxima, each at least its column's minimum and at a finite distance from it. Received: column {c} = {Format(dataMax[c])} (minimum {Format(dataMin[c])}).", nameof(dataMax));
            }
        }

        return new MinMaxScaler(dataMin.ToArray(), dataMax.ToArray(), rangeMin, rangeMax);
    }

    /// <summary>Scales <c>[rows, Columns]</c> data in place: <c>x ← x·scale + min</c> per column.</summary>
    /// <param name="data">The data, row-major.</param>
    /// <exception cref="ArgumentException">
    /// The data is not a whole number of rows, holds a value that is not finite, or holds one whose result is beyond
    /// float32's range (far outside the training range); the row, column and value are named, and the data is left as
    /// it was.
    /// </exception>
    public void Transform(Span<float> data)
    {
        CheckRows(data);
        // Checked before anything is written, so that a refused call leaves the data whole.
        for (int i = 0; i < data.Length; i++)
        {
            CheckResult(data[i], Scaled(data[i], i % Columns), i, "scaled");
        }

        for (int i = 0; i < data.Length; i++)
        {
            data[i] = Scaled(data[i], i % Columns);
        }
    }

    /// <summary>Undoes <see cref="Transform"/> in place: <c>x ← (x - min) / scale</c> per column.</summary>
    /// <param name="data">The scaled data, row-major.</param>
    /// <exception cref="ArgumentException">
    /// The data is not a whole number of rows, holds a value that is not finite, or holds one whose result is beyond
    /// float32's range; the row, column and value are named, and the data is left as it was.
    /// </exception>
    public void InverseTransform(Span<float> data)
    {
        CheckRows(data);
        for (int i = 0; i < data.Length; i++)
        {
            CheckResult(data[i], Unscaled(data[i], i % Columns), i, "restored");
        }

        for (int i = 0; i < data.Length; i++)
        {
            data[i] = Unscaled(data[i], i % Columns);
        }
    }

    // scikit-learn's order: X *= scale_; X += min_ (and X -= min_; X /= scale_ back), in double.
    private float Scaled(float x, int c) => (float)((x * _scales[c]) + _mins[c]);

    private float Unscaled(float x, int c) => (float)((x - _mins[c]) / _scales[c]);

    private static void CheckRange(double rangeMin, double rangeMax)
    {
        // The width too: (-1e308, 1e308) passed, its width overflowed to infinity, and every Transform then failed.
        if (!double.IsFinite(rangeMin) || !double.IsFinite(rangeMax) || !(rangeMin < rangeMax) || !double.IsFinite(rangeMax - rangeMin))
        {
            throw new ArgumentOutOfRangeException(nameof(rangeMax), rangeMax,
                $"Expected a finite feature range whose minimum is below its maximum, and whose width is finite. Received: rangeMin={Format(rangeMin)}, rangeMax={Format(rangeMax)}.");
        }
    }

    private void CheckResult(float x, float result, int i, string what)
    {
        int c = i % Columns;
        ColumnScaling.CheckResult(x, result, i, Columns, what, ("scale", _scales[c]), ("min", _mins[c]), "data");
    }

    private void CheckRows(ReadOnlySpan<float> data) => ColumnScaling.CheckWholeRows(data.Length, Columns, "scaler", nameof(data));

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
