using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Mish (Misra 2019), Keras's <c>mish</c>: <c>output = input·tanh(softplus(input))</c>, a smooth, non-monotonic
/// ReLU-like activation; backward <c>inputGrad = outputGrad·(tanh(sp) + input·σ(input)·(1 - tanh²(sp)))</c> with
/// <c>sp = softplus(input)</c>. Evaluated in double precision.
/// </summary>
public sealed class Mish : Layer
{
    /// <summary>Creates a Mish whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Mish(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built Mish over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Mish(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "mish";

    /// <inheritdoc/>
    public override string TypeId => "Mish";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Mish", _ => new Mish());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Mish(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.MishBackward(input, outputGrad, inputGrad);
        }
    }
}
