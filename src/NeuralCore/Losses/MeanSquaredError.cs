using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// A regression loss that averages an element-wise error over the outputs, <c>l = (1/C) Σ_j e(o_j, t_j)</c>. The
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

    /// <summary>The error of one output against its target, and its derivative times <paramref name="scale"/>.</summary>
    /// <param name="output">o, the model's output.</param>
    /// <param name="target">t, the target.</param>
    /// <param name="scale">The gradient's factor for this output (the sample's scale over the output count).</param>
    /// <param name="gradient"><c>scale·∂e/∂o</c>.</param>
    /// <returns>e(o, t).</returns>
    protected abstract double ElementLoss(float output, float target, float scale, out float gradient);

    /// <inheritdoc/>
    protected sealed override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        float scale = gradScale / outputs;
        double sum = 0;
        for (int j = 0; j < outputs; j++)
        {
            sum += ElementLoss(output[j], label >= 0 ? LabelTarget(label, j, outputs) : target[j], scale, out grad[j]);
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
    protected override double ElementLoss(float output, float target, float scale, out float gradient)
    {
        float difference = output - target;
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
    protected override double ElementLoss(float output, float target, float scale, out float gradient)
    {
        float difference = output - target;
        // MathF.Sign throws on NaN: a NaN difference gives a NaN loss, which skips the step, and no gradient.
        gradient = difference > 0 ? scale : difference < 0 ? -scale : 0f;
        return Math.Abs(difference);
    }
}

/// <summary>
/// Huber loss, Keras's <c>Huber(delta)</c>: per element of <c>d = o - t</c>, <c>½d²</c> where <c>|d| ≤ δ</c> and
/// <c>δ|d| - ½δ²</c> beyond, averaged over the outputs; gradient <c>d/C</c>, or <c>δ·sign(d)/C</c> beyond δ. Quadratic
/// near the target and linear far from it, so outliers pull less than under <see cref="MeanSquaredError"/>. Targets as
/// for <see cref="MeanSquaredError"/>.
/// </summary>
public sealed class Huber : RegressionLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="delta">δ, where the loss turns from quadratic to linear; positive and finite (Keras's default 1).</param>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is not positive and finite, or <paramref name="reduction"/> is not defined.</exception>
    public Huber(float delta = 1f, Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
        Check.Positive(delta, nameof(delta));
        Delta = delta;
    }

    /// <summary>δ, where the loss turns from quadratic to linear.</summary>
    public float Delta { get; }

    /// <inheritdoc/>
    public override string Name => "huber_loss";

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLoss("huber_loss", config => new Huber(config.GetSingle("delta", 1f), ReadReduction(config)));

    /// <inheritdoc/>
    /// <remarks><c>delta</c>.</remarks>
    protected override void WriteSettings(ComponentConfig config) => config.Set("delta", Delta);

    /// <inheritdoc/>
    protected override double ElementLoss(float output, float target, float scale, out float gradient)
    {
        float difference = output - target;
        float magnitude = Math.Abs(difference);
        if (magnitude <= Delta)
        {
            gradient = scale * difference;
            return 0.5 * difference * difference;
        }

        // A NaN difference lands here (the comparison is false): a NaN loss, which skips the step, and no gradient.
        gradient = difference > 0 ? scale * Delta : difference < 0 ? -scale * Delta : 0f;
        return ((double)Delta * magnitude) - (0.5 * Delta * Delta);
    }
}

/// <summary>
/// Log-cosh loss, Keras's <c>LogCosh</c>: per element of <c>d = o - t</c>, <c>log(cosh(d))</c>, averaged over the
/// outputs (about <c>½d²</c> near 0 and <c>|d| - log 2</c> far away); gradient <c>tanh(d)/C</c>. Targets as for
/// <see cref="MeanSquaredError"/>.
/// </summary>
public sealed class LogCosh : RegressionLoss
{
    private static readonly double Log2 = Math.Log(2);

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public LogCosh(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "log_cosh";

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLoss("log_cosh", config => new LogCosh(ReadReduction(config)));

    /// <inheritdoc/>
    protected override double ElementLoss(float output, float target, float scale, out float gradient)
    {
        float difference = output - target;
        gradient = scale * MathF.Tanh(difference);
        // Keras's form, d + softplus(-2d) - log 2, written for |d| so that exp never overflows: cosh(100) is 1.3e43.
        double x = Math.Abs((double)difference);
        return x + Math.Log(1 + Math.Exp(-2 * x)) - Log2;
    }
}
