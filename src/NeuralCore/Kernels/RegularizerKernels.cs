using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Kernels;

/// <summary>
/// Keras's L1/L2 weight penalty and its gradient (<c>keras.regularizers.L1L2</c>): <c>l1·Σ|w| + l2·Σw²</c>, whose
/// derivative is <c>l1·sign(w) + 2·l2·w</c> (0 at w = 0, as TensorFlow's gradient of |w|).
/// </summary>
public static class RegularizerKernels
{
    /// <summary>
    /// <c>l1·Σ|w| + l2·Σw²</c>, the sums taken as <see cref="MatrixSums"/> takes them over rows of 256 values (so the
    /// bits depend neither on the vector width nor on any thread count); a term whose factor is 0 is left out.
    /// </summary>
    /// <param name="weights">w.</param>
    /// <param name="l1">The L1 factor; non-negative.</param>
    /// <param name="l2">The L2 factor; non-negative.</param>
    /// <returns>The penalty (infinite when a sum overflows float32).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A factor is negative, infinite or NaN.</exception>
    public static double Penalty(ReadOnlySpan<float> weights, float l1, float l2)
    {
        CheckFactors(l1, l2);
        return PenaltyUnchecked(weights, l1, l2, KernelIsaSupport.Widest);
    }

    // A Regularizer's factors were checked when it was made.
    internal static double PenaltyUnchecked(ReadOnlySpan<float> weights, float l1, float l2, KernelIsa isa)
    {
        if (l1 == 0f && l2 == 0f)
        {
            return 0;
        }

        const int Width = 256;
        Span<float> scratch = stackalloc float[2 * Width];
        int rows = weights.Length / Width, full = rows * Width;
        (double m, double s) = MatrixSums(weights[..full], rows, Width, default, scratch, isa);
        if (full < weights.Length)
        {
            (double m2, double s2) = MatrixSums(weights[full..], 1, weights.Length - full, default, scratch, isa);
            (m, s) = (m + m2, s + s2);
        }

        return Combine(l1, l2, m, s);
    }

    /// <summary><c>l1·magnitudes + l2·squares</c>, a term whose factor is 0 left out (0·∞ would be NaN).</summary>
    internal static double Combine(float l1, float l2, double magnitudes, double squares) =>
        (l1 != 0f ? l1 * magnitudes : 0) + (l2 != 0f ? l2 * squares : 0);

    /// <summary>
    /// <c>Σ|w|</c> and <c>Σw²</c> of a <c>[rows, columns]</c> matrix held row-major, or in <paramref name="layout"/>'s
    /// panel order when it is valid, with the same bits either way and on every instruction-set path: each column's
    /// values are summed in float32 down its rows (into <paramref name="scratch"/>, <c>2·columns</c> floats, which it
    /// overwrites), then the columns' sums in double, column after column. Both orders visit each column's rows from the
    /// first to the last, and a vector lane adds exactly what a scalar loop adds.
    /// </summary>
    /// <remarks>
    /// So a kernel regularizer's penalty is the same whether <c>Fit</c> keeps the first layer in panel order or not,
    /// which lets such a layer keep that order. Not <see cref="TensorPrimitives.SumOfSquares(ReadOnlySpan{float})"/>
    /// either: its code starts at tier 0, where it took 50 µs for 100K floats against 3 µs once optimized, and the
    /// runtime replaced it only 100-150 ms into a run, so most of a small model's first epoch paid it every step.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (double Magnitudes, double Squares) MatrixSums(ReadOnlySpan<float> weights, int rows, int columns,
        in PanelLayout layout, Span<float> scratch, KernelIsa isa)
    {
        Span<float> magnitudes = scratch[..columns], squares = scratch.Slice(columns, columns);
        ColumnSums(weights, rows, columns, layout, 0, columns, magnitudes, squares, isa);
        return Combine(magnitudes, squares);
    }

    /// <summary>
    /// <see cref="MatrixSums"/>'s first half for columns <c>[column0, column1)</c> only: each column's <c>Σ|w|</c> and
    /// <c>Σw²</c> in float32 down its rows, into the same columns of <paramref name="magnitudes"/> and
    /// <paramref name="squares"/> (<c>columns</c> floats each; the others are left as they are). Threads that take
    /// disjoint columns fill them with the bits one call over all columns gives, since a column's sums never leave it.
    /// In panel order both are multiples of the layout's <c>Nr</c> (as the width is).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ColumnSums(ReadOnlySpan<float> weights, int rows, int columns, in PanelLayout layout, int column0, int column1,
        Span<float> magnitudes, Span<float> squares, KernelIsa isa)
    {
        magnitudes[column0..column1].Clear();
        squares[column0..column1].Clear();
        if (layout.IsValid)
        {
            int nr = layout.Nr;
            for (int p0 = 0; p0 < rows; p0 += layout.Kc)
            {
                int kc = Math.Min(layout.Kc, rows - p0);
                for (int j = column0; j < column1; j += nr)
                {
                    // The panel of columns j..j+nr in this k block: its kc rows of nr values, one after the other.
                    ReadOnlySpan<float> panel = weights.Slice((p0 * columns) + (j * kc), kc * nr);
                    if (isa == KernelIsa.Vector512 && nr == 32)
                    {
                        AccumulateStrip32(panel, kc, 32, magnitudes.Slice(j, 32), squares.Slice(j, 32));
                        continue;
                    }

                    for (int i = 0; i < kc; i++)
                    {
                        AccumulateRow(panel.Slice(i * nr, nr), magnitudes.Slice(j, nr), squares.Slice(j, nr), isa);
                    }
                }
            }
        }
        else
        {
            int strips = isa == KernelIsa.Vector512 && rows > 0 && columns <= MaxStripStride ? column0 + ((column1 - column0) / 32 * 32) : column0;
            for (int c = column0; c < strips; c += 32)
            {
                AccumulateStrip32(weights[c..], rows, columns, magnitudes.Slice(c, 32), squares.Slice(c, 32));
            }

            if (strips < column1)
            {
                for (int r = 0; r < rows; r++)
                {
                    AccumulateRow(weights.Slice((r * columns) + strips, column1 - strips), magnitudes[strips..column1], squares[strips..column1], isa);
                }
            }
        }
    }

    /// <summary>
    /// Multiplies columns <c>[column0, column1)</c> of a <c>[rows, columns]</c> matrix, held row-major or in
    /// <paramref name="layout"/>'s panel order, by their factors (<c>w[r, c] ← w[r, c]·factors[c]</c>, element by element,
    /// so the bits are the same in either order and on every path): a weight constraint's rescaling after
    /// <see cref="ColumnSums"/> gave its norms. In panel order both bounds are multiples of the layout's <c>Nr</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScaleColumns(Span<float> weights, int rows, int columns, in PanelLayout layout, int column0, int column1,
        ReadOnlySpan<float> factors, KernelIsa isa)
    {
        if (layout.IsValid)
        {
            int nr = layout.Nr;
            for (int p0 = 0; p0 < rows; p0 += layout.Kc)
            {
                int kc = Math.Min(layout.Kc, rows - p0);
                for (int j = column0; j < column1; j += nr)
                {
                    Span<float> panel = weights.Slice((p0 * columns) + (j * kc), kc * nr);
                    if (isa == KernelIsa.Vector512 && nr == 32)
                    {
                        ScaleStrip32(panel, kc, 32, factors.Slice(j, 32));
                        continue;
                    }

                    for (int i = 0; i < kc; i++)
                    {
                        MultiplyRow(panel.Slice(i * nr, nr), factors.Slice(j, nr), isa);
                    }
                }
            }

            return;
        }

        int strips = isa == KernelIsa.Vector512 && rows > 0 && columns <= MaxStripStride ? column0 + ((column1 - column0) / 32 * 32) : column0;
        for (int c = column0; c < strips; c += 32)
        {
            ScaleStrip32(weights[c..], rows, columns, factors.Slice(c, 32));
        }

        if (strips < column1)
        {
            for (int r = 0; r < rows; r++)
            {
                MultiplyRow(weights.Slice((r * columns) + strips, column1 - strips), factors[strips..column1], isa);
            }
        }
    }

    // 32 columns down `rows` rows `stride` floats apart times their factors, held in registers.
    private static void ScaleStrip32(Span<float> values, int rows, int stride, ReadOnlySpan<float> factors)
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        ref float f = ref MemoryMarshal.GetReference(factors);
        Vector512<float> f0 = Vector512.LoadUnsafe(ref f), f1 = Vector512.LoadUnsafe(ref f, 16);
        for (nuint i = 0, end = (nuint)rows * (nuint)stride; i < end; i += (nuint)stride)
        {
            (Vector512.LoadUnsafe(ref x, i) * f0).StoreUnsafe(ref x, i);
            (Vector512.LoadUnsafe(ref x, i + 16) * f1).StoreUnsafe(ref x, i + 16);
        }
    }

    // row[c] *= factors[c], each lane on its own.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyRow(Span<float> row, ReadOnlySpan<float> factors, KernelIsa isa)
    {
        ref float x = ref MemoryMarshal.GetReference(row);
        ref float f = ref MemoryMarshal.GetReference(factors);
        nuint n = (nuint)row.Length, i = 0;
        if (isa == KernelIsa.Vector512)
        {
            for (; i + 16 <= n; i += 16)
            {
                (Vector512.LoadUnsafe(ref x, i) * Vector512.LoadUnsafe(ref f, i)).StoreUnsafe(ref x, i);
            }
        }
        else if (isa == KernelIsa.Vector256)
        {
            for (; i + 8 <= n; i += 8)
            {
                (Vector256.LoadUnsafe(ref x, i) * Vector256.LoadUnsafe(ref f, i)).StoreUnsafe(ref x, i);
            }
        }
        else if (isa == KernelIsa.Vector128)
        {
            for (; i + 4 <= n; i += 4)
            {
                (Vector128.LoadUnsafe(ref x, i) * Vector128.LoadUnsafe(ref f, i)).StoreUnsafe(ref x, i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref x, i) *= Unsafe.Add(ref f, i);
        }
    }

    /// <summary><see cref="MatrixSums"/>'s second half: the columns' sums added in double, column after column.</summary>
    internal static (double Magnitudes, double Squares) Combine(ReadOnlySpan<float> magnitudes, ReadOnlySpan<float> squares)
    {
        double m = 0, s = 0;
        for (int c = 0; c < magnitudes.Length; c++)
        {
            m += magnitudes[c];
            s += squares[c];
        }

        return (m, s);
    }

    // The widest row-major matrix read 32 columns at a time down its rows; a wider one is read row by row, in memory
    // order. Down rows 4 KB apart (1,024 columns) the strips took a constraint's norms of a 784 x 1,024 matrix 380 µs
    // against about 130 row by row (AMD EPYC Zen 4, 2 real cores): every row of a strip falls in the same cache set.
    private const int MaxStripStride = 256;

    // The sums of 32 columns down `rows` rows `stride` floats apart, in registers (one row after another per lane, as
    // AccumulateRow adds them): a row at a time through memory made the penalty of 784-128-10's first layer in panel
    // order 16 µs a step, each row's sums waiting for the last row's stores.
    private static void AccumulateStrip32(ReadOnlySpan<float> values, int rows, int stride, Span<float> magnitudes, Span<float> squares)
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        ref float a = ref MemoryMarshal.GetReference(magnitudes);
        ref float q = ref MemoryMarshal.GetReference(squares);
        Vector512<float> a0 = Vector512.LoadUnsafe(ref a), a1 = Vector512.LoadUnsafe(ref a, 16);
        Vector512<float> q0 = Vector512.LoadUnsafe(ref q), q1 = Vector512.LoadUnsafe(ref q, 16);
        for (nuint i = 0, end = (nuint)rows * (nuint)stride; i < end; i += (nuint)stride)
        {
            Vector512<float> v0 = Vector512.LoadUnsafe(ref x, i), v1 = Vector512.LoadUnsafe(ref x, i + 16);
            a0 += Vector512.Abs(v0);
            a1 += Vector512.Abs(v1);
            q0 += v0 * v0;
            q1 += v1 * v1;
        }

        a0.StoreUnsafe(ref a);
        a1.StoreUnsafe(ref a, 16);
        q0.StoreUnsafe(ref q);
        q1.StoreUnsafe(ref q, 16);
    }

    // magnitudes[c] += |row[c]| and squares[c] += row[c]·row[c], each lane on its own (no sum across lanes).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateRow(ReadOnlySpan<float> row, Span<float> magnitudes, Span<float> squares, KernelIsa isa)
    {
        ref float x = ref MemoryMarshal.GetReference(row);
        ref float a = ref MemoryMarshal.GetReference(magnitudes);
        ref float q = ref MemoryMarshal.GetReference(squares);
        nuint n = (nuint)row.Length, i = 0;
        if (isa == KernelIsa.Vector512)
        {
            for (; i + 16 <= n; i += 16)
            {
                Vector512<float> v = Vector512.LoadUnsafe(ref x, i);
                (Vector512.LoadUnsafe(ref a, i) + Vector512.Abs(v)).StoreUnsafe(ref a, i);
                (Vector512.LoadUnsafe(ref q, i) + (v * v)).StoreUnsafe(ref q, i);
            }
        }
        else if (isa == KernelIsa.Vector256)
        {
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> v = Vector256.LoadUnsafe(ref x, i);
                (Vector256.LoadUnsafe(ref a, i) + Vector256.Abs(v)).StoreUnsafe(ref a, i);
                (Vector256.LoadUnsafe(ref q, i) + (v * v)).StoreUnsafe(ref q, i);
            }
        }
        else if (isa == KernelIsa.Vector128)
        {
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> v = Vector128.LoadUnsafe(ref x, i);
                (Vector128.LoadUnsafe(ref a, i) + Vector128.Abs(v)).StoreUnsafe(ref a, i);
                (Vector128.LoadUnsafe(ref q, i) + (v * v)).StoreUnsafe(ref q, i);
            }
        }

        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref x, i);
            Unsafe.Add(ref a, i) += MathF.Abs(v);
            Unsafe.Add(ref q, i) += v * v;
        }
    }

    /// <summary>
    /// Adds the penalty's derivative to <paramref name="gradients"/>: <c>g ← g + (2·l2·w + l1·sign(w))</c>, element by
    /// element (so any division among threads gives the same bits).
    /// </summary>
    /// <param name="weights">w.</param>
    /// <param name="gradients">g, as long as <paramref name="weights"/>, updated in place.</param>
    /// <param name="l1">The L1 factor; non-negative.</param>
    /// <param name="l2">The L2 factor; non-negative.</param>
    /// <exception cref="ArgumentException"><paramref name="gradients"/> is not as long as <paramref name="weights"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A factor is negative, infinite or NaN.</exception>
    public static void AddGradient(ReadOnlySpan<float> weights, Span<float> gradients, float l1, float l2)
    {
        CheckFactors(l1, l2);
        AddGradient(weights, gradients, l1, l2, KernelIsaSupport.Widest);
    }

    // A NaN factor gave NaN gradients and a negative one rewarded large weights, silently.
    private static void CheckFactors(float l1, float l2)
    {
        Check.NonNegative(l1, nameof(l1), "L1 factor");
        Check.NonNegative(l2, nameof(l2), "L2 factor");
    }

    /// <summary><see cref="AddGradient(ReadOnlySpan{float}, Span{float}, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddGradient(ReadOnlySpan<float> weights, Span<float> gradients, float l1, float l2, KernelIsa isa)
    {
        if (gradients.Length != weights.Length)
        {
            ThrowHelper.ThrowLengthMismatch(nameof(gradients), gradients.Length, nameof(weights), weights.Length);
        }

        if (l1 == 0f && l2 == 0f)
        {
            return;
        }

        ElementwiseDriver.Run(new GradientStep(weights, gradients, l1, 2f * l2), weights.Length, isa);
    }

    private readonly ref struct GradientStep(ReadOnlySpan<float> weights, Span<float> gradients, float l1, float twoL2) : IElementwiseStep
    {
        private readonly ref float _w = ref MemoryMarshal.GetReference(weights);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly float _l1 = l1, _twoL2 = twoL2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            // l1·sign(w): +l1 above zero, -l1 below, ±0 at ±0 (NaN for a NaN weight, which the step's check refuses anyway).
            TLanes w = TLanes.Load(ref _w, index);
            TLanes.Store(TLanes.Load(ref _g, index) + ((TLanes.Create(_twoL2) * w) + (TLanes.Create(_l1) * TLanes.Sign(w))), ref _g, index);
        }
    }
}
