using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// Softmax followed by categorical cross-entropy, fused and computed from logits so it cannot overflow:
/// <c>loss = (1/B) Σ_r [log Σ_j exp(x[r,j] - m_r) - (x[r, y_r] - m_r)]</c> with <c>m_r = max_j x[r,j]</c>;
/// gradient <c>(softmax(x) - onehot(y)) / B</c>. Keras: <c>CategoricalCrossentropy(from_logits=True)</c> on one-hot labels.
/// </summary>
public sealed class SoftmaxCrossEntropy : ILoss
{
    /// <inheritdoc/>
    public string Name => "categorical_crossentropy";

    /// <inheritdoc/>
    /// <remarks>Writes nothing: the loss has no settings.</remarks>
    public void WriteConfig(ComponentConfig config) => ArgumentNullException.ThrowIfNull(config);

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("categorical_crossentropy", _ => new SoftmaxCrossEntropy());

    /// <inheritdoc/>
    public bool ExpectsLogits => true;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, Span<float> outputGrad, int batch, int classes)
    {
        LossChecks.Check(output.Length, labels, outputGrad.Length, batch, classes);
        double total = 0;
        float inverseBatch = 1f / batch;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> x = output.Slice(r * classes, classes);
            Span<float> g = outputGrad.Slice(r * classes, classes);
            float max = TensorPrimitives.Max(x);
            TensorPrimitives.Subtract(x, max, g);
            TensorPrimitives.Exp(g, g);
            float sum = TensorPrimitives.Sum<float>(g);
            total += Math.Log(sum) - (x[labels[r]] - max);
            TensorPrimitives.Multiply(g, inverseBatch / sum, g);
            g[labels[r]] -= inverseBatch;
        }

        return total / batch;
    }

    /// <inheritdoc/>
    public double Sum(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int classes)
    {
        LossChecks.Check(output.Length, labels, -1, batch, classes);
        double total = 0;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> x = output.Slice(r * classes, classes);
            float max = TensorPrimitives.Max(x);
            double sum = 0;
            foreach (float v in x)
            {
                sum += Math.Exp(v - max);
            }

            total += Math.Log(sum) - (x[labels[r]] - max);
        }

        return total;
    }
}
