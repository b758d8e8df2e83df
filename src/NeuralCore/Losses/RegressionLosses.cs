using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// Mean squared logarithmic error, Keras's <c>MeanSquaredLogarithmicError</c>: per sample
/// <c>l = (1/C) Σ_j (log(max(o_j, ε) + 1) - log(max(t_j, ε) + 1))²</c> with ε = 1e-7, gradient
/// <c>2(log(o + 1) - log(t + 1)) / ((o + 1)·C)</c>, and 0 where <c>o &lt; ε</c> (the clip holds the output). It
/// scores relative error, for targets spanning orders of magnitude (prices, counts).
/// </summary>
/// <remarks>
/// Targets must be non-negative: Keras clips a negative target to ε without a word, which hides a data error, so
/// <c>Fit</c> refuses one instead. An output below ε gets no gradient (Keras's clip): a model whose last layer can
/// output negative values may leave samples there; end it with Softplus or Relu if that happens.
/// </remarks>
public sealed class MeanSquaredLogarithmicError : RegressionLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public MeanSquaredLogarithmicError(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "mean_squared_logarithmic_error";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("mean_squared_logarithmic_error",
        config => new MeanSquaredLogarithmicError(ReadReduction(config)));

    /// <inheritdoc/>
    /// <remarks>Non-negative values.</remarks>
    protected override string? CheckValue(float value) =>
        float.IsFinite(value) && value >= 0 ? null : "non-negative targets (the log of t + 1 is taken)";

    /// <inheritdoc/>
    protected override double ElementLoss(float output, float target, float scale, out float gradient)
    {
        const float epsilon = CategoricalCrossentropy.Epsilon;
        double shifted = (double)Math.Max(output, epsilon) + 1;
        double difference = Math.Log(shifted) - Math.Log((double)Math.Max(target, epsilon) + 1);

        // A NaN output fails the comparison: a NaN loss (Max passes NaN on), which skips the step, and no gradient.
        gradient = output >= epsilon ? (float)(2 * scale * difference / shifted) : 0f;
        return difference * difference;
    }
}

/// <summary>
/// Mean absolute percentage error, Keras's <c>MeanAbsolutePercentageError</c>: per sample
/// <c>l = (100/C) Σ_j |t_j - o_j| / max(|t_j|, ε)</c> with ε = 1e-7, gradient <c>100·sign(o - t) / (max(|t|, ε)·C)</c>
/// (0 where they are equal).
/// </summary>
/// <remarks>A target of 0 divides by ε, as Keras does: its error weighs 10⁷ times one of a target of 1.</remarks>
public sealed class MeanAbsolutePercentageError : RegressionLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public MeanAbsolutePercentageError(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "mean_absolute_percentage_error";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("mean_absolute_percentage_error",
        config => new MeanAbsolutePercentageError(ReadReduction(config)));

    /// <inheritdoc/>
    protected override double ElementLoss(float output, float target, float scale, out float gradient)
    {
        double divisor = Math.Max(Math.Abs((double)target), CategoricalCrossentropy.Epsilon);
        double difference = (double)output - target;
        double factor = 100 * scale / divisor;

        // A NaN difference fails both comparisons: a NaN loss, which skips the step, and no gradient.
        gradient = difference > 0 ? (float)factor : difference < 0 ? (float)-factor : 0f;
        return 100 * Math.Abs(difference) / divisor;
    }
}

/// <summary>
/// Poisson loss, Keras's <c>Poisson</c>: per sample <c>l = (1/C) Σ_j (o_j - t_j·log(o_j + ε))</c> with ε = 1e-7, the
/// negative log-likelihood (up to a constant) of counts t under predicted rates o; gradient
/// <c>(1 - t/(o + ε))/C</c>. For count regression (visits, claims, events per hour).
/// </summary>
/// <remarks>
/// The outputs are rates and must not be negative: <c>Compile</c> refuses a model whose last layer can output negative
/// values (end it with Softplus, Relu, Sigmoid or Softmax, or a Dense with such an activation), where Keras would
/// train into NaN. Targets must be non-negative.
/// </remarks>
public sealed class Poisson : RegressionLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public Poisson(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "poisson";

    /// <inheritdoc/>
    internal override bool NeedsNonNegativeOutputs => true;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("poisson", config => new Poisson(ReadReduction(config)));

    /// <inheritdoc/>
    /// <remarks>Non-negative values.</remarks>
    protected override string? CheckValue(float value) =>
        float.IsFinite(value) && value >= 0 ? null : "non-negative targets (counts or rates)";

    /// <inheritdoc/>
    protected override double ElementLoss(float output, float target, float scale, out float gradient)
    {
        double rate = (double)output + CategoricalCrossentropy.Epsilon;
        gradient = (float)(scale * (1 - (target / rate)));
        return output - (target * Math.Log(rate));
    }
}

/// <summary>
/// Cosine similarity loss, Keras's <c>CosineSimilarity</c>: per sample <c>l = -Σ_j t̂_j·ô_j</c> over the rows
/// normalized as Keras does, <c>x̂ = x / sqrt(max(Σx², ε²))</c> with ε = 1e-7; from -1 (same direction) to 1
/// (opposite), 0 when either row is all zeros. Gradient <c>-(t̂ - (t̂·ô)·ô) / ‖o‖</c>, or <c>-t̂/ε</c> for a row
/// whose squared norm is below ε².
/// </summary>
/// <remarks>The loss ignores the outputs' length, so predictions come with no scale: use it for directions (embeddings).</remarks>
public sealed class CosineSimilarity : Loss
{
    private const double SquaredNormFloor = 1e-14; // (1e-7)², Keras's clamp before the rsqrt

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public CosineSimilarity(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "cosine_similarity";

    /// <inheritdoc/>
    public override LossInput Input => LossInput.Values;

    /// <inheritdoc/>
    public override LossTask Task => LossTask.Regression;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("cosine_similarity", config => new CosineSimilarity(ReadReduction(config)));

    /// <inheritdoc/>
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        double oo = 0, tt = 0, to = 0;
        for (int j = 0; j < outputs; j++)
        {
            double o = output[j], t = label >= 0 ? LabelTarget(label, j, outputs) : target[j];
            oo += o * o;
            tt += t * t;
            to += t * o;
        }

        bool clamped = !(oo >= SquaredNormFloor);
        double inverseO = 1 / Math.Sqrt(Math.Max(oo, SquaredNormFloor)), inverseT = 1 / Math.Sqrt(Math.Max(tt, SquaredNormFloor));
        double cosine = to * inverseO * inverseT;

        // ∂(t̂·ô)/∂o_k = inverseT·inverseO·(t_k - (t·o)·inverseO²·o_k), the second term absent where the clamp holds.
        double factor = -gradScale * inverseT * inverseO, along = clamped ? 0 : to * inverseO * inverseO;
        for (int j = 0; j < outputs; j++)
        {
            double t = label >= 0 ? LabelTarget(label, j, outputs) : target[j];
            grad[j] = (float)(factor * (t - (along * output[j])));
        }

        return -cosine;
    }
}
