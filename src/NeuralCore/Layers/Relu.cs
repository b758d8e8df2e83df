using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Rectified linear unit: <c>output = max(input, 0)</c>; backward <c>inputGrad = input &gt; 0 ? outputGrad : 0</c>.
/// </summary>
public sealed class Relu : Layer
{
    /// <summary>Creates a ReLU whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Relu(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built ReLU over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Relu(int size, string? name = null)
        : base(name) => Build(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "re_lu";

    /// <inheritdoc/>
    public override string TypeId => "ReLU";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("ReLU", _ => new Relu());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Elementwise.Relu(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Elementwise.ReluBackward(input, outputGrad, inputGrad);
        }
    }
}
