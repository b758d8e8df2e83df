using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Row-wise softmax, <c>output[r, j] = exp(input[r, j] - max_r) / Σ_j exp(input[r, j] - max_r)</c>, for models that
/// output probabilities (and for the mean-squared-error setup of the course notebook). Backward:
/// <c>inputGrad = output ⊙ (outputGrad - Σ_j outputGrad·output)</c> per row.
/// </summary>
/// <remarks>With <see cref="Losses.SoftmaxCrossEntropy"/>, leave this layer out: the loss applies softmax to logits itself, more stably.</remarks>
public sealed class Softmax : Layer
{
    /// <summary>Creates a softmax whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Softmax(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built softmax over <paramref name="size"/> classes.</summary>
    /// <param name="size">Classes per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Softmax(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "softmax";

    /// <inheritdoc/>
    public override string TypeId => "Softmax";

    /// <inheritdoc/>
    public override OutputRange OutputRange => OutputRange.Distribution;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Softmax", _ => new Softmax());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Elementwise.SoftmaxRows(input, output, batch, OutputSize);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Elementwise.SoftmaxRowsBackward(output, outputGrad, inputGrad, batch, OutputSize);
        }
    }
}
