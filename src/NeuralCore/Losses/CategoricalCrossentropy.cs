using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Losses;

/// <summary>
/// Categorical cross-entropy, Keras's <c>CategoricalCrossentropy</c> (and <c>SparseCategoricalCrossentropy</c> when
/// given class labels): per sample <c>l = -Σ_j t_j·log p_j</c> over the target distribution t (a label's one-hot row,
/// or a target row of probabilities), smoothed as <c>t·(1 - ε) + ε/C</c> by <see cref="CrossentropyLoss.LabelSmoothing"/> ε.
/// </summary>
/// <remarks>
/// <para>From logits x (<see cref="CrossentropyLoss.FromLogits"/>), p = softmax(x) is never formed: <c>l = Σ_j t_j·(log Σ_k exp(x_k - m) - (x_j - m))</c>
/// with <c>m = max x</c>, which cannot overflow, and <c>∂l/∂x = p·Σt - t</c>.</para>
/// <para>From probabilities o (a model ending in softmax), as Keras: <c>p = clip(o / Σo, 1e-7, 1 - 1e-7)</c>, and the
/// gradient is that of this expression: zero where p lies strictly outside the clip's bounds, and passed at the bounds
/// themselves (as TensorFlow's <c>clip_by_value</c> and PyTorch's <c>clamp</c>).</para>
/// </remarks>
public class CategoricalCrossentropy : CrossentropyLoss
{
    /// <summary>Keras's <c>backend.epsilon()</c>, the clip of probabilities.</summary>
    internal const float Epsilon = 1e-7f;

    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether the model outputs logits (no softmax layer) rather than probabilities.</param>
    /// <param name="labelSmoothing">ε in [0, 1]: targets become <c>t·(1 - ε) + ε/C</c>.</param>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1], or <paramref name="reduction"/> is not defined.</exception>
    public CategoricalCrossentropy(bool fromLogits = false, float labelSmoothing = 0f, Reduction reduction = Reduction.Mean)
        : base(fromLogits, labelSmoothing, reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "categorical_crossentropy";

    /// <inheritdoc/>
    public override LossTask Task => LossTask.MultiClass;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("categorical_crossentropy", config =>
    {
        // Version 1 model files stored this loss without settings: it was the from-logits one.
        bool fromLogits = config.GetBoolean("from_logits", true);
        float smoothing = config.GetSingle("label_smoothing", 0f);
        Reduction reduction = ReadReduction(config);
        return fromLogits ? new SoftmaxCrossEntropy(smoothing, reduction) : new CategoricalCrossentropy(false, smoothing, reduction);
    });

    /// <inheritdoc/>
    /// <remarks>Probabilities in [0, 1].</remarks>
    protected override string? CheckValue(float value) => ProbabilityValue(value);

    /// <inheritdoc/>
    /// <remarks>Rows summing to 1 (within 1e-3).</remarks>
    protected override string? CheckRow(ReadOnlySpan<float> row) => ProbabilityRow(row);

    // The checks of a target distribution, shared with the other losses that compare distributions.
    internal static string? ProbabilityValue(float value) =>
        value is >= 0 and <= 1 ? null : "probabilities in [0, 1] (one-hot rows or class probabilities; for regression use MeanSquaredError)";

    internal static string? ProbabilityRow(ReadOnlySpan<float> row)
    {
        double sum = 0;
        foreach (float v in row)
        {
            sum += v;
        }

        return Math.Abs(sum - 1) <= 1e-3 ? null : $"a row of probabilities summing to 1, and this one sums to {sum:G6} (give class labels, or one-hot rows)";
    }

    /// <inheritdoc/>
    /// <remarks>Softmax of each row when the loss reads logits; the outputs otherwise.</remarks>
    public override void ToPredictions(ReadOnlySpan<float> output, Span<float> predictions, int batch, int outputs)
    {
        CheckPredictionShapes(output, predictions, batch, outputs);
        if (FromLogits)
        {
            Elementwise.SoftmaxRows(output, predictions, batch, outputs);
        }
        else
        {
            output[..(batch * outputs)].CopyTo(predictions);
        }
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale) =>
        FromLogits ? RowFromLogits(output, label, target, grad, gradScale) : RowFromProbabilities(output, label, target, grad, gradScale);

    // Rows up to this many classes keep their exponentials on the stack (RowFromLogits).
    private const int MaxStackClasses = 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit] // the stack scratch is written before it is read
    private double RowFromLogits(ReadOnlySpan<float> x, int label, ReadOnlySpan<float> target, Span<float> g, float scale)
    {
        if (label >= 0 && LabelSmoothing == 0 && Elementwise.TrySoftmaxGradientRow(x, label, scale, g, out float rowMax, out float rowSum))
        {
            // The common case (MNIST) in registers: the same bits as below.
            return Math.Log(rowSum) - (x[label] - rowMax);
        }

        // e = exp(x - max): the unnormalized softmax (the kernel the softmax layer uses), shared by loss and gradient.
        // It goes to the stack and g is only stored to, never read back: g's lines may still be shared with the core
        // that read the previous step's gradient, and a load right after a store to such a line waited for the other
        // core, row after row (128 rows of 10: 8 µs alone, 46 µs once another core had read g; AMD EPYC Zen 5, 2 real
        // cores). Wide rows use g itself.
        Span<float> e = x.Length <= MaxStackClasses ? stackalloc float[MaxStackClasses] : g;
        e = e[..x.Length];
        (float max, float sum) = Elementwise.ShiftedExp(x, e);
        double logSum = Math.Log(sum);
        if (label >= 0 && LabelSmoothing == 0)
        {
            // The common case (MNIST): a one-hot target, so Σt = 1 and only the label's term remains.
            float factor = scale / sum;
            float labelGrad = (e[label] * factor) - scale;
            TensorPrimitives.Multiply(e, factor, g);
            g[label] = labelGrad;
            return logSum - (x[label] - max);
        }

        int classes = x.Length;
        float keep = 1f - LabelSmoothing, spread = LabelSmoothing / classes;
        double loss = 0, targetSum = 0;
        for (int j = 0; j < classes; j++)
        {
            float t = ((label >= 0 ? (j == label ? 1f : 0f) : target[j]) * keep) + spread;
            // A class of no weight adds nothing, also where its logit is -inf (masked): 0·∞ made the row's loss NaN for
            // one-hot values, while the same row as a label gave the finite loss.
            if (t != 0f)
            {
                loss += t * (logSum - (x[j] - max));
            }

            targetSum += t;
        }

        float inverseSum = 1f / sum, total = (float)targetSum;
        for (int j = 0; j < classes; j++)
        {
            float t = ((label >= 0 ? (j == label ? 1f : 0f) : target[j]) * keep) + spread;
            g[j] = scale * ((e[j] * inverseSum * total) - t);
        }

        return loss;
    }

    private double RowFromProbabilities(ReadOnlySpan<float> o, int label, ReadOnlySpan<float> target, Span<float> g, float scale)
    {
        // In double: the normalizing sum of a wide row, rounded to float, would move every p by a few 1e-8 and the
        // loss with them.
        int classes = o.Length;
        double keep = 1.0 - LabelSmoothing, spread = (double)LabelSmoothing / classes;
        const double lower = Epsilon, upper = 1f - Epsilon; // Keras clips in float32
        double s = 0;
        foreach (float v in o)
        {
            s += v;
        }

        double loss = 0, weighted = 0;
        for (int j = 0; j < classes; j++)
        {
            double t = ((label >= 0 ? (j == label ? 1.0 : 0.0) : target[j]) * keep) + spread;
            double p = o[j] / s;
            double q = Math.Clamp(p, lower, upper);
            loss -= t * Math.Log(q);

            // a_j = ∂l/∂p_j, zero where the clip holds p (strictly outside its bounds); kept in g until the normalization's term is known.
            double a = p >= lower && p <= upper ? -t / q : 0.0;
            g[j] = (float)a;
            weighted += a * p;
        }

        // ∂l/∂o_k = (a_k - Σ_j a_j·p_j) / s through p = o / s.
        for (int j = 0; j < classes; j++)
        {
            g[j] = (float)(scale * ((g[j] - weighted) / s));
        }

        return loss;
    }
}

/// <summary>
/// Softmax followed by categorical cross-entropy, fused and computed from logits so it cannot overflow:
/// <see cref="CategoricalCrossentropy"/> with <c>fromLogits: true</c>. On labels, per sample
/// <c>l = log Σ_j exp(x_j - m) - (x_y - m)</c> with <c>m = max x</c>, gradient <c>softmax(x) - onehot(y)</c>.
/// </summary>
/// <remarks>Leave the model's Softmax layer out: the loss applies softmax itself (and <c>Compile</c> says so).</remarks>
public sealed class SoftmaxCrossEntropy : CategoricalCrossentropy
{
    /// <summary>Creates the loss.</summary>
    /// <param name="labelSmoothing">ε in [0, 1]: targets become <c>t·(1 - ε) + ε/C</c>.</param>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1], or <paramref name="reduction"/> is not defined.</exception>
    public SoftmaxCrossEntropy(float labelSmoothing = 0f, Reduction reduction = Reduction.Mean)
        : base(fromLogits: true, labelSmoothing, reduction)
    {
    }
}
