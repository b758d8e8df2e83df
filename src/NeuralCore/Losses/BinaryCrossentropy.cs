using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Losses;

/// <summary>
/// Binary cross-entropy, Keras's <c>BinaryCrossentropy</c>: each output is an independent yes/no probability, and per
/// sample <c>l = (1/C) Σ_j -(t_j·log p_j + (1 - t_j)·log(1 - p_j))</c> over the 0/1 (or soft) targets t, smoothed as
/// <c>t·(1 - ε) + ε/2</c> by <see cref="CrossentropyLoss.LabelSmoothing"/> ε. With one output, class labels 0 and 1 may stand for t.
/// </summary>
/// <remarks>
/// <para>From logits x (<see cref="CrossentropyLoss.FromLogits"/>; no Sigmoid layer): <c>l_j = max(x, 0) - x·t + log(1 + exp(-|x|))</c>,
/// which cannot overflow, with <c>∂l_j/∂x = σ(x) - t</c>.</para>
/// <para>From probabilities o (a model ending in Sigmoid), as Keras: <c>p = clip(o, 1e-7, 1 - 1e-7)</c>, the
/// gradient <c>-t/p + (1 - t)/(1 - p)</c> for o in [1e-7, 1 - 1e-7] and zero outside, where the clip holds p (as TensorFlow's
/// <c>clip_by_value</c> and PyTorch's <c>clamp</c>, whose gradient passes at the bounds themselves).</para>
/// </remarks>
public class BinaryCrossentropy : CrossentropyLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether the model outputs logits (no sigmoid layer) rather than probabilities.</param>
    /// <param name="labelSmoothing">ε in [0, 1]: targets become <c>t·(1 - ε) + ε/2</c>.</param>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1], or <paramref name="reduction"/> is not defined.</exception>
    public BinaryCrossentropy(bool fromLogits = false, float labelSmoothing = 0f, Reduction reduction = Reduction.Mean)
        : base(fromLogits, labelSmoothing, reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "binary_crossentropy";

    /// <inheritdoc/>
    public override LossTask Task => LossTask.Binary;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("binary_crossentropy", config => new BinaryCrossentropy(
        config.GetBoolean("from_logits", false), config.GetSingle("label_smoothing", 0f), ReadReduction(config)));

    /// <inheritdoc/>
    /// <remarks>Labels 0 and 1 for a one-output model; several outputs need a target row each.</remarks>
    protected override int LabelCount(int outputs) => outputs == 1
        ? 2
        : throw new ArgumentException(
            $"{Name} takes class labels (0 or 1) only for a model with one output, and this one has {outputs}: give a [count, {outputs}] array of 0/1 targets, or for one class out of {outputs} use SoftmaxCrossEntropy on these raw outputs (CategoricalCrossentropy if the model ends in Softmax).");

    /// <inheritdoc/>
    /// <remarks>Values in [0, 1].</remarks>
    protected override string? CheckValue(float value) =>
        value is >= 0 and <= 1 ? null : "targets in [0, 1] (0/1 labels or probabilities)";

    /// <inheritdoc/>
    /// <remarks>The sigmoid of the outputs when the loss reads logits; the outputs otherwise.</remarks>
    public override void ToPredictions(ReadOnlySpan<float> output, Span<float> predictions, int batch, int outputs)
    {
        CheckPredictionShapes(output, predictions, batch, outputs);
        if (FromLogits)
        {
            Activations.Sigmoid(output[..(batch * outputs)], predictions);
        }
        else
        {
            output[..(batch * outputs)].CopyTo(predictions);
        }
    }

    /// <inheritdoc/>
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        float scale = gradScale / outputs, keep = 1f - LabelSmoothing, spread = 0.5f * LabelSmoothing;
        const float epsilon = CategoricalCrossentropy.Epsilon;
        double loss = 0;
        for (int j = 0; j < outputs; j++)
        {
            float t = ((label >= 0 ? label : target[j]) * keep) + spread;
            float v = output[j];
            if (FromLogits)
            {
                double x = v;
                loss += Math.Max(x, 0) - (x * t) + Math.Log(1 + Math.Exp(-Math.Abs(x)));
                float p = 1f / (1f + MathF.Exp(-v));
                grad[j] = scale * (p - t);
            }
            else
            {
                float p = Math.Clamp(v, epsilon, 1f - epsilon);
                loss -= (t * Math.Log(p)) + ((1 - t) * Math.Log(1 - p));
                grad[j] = v >= epsilon && v <= 1f - epsilon ? scale * ((-t / p) + ((1 - t) / (1 - p))) : 0f;
            }
        }

        return loss / outputs;
    }
}
