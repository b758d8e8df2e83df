using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Kernels;

/// <summary>
/// The parametric ReLU over row-major <c>[batch, features]</c> activations, Keras's <c>PReLU</c>:
/// <c>y = x</c> for <c>x ≥ 0</c>, <c>α·x</c> below, with one slope α per feature or one shared by all. Every element is
/// one IEEE product or none, and a slope's gradient is summed over the batch sample after sample, so the results are
/// bitwise the same at every vector width. The <c>...Reference</c> methods are the naive loops the tests compare with.
/// </summary>
public static class PReluKernels
{
    /// <summary><c>y[n, j] = x[n, j] &lt; 0 ? α[j]·x[n, j] : x[n, j]</c> (α[0] for every j when one slope is shared); NaN stays NaN.</summary>
    /// <param name="x">The <c>[batch, features]</c> input.</param>
    /// <param name="y">The <c>[batch, features]</c> output, overwritten; may be <paramref name="x"/> itself.</param>
    /// <param name="batch">N, non-negative.</param>
    /// <param name="features">F, positive.</param>
    /// <param name="alpha">α: <paramref name="features"/> slopes, or one shared.</param>
    /// <exception cref="ArgumentException">A span does not hold its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative or <paramref name="features"/> not positive.</exception>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, int features, ReadOnlySpan<float> alpha) =>
        Forward(x, y, batch, features, alpha, KernelIsaSupport.Widest);

    /// <summary><see cref="Forward(ReadOnlySpan{float}, Span{float}, int, int, ReadOnlySpan{float})"/> with the vectors of <paramref name="isa"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, int features, ReadOnlySpan<float> alpha, KernelIsa isa)
    {
        CheckShapes(x.Length, y.Length, nameof(y), batch, features, alpha);
        bool shared = alpha.Length == 1 && features > 1;
        for (int n = 0; n < batch; n++)
        {
            var row = new ForwardRow(x.Slice(n * features, features), y.Slice(n * features, features), alpha, shared);
            for (int j = Run(row, features, isa); j < features; j++)
            {
                row.Invoke<Lane1>((nuint)j);
            }
        }
    }

    /// <summary>
    /// The backward pass from the input: <c>dx = dy</c> where <c>x &gt; 0</c>, <c>α·dy</c> where <c>x &lt; 0</c>, and 0 at
    /// <c>x = 0</c> and where x is NaN (Keras's PReLU, <c>relu(x) - α·relu(-x)</c>, differentiated through its ReLUs);
    /// and each feature's <c>Σₙ (x &lt; 0 ? x·dy : 0)</c>, summed over the samples in order.
    /// </summary>
    /// <param name="x">The forward's <c>[batch, features]</c> input.</param>
    /// <param name="outputGrad">dy, <c>[batch, features]</c>.</param>
    /// <param name="alpha">α: <paramref name="features"/> slopes, or one shared.</param>
    /// <param name="inputGrad">dx, <c>[batch, features]</c>, overwritten; or empty when not wanted.</param>
    /// <param name="columnSums">The <paramref name="features"/> sums, overwritten: the slopes' gradient, or with one shared slope the terms of its gradient (summed by the caller).</param>
    /// <param name="batch">N, non-negative.</param>
    /// <param name="features">F, positive.</param>
    /// <exception cref="ArgumentException">A span does not hold its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative or <paramref name="features"/> not positive.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> alpha, Span<float> inputGrad,
        Span<float> columnSums, int batch, int features) =>
        Backward(x, outputGrad, alpha, inputGrad, columnSums, batch, features, KernelIsaSupport.Widest);

    /// <summary><see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, int, int)"/> with the vectors of <paramref name="isa"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> alpha, Span<float> inputGrad,
        Span<float> columnSums, int batch, int features, KernelIsa isa)
    {
        CheckShapes(x.Length, outputGrad.Length, nameof(outputGrad), batch, features, alpha);
        if (!inputGrad.IsEmpty)
        {
            Check.Holds(inputGrad.Length, batch, features, nameof(inputGrad), "batch", "features");
        }

        Check.Holds(columnSums.Length, features, 1, nameof(columnSums), "features");
        columnSums[..features].Clear();
        bool shared = alpha.Length == 1 && features > 1;
        for (int n = 0; n < batch; n++)
        {
            var row = new BackwardRow(x.Slice(n * features, features), outputGrad.Slice(n * features, features), alpha,
                inputGrad.IsEmpty ? default : inputGrad.Slice(n * features, features), columnSums, shared);
            int j = Run(row, features, isa);
            for (; j < features; j++)
            {
                row.Invoke<Lane1>((nuint)j);
            }
        }
    }

    /// <summary>The naive <see cref="Forward(ReadOnlySpan{float}, Span{float}, int, int, ReadOnlySpan{float})"/>, one element at a time.</summary>
    internal static void ForwardReference(ReadOnlySpan<float> x, Span<float> y, int batch, int features, ReadOnlySpan<float> alpha)
    {
        for (int n = 0; n < batch; n++)
        {
            for (int j = 0; j < features; j++)
            {
                float v = x[(n * features) + j], slope = alpha[alpha.Length == 1 ? 0 : j];
                y[(n * features) + j] = v < 0f ? slope * v : v;
            }
        }
    }

    /// <summary>The naive <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, int, int)"/>.</summary>
    internal static void BackwardReference(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> alpha, Span<float> inputGrad,
        Span<float> columnSums, int batch, int features)
    {
        columnSums[..features].Clear();
        for (int n = 0; n < batch; n++)
        {
            for (int j = 0; j < features; j++)
            {
                int i = (n * features) + j;
                float v = x[i], dy = outputGrad[i], slope = alpha[alpha.Length == 1 ? 0 : j];
                if (!inputGrad.IsEmpty)
                {
                    inputGrad[i] = v > 0f ? dy : v < 0f ? slope * dy : 0f;
                }

                if (v < 0f)
                {
                    columnSums[j] += v * dy;
                }
            }
        }
    }

    // The vector part of a row, at the widest width isa allows; returns where the scalar tail starts.
    private static int Run<TStep>(TStep step, int length, KernelIsa isa)
        where TStep : struct, IElementwiseStep, allows ref struct
    {
        nuint n = (nuint)length;
        return (int)(isa switch
        {
            KernelIsa.Vector512 => Loop<TStep, Lanes512>(step, n),
            KernelIsa.Vector256 => Loop<TStep, Lanes256>(step, n),
            KernelIsa.Vector128 => Loop<TStep, Lanes128>(step, n),
            _ => (nuint)0,
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint Loop<TStep, TLanes>(TStep step, nuint n)
        where TStep : struct, IElementwiseStep, allows ref struct
        where TLanes : struct, ILanes<TLanes>
    {
        nuint i = 0;
        for (; i + TLanes.Count <= n; i += TLanes.Count)
        {
            step.Invoke<TLanes>(i);
        }

        return i;
    }

    // One row of the forward: each feature's slope loaded, or with one shared slope broadcast.
    private readonly ref struct ForwardRow(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> alpha, bool shared) : IElementwiseStep
    {
        private readonly ref float _x = ref MemoryMarshal.GetReference(x);
        private readonly ref float _y = ref MemoryMarshal.GetReference(y);
        private readonly ref float _alpha = ref MemoryMarshal.GetReference(alpha);
        private readonly bool _shared = shared;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes v = TLanes.Load(ref _x, index);
            TLanes slope = _shared ? TLanes.Create(_alpha) : TLanes.Load(ref _alpha, index);
            TLanes.Store(TLanes.WhereNegative(v, slope * v, v), ref _y, index);
        }
    }

    private readonly ref struct BackwardRow(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> alpha, Span<float> inputGrad,
        Span<float> columnSums, bool shared) : IElementwiseStep
    {
        private readonly ref float _x = ref MemoryMarshal.GetReference(x);
        private readonly ref float _dy = ref MemoryMarshal.GetReference(outputGrad);
        private readonly ref float _alpha = ref MemoryMarshal.GetReference(alpha);
        private readonly ref float _dx = ref MemoryMarshal.GetReference(inputGrad);
        private readonly ref float _sums = ref MemoryMarshal.GetReference(columnSums);
        private readonly bool _inputGrad = !inputGrad.IsEmpty, _shared = shared;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes v = TLanes.Load(ref _x, index), dy = TLanes.Load(ref _dy, index), zero = TLanes.Create(0f);
            if (_inputGrad)
            {
                TLanes slope = _shared ? TLanes.Create(_alpha) : TLanes.Load(ref _alpha, index);
                TLanes.Store(TLanes.WhereNegative(v, slope * dy, TLanes.WherePositive(v, dy)), ref _dx, index);
            }

            TLanes.Store(TLanes.Load(ref _sums, index) + TLanes.WhereNegative(v, v * dy, zero), ref _sums, index);
        }
    }

    private static void CheckShapes(int xLength, int otherLength, string otherName, int batch, int features, ReadOnlySpan<float> alpha)
    {
        ThrowHelper.CheckNonNegative(batch, nameof(batch));
        Check.Positive(features, nameof(features));
        Check.Holds(xLength, batch, features, "x", "batch", "features");
        Check.Holds(otherLength, batch, features, otherName, "batch", "features");
        if (alpha.Length != 1 && alpha.Length != features)
        {
            throw new ArgumentException($"alpha holds {alpha.Length} slopes; it needs one per feature ({features}) or one shared.", nameof(alpha));
        }
    }
}
