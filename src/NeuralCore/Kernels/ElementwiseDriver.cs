using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Kernels;

/// <summary>
/// One step of an element-wise kernel: reads and writes the <see cref="ILanes{TSelf}.Count"/> elements at an index of
/// the spans it holds. Written once against <see cref="ILanes{TSelf}"/>, it runs at every width.
/// </summary>
internal interface IElementwiseStep
{
    /// <summary>Processes elements <c>[index, index + TLanes.Count)</c>.</summary>
    void Invoke<TLanes>(nuint index)
        where TLanes : struct, ILanes<TLanes>;
}

/// <summary>An element-wise function of two inputs, written once for every lane width.</summary>
internal interface IBinaryOperator
{
    static abstract TLanes Invoke<TLanes>(TLanes x, TLanes y)
        where TLanes : struct, ILanes<TLanes>;
}

/// <summary>
/// Runs an <see cref="IElementwiseStep"/> over <c>[0, length)</c>: whole vectors at the requested width, then the
/// tail one element at a time through <see cref="Lane1"/>, which performs the same operations as a vector lane.
/// </summary>
internal static class ElementwiseDriver
{
    /// <summary>Runs <paramref name="step"/> over every element with the widest accelerated vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TStep>(TStep step, int length)
        where TStep : struct, IElementwiseStep, allows ref struct =>
        Run(step, length, KernelIsaSupport.Widest);

    /// <summary>Runs <paramref name="step"/> over every element with the vectors of <paramref name="isa"/> (which the caller has checked is supported).</summary>
    public static void Run<TStep>(TStep step, int length, KernelIsa isa)
        where TStep : struct, IElementwiseStep, allows ref struct
    {
        nuint n = (nuint)length;
        nuint i = isa switch
        {
            KernelIsa.Vector512 => Loop<TStep, Lanes512>(step, 0, n),
            KernelIsa.Vector256 => Loop<TStep, Lanes256>(step, 0, n),
            KernelIsa.Vector128 => Loop<TStep, Lanes128>(step, 0, n),
            _ => 0,
        };
        Loop<TStep, Lane1>(step, i, n);
    }

    /// <summary><c>destination[i] = TOp(x[i], y[i])</c>; the caller has checked that the spans are at least <paramref name="x"/>'s length.</summary>
    public static void Binary<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, KernelIsa isa)
        where TOp : struct, IBinaryOperator =>
        Run(new BinaryStep<TOp>(x, y, destination), x.Length, isa);

    // Compiled fully optimized on first use: each instantiation is one hot loop, called once per kernel call, and
    // tier-0 code for it (which the caller's own AggressiveOptimization does not prevent) was 15 times slower.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static nuint Loop<TStep, TLanes>(TStep step, nuint i, nuint n)
        where TStep : struct, IElementwiseStep, allows ref struct
        where TLanes : struct, ILanes<TLanes>
    {
        for (; i + TLanes.Count <= n; i += TLanes.Count)
        {
            step.Invoke<TLanes>(i);
        }

        return i;
    }

    private readonly ref struct BinaryStep<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) : IElementwiseStep
        where TOp : struct, IBinaryOperator
    {
        private readonly ref float _x = ref MemoryMarshal.GetReference(x);
        private readonly ref float _y = ref MemoryMarshal.GetReference(y);
        private readonly ref float _destination = ref MemoryMarshal.GetReference(destination);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes> =>
            TLanes.Store(TOp.Invoke(TLanes.Load(ref _x, index), TLanes.Load(ref _y, index)), ref _destination, index);
    }
}

/// <summary><c>y</c> where <c>x &gt; 0</c>, else 0: the ReLU derivative (x the forward input) applied to an upstream gradient y.</summary>
internal readonly struct ReluGradOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TLanes Invoke<TLanes>(TLanes x, TLanes y)
        where TLanes : struct, ILanes<TLanes> => TLanes.WherePositive(x, y);
}

/// <summary><c>dy·(y·(1 - y))</c>: the sigmoid derivative from its output y applied to an upstream gradient dy.</summary>
internal readonly struct SigmoidGradOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TLanes Invoke<TLanes>(TLanes y, TLanes dy)
        where TLanes : struct, ILanes<TLanes> => dy * (y * (TLanes.Create(1f) - y));
}

/// <summary><c>dy·(1 - y²)</c>: the tanh derivative from its output y applied to an upstream gradient dy.</summary>
internal readonly struct TanhGradOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TLanes Invoke<TLanes>(TLanes y, TLanes dy)
        where TLanes : struct, ILanes<TLanes> => dy * (TLanes.Create(1f) - (y * y));
}
