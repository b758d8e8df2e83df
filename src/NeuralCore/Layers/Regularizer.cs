using System.Globalization;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// A penalty on a layer's weights, added to the training loss (Keras's <c>keras.regularizers.L1L2</c>, given to a
/// <see cref="Dense"/> as <see cref="Dense.KernelRegularizer"/> or <see cref="Dense.BiasRegularizer"/>):
/// <c>l1·Σ|w| + l2·Σw²</c>, with gradient <c>l1·sign(w) + 2·l2·w</c>. Immutable.
/// </summary>
/// <remarks>
/// As in Keras, the penalty is part of the loss that training reports and that <c>Evaluate</c> reports (computed from
/// the weights before each step's update), and it is not divided by the batch size. Unlike the optimizers'
/// <c>WeightDecay</c>, which shrinks the weights apart from the gradient (AdamW), it goes through the optimizer with the
/// gradient.
/// </remarks>
public sealed class Regularizer
{
    /// <summary>Creates a regularizer of both penalties (Keras's <c>L1L2(l1, l2)</c>).</summary>
    /// <param name="l1">The L1 factor; non-negative and finite.</param>
    /// <param name="l2">The L2 factor; non-negative and finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor is negative, infinite or NaN.</exception>
    public Regularizer(float l1, float l2)
    {
        Check.NonNegative(l1, nameof(l1), "L1 factor");
        Check.NonNegative(l2, nameof(l2), "L2 factor");
        L1Factor = l1;
        L2Factor = l2;
    }

    /// <summary>The L1 factor: the penalty's <c>l1·Σ|w|</c>.</summary>
    public float L1Factor { get; }

    /// <summary>The L2 factor: the penalty's <c>l2·Σw²</c>.</summary>
    public float L2Factor { get; }

    /// <summary>An L1 penalty <c>l1·Σ|w|</c> (Keras's <c>L1</c>, whose default factor is 0.01).</summary>
    /// <param name="l1">The factor; non-negative and finite.</param>
    /// <returns>The regularizer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="l1"/> is negative, infinite or NaN.</exception>
    public static Regularizer L1(float l1 = 0.01f) => new(l1, 0f);

    /// <summary>An L2 penalty <c>l2·Σw²</c> (Keras's <c>L2</c>, whose default factor is 0.01).</summary>
    /// <param name="l2">The factor; non-negative and finite.</param>
    /// <returns>The regularizer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="l2"/> is negative, infinite or NaN.</exception>
    public static Regularizer L2(float l2 = 0.01f) => new(0f, l2);

    /// <summary>The penalty of <paramref name="weights"/>: <c>l1·Σ|w| + l2·Σw²</c> (<see cref="RegularizerKernels.Penalty"/>).</summary>
    /// <param name="weights">The weights.</param>
    /// <returns>The penalty.</returns>
    public double Penalty(ReadOnlySpan<float> weights) => RegularizerKernels.PenaltyUnchecked(weights, L1Factor, L2Factor, KernelIsaSupport.Widest);

    /// <summary>Adds the penalty's gradient <c>l1·sign(w) + 2·l2·w</c> to <paramref name="gradients"/>.</summary>
    /// <param name="weights">The weights.</param>
    /// <param name="gradients">Their gradients, as many, updated in place.</param>
    /// <exception cref="ArgumentException"><paramref name="gradients"/> is not as long as <paramref name="weights"/>.</exception>
    public void AddGradient(ReadOnlySpan<float> weights, Span<float> gradients) =>
        RegularizerKernels.AddGradient(weights, gradients, L1Factor, L2Factor, KernelIsaSupport.Widest);

    /// <summary>Keras's form: <c>L1L2(l1=0.01, l2=0)</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"L1L2(l1={L1Factor:R}, l2={L2Factor:R})");
}
