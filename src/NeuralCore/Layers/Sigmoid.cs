using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Logistic sigmoid, <c>output = 1 / (1 + exp(-input))</c>; backward <c>inputGrad = outputGrad·output·(1 - output)</c>.
/// The output layer of a binary classifier trained with <c>BinaryCrossentropy</c> on probabilities
/// (with a from-logits loss, leave it out: the loss applies it).
/// </summary>
public sealed class Sigmoid : Layer
{
    /// <summary>Creates a sigmoid whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Sigmoid(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built sigmoid over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Sigmoid(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "sigmoid";

    /// <inheritdoc/>
    public override string TypeId => "Sigmoid";

    /// <inheritdoc/>
    public override OutputRange OutputRange => OutputRange.UnitInterval;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Sigmoid", _ => new Sigmoid());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Sigmoid(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.SigmoidBackward(output, outputGrad, inputGrad);
        }
    }
}
