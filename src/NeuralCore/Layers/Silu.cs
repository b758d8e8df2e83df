using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Sigmoid linear unit, also called swish, Keras's <c>silu</c>: <c>output = input·σ(input) = input / (1 + exp(-input))</c>;
/// backward <c>inputGrad = outputGrad·σ(input)·(1 + input·(1 - σ(input)))</c>. Evaluated in double precision.
/// </summary>
public sealed class Silu : Layer
{
    /// <summary>Creates a SiLU whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Silu(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built SiLU over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Silu(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "silu";

    /// <inheritdoc/>
    public override string TypeId => "SiLU";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("SiLU", _ => new Silu());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Silu(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.SiluBackward(input, outputGrad, inputGrad);
        }
    }
}
