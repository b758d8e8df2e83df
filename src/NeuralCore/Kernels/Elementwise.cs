using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Kernels;

/// <summary>Element-wise and reduction kernels for dense layers, over row-major <c>[rows, columns]</c> spans.</summary>
public static class Elementwise
{
    /// <summary>Adds a row to every row of a matrix: <c>matrix[r, j] += row[j]</c> (the bias of a dense layer).</summary>
    /// <param name="matrix">The <c>[rows, row.Length]</c> matrix, updated in place.</param>
    /// <param name="row">The row to add.</param>
    /// <param name="rows">The number of rows.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="matrix"/> is shorter than <c>rows·row.Length</c>.</exception>
    public static void AddRowToEachRow(Span<float> matrix, ReadOnlySpan<float> row, int rows)
    {
        ThrowHelper.CheckNonNegative(rows, nameof(rows));
        int columns = row.Length;
        ThrowHelper.CheckLength(matrix.Length, (long)rows * columns, nameof(matrix));
        for (int r = 0; r < rows; r++)
        {
            Span<float> target = matrix.Slice(r * columns, columns);
            TensorPrimitives.Add(target, row, target);
        }
    }

    /// <summary>
    /// Accumulates column sums: <c>sums[j] += Σ_r matrix[r, j]</c>, adding rows in increasing <c>r</c> (the bias
    /// gradient of a dense layer).
    /// </summary>
    /// <param name="matrix">The <c>[rows, sums.Length]</c> matrix.</param>
    /// <param name="sums">The column sums, accumulated into.</param>
    /// <param name="rows">The number of rows.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="matrix"/> is shorter than <c>rows·sums.Length</c>, or overlaps <paramref name="sums"/>.</exception>
    public static void AccumulateColumnSums(ReadOnlySpan<float> matrix, Span<float> sums, int rows) =>
        AccumulateColumnSums(matrix, sums, rows, KernelIsaSupport.Widest);

    /// <summary>
    /// <see cref="AccumulateColumnSums(ReadOnlySpan{float}, Span{float}, int)"/>, its masked 512-bit path only where
    /// <paramref name="isa"/> is <see cref="KernelIsa.Vector512"/> (below it, <c>TensorPrimitives</c>, which picks its
    /// own width); the same bits either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AccumulateColumnSums(ReadOnlySpan<float> matrix, Span<float> sums, int rows, KernelIsa isa)
    {
        ThrowHelper.CheckNonNegative(rows, nameof(rows));
        int columns = sums.Length;
        ThrowHelper.CheckLength(matrix.Length, (long)rows * columns, nameof(matrix));
        if (matrix[..(rows * columns)].Overlaps(sums))
        {
            ThrowHelper.ThrowOverlap(nameof(sums), nameof(matrix));
        }

        if (columns <= 16 && isa == KernelIsa.Vector512 && Avx512F.IsSupported && rows > 0)
        {
            // A 10-class output's bias gradient: one masked vector for the row sums instead of a call per row. The same
            // additions, sums first (as TensorPrimitives.Add(sums, row)), rows in increasing order.
            Vector512<float> lanes = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(columns)).AsSingle();
            unsafe
            {
                fixed (float* pm = matrix, ps = sums)
                {
                    Vector512<float> total = Avx512F.MaskLoad(ps, lanes, Vector512<float>.Zero);
                    for (int r = 0; r < rows; r++)
                    {
                        total += Avx512F.MaskLoad(pm + ((long)r * columns), lanes, Vector512<float>.Zero);
                    }

                    Avx512F.MaskStore(ps, lanes, total);
                }
            }

            return;
        }

        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Add(sums, matrix.Slice(r * columns, columns), sums);
        }
    }

    /// <summary>Rectified linear unit: <c>destination[i] = max(x[i], 0)</c>; NaN stays NaN. May run in place.</summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">The output, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Relu(ReadOnlySpan<float> x, Span<float> destination)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        TensorPrimitives.Max(x, 0f, destination[..x.Length]);
    }

    /// <summary>
    /// ReLU backward: <c>destination[i] = x[i] &gt; 0 ? outputGrad[i] : 0</c>, where <paramref name="x"/> is the
    /// forward input (the derivative at 0 is taken as 0, as Keras and PyTorch do). May run in place on <paramref name="outputGrad"/>.
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">The gradient with respect to the ReLU output, as long as <paramref name="x"/>.</param>
    /// <param name="destination">The gradient with respect to <paramref name="x"/>, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">A length does not match <paramref name="x"/>.</exception>
    public static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination) =>
        ReluBackward(x, outputGrad, destination, KernelIsaSupport.Widest);

    /// <summary><see cref="ReluBackward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination, KernelIsa isa)
    {
        if (outputGrad.Length != x.Length)
        {
            ThrowHelper.ThrowLengthMismatch(nameof(outputGrad), outputGrad.Length, nameof(x), x.Length);
        }

        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        ElementwiseDriver.Binary<ReluGradOperator>(x, outputGrad, destination, isa);
    }

    /// <summary>
    /// The index of the first value of <paramref name="x"/> that is NaN or infinite, or -1 when all are finite (the check
    /// of a dataset's features, tens of millions of values, so vectorized).
    /// </summary>
    /// <param name="x">The values.</param>
    /// <returns>The first non-finite value's index, or -1.</returns>
    public static int IndexOfNonFinite(ReadOnlySpan<float> x) => IndexOfNonFinite(x, KernelIsaSupport.Widest);

    /// <summary><see cref="IndexOfNonFinite(ReadOnlySpan{float})"/> with the vectors of <paramref name="isa"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int IndexOfNonFinite(ReadOnlySpan<float> x, KernelIsa isa)
    {
        // v - v is +0 for every finite v and NaN for ±∞ and NaN, so a block is finite when it all equals zero; the first
        // block that is not is searched by the scalar loop. Four vectors' differences are summed before one test (a NaN
        // stays NaN in the sum): one compare and branch per vector made the check of a 784-feature sample 41 ns, 5% of
        // a one-sample prediction of 784-128-10.
        ref float start = ref MemoryMarshal.GetReference(x);
        nuint n = (nuint)x.Length, i = 0;
        if (isa == KernelIsa.Vector512)
        {
            for (; i + 64 <= n; i += 64)
            {
                Vector512<float> a = Vector512.LoadUnsafe(ref start, i), b = Vector512.LoadUnsafe(ref start, i + 16);
                Vector512<float> c = Vector512.LoadUnsafe(ref start, i + 32), d = Vector512.LoadUnsafe(ref start, i + 48);
                if (!Vector512.EqualsAll((a - a) + (b - b) + ((c - c) + (d - d)), Vector512<float>.Zero))
                {
                    break;
                }
            }

            for (; i + 16 <= n; i += 16)
            {
                Vector512<float> v = Vector512.LoadUnsafe(ref start, i);
                if (!Vector512.EqualsAll(v - v, Vector512<float>.Zero))
                {
                    break;
                }
            }
        }
        else if (isa == KernelIsa.Vector256)
        {
            for (; i + 32 <= n; i += 32)
            {
                Vector256<float> a = Vector256.LoadUnsafe(ref start, i), b = Vector256.LoadUnsafe(ref start, i + 8);
                Vector256<float> c = Vector256.LoadUnsafe(ref start, i + 16), d = Vector256.LoadUnsafe(ref start, i + 24);
                if (!Vector256.EqualsAll((a - a) + (b - b) + ((c - c) + (d - d)), Vector256<float>.Zero))
                {
                    break;
                }
            }

            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> v = Vector256.LoadUnsafe(ref start, i);
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero))
                {
                    break;
                }
            }
        }
        else if (isa == KernelIsa.Vector128)
        {
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> v = Vector128.LoadUnsafe(ref start, i);
                if (!Vector128.EqualsAll(v - v, Vector128<float>.Zero))
                {
                    break;
                }
            }
        }

        for (; i < n; i++)
        {
            if (!float.IsFinite(Unsafe.Add(ref start, i)))
            {
                return (int)i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Row-wise softmax with the maximum subtracted first, so large logits cannot overflow:
    /// <c>destination[r, j] = exp(x[r, j] - max_j x[r, ·]) / Σ_j exp(x[r, j] - max_j x[r, ·])</c>. May run in place.
    /// </summary>
    /// <param name="x">The <c>[rows, columns]</c> logits.</param>
    /// <param name="destination">The <c>[rows, columns]</c> probabilities.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="columns">The number of columns; at least 1 when <paramref name="rows"/> is positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or <paramref name="columns"/> is 0 with rows to compute.</exception>
    /// <exception cref="ArgumentException">A span is shorter than <c>rows·columns</c>.</exception>
    public static void SoftmaxRows(ReadOnlySpan<float> x, Span<float> destination, int rows, int columns)
    {
        ThrowHelper.CheckNonNegative(rows, nameof(rows));
        ThrowHelper.CheckNonNegative(columns, nameof(columns));
        if (columns == 0 && rows > 0)
        {
            ThrowHelper.ThrowOutOfRange(nameof(columns), "A softmax over zero columns is undefined.");
        }

        long length = (long)rows * columns;
        ThrowHelper.CheckLength(x.Length, length, nameof(x));
        ThrowHelper.CheckLength(destination.Length, length, nameof(destination));
        for (int r = 0; r < rows; r++)
        {
            Span<float> probabilities = destination.Slice(r * columns, columns);
            if (!TrySoftmaxRow(x.Slice(r * columns, columns), probabilities))
            {
                (_, float sum) = ShiftedExp(x.Slice(r * columns, columns), probabilities);
                TensorPrimitives.Divide(probabilities, sum, probabilities);
            }
        }
    }

    /// <summary>
    /// One row of <see cref="SoftmaxRows"/> in registers: bitwise <see cref="ShiftedExp"/> then the division by the sum,
    /// by the same argument as <see cref="TrySoftmaxGradientRow"/> (whose exponentials and sum these are). Returns false
    /// without touching <paramref name="destination"/> where it cannot promise that (no 512-bit vectors, fewer than 4
    /// or more than 16 columns). May run in place.
    /// </summary>
    /// <remarks>
    /// Besides the time per row (the span path's three calls of <c>TensorPrimitives</c> on 10 values), a process that
    /// has trained no longer compiles <c>TensorPrimitives.Exp</c>, <c>Subtract</c> and <c>Divide</c> for its first
    /// prediction: the first <c>Evaluate</c> of 784-640-10 after training took 111-115 ms instead of 116-122 (AMD EPYC
    /// Zen 5, 2 real cores).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit] // the exponentials are stored before they are read
    internal static unsafe bool TrySoftmaxRow(ReadOnlySpan<float> x, Span<float> destination)
    {
        int columns = x.Length;
        if (!Vector512.IsHardwareAccelerated || !Avx512F.IsSupported || columns < 4 || columns > Vector512<float>.Count
            || destination.Length < columns)
        {
            return false;
        }

        float max = TensorPrimitives.Max(x);
        float* e = stackalloc float[Vector512<float>.Count];
        Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(columns)).AsSingle();
        fixed (float* px = x, pd = destination)
        {
            Vector512<float> exps = Vector512.Exp(Avx512F.MaskLoad(px, mask, Vector512<float>.Zero) - Vector512.Create(max));
            Vector512.Store(exps, e);
            float sum = TensorPrimitives.Sum<float>(new ReadOnlySpan<float>(e, columns));
            Avx512F.MaskStore(pd, mask, exps / Vector512.Create(sum));
        }

        return true;
    }

    /// <summary>
    /// The unnormalized softmax of one row, shared by the softmax layer, predictions and the cross-entropy loss:
    /// <c>destination[j] = exp(x[j] - m)</c> with <c>m = max x</c>; returns m and <c>Σ_j destination[j]</c> (so
    /// <c>softmax = destination / sum</c> and <c>log Σ exp x = m + log sum</c>). May run in place.
    /// </summary>
    /// <param name="x">The row; not empty.</param>
    /// <param name="destination">The exponentials, as long as <paramref name="x"/>.</param>
    /// <returns>The maximum subtracted and the sum of the exponentials (at least 1).</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> is empty or <paramref name="destination"/> is too short.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Max, float Sum) ShiftedExp(ReadOnlySpan<float> x, Span<float> destination)
    {
        if (x.IsEmpty)
        {
            ThrowHelper.ThrowEmpty(nameof(x));
        }

        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        destination = destination[..x.Length];
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, destination);
        TensorPrimitives.Exp(destination, destination);
        return (max, TensorPrimitives.Sum<float>(destination));
    }

    /// <summary>
    /// The softmax cross-entropy gradient of one row of logits with a one-hot label, in registers: with
    /// <c>e[j] = exp(x[j] - m)</c>, <c>m = max x</c>, <c>s = Σ_j e[j]</c> and <c>f = scale / s</c>, stores
    /// <c>g[j] = e[j]·f</c> and <c>g[label] = e[label]·f - scale</c>, and returns m and s (the loss is
    /// <c>log s - (x[label] - m)</c>). Bitwise what <see cref="ShiftedExp"/> followed by those products gives; returns
    /// false without touching <paramref name="g"/> where it cannot promise that (no 512-bit vectors, fewer than 4 or
    /// more than 16 classes: a row of 1 to 3 gets its exponentials from the scalar <c>exp</c> there).
    /// </summary>
    /// <remarks>
    /// A row of 10 classes took about 67 ns as <see cref="ShiftedExp"/>'s four span calls and a fifth for the products,
    /// 39 ns here (128 rows: 8.6 → 5.0 µs; AMD EPYC Zen 5, 2 real cores); a batch's loss is a serial stretch of every
    /// training step.
    /// </remarks>
    /// <param name="x">The row of logits.</param>
    /// <param name="label">The row's class, in <c>[0, x.Length)</c>.</param>
    /// <param name="scale">The gradient's scale (1/batch for a mean, times the sample's weight).</param>
    /// <param name="g">The gradient row, as long as <paramref name="x"/>; only stored to.</param>
    /// <param name="max">m.</param>
    /// <param name="sum">s.</param>
    /// <returns>Whether the row was computed here.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit] // the exponentials are stored before they are read
    internal static unsafe bool TrySoftmaxGradientRow(ReadOnlySpan<float> x, int label, float scale, Span<float> g, out float max, out float sum)
    {
        int classes = x.Length;
        if (!Vector512.IsHardwareAccelerated || !Avx512F.IsSupported || classes < 4 || classes > Vector512<float>.Count
            || (uint)label >= (uint)classes || g.Length < classes)
        {
            (max, sum) = (0f, 0f);
            return false;
        }

        // The same values and operations as ShiftedExp: an exact maximum, exact differences, TensorPrimitives.Exp's
        // vector algorithm (Vector512.Exp, the same bits for rows of 4 to 16: checked over random rows of each length)
        // and TensorPrimitives.Sum over the row, then the products one by one.
        max = TensorPrimitives.Max(x);
        float* e = stackalloc float[Vector512<float>.Count];
        Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(classes)).AsSingle();
        fixed (float* px = x, pg = g)
        {
            Vector512<float> exps = Vector512.Exp(Avx512F.MaskLoad(px, mask, Vector512<float>.Zero) - Vector512.Create(max));
            Vector512.Store(exps, e);
            sum = TensorPrimitives.Sum<float>(new ReadOnlySpan<float>(e, classes));
            float factor = scale / sum;
            Avx512F.MaskStore(pg, mask, exps * Vector512.Create(factor));
            pg[label] = (e[label] * factor) - scale;
        }

        return true;
    }

    /// <summary>
    /// Row-wise softmax backward: <c>destination[r, j] = y[r, j]·(dy[r, j] - Σ_i dy[r, i]·y[r, i])</c>, where
    /// <paramref name="y"/> is the softmax output.
    /// </summary>
    /// <param name="y">The <c>[rows, columns]</c> softmax output.</param>
    /// <param name="outputGrad">The <c>[rows, columns]</c> gradient with respect to <paramref name="y"/>.</param>
    /// <param name="destination">The <c>[rows, columns]</c> gradient with respect to the logits; may alias <paramref name="outputGrad"/>.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="columns">The number of columns.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    /// <exception cref="ArgumentException">A span is shorter than <c>rows·columns</c>.</exception>
    public static void SoftmaxRowsBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> outputGrad, Span<float> destination, int rows, int columns)
    {
        ThrowHelper.CheckNonNegative(rows, nameof(rows));
        ThrowHelper.CheckNonNegative(columns, nameof(columns));
        long length = (long)rows * columns;
        ThrowHelper.CheckLength(y.Length, length, nameof(y));
        ThrowHelper.CheckLength(outputGrad.Length, length, nameof(outputGrad));
        ThrowHelper.CheckLength(destination.Length, length, nameof(destination));
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> yr = y.Slice(r * columns, columns);
            ReadOnlySpan<float> dyr = outputGrad.Slice(r * columns, columns);
            Span<float> dxr = destination.Slice(r * columns, columns);
            float dot = TensorPrimitives.Dot(dyr, yr);
            TensorPrimitives.Subtract(dyr, dot, dxr);
            TensorPrimitives.Multiply(dxr, yr, dxr);
        }
    }

    /// <summary>
    /// Asks the processor to start loading <paramref name="bytes"/> into its caches and returns at once (x86's
    /// prefetch hint; nothing on other processors). A gather of scattered rows calls it a few rows ahead, so that their
    /// cache misses overlap with the conversion of the rows before.
    /// </summary>
    // Called for every row of every batch from the first step on: tier-0 code of it took about 1% of a short run's
    // CPU samples (perf, --preset fast on the 2-core AMD EPYC Zen 5) before the tiered compiler replaced it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Prefetch(ReadOnlySpan<byte> bytes) => PrefetchEvery(bytes, 64);

    /// <summary>
    /// Asks the processor to start loading one cache line in every 4 KiB page of <paramref name="bytes"/>, and the last
    /// line, and returns at once (x86's prefetch hint; nothing on other processors): a gather calls it for the rows of
    /// the next batch, so that their address translations and first lines are ready when it comes to them.
    /// </summary>
    // The rows of a shuffled batch each sit in a page of their own in a dataset larger than the TLB covers (47 MB of
    // MNIST bytes in 4 KiB pages), and under a hypervisor each translation miss walks two page tables. Measured in a
    // scratch gather of 128 random MNIST rows with 6 MB of other memory touched between batches (AMD EPYC Zen 5, 2 real
    // cores): 25 µs a batch, 16 µs with the next batch's first and last lines hinted a batch ahead, 15 µs with every
    // line hinted (thirteen times the instructions); 2 MiB pages instead gave 19-22 µs, and with the hint 15 µs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PrefetchPages(ReadOnlySpan<byte> bytes) => PrefetchEvery(bytes, 4096);

    // A prefetch hint every `stride` bytes of `bytes` from its first, and one at its last byte.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PrefetchEvery(ReadOnlySpan<byte> bytes, int stride)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported || bytes.IsEmpty)
        {
            return;
        }

        fixed (byte* p = bytes)
        {
            for (int i = 0; i < bytes.Length; i += stride)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(p + i);
            }

            System.Runtime.Intrinsics.X86.Sse.Prefetch0(p + bytes.Length - 1);
        }
    }

    /// <summary>
    /// Converts bytes to scaled floats: <c>destination[i] = x[i] / divisor</c>, the division in single precision
    /// (exactly what converting first and then dividing gives, at every vector width).
    /// </summary>
    /// <param name="x">The bytes.</param>
    /// <param name="destination">The floats, at least as long as <paramref name="x"/>.</param>
    /// <param name="divisor">The divisor (255 maps pixels to [0, 1]); positive and finite.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="divisor"/> is not positive and finite (0 gave NaN and infinities).</exception>
    public static void BytesToSingles(ReadOnlySpan<byte> x, Span<float> destination, float divisor)
    {
        Check.Positive(divisor, nameof(divisor));
        BytesToSingles(x, destination, divisor, KernelIsaSupport.Widest);
    }

    /// <summary>
    /// <see cref="BytesToSingles(ReadOnlySpan{byte}, Span{float}, float)"/> (the same values) with non-temporal stores
    /// for every whole 64-byte line of <paramref name="destination"/>: the lines go to memory without first being taken
    /// from whichever cache holds them. For a buffer that another core read since this one last wrote it: a store to
    /// such a line waits for that core, and a gather of 128 MNIST rows whose batch buffer the other core read after
    /// each gather took 75-77 µs with ordinary stores against 17-21 µs with these (AMD EPYC Zen 5, 2 real cores). The
    /// stores are weakly ordered: call <see cref="StreamingFence"/> before another thread reads the floats.
    /// </summary>
    internal static void BytesToSinglesStreaming(ReadOnlySpan<byte> x, Span<float> destination, float divisor) =>
        BytesToSinglesStreaming(x, destination, divisor, KernelIsaSupport.Widest);

    /// <summary>
    /// <see cref="BytesToSinglesStreaming(ReadOnlySpan{byte}, Span{float}, float)"/> with the AVX-512 stores where
    /// <paramref name="isa"/> is <see cref="KernelIsa.Vector512"/>, the AVX2 ones where it is
    /// <see cref="KernelIsa.Vector256"/>, and otherwise (or without those instructions) the ordinary stores of
    /// <see cref="BytesToSingles(ReadOnlySpan{byte}, Span{float}, float, KernelIsa)"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void BytesToSinglesStreaming(ReadOnlySpan<byte> x, Span<float> destination, float divisor, KernelIsa isa)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        bool wide = isa == KernelIsa.Vector512 && Avx512F.IsSupported;
        if (!wide && !(isa == KernelIsa.Vector256 && Avx2.IsSupported))
        {
            BytesToSingles(x, destination, divisor, isa);
            return;
        }

        fixed (byte* src = x)
        fixed (float* dst = destination)
        {
            int n = x.Length, i = 0;

            // Ordinary stores up to the first line boundary, so that every streaming store fills a whole line.
            int head = (int)(((64 - ((nuint)dst % 64)) % 64) / sizeof(float));
            for (; i < Math.Min(head, n); i++)
            {
                dst[i] = src[i] / divisor;
            }

            if (wide)
            {
                Vector512<float> d = Vector512.Create(divisor);
                for (; i + 16 <= n; i += 16)
                {
                    Vector512<float> v = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(src + i)));
                    Avx512F.StoreAlignedNonTemporal(dst + i, v / d);
                }
            }
            else
            {
                Vector256<float> d = Vector256.Create(divisor);
                for (; i + 8 <= n; i += 8)
                {
                    Vector256<float> v = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(src + i));
                    Avx.StoreAlignedNonTemporal(dst + i, v / d);
                }
            }

            for (; i < n; i++)
            {
                dst[i] = src[i] / divisor;
            }
        }
    }

    /// <summary>Makes the streaming stores of this thread visible to the others before any later store (x86 sfence).</summary>
    internal static void StreamingFence()
    {
        if (Sse.IsSupported)
        {
            Sse.StoreFence();
        }
    }

    /// <summary>
    /// <see cref="BytesToSingles(ReadOnlySpan{byte}, Span{float}, float)"/> with the vectors of <paramref name="isa"/>
    /// (its 128-bit path is the scalar loop: the widening takes as many steps as the conversion saves).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BytesToSingles(ReadOnlySpan<byte> x, Span<float> destination, float divisor, KernelIsa isa)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        ref byte src = ref MemoryMarshal.GetReference(x);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)x.Length, i = 0;

        // TensorPrimitives.ConvertTruncating<byte, float> took 0.5 s for MNIST's 47 M pixels here: it has no vector
        // path for this pair. Widening bytes to 32-bit integers and converting those is exact.
        if (isa == KernelIsa.Vector512)
        {
            Vector512<float> d = Vector512.Create(divisor);
            for (; i + 64 <= n; i += 64)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref src, i));
                var (a, b) = Vector512.Widen(lo);
                var (c, e) = Vector512.Widen(hi);
                (Vector512.ConvertToSingle(a.AsInt32()) / d).StoreUnsafe(ref dst, i);
                (Vector512.ConvertToSingle(b.AsInt32()) / d).StoreUnsafe(ref dst, i + 16);
                (Vector512.ConvertToSingle(c.AsInt32()) / d).StoreUnsafe(ref dst, i + 32);
                (Vector512.ConvertToSingle(e.AsInt32()) / d).StoreUnsafe(ref dst, i + 48);
            }
        }

        if (isa is KernelIsa.Vector512 or KernelIsa.Vector256)
        {
            Vector256<float> d = Vector256.Create(divisor);
            for (; i + 32 <= n; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, i));
                var (a, b) = Vector256.Widen(lo);
                var (c, e) = Vector256.Widen(hi);
                (Vector256.ConvertToSingle(a.AsInt32()) / d).StoreUnsafe(ref dst, i);
                (Vector256.ConvertToSingle(b.AsInt32()) / d).StoreUnsafe(ref dst, i + 8);
                (Vector256.ConvertToSingle(c.AsInt32()) / d).StoreUnsafe(ref dst, i + 16);
                (Vector256.ConvertToSingle(e.AsInt32()) / d).StoreUnsafe(ref dst, i + 24);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i) / divisor;
        }
    }
}
