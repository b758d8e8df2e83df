using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// A regression loss that averages an element-wise error over the outputs, <c>l = (1/C) Σ_j e(o_j - t_j)</c>. The
/// targets are real values, or class labels read as one-hot rows (0/1 values for one output).
/// </summary>
public abstract class RegressionLoss : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    protected RegressionLoss(Reduction reduction)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override LossInput Input => LossInput.Values;

    /// <inheritdoc/>
    public override LossTask Task => LossTask.Regression;

    /// <summary>The error of one difference <c>d = o - t</c>, and its derivative times <paramref name="scale"/>.</summary>
    /// <param name="difference">o - t.</param>
    /// <param name="scale">The gradient's factor for this output (the sample's scale over the output count).</param>
    /// <param name="gradient"><c>scale·e'(d)</c>.</param>
    /// <returns>e(d).</returns>
    protected abstract double ElementLoss(float difference, float scale, out float gradient);

    /// <inheritdoc/>
    protected sealed override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        float scale = gradScale / outputs;
        double sum = 0;
        for (int j = 0; j < outputs; j++)
        {
            sum += ElementLoss(output[j] - (label >= 0 ? LabelTarget(label, j, outputs) : target[j]), scale, out grad[j]);
        }

        return sum / outputs;
    }
}

/// <summary>
/// Mean squared error, Keras's <c>MeanSquaredError</c>: per sample <c>l = (1/C) Σ_j (o_j - t_j)²</c>, gradient
/// <c>2(o - t)/C</c>. The targets are real values (regression), or class labels read as one-hot rows (0/1 values for
/// one output; the course notebook's <c>loss='MeanSquaredError'</c> on a softmax output).
/// </summary>
public sealed class MeanSquaredError : RegressionLoss
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

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLoss("mean_squared_error", config => new MeanSquaredError(ReadReduction(config)));

    /// <inheritdoc/>
    protected override double ElementLoss(float difference, float scale, out float gradient)
    {
        gradient = 2f * scale * difference;
        return (double)difference * difference;
    }
}

/// <summary>
/// Mean absolute error, Keras's <c>MeanAbsoluteError</c>: per sample <c>l = (1/C) Σ_j |o_j - t_j|</c>, gradient
/// <c>sign(o - t)/C</c> (0 where they are equal). Targets as for <see cref="MeanSquaredError"/>.
/// </summary>
public sealed class MeanAbsoluteError : RegressionLoss
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

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLoss("mean_absolute_error", config => new MeanAbsoluteError(ReadReduction(config)));

    /// <inheritdoc/>
    protected override double ElementLoss(float difference, float scale, out float gradient)
    {
        // MathF.Sign throws on NaN: a NaN difference gives a NaN loss, which skips the step, and no gradient.
        gradient = difference > 0 ? scale : difference < 0 ? -scale : 0f;
        return Math.Abs(difference);
    }
}
