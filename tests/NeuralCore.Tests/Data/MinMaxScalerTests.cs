using System.Globalization;
using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class MinMaxScalerTests
{
    private static readonly float[] Train = [1.5f, 10, -3.25f, 0.1f, 10, 7, 2.2f, 10, 1e-3f];
    private static readonly float[] Test = [0.3f, 11, -1, 4, 9.5f, 2];

    public static TheoryData<double, double, double[], double[], float[], float[]> ScikitLearn => new()
    {
        // sklearn_minmax.py (scikit-learn 1.2.1): scale_, min_, the test rows transformed, and those transformed back.
        {
            0, 1, [0.47619046571573725, 1.0, 0.0975609756097561], [-0.047619047281152814, -10.0, 0.3170731707317073],
            [0.095238097012043f, 1.0f, 0.2195121943950653f, 1.8571428060531616f, -0.5f, 0.5121951103210449f],
            [0.30000001192092896f, 11.0f, -1.0f, 4.0f, 9.5f, 1.9999998807907104f]
        },
        {
            -1, 1, [0.9523809314314745, 2.0, 0.1951219512195122], [-1.0952380945623057, -21.0, -0.36585365853658536],
            [-0.8095238208770752f, 1.0f, -0.5609756112098694f, 2.7142856121063232f, -2.0f, 0.024390242993831635f],
            [0.29999998211860657f, 11.0f, -1.0f, 4.0f, 9.5f, 2.0f]
        },
    };

    [Theory]
    [MemberData(nameof(ScikitLearn))]
    public void Fitted_statistics_and_results_are_scikit_learns(double rangeMin, double rangeMax, double[] scales, double[] mins, float[] scaled, float[] restored)
    {
        MinMaxScaler s = MinMaxScaler.Fit(Train, 3, rangeMin, rangeMax);
        Assert.Equal([0.10000000149011612, 10.0, -3.25], s.DataMin);
        Assert.Equal([2.200000047683716, 10.0, 7.0], s.DataMax);
        Assert.Equal(scales, s.Scales);
        Assert.Equal(mins, s.Mins);

        float[] data = (float[])Test.Clone();
        s.Transform(data);
        Assert.Equal(scaled.Select(BitConverter.SingleToInt32Bits), data.Select(BitConverter.SingleToInt32Bits));
        s.InverseTransform(data);
        Assert.Equal(restored.Select(BitConverter.SingleToInt32Bits), data.Select(BitConverter.SingleToInt32Bits));

        // The training data spans the range exactly; the constant column goes to the range's bottom, as scikit-learn's.
        float[] train = (float[])Train.Clone();
        s.Transform(train);
        for (int c = 0; c < 3; c++)
        {
            float[] column = [train[c], train[3 + c], train[6 + c]];
            Assert.Equal(rangeMin, column.Min(), 6);
            Assert.Equal(c == 1 ? rangeMin : rangeMax, column.Max(), 6);
        }
    }

    [Fact]
    public void Saved_statistics_rebuild_a_scaler_that_transforms_bit_for_bit()
    {
        MinMaxScaler fitted = MinMaxScaler.Fit(Train, 3, -2, 5);
        string[] saved = [.. new[] { fitted.DataMin, fitted.DataMax }.Select(v => string.Join(',', v.Select(x => x.ToString("R", CultureInfo.InvariantCulture))))];
        double[][] read = [.. saved.Select(l => l.Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray())];
        MinMaxScaler rebuilt = MinMaxScaler.FromStatistics(read[0], read[1], fitted.RangeMin, fitted.RangeMax);

        Assert.Equal(fitted.Scales, rebuilt.Scales);
        Assert.Equal(fitted.Mins, rebuilt.Mins);
        float[] a = (float[])Test.Clone(), b = (float[])Test.Clone();
        fitted.Transform(a);
        rebuilt.Transform(b);
        Assert.Equal(a.Select(BitConverter.SingleToInt32Bits), b.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Bad_arguments_are_refused_by_name()
    {
        Assert.Equal("columns", Assert.Throws<ArgumentOutOfRangeException>(() => MinMaxScaler.Fit(Train, 0)).ParamName);
        var rows = Assert.Throws<ArgumentException>(() => MinMaxScaler.Fit(Train, 4));
        Assert.Equal("data", rows.ParamName);
        Assert.Contains("Received: 9 values", rows.Message, StringComparison.Ordinal);
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => MinMaxScaler.Fit([], 1)).ParamName);
        var nan = Assert.Throws<ArgumentException>(() => MinMaxScaler.Fit([1, 2, 3, float.NaN], 2));
        Assert.Contains("row 1, column 1 = NaN", nan.Message, StringComparison.Ordinal);
        foreach ((double low, double high) in new[] { (1.0, 1.0), (2.0, 1.0), (double.NaN, 1.0), (0.0, double.PositiveInfinity), (-1e308, 1e308) })
        {
            var range = Assert.Throws<ArgumentOutOfRangeException>(() => MinMaxScaler.Fit(Train, 3, low, high));
            Assert.Equal("rangeMax", range.ParamName);
            Assert.Contains($"rangeMin={low.ToString("R", CultureInfo.InvariantCulture)}", range.Message, StringComparison.Ordinal);
        }

        Assert.Equal("dataMin", Assert.Throws<ArgumentException>(() => MinMaxScaler.FromStatistics([], [])).ParamName);
        Assert.Equal("dataMax", Assert.Throws<ArgumentException>(() => MinMaxScaler.FromStatistics([0, 1], [1])).ParamName);
        Assert.Equal("dataMin", Assert.Throws<ArgumentException>(() => MinMaxScaler.FromStatistics([double.NaN], [1])).ParamName);
        var below = Assert.Throws<ArgumentException>(() => MinMaxScaler.FromStatistics([0, 5], [1, 4]));
        Assert.Equal("dataMax", below.ParamName);
        Assert.Contains("column 1 = 4 (minimum 5)", below.Message, StringComparison.Ordinal);
        // A spread that overflows: its scale was 0, which mapped every value to the range's minimum.
        var spread = Assert.Throws<ArgumentException>(() => MinMaxScaler.FromStatistics([0, -1e308], [1, 1e308]));
        Assert.Equal("dataMax", spread.ParamName);
        Assert.Contains("column 1 = 1E+308 (minimum -1E+308)", spread.Message, StringComparison.Ordinal);

        MinMaxScaler s = MinMaxScaler.Fit(Train, 3);
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => s.Transform(new float[4])).ParamName);
    }

    [Fact]
    public void Values_that_are_not_finite_or_would_overflow_are_refused_and_the_data_is_left_whole()
    {
        // A column spread over 1e-14 scales by 1e14: a new value far outside it overflows float32.
        MinMaxScaler s = MinMaxScaler.Fit([0f, 1f, 1e-14f, 2f], columns: 2);
        float[] data = [1e25f, 1.5f, 1f, 1f];
        float[] before = (float[])data.Clone();
        var overflow = Assert.Throws<ArgumentException>(() => s.Transform(data));
        Assert.Equal("data", overflow.ParamName);
        Assert.StartsWith("Row 0, column 0 = 1E+25: scaled it is Infinity, beyond float32's range", overflow.Message, StringComparison.Ordinal);
        Assert.Contains("The data was left as it was.", overflow.Message, StringComparison.Ordinal);
        Assert.Equal(before, data);

        data[3] = float.NaN;
        var nan = Assert.Throws<ArgumentException>(() => MinMaxScaler.Fit([0f, 1f, 1f, 2f], 2).Transform(data));
        Assert.StartsWith("Row 1, column 1 = NaN: a value must be finite", nan.Message, StringComparison.Ordinal);
        Assert.Equal(1e25f, data[0]);
    }

    [Fact]
    public void A_constant_column_is_shifted_to_the_range_not_divided_by_zero()
    {
        // A spread below ten double epsilons counts as none (scikit-learn's _handle_zeros_in_scale): the column is
        // moved to the range's bottom and keeps its unit, not stretched by 1e15 or more.
        MinMaxScaler s = MinMaxScaler.Fit([3f, 3f, 3f], 1, -1, 1);
        Assert.Equal([2.0], s.Scales);
        float[] data = [3f, 4f];
        s.Transform(data);
        Assert.Equal([-1f, 1f], data);
    }
}
