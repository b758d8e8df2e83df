using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// Mean squared error between the model's output (probabilities from a final <see cref="Layers.Softmax"/>) and
/// one-hot targets, reduced as Keras does: <c>loss = (1/B) Σ_r (1/C) Σ_j (p[r,j] - t[r,j])²</c>; gradient
/// <c>2(p - t) / (B·C)</c>. This reproduces the course notebook's <c>loss='MeanSquaredError'</c> on a softmax output.
/// </summary>
public sealed class MeanSquaredError : ILoss
{
    /// <inheritdoc/>
    public string Name => "mean_squared_error";

    /// <inheritdoc/>
    /// <remarks>Writes nothing: the loss has no settings.</remarks>
    public void WriteConfig(ComponentConfig config) => ArgumentNullException.ThrowIfNull(config);

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("mean_squared_error", _ => new MeanSquaredError());

    /// <inheritdoc/>
    public bool ExpectsLogits => false;

    /// <inheritdoc/>
    public double Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, Span<float> outputGrad, int batch, int classes)
    {
        LossChecks.Check(output.Length, labels, outputGrad.Length, batch, classes);
        double total = 0;
        float scale = 2f / ((float)batch * classes);
        for (int r = 0; r < batch; r++)
        {
            int label = labels[r];
            double rowSum = 0;
            for (int j = 0; j < classes; j++)
            {
                int i = (r * classes) + j;
                float diff = output[i] - (j == label ? 1f : 0f);
                rowSum += (double)diff * diff;
                outputGrad[i] = scale * diff;
            }

            total += rowSum / classes;
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
            double rowSum = 0;
            for (int j = 0; j < classes; j++)
            {
                double diff = output[(r * classes) + j] - (j == labels[r] ? 1.0 : 0.0);
                rowSum += diff * diff;
            }

            total += rowSum / classes;
        }

        return total;
    }
}
