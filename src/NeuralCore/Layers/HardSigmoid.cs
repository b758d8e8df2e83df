using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Hard sigmoid in Keras 3's form, <c>hard_sigmoid</c>: <c>output = relu6(input + 3) / 6</c>, a piecewise-linear
/// sigmoid (0 below -3, 1 above 3); backward <c>inputGrad = outputGrad / 6</c> strictly between -3 and 3, else 0.
/// Keras 2's version had slope 0.2 (ONNX's <c>HardSigmoid</c> default); this layer's is 1/6.
/// </summary>
public sealed class HardSigmoid : Layer
{
    /// <summary>Creates a hard sigmoid whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public HardSigmoid(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built hard sigmoid over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public HardSigmoid(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "hard_sigmoid";

    /// <inheritdoc/>
    public override string TypeId => "HardSigmoid";

    /// <inheritdoc/>
    public override OutputRange OutputRange => OutputRange.UnitInterval;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("HardSigmoid", _ => new HardSigmoid());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.HardSigmoid(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.HardSigmoidBackward(input, outputGrad, inputGrad);
        }
    }
}
