using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// Kullback-Leibler divergence, Keras's <c>KLDivergence</c>: per sample <c>l = Σ_j t'_j·log(t'_j / p'_j)</c> with
/// <c>t' = clip(t, ε, 1)</c> and <c>p' = clip(p, ε, 1)</c>, ε = 1e-7, over the target distribution t (a label's one-hot
/// row, or a row of probabilities) and the predicted one p (a model ending in Softmax); gradient <c>-t'/p'</c>, and 0
/// where p lies below ε (the gradient passes at ε itself). It is the categorical cross-entropy less the targets' own entropy: the same gradient for a
/// fixed target, and 0 for a perfect prediction of soft targets (distillation).
/// </summary>
/// <remarks>Unlike <see cref="CategoricalCrossentropy"/>, Keras does not renormalize the outputs, and neither does this.</remarks>
public sealed class KLDivergence : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public KLDivergence(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "kl_divergence";

    /// <inheritdoc/>
    public override LossInput Input => LossInput.Probabilities;

    /// <inheritdoc/>
    public override LossTask Task => LossTask.MultiClass;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("kl_divergence", config => new KLDivergence(ReadReduction(config)));

    /// <inheritdoc/>
    /// <remarks>Probabilities in [0, 1].</remarks>
    protected override string? CheckValue(float value) => CategoricalCrossentropy.ProbabilityValue(value);

    /// <inheritdoc/>
    /// <remarks>Rows summing to 1 (within 1e-3).</remarks>
    protected override string? CheckRow(ReadOnlySpan<float> row) => CategoricalCrossentropy.ProbabilityRow(row);

    /// <inheritdoc/>
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        const double epsilon = CategoricalCrossentropy.Epsilon;
        int outputs = output.Length;
        double loss = 0;
        for (int j = 0; j < outputs; j++)
        {
            double t = Math.Clamp(label >= 0 ? LabelTarget(label, j, outputs) : target[j], epsilon, 1);
            double p = output[j], clipped = Math.Clamp(p, epsilon, 1);
            loss += t * Math.Log(t / clipped);
            grad[j] = p >= epsilon && p <= 1 ? (float)(-gradScale * t / clipped) : 0f;
        }

        return loss;
    }
}
