using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Exponential linear unit, Keras's <c>ELU</c>: <c>output = input</c> for <c>input &gt; 0</c>,
/// <c>Alpha·(exp(input) - 1)</c> otherwise; backward <c>inputGrad = outputGrad</c> above 0,
/// <c>Alpha·exp(input)·outputGrad</c> elsewhere. Evaluated in double precision.
/// </summary>
public sealed class Elu : Layer
{
    /// <summary>Creates an ELU whose size is fixed when it is added to a model.</summary>
    /// <param name="alpha">The value approached for large negative inputs is -α; non-negative and finite (Keras's default 1).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is negative, infinite or NaN.</exception>
    public Elu(float alpha = 1f, string? name = null)
        : base(name)
    {
        Check.NonNegative(alpha, nameof(alpha), "alpha");
        Alpha = alpha;
    }

    /// <summary>Creates a built ELU over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="alpha">α.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is negative, infinite or NaN.</exception>
    public Elu(int size, float alpha = 1f, string? name = null)
        : this(alpha, name) => BuildFromSize(size, 0);

    /// <summary>α: negative inputs map into (-α, 0].</summary>
    public float Alpha { get; }

    /// <inheritdoc/>
    public override string DefaultName => "elu";

    /// <inheritdoc/>
    public override string TypeId => "ELU";

    /// <inheritdoc/>
    /// <remarks><c>alpha</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("alpha", Alpha);
    }

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLayer("ELU", config => new Elu(config.GetSingle("alpha")));

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Elu(input, output, Alpha);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.EluBackward(input, outputGrad, inputGrad, Alpha);
        }
    }
}
