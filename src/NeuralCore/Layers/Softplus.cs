using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Softplus, Keras's <c>softplus</c>: <c>output = ln(1 + exp(input))</c>, a smooth ReLU that is never 0; backward
/// <c>inputGrad = outputGrad·σ(input)</c>. Evaluated in double precision, without overflow for large inputs.
/// </summary>
public sealed class Softplus : Layer
{
    /// <summary>Creates a softplus whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Softplus(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built softplus over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Softplus(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "softplus";

    /// <inheritdoc/>
    public override string TypeId => "Softplus";

    /// <inheritdoc/>
    public override OutputRange OutputRange => OutputRange.NonNegative;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Softplus", _ => new Softplus());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Softplus(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.SoftplusBackward(input, outputGrad, inputGrad);
        }
    }
}
