using System.Globalization;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Rectified linear unit: <c>output = max(input, 0)</c>; backward <c>inputGrad = input &gt; 0 ? outputGrad : 0</c>.
/// Keras's options generalize it: <c>output = MaxValue</c> for <c>input ≥ MaxValue</c>, <c>input</c> for
/// <c>Threshold ≤ input &lt; MaxValue</c>, <c>NegativeSlope·(input - Threshold)</c> below (set them with an
/// initializer: <c>new Relu { MaxValue = 6 }</c>).
/// </summary>
/// <remarks>
/// A plain ReLU after a <see cref="Dense"/> layer runs fused with it in a model (applied as the product stores its
/// output); one with options runs on its own. At <c>input = Threshold</c> the output is <c>Threshold</c>, as Keras's
/// documented formula and the ONNX export have it (Keras's own code gives 0 at that one point for a positive threshold).
/// <see cref="MaxValue"/> may not be below <see cref="Threshold"/>.
/// </remarks>
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
        : base(name) => BuildFromSize(size, 0);

    /// <summary>The cap of the output, Keras's <c>max_value</c>; null (the default) for none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN, or below <see cref="Threshold"/>.</exception>
    public float? MaxValue
    {
        get => _maxValue;
        init
        {
            // Infinity is allowed (no cap, as none), so the check is a range, not NonNegative's finite number.
            if (value is { } v)
            {
                Check.InRange(v, 0f, float.PositiveInfinity, "[]", nameof(MaxValue), "a max_value (or none)", nameof(value));
            }

            _maxValue = value;
            CheckCapAboveThreshold();
        }
    }

    /// <summary>The slope below <see cref="Threshold"/>, Keras's <c>negative_slope</c> (default 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative, infinite or NaN.</exception>
    public float NegativeSlope
    {
        get => _negativeSlope;
        init
        {
            Check.NonNegative(value, nameof(NegativeSlope), "negative_slope", nameof(value));

            _negativeSlope = value;
        }
    }

    /// <summary>Where the identity starts, Keras's <c>threshold</c> (default 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative, infinite or NaN, or above <see cref="MaxValue"/>.</exception>
    public float Threshold
    {
        get => _threshold;
        init
        {
            Check.NonNegative(value, nameof(Threshold), paramName: nameof(value));

            _threshold = value;
            CheckCapAboveThreshold();
        }
    }

    // Whichever of the two an initializer sets second finds the other already set. Below the threshold the formula's
    // cases overlap, and Keras's code, its formula and ONNX's Where/Min graph each resolve the inputs in
    // [MaxValue, Threshold) differently; no such layer is useful, so none is made.
    private void CheckCapAboveThreshold()
    {
        if (_maxValue is { } max && max < _threshold)
        {
            throw new ArgumentOutOfRangeException(null, string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(Label)}': max_value ({max}) is below threshold ({_threshold}), which leaves no input passed unchanged. Set MaxValue at or above Threshold."));
        }
    }

    /// <summary>Whether this is the plain <c>max(x, 0)</c> (no option set).</summary>
    public bool IsPlain => _maxValue is null && _negativeSlope == 0 && _threshold == 0;

    private readonly float? _maxValue;
    private readonly float _negativeSlope;
    private readonly float _threshold;

    private float Cap => _maxValue ?? float.PositiveInfinity;

    /// <inheritdoc/>
    public override string DefaultName => "re_lu";

    /// <inheritdoc/>
    public override string TypeId => "ReLU";

    /// <inheritdoc/>
    /// <remarks>Non-negative without a negative slope (the threshold is never negative).</remarks>
    public override OutputRange OutputRange => NegativeSlope == 0 ? OutputRange.NonNegative : OutputRange.Any;

    /// <inheritdoc/>
    /// <remarks><c>negative_slope</c>, <c>threshold</c> and, when set, <c>max_value</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("negative_slope", NegativeSlope).Set("threshold", Threshold);
        if (MaxValue is { } max)
        {
            config.Set("max_value", max);
        }
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("ReLU", config => new Relu
    {
        NegativeSlope = config.GetSingle("negative_slope", 0f),
        Threshold = config.GetSingle("threshold", 0f),
        MaxValue = config.Contains("max_value") ? config.GetSingle("max_value") : null,
    });

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        if (IsPlain)
        {
            Elementwise.Relu(input, output);
        }
        else
        {
            Activations.Relu(input, output, _negativeSlope, _threshold, Cap);
        }
    }

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (inputGrad.IsEmpty)
        {
            return;
        }

        if (IsPlain)
        {
            Elementwise.ReluBackward(input, outputGrad, inputGrad);
        }
        else
        {
            Activations.ReluBackward(input, outputGrad, inputGrad, _negativeSlope, _threshold, Cap);
        }
    }
}
