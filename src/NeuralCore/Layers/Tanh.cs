using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>Hyperbolic tangent, <c>output = tanh(input)</c>; backward <c>inputGrad = outputGrad·(1 - output²)</c>.</summary>
public sealed class Tanh : Layer
{
    /// <summary>Creates a tanh whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Tanh(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built tanh over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Tanh(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "tanh";

    /// <inheritdoc/>
    public override string TypeId => "Tanh";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Tanh", _ => new Tanh());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Tanh(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.TanhBackward(output, outputGrad, inputGrad);
        }
    }
}
