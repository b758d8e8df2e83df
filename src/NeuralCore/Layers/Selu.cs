using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Scaled exponential linear unit (Klambauer et al. 2017), Keras's <c>selu</c>: <c>output = λ·input</c> for
/// <c>input &gt; 0</c>, <c>λ·α·(exp(input) - 1)</c> otherwise, with Keras's constants α = <see cref="Alpha"/> and
/// λ = <see cref="Scale"/>; backward <c>λ·outputGrad</c> above 0, <c>λ·α·exp(input)·outputGrad</c> elsewhere. It keeps
/// activations near zero mean and unit variance through a deep stack of Dense layers initialized with LeCun normal
/// weights (<see cref="Initializer.LecunNormal"/> as their <see cref="Dense.KernelInitializer"/>). Evaluated in double precision.
/// </summary>
public sealed class Selu : Layer
{
    /// <summary>α, Keras's 1.67326324.</summary>
    public const float Alpha = 1.67326324f;

    /// <summary>λ, Keras's 1.05070098.</summary>
    public const float Scale = 1.05070098f;

    /// <summary>Creates a SELU whose size is fixed when it is added to a model.</summary>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Selu(string? name = null)
        : base(name)
    {
    }

    /// <summary>Creates a built SELU over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Selu(int size, string? name = null)
        : base(name) => BuildFromSize(size, 0);

    /// <inheritdoc/>
    public override string DefaultName => "selu";

    /// <inheritdoc/>
    public override string TypeId => "SELU";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("SELU", _ => new Selu());

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Elu(input, output, Alpha, Scale);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.EluBackward(input, outputGrad, inputGrad, Alpha, Scale);
        }
    }
}
