using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Layers;

/// <summary>
/// Rescales the inputs, Keras's <c>Rescaling</c>: <c>output = input·Scale + Offset</c> for every feature; backward
/// <c>inputGrad = outputGrad·Scale</c>. No parameters. <c>new Rescaling(1f / 255)</c> in front of a model lets it take
/// raw pixel values (0-255), in a saved model and its ONNX export too; <c>new Rescaling(1f / 127.5f, -1)</c> maps them
/// to [-1, 1]. (No constructor takes the size, unlike the other layers': <c>new Rescaling(2, 1)</c> would read as a size;
/// call <see cref="Layer.Build(int, ulong)"/> for a layer used alone.)
/// </summary>
public sealed class Rescaling : Layer
{
    /// <summary>Creates a rescaling whose size is fixed when it is added to a model.</summary>
    /// <param name="scale">The factor; finite.</param>
    /// <param name="offset">The value added after it (default 0); finite.</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> or <paramref name="offset"/> is infinite or NaN.</exception>
    public Rescaling(float scale, float offset = 0f, string? name = null)
        : base(name)
    {
        Check.Finite(scale, nameof(scale));
        Check.Finite(offset, nameof(offset));
        (Scale, Offset) = (scale, offset);
    }

    /// <summary>The factor.</summary>
    public float Scale { get; }

    /// <summary>The value added after the factor.</summary>
    public float Offset { get; }

    /// <inheritdoc/>
    public override string DefaultName => "rescaling";

    /// <inheritdoc/>
    public override string TypeId => "Rescaling";

    /// <inheritdoc/>
    /// <remarks><c>scale</c> and <c>offset</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("scale", Scale).Set("offset", Offset);
    }

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLayer("Rescaling", config => new Rescaling(config.GetSingle("scale"), config.GetSingle("offset")));

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        // A product then a sum, each rounded, as Keras's layer and ONNX's Mul and Add compute it (not one fused step).
        TensorPrimitives.Multiply(input, Scale, output);
        if (Offset != 0f)
        {
            TensorPrimitives.Add(output, Offset, output);
        }
    }

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            TensorPrimitives.Multiply(outputGrad, Scale, inputGrad);
        }
    }
}
