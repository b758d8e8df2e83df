using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Leaky rectified linear unit, Keras's <c>LeakyReLU</c>: <c>output = input</c> for <c>input ≥ 0</c>,
/// <c>NegativeSlope·input</c> below; backward <c>inputGrad = outputGrad</c> where <c>input &gt; 0</c>,
/// <c>NegativeSlope·outputGrad</c> elsewhere.
/// </summary>
public sealed class LeakyRelu : Layer
{
    /// <summary>Creates a leaky ReLU whose size is fixed when it is added to a model.</summary>
    /// <param name="negativeSlope">The slope below zero; non-negative and finite (Keras's default 0.3).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="negativeSlope"/> is negative, infinite or NaN.</exception>
    public LeakyRelu(float negativeSlope = 0.3f, string? name = null)
        : base(name)
    {
        Check.NonNegative(negativeSlope, nameof(negativeSlope), "negative_slope");

        NegativeSlope = negativeSlope;
    }

    /// <summary>Creates a built leaky ReLU over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="negativeSlope">The slope below zero.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="negativeSlope"/> is negative, infinite or NaN.</exception>
    public LeakyRelu(int size, float negativeSlope = 0.3f, string? name = null)
        : this(negativeSlope, name) => BuildFromSize(size, 0);

    /// <summary>The slope below zero.</summary>
    public float NegativeSlope { get; }

    /// <inheritdoc/>
    public override string DefaultName => "leaky_re_lu";

    /// <inheritdoc/>
    public override string TypeId => "LeakyReLU";

    /// <inheritdoc/>
    /// <remarks><c>negative_slope</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("negative_slope", NegativeSlope);
    }

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLayer("LeakyReLU", config => new LeakyRelu(config.GetSingle("negative_slope")));

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Relu(input, output, NegativeSlope, 0f, float.PositiveInfinity);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.ReluBackward(input, outputGrad, inputGrad, NegativeSlope, 0f, float.PositiveInfinity);
        }
    }
}
