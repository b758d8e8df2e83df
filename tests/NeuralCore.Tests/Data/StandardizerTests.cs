using System.Globalization;
using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class StandardizerTests
{
    [Fact]
    public void Saved_statistics_rebuild_a_standardizer_that_transforms_bit_for_bit()
    {
        // A fitted standardizer could not be rebuilt (its constructor is private): a model served in another process
        // could not scale its inputs as in training.
        float[] train = [1.5f, 10, -3.25f, 0.1f, 10, 7, 2.2f, 10, 1e-3f];
        Standardizer fitted = Standardizer.Fit(train, 3);
        string[] saved = [.. new[] { fitted.Means, fitted.Scales }.Select(v => string.Join(',', v.Select(x => x.ToString("R", CultureInfo.InvariantCulture))))];
        double[][] read = [.. saved.Select(l => l.Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray())];
        Standardizer rebuilt = Standardizer.FromStatistics(read[0], read[1]);

        Assert.Equal(fitted.Means, rebuilt.Means);
        Assert.Equal(fitted.Scales, rebuilt.Scales);
        float[] a = [0.3f, 11, -1, 4, 9.5f, 2], b = (float[])a.Clone();
        fitted.Transform(a);
        rebuilt.Transform(b);
        Assert.Equal(a.Select(BitConverter.SingleToInt32Bits), b.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void A_standard_deviation_below_the_smallest_float_is_a_constant_columns_scale()
    {
        // The deviation (7e-46 in double) was positive but rounded to a float32 scale of 0: Transform gave NaN and
        // infinities, from a standardizer that FromStatistics refuses.
        Standardizer s = Standardizer.Fit([0f, float.Epsilon], 1);
        Assert.Equal([1.0], s.Scales);
        float[] data = [0f, float.Epsilon, 1f];
        s.Transform(data);
        Assert.All(data, v => Assert.True(float.IsFinite(v), $"{v}"));
        Standardizer.FromStatistics([.. s.Means], [.. s.Scales]);
    }

    [Fact]
    public void Values_that_are_not_finite_or_would_overflow_are_refused_and_the_data_is_left_whole()
    {
        // A constant column's scale is 1: a new value far from its mean standardized to -Infinity, which Fit then
        // refused as a missing value. A NaN passed through as NaN.
        var s = Standardizer.Fit([3e38f, 1f, 3e38f, 2f], columns: 2);
        float[] data = [0f, 1.5f, -3e38f, 1f];
        float[] before = (float[])data.Clone();
        var overflow = Assert.Throws<ArgumentException>(() => s.Transform(data));
        Assert.Equal("data", overflow.ParamName);
        Assert.StartsWith("Row 1, column 0 = -3E+38: standardized it is -Infinity, beyond float32's range (mean 3.0000000054977558E+38, scale 1). The data was left as it was.", overflow.Message, StringComparison.Ordinal);
        Assert.Equal(before, data);

        data[2] = float.NaN;
        var nan = Assert.Throws<ArgumentException>(() => s.Transform(data));
        Assert.StartsWith("Row 1, column 0 = NaN: a value must be finite", nan.Message, StringComparison.Ordinal);
        Assert.Equal(1.5f, data[1]);

        float[] scaled = [3e38f, 0f];
        var back = Assert.Throws<ArgumentException>(() => Standardizer.FromStatistics([3e38f, 0f], [2f, 1f]).InverseTransform(scaled));
        Assert.StartsWith("Row 0, column 0 = 3E+38: restored it is Infinity", back.Message, StringComparison.Ordinal);
        Assert.Equal([3e38f, 0f], scaled);

        // What is in range is transformed as before.
        data[2] = 2.9e38f;
        s.Transform(data);
        Assert.Equal([-3e38f, 0f, (float)(2.9e38f - (double)3e38f), -1f], data);
    }

    [Fact]
    public void The_statistics_are_copied()
    {
        double[] means = [1, 2], scales = [3, 4];
        Standardizer s = Standardizer.FromStatistics(means, scales);
        means[0] = 100;
        scales[0] = 100;
        Assert.Equal([1.0, 2.0], s.Means);
        Assert.Equal([3.0, 4.0], s.Scales);
    }

    [Theory]
    [InlineData(new double[0], new double[0], "means", "no means")]
    [InlineData(new double[] { 1, 2 }, new double[] { 1 }, "scales", "one scale per mean (2). Received: 1 scales")]
    [InlineData(new double[] { 1, double.NaN }, new double[] { 1, 1 }, "means", "column 1 = NaN")]
    [InlineData(new double[] { double.PositiveInfinity }, new double[] { 1 }, "means", "column 0 = Infinity")]
    [InlineData(new double[] { 1, 2 }, new double[] { 1, 0 }, "scales", "column 1 = 0")]
    [InlineData(new double[] { 1 }, new double[] { -2 }, "scales", "column 0 = -2")]
    [InlineData(new double[] { 1 }, new double[] { double.NaN }, "scales", "column 0 = NaN")]
    [InlineData(new double[] { 1 }, new double[] { double.PositiveInfinity }, "scales", "column 0 = Infinity")]
    public void Bad_statistics_are_refused_by_argument_column_and_value(double[] means, double[] scales, string parameter, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Standardizer.FromStatistics(means, scales));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Spans_of_whole_rows_are_taken_and_any_other_length_is_refused_by_name()
    {
        // By design, Transform takes any number of rows at once; a length that is not a whole number of rows was
        // already refused (checked here, not changed).
        Standardizer s = Standardizer.FromStatistics([1, 2, 3], [1, 1, 1]);
        float[] rows = [1, 2, 3, 4, 5, 6];
        s.Transform(rows);
        Assert.Equal([0f, 0, 0, 3, 3, 3], rows);
        s.Transform([]);
        foreach (int length in new[] { 1, 2, 4, 5, 7 })
        {
            var e = Assert.Throws<ArgumentException>(() => s.Transform(new float[length]));
            Assert.Equal("data", e.ParamName);
            Assert.Contains($"rows of the 3 columns the standardizer was fitted on. Received: {length} values", e.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => s.InverseTransform(new float[length]));
        }
    }

    [Fact]
    public void A_column_of_large_values_with_a_small_spread_is_standardized_as_scikit_learn_does()
    {
        // Near 1e6 a float32 step is 0.0625. The mean of these, 1e6 + 0.0625/3, was kept as a float32 (1e6), and
        // every standardized value came out 0.71 standard deviations too high: [0, 0, 2.1213] where scikit-learn's
        // StandardScaler gives [-0.7071, -0.7071, 1.4142] (sklearn 1.2.1, on the same float32 values).
        float[] train = [1e6f, 1e6f, 1e6f + 0.0625f];
        Standardizer s = Standardizer.Fit(train, 1);
        double mean = 1e6 + (0.0625 / 3), std = Math.Sqrt(((2 * (0.0625 / 3) * (0.0625 / 3)) + ((0.125 / 3) * (0.125 / 3))) / 3);
        Assert.Equal(mean, s.Means[0], 1e-9);
        Assert.Equal(std, s.Scales[0], 1e-12);

        // Fitted on train and applied to other rows: each value within a float32 rounding of (x - mean) / std in double.
        float[] test = [1e6f - 0.125f, 1e6f, 1e6f + 0.0625f, 1e6f + 1f];
        float[] expected = [.. test.Select(x => (float)((x - mean) / std))];
        s.Transform(test);
        Assert.Equal(expected, test, (a, b) => Math.Abs(a - b) <= 1e-6f * Math.Max(1, Math.Abs(b)));
        Assert.Equal(-Math.Sqrt(0.5), test[1], 1e-6);
        Assert.Equal(Math.Sqrt(2), test[2], 1e-6);

        s.InverseTransform(test);
        Assert.Equal([1e6f - 0.125f, 1e6f, 1e6f + 0.0625f, 1e6f + 1f], test);
    }
}
