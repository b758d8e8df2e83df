using System.Globalization;
using System.Numerics.Tensors;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>The rule a <see cref="Constraint"/> applies.</summary>
public enum ConstraintKind
{
    /// <summary>Keras's <c>MaxNorm</c>: each norm is capped at <see cref="Constraint.MaxValue"/>.</summary>
    MaxNorm,

    /// <summary>Keras's <c>MinMaxNorm</c>: each norm is moved towards <c>[MinValue, MaxValue]</c> at <see cref="Constraint.Rate"/>.</summary>
    MinMaxNorm,

    /// <summary>Keras's <c>NonNeg</c>: <c>max(w, 0)</c>, negative weights (and -0, and -∞) become +0; NaN stays.</summary>
    NonNeg,

    /// <summary>Keras's <c>UnitNorm</c>: each norm becomes 1.</summary>
    UnitNorm,
}

/// <summary>
/// A projection applied to a layer's weights after every optimizer update (Keras's <c>keras.constraints</c>, given to a
/// <see cref="Dense"/> as <see cref="Dense.KernelConstraint"/> or <see cref="Dense.BiasConstraint"/>). With
/// <c>n</c> the Euclidean norm of each slice along <see cref="Axis"/> and ε = 1e-7 (Keras's <c>epsilon()</c>):
/// MaxNorm <c>w·clip(n, 0, max)/(ε + n)</c>; MinMaxNorm <c>w·(rate·clip(n, min, max) + (1 - rate)·n)/(ε + n)</c>;
/// UnitNorm <c>w/(ε + n)</c>; NonNeg <c>max(w, 0)</c>. Immutable.
/// </summary>
/// <remarks>
/// For a dense kernel <c>W[inputs, units]</c>, axis 0 (Keras's default) takes the norm of each unit's incoming weights
/// (a column; with one input, each weight alone), axis 1 (or -1) each input's outgoing weights (a row); a bias has one
/// axis (0), and its norm is the whole vector's. Each norm is summed in float down its slice in order by one thread, so
/// the result is the same bits on any thread count (Keras's backends sum in their own order, so the last bits may
/// differ from Keras's). A NaN weight makes its slice NaN, as in Keras.
/// </remarks>
public sealed class Constraint
{
    /// <summary>Keras's <c>backend.epsilon()</c>, added to each norm before dividing by it.</summary>
    public const float Epsilon = 1e-7f;

    private Constraint(ConstraintKind kind, float minValue, float maxValue, float rate, int axis)
    {
        if (axis is < -1 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, "The axis must be 0 (each unit's incoming weights), 1 or -1 (each input's outgoing weights).");
        }

        (Kind, MinValue, MaxValue, Rate, Axis) = (kind, minValue, maxValue, rate, axis == -1 ? 1 : axis);
    }

    /// <summary>The rule.</summary>
    public ConstraintKind Kind { get; }

    /// <summary>The lowest norm MinMaxNorm moves towards (0 for the others).</summary>
    public float MinValue { get; }

    /// <summary>The highest norm MaxNorm and MinMaxNorm allow (0 for the others).</summary>
    public float MaxValue { get; }

    /// <summary>MinMaxNorm's rate: 1 projects at once, less moves part of the way (0 for the others).</summary>
    public float Rate { get; }

    /// <summary>The axis the norms run along: 0 (each column of a kernel) or 1 (each row); -1 is read as 1.</summary>
    public int Axis { get; }

    /// <summary>Caps each norm at <paramref name="maxValue"/> (Keras's <c>MaxNorm(max_value=2, axis=0)</c>).</summary>
    /// <param name="maxValue">The largest norm; positive and finite.</param>
    /// <param name="axis">0, 1 or -1.</param>
    /// <returns>The constraint.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxValue"/> is not positive and finite, or <paramref name="axis"/> is not 0, 1 or -1.</exception>
    public static Constraint MaxNorm(float maxValue = 2f, int axis = 0)
    {
        Check.Positive(maxValue, nameof(maxValue));
        return new Constraint(ConstraintKind.MaxNorm, 0f, maxValue, 0f, axis);
    }

    /// <summary>Moves each norm into <c>[minValue, maxValue]</c> at <paramref name="rate"/> (Keras's <c>MinMaxNorm(0, 1, 1, 0)</c>).</summary>
    /// <param name="minValue">The lowest norm; non-negative and finite.</param>
    /// <param name="maxValue">The highest norm; finite, at least <paramref name="minValue"/>.</param>
    /// <param name="rate">In [0, 1]: 1 sets the norms inside the range at once, 0.5 halfway there.</param>
    /// <param name="axis">0, 1 or -1.</param>
    /// <returns>The constraint.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range, or <paramref name="axis"/> is not 0, 1 or -1.</exception>
    public static Constraint MinMaxNorm(float minValue = 0f, float maxValue = 1f, float rate = 1f, int axis = 0)
    {
        Check.NonNegative(minValue, nameof(minValue), "min_value");
        Check.NonNegative(maxValue, nameof(maxValue), "max_value");
        if (maxValue < minValue)
        {
            throw new ArgumentOutOfRangeException(nameof(maxValue), maxValue, $"max_value must be at least min_value ({minValue.ToString(CultureInfo.InvariantCulture)}).");
        }

        Check.InRange(rate, 0f, 1f, "[]", nameof(rate), "rate");
        return new Constraint(ConstraintKind.MinMaxNorm, minValue, maxValue, rate, axis);
    }

    /// <summary>Sets negative weights to 0 (Keras's <c>NonNeg</c>).</summary>
    /// <returns>The constraint.</returns>
    public static Constraint NonNeg() => new(ConstraintKind.NonNeg, 0f, 0f, 0f, 0);

    /// <summary>Scales each slice to norm 1 (Keras's <c>UnitNorm(axis=0)</c>).</summary>
    /// <param name="axis">0, 1 or -1.</param>
    /// <returns>The constraint.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="axis"/> is not 0, 1 or -1.</exception>
    public static Constraint UnitNorm(int axis = 0) => new(ConstraintKind.UnitNorm, 0f, 0f, 0f, axis);

    /// <summary>
    /// Applies the constraint in place to a row-major <c>[rows, columns]</c> matrix, with <paramref name="scratch"/> of
    /// at least <see cref="ScratchLength"/> floats for the column norms; or, with <paramref name="vector"/>, to a vector
    /// (a bias: <paramref name="rows"/> 1) whose one norm is the whole vector's.
    /// </summary>
    /// <param name="weights">The weights, updated.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="columns">The number of columns.</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/> floats, overwritten (unused for a vector).</param>
    /// <param name="vector">Whether the weights are a vector (a bias) rather than a matrix.</param>
    /// <param name="layout">The panel order the matrix is kept in, or the default for row-major.</param>
    internal void Apply(Span<float> weights, int rows, int columns, Span<float> scratch, bool vector = false, in PanelLayout layout = default) =>
        ApplySlice(weights, rows, columns, scratch, 0, 1, vector, layout);

    /// <summary>
    /// Slice <paramref name="slice"/> of <paramref name="slices"/> of <see cref="Apply"/>: whole rows where each row (or
    /// each element) stands alone, whole groups of 32 columns where the norms run down the columns. Each norm is summed by
    /// one slice in row order, so the slices give the bits of one pass; they write disjoint parts of the weights and
    /// of <paramref name="scratch"/>. A matrix kept in <paramref name="layout"/>'s panel order (the first layer during
    /// <c>Fit</c>) gets the same bits: a row's values are visited column after column and a column's row after row in
    /// both orders, and groups of 32 columns hold whole panels (32 is a multiple of every tile width).
    /// </summary>
    internal void ApplySlice(Span<float> weights, int rows, int columns, Span<float> scratch, int slice, int slices, bool vector = false,
        in PanelLayout layout = default)
    {
        if (Kind == ConstraintKind.NonNeg && layout.IsValid)
        {
            // Element by element: any division of the values does, whatever their order. A row's length at a time, as
            // in row-major order: over the whole matrix at once TensorPrimitives took 229 µs for 784 x 1,024 against 88
            // (AMD EPYC Zen 4, 2 real cores).
            (int e0, int e1) = Range(rows * columns, 1, slices, slice);
            for (int e = e0; e < e1; e += columns)
            {
                Span<float> part = weights[e..Math.Min(e + columns, e1)];
                TensorPrimitives.Max(part, 0f, part);
            }

            return;
        }

        if (Kind == ConstraintKind.NonNeg || vector || Axis == 1)
        {
            (int first, int end) = Range(rows, 1, slices, slice);
            if (vector && Kind != ConstraintKind.NonNeg)
            {
                // A vector's one norm: the whole vector, by the first slice.
                (first, end) = slice == 0 ? (0, 1) : (0, 0);
            }

            for (int r = first; r < end; r++)
            {
                if (layout.IsValid)
                {
                    ScaleRowInPanels(weights, columns, layout, r);
                    continue;
                }

                Span<float> row = weights.Slice(r * columns, columns);
                if (Kind == ConstraintKind.NonNeg)
                {
                    // Keras 3's max(w, 0), IEEE 754's maximum as there: NaN stays NaN, -0 and -∞ become +0.
                    TensorPrimitives.Max(row, 0f, row);
                }
                else
                {
                    TensorPrimitives.Multiply(row, Factor(SumOfSquares(row)), row);
                }
            }

            return;
        }

        // One norm per column: the squares added down the rows in order, each column on its own lane.
        (int c0, int c1) = Range(columns, 32, slices, slice);
        if (c0 >= c1)
        {
            return;
        }

        // The same float sums, down the rows in order, as the L2 penalty's: the squares half of the scratch, then each
        // column's factor in its place.
        Span<float> magnitudes = scratch[..columns], squares = scratch.Slice(columns, columns);
        RegularizerKernels.ColumnSums(weights, rows, columns, layout, c0, c1, magnitudes, squares, KernelIsaSupport.Widest);
        for (int c = c0; c < c1; c++)
        {
            squares[c] = Factor(squares[c]);
        }

        RegularizerKernels.ScaleColumns(weights, rows, columns, layout, c0, c1, squares, KernelIsaSupport.Widest);
    }

    // A row's norm in panel order: its stretches of Nr values, panel after panel, summed as SumOfSquares sums the row.
    private void ScaleRowInPanels(Span<float> weights, int columns, in PanelLayout layout, int row)
    {
        int nr = layout.Nr, p0 = row / layout.Kc * layout.Kc, kc = Math.Min(layout.Kc, layout.K - p0);
        int start = (p0 * columns) + ((row - p0) * nr);
        float sum = 0f;
        for (int j = 0; j < columns; j += nr)
        {
            foreach (float v in weights.Slice(start + (j * kc), nr))
            {
                sum += v * v;
            }
        }

        float factor = Factor(sum);
        for (int j = 0; j < columns; j += nr)
        {
            Span<float> part = weights.Slice(start + (j * kc), nr);
            TensorPrimitives.Multiply(part, factor, part);
        }
    }

    /// <summary>How many slices <see cref="ApplySlice"/> can use for <paramref name="rows"/> x <paramref name="columns"/>, at most <paramref name="threads"/>.</summary>
    internal int Slices(int rows, int columns, int threads) =>
        Math.Max(1, Math.Min(threads, Kind == ConstraintKind.NonNeg || Axis == 1 ? rows : (columns + 31) / 32));

    // [first, end) of `count` items in whole groups of `group`, for slice `index` of `slices` (the last ends at count).
    private static (int First, int End) Range(int count, int group, int slices, int index)
    {
        int groups = (count + group - 1) / group;
        int first = (int)((long)groups * index / slices) * group, end = (int)((long)groups * (index + 1) / slices) * group;
        return (Math.Min(first, count), Math.Min(end, count));
    }

    /// <summary>The floats of scratch <see cref="Apply"/> needs for <paramref name="columns"/> columns.</summary>
    internal static int ScratchLength(int columns) => 2 * columns;

    // The factor a slice whose squares add up to `sumOfSquares` is multiplied by, computed in float as Keras computes it.
    private float Factor(float sumOfSquares)
    {
        float norm = MathF.Sqrt(sumOfSquares);
        float desired = Kind switch
        {
            ConstraintKind.MaxNorm => Math.Clamp(norm, 0f, MaxValue),
            ConstraintKind.MinMaxNorm => (Rate * Math.Clamp(norm, MinValue, MaxValue)) + ((1f - Rate) * norm),
            _ => 1f,
        };

        // Math.Clamp passes a NaN norm through, and the division keeps it: the slice becomes NaN, as in Keras.
        return desired / (Epsilon + norm);
    }

    private static float SumOfSquares(ReadOnlySpan<float> values)
    {
        float sum = 0f;
        foreach (float v in values)
        {
            sum += v * v;
        }

        return sum;
    }

    /// <summary>The constraint's entries in a layer config, under <paramref name="prefix"/> (<c>kernel</c>, <c>bias</c>).</summary>
    internal void Write(Configuration.ComponentConfig config, string prefix)
    {
        config.Set(prefix + "_constraint", Name(Kind)).Set(prefix + "_constraint_axis", Axis);
        if (Kind is ConstraintKind.MaxNorm or ConstraintKind.MinMaxNorm)
        {
            config.Set(prefix + "_constraint_max_value", MaxValue);
        }

        if (Kind == ConstraintKind.MinMaxNorm)
        {
            config.Set(prefix + "_constraint_min_value", MinValue).Set(prefix + "_constraint_rate", Rate);
        }
    }

    /// <summary>
    /// Reads what <see cref="Write"/> wrote, or null where the config has no constraint under <paramref name="prefix"/>;
    /// a bias (<paramref name="vector"/>) takes axis 0 only, NonNeg none but 0.
    /// </summary>
    /// <exception cref="InvalidDataException">The kind is unknown, an entry is missing, or a value is out of range (the entry named).</exception>
    internal static Constraint? Read(Configuration.ComponentConfig config, string prefix, bool vector)
    {
        string key = prefix + "_constraint";
        if (!config.Entries.Any(e => e.Key == key))
        {
            return null;
        }

        string kind = config.GetString(key);
        int axis = config.GetInt32(key + "_axis");
        if (axis is not (0 or 1) || (axis == 1 && (vector || kind == "non_neg")))
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{key}_axis is {axis}; {(vector ? "a bias has one axis, 0" : kind == "non_neg" ? "non_neg takes none (0)" : "it must be 0 or 1")}."));
        }

        float Value(string name)
        {
            float value = config.GetSingle(key + "_" + name);
            return float.IsFinite(value) ? value
                : throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{key}_{name} is {value}; it must be finite."));
        }

        try
        {
            return kind switch
            {
                "max_norm" => MaxNorm(Value("max_value"), axis),
                "min_max_norm" => MinMaxNorm(Value("min_value"), Value("max_value"), Value("rate"), axis),
                "non_neg" => NonNeg(),
                "unit_norm" => UnitNorm(axis),
                _ => throw new InvalidDataException($"{key} is '{kind}'; expected max_norm, min_max_norm, non_neg or unit_norm."),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            // Named as the file names it: the parameter maxValue is the entry kernel_constraint_max_value.
            string entry = e.ParamName switch
            {
                "maxValue" => "max_value",
                "minValue" => "min_value",
                _ => e.ParamName ?? "value",
            };
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{key}_{entry} ({kind}) is {e.ActualValue}: {e.Message.Split('\n')[0].TrimEnd('\r').Split(" (Parameter")[0]}"), e);
        }
    }

    private static string Name(ConstraintKind kind) => kind switch
    {
        ConstraintKind.MaxNorm => "max_norm",
        ConstraintKind.MinMaxNorm => "min_max_norm",
        ConstraintKind.NonNeg => "non_neg",
        _ => "unit_norm",
    };

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        ConstraintKind.MaxNorm => string.Create(CultureInfo.InvariantCulture, $"MaxNorm({MaxValue}, axis={Axis})"),
        ConstraintKind.MinMaxNorm => string.Create(CultureInfo.InvariantCulture, $"MinMaxNorm({MinValue}, {MaxValue}, rate={Rate}, axis={Axis})"),
        ConstraintKind.NonNeg => "NonNeg()",
        _ => string.Create(CultureInfo.InvariantCulture, $"UnitNorm(axis={Axis})"),
    };
}
