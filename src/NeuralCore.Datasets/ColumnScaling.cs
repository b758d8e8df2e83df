using System.Globalization;

namespace NeuralCore.Data;

/// <summary>
/// The checks every per-column scaler makes (<see cref="Standardizer"/>, <see cref="MinMaxScaler"/>), with one wording:
/// the training data at <c>Fit</c>, whole rows at <c>Transform</c>, and each result finite before any value is written.
/// </summary>
internal static class ColumnScaling
{
    /// <summary>Throws unless <paramref name="data"/> is at least one whole row of <paramref name="columns"/> finite values.</summary>
    public static void CheckTrainingData(ReadOnlySpan<float> data, int columns, string paramName)
    {
        Check.Positive(columns, nameof(columns), "number of columns");
        if (data.IsEmpty || data.Length % columns != 0)
        {
            throw new ArgumentException(
                $"Expected at least one row of {columns} values and a whole number of rows. Received: {data.Length} values.", paramName);
        }

        int bad = data.IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"Expected finite values. Received: row {bad / columns}, column {bad % columns} = {Format(data[bad])}.", paramName);
        }
    }

    /// <summary>Throws unless <paramref name="length"/> values are whole rows of the <paramref name="columns"/> a scaler was fitted on.</summary>
    public static void CheckWholeRows(int length, int columns, string scaler, string paramName)
    {
        if (length % columns != 0)
        {
            throw new ArgumentException(
                $"Expected rows of the {columns} columns the {scaler} was fitted on. Received: {length} values.", paramName);
        }
    }

    /// <summary>
    /// Throws unless <paramref name="result"/>, what value <paramref name="i"/> (<paramref name="x"/>) becomes, is finite;
    /// the message names the row, column and value, and the column's two statistics (built only then: this runs per value).
    /// </summary>
    public static void CheckResult(float x, float result, int i, int columns, string what,
        (string Name, double Value) first, (string Name, double Value) second, string paramName)
    {
        if (!float.IsFinite(result))
        {
            string problem = float.IsFinite(x)
                ? $"{what} it is {result.ToString(CultureInfo.InvariantCulture)}, beyond float32's range ({first.Name} {Format(first.Value)}, {second.Name} {Format(second.Value)})"
                : "a value must be finite (a missing value in the data? fill or drop it first)";
            throw new ArgumentException(
                $"Row {i / columns}, column {i % columns} = {Format(x)}: {problem}. The data was left as it was.", paramName);
        }
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
