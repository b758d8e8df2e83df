using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Softsign, Keras's <c>softsign</c>: <c>output = input / (1 + |input|)</c>, a tanh-like squashing to (-1, 1) with
/// polynomial tails; backward <c>inputGrad = outputGrad / (1 + |input|)²</c>. Evaluated in double precision.
/// </summary>
public sealed class Softsign : Layer
{
    /// <summary>Creates a softsign whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Softsign(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built softsign over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Softsign(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "softsign";

    /// <inheritdoc/>
    public override string TypeId => "Softsign";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Softsign", _ => new Softsign());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Softsign(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.SoftsignBackward(input, outputGrad, inputGrad);
        }
    }
}
