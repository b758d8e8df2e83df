using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Randomness;

namespace NeuralCore.Layers;

/// <summary>
/// Inverted dropout: in training each element is kept with probability <c>1 - rate</c> and scaled by
/// <c>1 / (1 - rate)</c>, or zeroed; at inference it is the identity. Masks come from the layer's seed, so a seed
/// fixes them.
/// </summary>
public sealed class Dropout : Layer
{
    private float[] _mask = [];
    private Xoshiro128 _random;

    // How many mask values the last training forward used (0 after an inference forward): the backward must be of as many.
    private int _masked;

    /// <summary>Creates a dropout layer whose size is fixed when it is added to a model.</summary>
    /// <param name="rate">The fraction of elements dropped, in [0, 1).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1) or NaN.</exception>
    public Dropout(float rate, string? name = null)
        : base(name)
    {
        Check.InRange(rate, 0f, 1f, "[)", nameof(rate), "a dropout rate");

        Rate = rate;
    }

    /// <summary>Creates a built dropout layer over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="rate">The fraction of elements dropped, in [0, 1).</param>
    /// <param name="seed">The seed of the masks.</param>
    /// <param name="name">The layer's name, or null.</param>
    public Dropout(int size, float rate, ulong seed, string? name = null)
        : this(rate, name) => Build(size, seed);

    /// <summary>The fraction of elements dropped in training.</summary>
    public float Rate { get; }

    /// <summary>
    /// When true, training-mode forwards reuse the last mask instead of drawing a new one (for gradient checks, which
    /// need the same function at every evaluation). The batch must not grow while frozen.
    /// </summary>
    public bool FreezeMask { get; set; }

    /// <inheritdoc/>
    public override string DefaultName => "dropout";

    /// <inheritdoc/>
    public override string TypeId => "Dropout";

    /// <inheritdoc/>
    internal override bool InferenceIsIdentity => true;

    /// <inheritdoc/>
    internal override bool RandomInTraining => Rate > 0f;

    /// <inheritdoc/>
    /// <remarks><c>rate</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("rate", Rate);
    }

    /// <inheritdoc/>
    /// <remarks>The mask generator's state, so that a resumed run draws the masks it would have drawn.</remarks>
    protected internal override void WriteState(ComponentConfig state)
    {
        ArgumentNullException.ThrowIfNull(state);
        (ulong low, ulong high) = _random.State;
        state.Set("generator_low", (long)low).Set("generator_high", (long)high);
    }

    /// <inheritdoc/>
    protected internal override void ReadState(ComponentConfig state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _random.State = ((ulong)state.GetInt64("generator_low"), (ulong)state.GetInt64("generator_high"));
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Dropout", config => new Dropout(config.GetSingle("rate")));

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected override void OnSeed(ulong seed) => _random = new Xoshiro128(seed);

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        if (!training || Rate == 0f)
        {
            _masked = 0;
            input.CopyTo(output);
            return;
        }

        if (_mask.Length < input.Length)
        {
            if (FreezeMask)
            {
                throw new InvalidOperationException(
                    $"Layer '{Label}': the mask is frozen for {_mask.Length / OutputSize} samples but the batch has {batch}.");
            }

            _mask = new float[input.Length];
        }

        Span<float> mask = _mask.AsSpan(0, input.Length);
        if (!FreezeMask)
        {
            float scale = 1f / (1f - Rate);
            for (int i = 0; i < mask.Length; i++)
            {
                mask[i] = _random.NextSingle() >= Rate ? scale : 0f;
            }
        }

        TensorPrimitives.Multiply(input, mask, output);
        _masked = input.Length;
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The last forward was not a training forward of <paramref name="batch"/> samples.</exception>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (inputGrad.IsEmpty)
        {
            return;
        }

        if (Rate == 0f)
        {
            outputGrad.CopyTo(inputGrad);
            return;
        }

        if (_masked != outputGrad.Length)
        {
            // A backward after an inference forward, or after a training forward of another batch, had used an older mask.
            throw new InvalidOperationException(
                $"Layer '{Label}' (Dropout): Backward needs the mask of a training Forward of the same {batch} samples just before it; the last forward was {(_masked == 0 ? "none, or an inference one" : $"a training forward of {_masked / InputSize} samples")}.");
        }

        TensorPrimitives.Multiply(outputGrad, _mask.AsSpan(0, outputGrad.Length), inputGrad);
    }
}
