using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Hard SiLU (hard swish, MobileNetV3), Keras 3's <c>hard_silu</c>: <c>output = input·relu6(input + 3) / 6</c>;
/// backward <c>inputGrad = outputGrad·(relu6(input + 3)/6 + input/6)</c> strictly between -3 and 3, <c>outputGrad</c>
/// from 3 up and 0 up to -3.
/// </summary>
public sealed class HardSilu : Layer
{
    /// <summary>Creates a hard SiLU whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public HardSilu(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built hard SiLU over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public HardSilu(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "hard_silu";

    /// <inheritdoc/>
    public override string TypeId => "HardSilu";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("HardSilu", _ => new HardSilu());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.HardSilu(input, output);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.HardSiluBackward(input, outputGrad, inputGrad);
        }
    }
}
