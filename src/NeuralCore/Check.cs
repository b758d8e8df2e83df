using System.Globalization;

namespace NeuralCore;

/// <summary>
/// The argument checks shared by the whole library, so that every entry point words the same problem the same way,
/// Keras's way: what was expected, then what was received, named (<c>Expected a positive number of units. Received:
/// units=0.</c>). <c>name</c> arguments are the parameter (or option) names; messages show them in
/// camelCase. Every message is built only on failure, so a check allocates nothing when it passes (but
/// <see cref="FitsInMemory"/>, which reads the GC's memory figures); kernels throw the same exceptions from out of line
/// where they are hot (<see cref="Kernels.ThrowHelper"/>, which builds most of them here), so that their callers stay small.
/// </summary>
internal static class Check
{
    /// <summary>Throws unless <paramref name="value"/> &gt; 0.</summary>
    public static void Positive(long value, string name, string? what = null)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Expected a positive {what ?? Camel(name)}. Received: {Camel(name)}={value}.");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is positive and finite.</summary>
    public static void Positive(float value, string name, string? what = null) => Positive(value, single: true, name, what);

    /// <summary>Throws unless <paramref name="value"/> is positive and finite.</summary>
    public static void Positive(double value, string name, string? what = null) => Positive(value, single: false, name, what);

    /// <summary>Throws unless <paramref name="value"/> is finite.</summary>
    public static void Finite(float value, string name, string? what = null)
    {
        if (!float.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, string.Create(CultureInfo.InvariantCulture,
                $"Expected a finite {what ?? Camel(name)}. Received: {Camel(name)}={value}."));
        }
    }

    /// <summary>Throws unless <paramref name="value"/> ≥ 0.</summary>
    public static void NonNegative(long value, string name, string? what = null)
    {
        if (value < 0)
        {
            throw Negative(value, name, what);
        }
    }

    /// <summary>Throws unless <paramref name="value"/> ≥ <paramref name="min"/>.</summary>
    public static void AtLeast(long value, long min, string name, string? what = null)
    {
        if (value < min)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Expected {what ?? Camel(name)} of at least {min}. Received: {Camel(name)}={value}.");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> ≤ <paramref name="max"/>.</summary>
    public static void AtMost(long value, long max, string name, string? what = null)
    {
        if (value > max)
        {
            throw Above(value, max, name, what);
        }
    }

    /// <summary>
    /// Throws unless <paramref name="low"/> ≤ <paramref name="value"/> ≤ <paramref name="high"/>. <paramref name="paramName"/>,
    /// when given, is the exception's parameter (<c>value</c> in a property's setter), and <paramref name="name"/> only
    /// what the message shows.
    /// </summary>
    public static void InRange(long value, long low, long high, string name, string? what = null, string? paramName = null)
    {
        if (value < low || value > high)
        {
            throw new ArgumentOutOfRangeException(paramName ?? name, value, $"Expected {what ?? Camel(name)} in [{low}, {high}]. Received: {Camel(name)}={value}.");
        }
    }

    /// <summary>Throws unless 0 ≤ <paramref name="value"/> &lt; <paramref name="count"/>: an index into <paramref name="count"/> items.</summary>
    public static void Index(long value, long count, string name, string? what = null)
    {
        if (value < 0 || value >= count)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Expected {what ?? Camel(name)} in [0, {count}). Received: {Camel(name)}={value}.");
        }
    }

    /// <summary>Throws when <paramref name="value"/> is NaN: <paramref name="what"/> says why a number is needed.</summary>
    public static void Number(float value, string name, string what)
    {
        if (float.IsNaN(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"Expected {what}. Received: {Camel(name)}=NaN.");
        }
    }

    /// <inheritdoc cref="Number(float, string, string)"/>
    public static void Number(double value, string name, string what)
    {
        if (double.IsNaN(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"Expected {what}. Received: {Camel(name)}=NaN.");
        }
    }

    /// <summary>
    /// Throws unless <paramref name="value"/> is non-negative and finite. <paramref name="paramName"/>, when given, is the
    /// exception's parameter (<c>value</c> in a property's setter), and <paramref name="name"/> only what the message shows.
    /// </summary>
    public static void NonNegative(float value, string name, string? what = null, string? paramName = null) =>
        NonNegative(value, single: true, name, what, paramName);

    /// <summary>Throws unless <paramref name="value"/> is non-negative and finite.</summary>
    public static void NonNegative(double value, string name, string? what = null) => NonNegative(value, single: false, name, what, null);

    /// <summary>
    /// Throws unless <paramref name="value"/> lies between <paramref name="low"/> and <paramref name="high"/>, each
    /// end included or not as <paramref name="interval"/> says (<c>"[)"</c>, <c>"()"</c>, <c>"[]"</c>, <c>"(]"</c>); NaN never does.
    /// <paramref name="paramName"/>, when given, is the exception's parameter (<c>value</c> in a property's setter), and
    /// <paramref name="name"/> only what the message shows.
    /// </summary>
    public static void InRange(float value, float low, float high, string interval, string name, string? what = null, string? paramName = null) =>
        InRange(value, low, high, single: true, interval, name, what, paramName);

    /// <inheritdoc cref="InRange(float, float, float, string, string, string?, string?)"/>
    public static void InRange(double value, double low, double high, string interval, string name, string? what = null) =>
        InRange(value, low, high, single: false, interval, name, what, null);

    /// <summary>A decay rate or momentum: in [0, 1).</summary>
    public static void Decay(float value, string name) => InRange(value, 0f, 1f, "[)", name);

    /// <summary>
    /// Throws unless a row-major buffer holds at least <c>rows·columns</c> elements (exactly that many where
    /// <paramref name="exact"/>), naming its shape (<c>output holds 5 floats but [batch=2, outputs=3] needs 6.</c>). The
    /// message is built only on failure, so per-step checks allocate nothing.
    /// </summary>
    /// <param name="actual">The buffer's length.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="columns">The number of columns (1 for a vector).</param>
    /// <param name="name">The buffer's parameter name.</param>
    /// <param name="rowsName">What the rows count, as the shape shows it (batch, count).</param>
    /// <param name="columnsName">What the columns count, or null to show the number alone.</param>
    /// <param name="unit">What the elements are (floats, values, labels).</param>
    /// <param name="exact">
    /// Whether a longer buffer is refused too: for inputs, where extra values mean rows of another width (a label
    /// column left in) or a count that is not the number of rows, and the rows read would be silently wrong.
    /// </param>
    public static void Holds(int actual, long rows, long columns, string name, string rowsName, string? columnsName = null, string unit = "floats",
        bool exact = false)
    {
        long needed = rows * columns;
        if (actual < needed || (exact && actual != needed))
        {
            string shape = columns == 1 && columnsName is null
                ? $"[{rowsName}={rows}]"
                : $"[{rowsName}={rows}, {(columnsName is null ? "" : columnsName + "=")}{columns}]";
            string why = actual > needed
                ? $": {actual - needed} more than the rows hold (rows of another width, or a {rowsName} that is not the number of rows?); pass exactly the rows to read, or a slice of them"
                : "";
            throw NotHolding(actual, needed, name, shape, unit, why);
        }
    }

    /// <summary>
    /// The first feature whose mean is not finite or whose variance is negative or not finite (a normalization by such
    /// statistics outputs NaN or 0 for every value of the feature), or -1: the one check of a batch normalization's
    /// running statistics and an input normalization's statistics, wherever they enter.
    /// </summary>
    internal static int BadStatistic(ReadOnlySpan<float> mean, ReadOnlySpan<float> variance)
    {
        for (int j = 0; j < mean.Length; j++)
        {
            if (!float.IsFinite(mean[j]) || !(variance[j] >= 0) || float.IsPositiveInfinity(variance[j]))
            {
                return j;
            }
        }

        return -1;
    }

    /// <summary>
    /// Throws when a row-major <c>[?, columns]</c> buffer of inputs holds a NaN or an infinity, naming its row and column
    /// (<c>features[5, 3] = NaN</c>): such a value trained as far as the first step's NaN loss, and a prediction from it
    /// was a class picked from NaN scores.
    /// </summary>
    public static void Finite(ReadOnlySpan<float> values, int columns, string name)
    {
        int bad = Kernels.Elementwise.IndexOfNonFinite(values);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"{name}[{bad / columns}, {bad % columns}] = {Format(values[bad])}: inputs must be finite (a missing value in the data? fill or drop it first).", name);
        }
    }

    /// <summary>Throws when a weight is negative, infinite or NaN (<c>Sample weight 3 is -1: weights must be non-negative and finite.</c>).</summary>
    public static void Weights(ReadOnlySpan<float> weights, string name, string kind)
    {
        for (int i = 0; i < weights.Length; i++)
        {
            Weight(weights[i], i, name, kind);
        }
    }

    /// <summary>Throws when one weight, <paramref name="kind"/> <paramref name="index"/> (a class's, say), is negative, infinite or NaN.</summary>
    public static void Weight(float weight, int index, string name, string kind)
    {
        if (!(weight >= 0f && float.IsFinite(weight)))
        {
            throw new ArgumentException($"{kind} {index} is {Format(weight)}: weights must be non-negative and finite.", name);
        }
    }

    /// <summary>Throws when a class label is outside <c>[0, classes)</c>, naming the first one.</summary>
    public static void Labels(ReadOnlySpan<int> labels, int classes, string name)
    {
        int bad = labels.IndexOfAnyExceptInRange(0, classes - 1);
        if (bad >= 0)
        {
            throw OutsideClasses(labels[bad], bad, classes, name, $": the model predicts {classes} classes");
        }
    }

    /// <summary>
    /// Throws when <c>name[index]</c>, a class, is outside <c>[0, classes)</c>: for loops that read each class as they go
    /// (<c>labels[4] = 7 is outside [0, 3).</c>).
    /// </summary>
    public static void Class(int value, int index, int classes, string name)
    {
        if ((uint)value >= (uint)classes)
        {
            throw OutsideClasses(value, index, classes, name, "");
        }
    }

    /// <summary>
    /// Throws unless two spans read in step hold as many elements (<c>labels holds 5 values but predictions holds 3.</c>),
    /// naming <paramref name="name"/>, the one measured against <paramref name="otherName"/>.
    /// </summary>
    public static void SameLength(int length, int otherLength, string name, string otherName, string unit = "values")
    {
        if (length != otherLength)
        {
            throw NotSameLength(length, otherLength, name, otherName, unit);
        }
    }

    /// <summary>The exception of <see cref="NonNegative(long, string, string?)"/>.</summary>
    internal static ArgumentOutOfRangeException Negative(long value, string name, string? what = null) =>
        new(name, value, $"Expected a non-negative {what ?? Camel(name)}. Received: {Camel(name)}={value}.");

    /// <summary>The exception of <see cref="AtMost"/>.</summary>
    internal static ArgumentOutOfRangeException Above(long value, long max, string name, string? what = null) =>
        new(name, value, $"Expected {what ?? Camel(name)} of at most {max}. Received: {Camel(name)}={value}.");

    /// <summary>
    /// The exception of <see cref="Holds"/>: <paramref name="name"/> holds <paramref name="actual"/> elements where
    /// <paramref name="shape"/> (<c>[batch=2, outputs=3]</c>, or <c>the shape</c> where a kernel knows only the count)
    /// needs <paramref name="needed"/>; fewer unless <paramref name="why"/> says why more are refused.
    /// </summary>
    internal static ArgumentException NotHolding(long actual, long needed, string name, string shape, string unit = "elements", string why = "") =>
        new($"{name} holds {actual} {unit} but {shape} needs {(actual > needed ? "exactly " : "")}{needed}{why}.", name);

    /// <summary>The exception of <see cref="SameLength"/>.</summary>
    internal static ArgumentException NotSameLength(int length, int otherLength, string name, string otherName, string unit = "values") =>
        new($"{otherName} holds {otherLength} {unit} but {name} holds {length}.", name);

    /// <summary>An output span that shares memory with <paramref name="other"/>, which it would overwrite while it is read.</summary>
    internal static ArgumentException Overlapping(string name, string other) =>
        new($"{name} must not overlap {other}.", name);

    /// <summary>An empty span where at least one element is needed (a maximum, a softmax).</summary>
    internal static ArgumentException Empty(string name) =>
        new($"Expected a non-empty {name}. Received: {name} of length 0.", name);

    /// <summary>
    /// Tests only: the memory <see cref="FitsInMemory"/> takes the process to have, on this async flow (0: the GC's
    /// figure), so that a refusal can be tested without the machine's memory deciding it.
    /// </summary>
    internal static readonly AsyncLocal<long> AvailableMemoryOverride = new();

    /// <summary>
    /// Throws <see cref="InsufficientMemoryException"/> when <paramref name="bytes"/> exceed the memory this process may
    /// use (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: the machine's memory or the container's limit), before
    /// anything is allocated: <c>{what} needs 9,000 MiB, more than the 8,000 MiB this process may use; {advice}</c>.
    /// </summary>
    /// <param name="bytes">The bytes needed, computed without overflow (decimal).</param>
    /// <param name="what">What needs them, for the message.</param>
    /// <param name="advice">What to change, for the message.</param>
    public static void FitsInMemory(decimal bytes, string what, string advice)
    {
        long available = AvailableMemoryOverride.Value is > 0 and long limit ? limit : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && bytes > available)
        {
            throw new InsufficientMemoryException(string.Create(CultureInfo.InvariantCulture,
                $"{what} needs {bytes / (1 << 20):N0} MiB, more than the {available / (1L << 20):N0} MiB this process may use; {advice}."));
        }
    }

    /// <summary>A number as messages show it: invariant culture, shortest round-trip form.</summary>
    public static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    // Checks run in double; a float argument is shown, and kept as the exception's ActualValue, as the float it was
    // (0.1, not 0.100000001490116).
    private static string Format(double value, bool single) =>
        single ? Format((float)value) : value.ToString("R", CultureInfo.InvariantCulture);

    private static void Positive(double value, bool single, string name, string? what)
    {
        if (!(value > 0 && double.IsFinite(value)))
        {
            throw new ArgumentOutOfRangeException(name, single ? (object)(float)value : value,
                $"Expected a positive, finite {what ?? Camel(name)}. Received: {Camel(name)}={Format(value, single)}.");
        }
    }

    private static void NonNegative(double value, bool single, string name, string? what, string? paramName)
    {
        if (!(value >= 0 && double.IsFinite(value)))
        {
            throw new ArgumentOutOfRangeException(paramName ?? name, single ? (object)(float)value : value,
                $"Expected a non-negative, finite {what ?? Camel(name)}. Received: {Camel(name)}={Format(value, single)}.");
        }
    }

    private static void InRange(double value, double low, double high, bool single, string interval, string name, string? what, string? paramName)
    {
        bool above = interval[0] == '[' ? value >= low : value > low;
        bool below = interval[1] == ']' ? value <= high : value < high;
        if (!(above && below))
        {
            throw new ArgumentOutOfRangeException(paramName ?? name, single ? (object)(float)value : value,
                $"Expected {what ?? Camel(name)} in {interval[0]}{Format(low, single)}, {Format(high, single)}{interval[1]}. Received: {Camel(name)}={Format(value, single)}.");
        }
    }

    private static ArgumentException OutsideClasses(int value, int index, int classes, string name, string why) =>
        new($"{name}[{index}] = {value} is outside [0, {classes}){why}.", name);

    private static string Camel(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];
}
