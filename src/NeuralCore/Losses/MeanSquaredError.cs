using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// Mean squared error, Keras's <c>MeanSquaredError</c>: per sample <c>l = (1/C) Σ_j (o_j - t_j)²</c>, gradient
/// <c>2(o - t)/C</c>. The targets are real values (regression), or class labels read as one-hot rows (0/1 values for one output; the course
/// notebook's <c>loss='MeanSquaredError'</c> on a softmax output).
/// </summary>
public sealed class MeanSquaredError : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public MeanSquaredError(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "mean_squared_error";

    /// <inheritdoc/>
    public override LossInput Input => LossInput.Values;

    /// <inheritdoc/>
    public override LossTask Task => LossTask.Regression;

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLoss("mean_squared_error", config => new MeanSquaredError(ReadReduction(config)));

    /// <inheritdoc/>
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        float factor = 2f * gradScale / outputs;
        double sum = 0;
        for (int j = 0; j < outputs; j++)
        {
            float diff = output[j] - (label >= 0 ? LabelTarget(label, j, outputs) : target[j]);
            sum += (double)diff * diff;
            grad[j] = factor * diff;
        }

        return sum / outputs;
    }
}

/// <summary>
/// Mean absolute error, Keras's <c>MeanAbsoluteError</c>: per sample <c>l = (1/C) Σ_j |o_j - t_j|</c>, gradient
/// <c>sign(o - t)/C</c> (0 where they are equal). Targets as for <see cref="MeanSquaredError"/>.
/// </summary>
public sealed class MeanAbsoluteError : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public MeanAbsoluteError(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "mean_absolute_error";

    /// <inheritdoc/>
    public override LossInput Input => LossInput.Values;

    /// <inheritdoc/>
    public override LossTask Task => LossTask.Regression;

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLoss("mean_absolute_error", config => new MeanAbsoluteError(ReadReduction(config)));

    /// <inheritdoc/>
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        float factor = gradScale / outputs;
        double sum = 0;
        for (int j = 0; j < outputs; j++)
        {
            float diff = output[j] - (label >= 0 ? LabelTarget(label, j, outputs) : target[j]);
            sum += Math.Abs(diff);
            grad[j] = diff > 0 ? factor : diff < 0 ? -factor : 0f; // MathF.Sign throws on NaN
        }

        return sum / outputs;
    }
}
