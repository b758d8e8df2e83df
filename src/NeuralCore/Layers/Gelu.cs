using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Gaussian error linear unit, Keras's <c>gelu(x, approximate)</c>: exactly <c>output = x·Φ(x) = ½x(1 + erf(x/√2))</c>,
/// or with <see cref="Approximate"/> the tanh form <c>½x(1 + tanh(√(2/π)(x + 0.044715x³)))</c>. Backward from the
/// input: <c>inputGrad = outputGrad·(Φ(x) + x·φ(x))</c> (or the tanh form's derivative). Evaluated in double precision.
/// </summary>
public sealed class Gelu : Layer
{
    /// <summary>Creates a GELU whose size is fixed when it is added to a model.</summary>
    /// <param name="approximate">Use the tanh approximation (Keras's default is the exact form).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Gelu(bool approximate = false, string? name = null)
        : base(name) => Approximate = approximate;

    /// <summary>Creates a built GELU over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="approximate">Use the tanh approximation.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Gelu(int size, bool approximate = false, string? name = null)
        : this(approximate, name) => BuildFromSize(size, 0);

    /// <summary>Whether the tanh approximation is used.</summary>
    public bool Approximate { get; }

    /// <inheritdoc/>
    public override string DefaultName => "gelu";

    /// <inheritdoc/>
    public override string TypeId => "GELU";

    /// <inheritdoc/>
    /// <remarks><c>approximate</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("approximate", Approximate);
    }

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLayer("GELU", config => new Gelu(config.GetBoolean("approximate", false)));

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Activations.Gelu(input, output, Approximate);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Activations.GeluBackward(input, outputGrad, inputGrad, Approximate);
        }
    }
}
