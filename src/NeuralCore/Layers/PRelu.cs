using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;
using NeuralCore.Optimizers;

namespace NeuralCore.Layers;

/// <summary>
/// Parametric rectified linear unit (He et al. 2015), Keras's <c>PReLU</c>: <c>output = input</c> for
/// <c>input ≥ 0</c>, <c>α·input</c> below, with a learned slope α per feature (Keras's default), or one slope shared by
/// every feature (<c>shared_axes=[1]</c> in Keras, PyTorch's default <c>PReLU()</c>). Backward
/// (<see cref="PReluKernels.Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, int, int)"/>):
/// <c>inputGrad = outputGrad</c> where <c>input &gt; 0</c>, <c>α·outputGrad</c> where <c>input &lt; 0</c> and 0 at 0,
/// as Keras differentiates it; <c>∂loss/∂α = Σ outputGrad·input</c> over the negative inputs (of the batch, and with a
/// shared slope of every feature). Parameters: α, <c>[features]</c> or <c>[1]</c>, starting at
/// <see cref="InitialAlpha"/> (Keras's zeros: the layer starts as a ReLU), excluded from weight decay by default as
/// biases are (decay would pull the slopes to 0, towards a plain ReLU).
/// </summary>
/// <remarks>
/// The pass runs on the calling thread (it reads and writes each activation once). A shared slope's gradient is the
/// features' sums added in feature order in double, so it is the same bits whatever the vector width.
/// </remarks>
public sealed class PRelu : Layer
{
    // This backward's sums per feature, added to the gradients after it (Backward accumulates them).
    private float[] _columnSums = [];

    /// <summary>Creates a parametric ReLU whose size is fixed when it is added to a model.</summary>
    /// <param name="initialAlpha">Every slope's starting value; finite (Keras's default zeros; PyTorch starts at 0.25).</param>
    /// <param name="sharedAlpha">Whether one slope serves every feature (Keras's <c>shared_axes=[1]</c>) instead of one per feature.</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialAlpha"/> is infinite or NaN.</exception>
    public PRelu(float initialAlpha = 0f, bool sharedAlpha = false, string? name = null)
        : base(name)
    {
        Check.Finite(initialAlpha, nameof(initialAlpha), "initial slope");

        InitialAlpha = initialAlpha;
        SharedAlpha = sharedAlpha;
    }

    /// <summary>Creates a built parametric ReLU over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="initialAlpha">Every slope's starting value; finite.</param>
    /// <param name="sharedAlpha">Whether one slope serves every feature.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive or more features than one array of state holds, or <paramref name="initialAlpha"/> is infinite or NaN.</exception>
    /// <exception cref="InsufficientMemoryException">The layer's state over <paramref name="size"/> features is more than the memory this process may use.</exception>
    public PRelu(int size, float initialAlpha = 0f, bool sharedAlpha = false, string? name = null)
        : this(initialAlpha, sharedAlpha, name) => BuildFromSize(size, 0);

    /// <summary>The slopes' starting value.</summary>
    public float InitialAlpha { get; }

    /// <summary>Whether one slope serves every feature.</summary>
    public bool SharedAlpha { get; }

    /// <summary>The slopes α (a view of <see cref="Layer.Parameters"/>): one per feature, or one.</summary>
    public Memory<float> Alpha => Parameters;

    /// <inheritdoc/>
    /// <remarks>One per feature, or 1 with <see cref="SharedAlpha"/>.</remarks>
    public override int ParameterCount => SharedAlpha ? 1 : InputSize;

    /// <inheritdoc/>
    /// <remarks>α, with the bias role: weight decay leaves it alone unless <see cref="Optimizer.DecayBiases"/>.</remarks>
    public override IReadOnlyList<ParameterSegment> ParameterSegments => [new ParameterSegment($"{Name}/alpha", 0, ParameterCount, ParameterRole.Bias)];

    /// <inheritdoc/>
    public override string DefaultName => "p_re_lu";

    /// <inheritdoc/>
    public override string TypeId => "PReLU";

    /// <inheritdoc/>
    /// <remarks><c>initial_alpha</c>, <c>shared_alpha</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("initial_alpha", InitialAlpha).Set("shared_alpha", SharedAlpha);
    }

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLayer("PReLU", config => new PRelu(config.GetSingle("initial_alpha"), config.GetBoolean("shared_alpha")));

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize)
    {
        CheckFeatureState(inputSize, longestPerFeature: 1, bytesPerFeature: sizeof(float), savedPerFeature: SharedAlpha ? 0 : 1);
        _columnSums = new float[inputSize];
        return inputSize;
    }

    /// <inheritdoc/>
    protected override void InitializeParameters(Span<float> parameters, ulong seed) => parameters.Fill(InitialAlpha);

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        PReluKernels.Forward(input, output, batch, InputSize, ParameterStorage.Span);

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        Span<float> gradients = GradientStorage.Span;
        PReluKernels.Backward(input, outputGrad, ParameterStorage.Span, inputGrad, _columnSums, batch, InputSize);
        if (!SharedAlpha || InputSize == 1)
        {
            TensorPrimitives.Add(gradients, _columnSums, gradients);
            return;
        }

        double sum = 0;
        foreach (float term in _columnSums)
        {
            sum += term;
        }

        gradients[0] += (float)sum;
    }

    /// <inheritdoc/>
    internal override Layer CopyForPrediction()
    {
        var copy = new PRelu(InputSize, InitialAlpha, SharedAlpha, Name);
        Parameters.Span.CopyTo(copy.Parameters.Span);
        return copy;
    }
}
