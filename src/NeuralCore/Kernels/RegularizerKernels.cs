using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Kernels;

/// <summary>
/// Keras's L1/L2 weight penalty and its gradient (<c>keras.regularizers.L1L2</c>): <c>l1·Σ|w| + l2·Σw²</c>, whose
/// derivative is <c>l1·sign(w) + 2·l2·w</c> (0 at w = 0, as TensorFlow's gradient of |w|).
/// </summary>
public static class RegularizerKernels
{
    /// <summary>
    /// <c>l1·Σ|w| + l2·Σw²</c>, each sum in float32 as Keras computes it (vectorized by <see cref="TensorPrimitives"/>,
    /// so its bits depend on the machine's vector width, never on the thread count); a term whose factor is 0 is not computed.
    /// </summary>
    /// <param name="weights">w.</param>
    /// <param name="l1">The L1 factor; non-negative.</param>
    /// <param name="l2">The L2 factor; non-negative.</param>
    /// <returns>The penalty (infinite when a weight's square overflows float32).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A factor is negative, infinite or NaN.</exception>
    public static double Penalty(ReadOnlySpan<float> weights, float l1, float l2)
    {
        CheckFactors(l1, l2);
        return PenaltyUnchecked(weights, l1, l2);
    }

    // A Regularizer's factors were checked when it was made.
    internal static double PenaltyUnchecked(ReadOnlySpan<float> weights, float l1, float l2)
    {
        double penalty = 0;
        if (l1 != 0f)
        {
            penalty += (double)(l1 * TensorPrimitives.SumOfMagnitudes(weights));
        }

        if (l2 != 0f)
        {
            penalty += (double)(l2 * TensorPrimitives.SumOfSquares(weights));
        }

        return penalty;
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
            ThrowHelper.ThrowLengthMismatch(nameof(gradients), weights.Length, gradients.Length);
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
            TLanes w = TLanes.Load(ref _w, index);
            TLanes l1 = TLanes.Create(_l1);
            // l1·sign(w): +l1 above zero, -l1 below, 0 at ±0 (and for NaN, which the step's check refuses anyway).
            TLanes sign = TLanes.WherePositive(w, l1) - TLanes.WherePositive(TLanes.Create(0f) - w, l1);
            TLanes.Store(TLanes.Load(ref _g, index) + ((TLanes.Create(_twoL2) * w) + sign), ref _g, index);
        }
    }
}
