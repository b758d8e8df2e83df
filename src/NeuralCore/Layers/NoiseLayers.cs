using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Randomness;

namespace NeuralCore.Layers;

/// <summary>
/// The noise of a training-time regularization layer: one value per element drawn from the layer's seeded generator,
/// serially, so a seed fixes it whatever the thread count; kept for the backward, and for gradient checks held fixed
/// (<see cref="Freeze"/>). Its generator's state is the layer's state, so a resumed run draws what it would have drawn.
/// </summary>
internal sealed class LayerNoise
{
    private float[] _values = [];
    private Xoshiro128 _random;

    // How many values the last training forward drew (0 after an inference forward): the backward must be of as many.
    private int _drawn;

    public bool Freeze { get; set; }

    /// <summary>An inference forward: the next backward has no noise of its own batch to use.</summary>
    public void Forget() => _drawn = 0;

    /// <summary>
    /// The last training forward's <paramref name="length"/> values, for the backward.
    /// </summary>
    /// <exception cref="InvalidOperationException">The last forward was not a training forward of as many values (named).</exception>
    public ReadOnlySpan<float> ForBackward(int length, string layer, string type, int width)
    {
        if (_drawn != length)
        {
            throw new InvalidOperationException(
                $"Layer '{Names.Printable(layer)}' ({type}): Backward needs the noise of a training Forward of the same {length / width} samples just before it; the last forward was {(_drawn == 0 ? "none, or an inference one" : $"a training forward of {_drawn / width} samples")}.");
        }

        return _values.AsSpan(0, length);
    }

    public void Seed(ulong seed) => _random = new Xoshiro128(seed);

    /// <summary>
    /// The buffer for <paramref name="length"/> values, grown once to the largest batch; <paramref name="draw"/> says
    /// whether the caller fills it with a new draw (false while frozen, when it holds the last one).
    /// </summary>
    /// <exception cref="InvalidOperationException">Frozen for fewer values.</exception>
    public Span<float> Next(int length, string layer, int width, out bool draw)
    {
        if (_values.Length < length)
        {
            if (Freeze)
            {
                throw new InvalidOperationException($"Layer '{Names.Printable(layer)}': the noise is frozen for {_values.Length / width} samples but the batch has {length / width}.");
            }

            _values = new float[length];
        }

        draw = !Freeze;
        _drawn = length;
        return _values.AsSpan(0, length);
    }

    /// <summary>A uniform value in [0, 1).</summary>
    public float Uniform() => _random.NextSingle();

    /// <summary>A standard normal value (<see cref="Xoshiro128.NextNormal"/>).</summary>
    public double Normal() => _random.NextNormal();

    public void Write(ComponentConfig state)
    {
        (ulong low, ulong high) = _random.State;
        state.Set("generator_low", (long)low).Set("generator_high", (long)high);
    }

    public void Read(ComponentConfig state) =>
        _random.State = ((ulong)state.GetInt64("generator_low"), (ulong)state.GetInt64("generator_high"));
}

/// <summary>
/// A training-time regularization layer (<see cref="Dropout"/>, <see cref="GaussianNoise"/>, <see cref="GaussianDropout"/>,
/// <see cref="AlphaDropout"/>): in training it draws one value per element from its seeded generator, serially (so a
/// seed fixes the draws whatever the thread count); at inference it is the identity. The generator's state is the
/// layer's state in a model file, so a resumed run draws what it would have drawn.
/// </summary>
public abstract class NoiseLayer : Layer
{
    private protected NoiseLayer(string? name)
        : base(name)
    {
    }

    private protected LayerNoise Noise { get; } = new();

    /// <summary>
    /// When true, training forwards reuse the last draw instead of drawing anew (for gradient checks, which need the
    /// same function at every evaluation). The batch must not grow while frozen.
    /// </summary>
    public bool FreezeNoise
    {
        get => Noise.Freeze;
        set => Noise.Freeze = value;
    }

    /// <inheritdoc/>
    internal override bool InferenceIsIdentity => true;

    /// <inheritdoc/>
    /// <remarks>The generator's state.</remarks>
    protected internal sealed override void WriteState(ComponentConfig state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Noise.Write(state);
    }

    /// <inheritdoc/>
    protected internal sealed override void ReadState(ComponentConfig state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Noise.Read(state);
    }

    /// <inheritdoc/>
    protected sealed override int OnBuild(int inputSize) => inputSize;

    /// <inheritdoc/>
    protected sealed override void OnSeed(ulong seed) => Noise.Seed(seed);

    /// <inheritdoc/>
    /// <remarks>
    /// The identity at inference and while <see cref="Layer.RandomInTraining"/> is false (a rate or deviation of 0);
    /// otherwise one noise value per element, drawn anew unless frozen, applied as the layer says.
    /// </remarks>
    protected sealed override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        if (!training || !RandomInTraining)
        {
            Noise.Forget();
            input.CopyTo(output);
            return;
        }

        Span<float> noise = Noise.Next(input.Length, Label, InputSize, out bool draw);
        if (draw)
        {
            Draw(noise);
        }

        Apply(input, noise, output);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The last forward was not a training forward of <paramref name="batch"/> samples.</exception>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        // A model's first layer is given no input gradient to write.
        if (inputGrad.IsEmpty)
        {
            return;
        }

        if (!RandomInTraining)
        {
            outputGrad.CopyTo(inputGrad);
            return;
        }

        ApplyBackward(outputGrad, Noise.ForBackward(outputGrad.Length, Label, TypeId, InputSize), inputGrad);
    }

    /// <summary>Fills one training forward's noise, one value per element, from <see cref="Noise"/>.</summary>
    private protected abstract void Draw(Span<float> noise);

    /// <summary>The training forward with its noise: by default <c>output = input·noise</c>, a multiplicative mask.</summary>
    private protected virtual void Apply(ReadOnlySpan<float> input, ReadOnlySpan<float> noise, Span<float> output) =>
        TensorPrimitives.Multiply(input, noise, output);

    /// <summary>The backward of <see cref="Apply"/>: by default <c>inputGrad = outputGrad·noise</c>.</summary>
    private protected virtual void ApplyBackward(ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> noise, Span<float> inputGrad) =>
        TensorPrimitives.Multiply(outputGrad, noise, inputGrad);
}

/// <summary>
/// Keras's <c>GaussianNoise</c>: in training, <c>output = input + n</c> with <c>n</c> drawn from N(0, stddev²) per
/// element; at inference the identity. The noise comes from the layer's seed, so a seed fixes it.
/// </summary>
public sealed class GaussianNoise : NoiseLayer
{
    /// <summary>Creates a Gaussian noise layer whose size is fixed when it is added to a model.</summary>
    /// <param name="stddev">The noise's standard deviation, in [0, 1] as Keras requires.</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stddev"/> is outside [0, 1] or NaN.</exception>
    public GaussianNoise(float stddev, string? name = null)
        : base(name)
    {
        Check.InRange(stddev, 0f, 1f, "[]", nameof(stddev), "a noise standard deviation");
        Stddev = stddev;
    }

    /// <summary>Creates a built Gaussian noise layer over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="stddev">The noise's standard deviation, in [0, 1].</param>
    /// <param name="seed">The seed of the noise.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive, or <paramref name="stddev"/> is outside [0, 1] or NaN.</exception>
    public GaussianNoise(int size, float stddev, ulong seed, string? name = null)
        : this(stddev, name) => BuildFromSize(size, seed);

    /// <summary>The noise's standard deviation in training.</summary>
    public float Stddev { get; }

    /// <inheritdoc/>
    public override string DefaultName => "gaussian_noise";

    /// <inheritdoc/>
    public override string TypeId => "GaussianNoise";

    /// <inheritdoc/>
    internal override bool RandomInTraining => Stddev > 0f;

    /// <inheritdoc/>
    /// <remarks><c>stddev</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("stddev", Stddev);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("GaussianNoise", config => new GaussianNoise(config.GetSingle("stddev")));

    private protected override void Draw(Span<float> noise)
    {
        double stddev = Stddev;
        for (int i = 0; i < noise.Length; i++)
        {
            noise[i] = (float)(stddev * Noise.Normal());
        }
    }

    // Additive: output = input + n.
    private protected override void Apply(ReadOnlySpan<float> input, ReadOnlySpan<float> noise, Span<float> output) =>
        TensorPrimitives.Add(input, noise, output);

    /// <inheritdoc/>
    /// <remarks><c>inputGrad = outputGrad</c>: the noise does not depend on the input, so any forward may precede it.</remarks>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        // A model's first layer is given no input gradient to write.
        if (!inputGrad.IsEmpty)
        {
            outputGrad.CopyTo(inputGrad);
        }
    }
}

/// <summary>
/// Keras's <c>GaussianDropout</c>: in training, <c>output = input·n</c> with <c>n</c> drawn from
/// N(1, rate/(1 - rate)) per element; at inference the identity. The noise comes from the layer's seed.
/// </summary>
public sealed class GaussianDropout : NoiseLayer
{
    /// <summary>Creates a Gaussian dropout layer whose size is fixed when it is added to a model.</summary>
    /// <param name="rate">The drop probability the noise stands for, in [0, 1) (at 1 the noise's deviation is infinite).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1) or NaN.</exception>
    public GaussianDropout(float rate, string? name = null)
        : base(name)
    {
        Check.InRange(rate, 0f, 1f, "[)", nameof(rate), "a dropout rate");
        Rate = rate;
    }

    /// <summary>Creates a built Gaussian dropout layer over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="rate">The drop probability, in [0, 1).</param>
    /// <param name="seed">The seed of the noise.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive, or <paramref name="rate"/> is outside [0, 1) or NaN.</exception>
    public GaussianDropout(int size, float rate, ulong seed, string? name = null)
        : this(rate, name) => BuildFromSize(size, seed);

    /// <summary>The drop probability the multiplicative noise stands for.</summary>
    public float Rate { get; }

    /// <inheritdoc/>
    public override string DefaultName => "gaussian_dropout";

    /// <inheritdoc/>
    public override string TypeId => "GaussianDropout";

    /// <inheritdoc/>
    internal override bool RandomInTraining => Rate > 0f;

    /// <inheritdoc/>
    /// <remarks><c>rate</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("rate", Rate);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("GaussianDropout", config => new GaussianDropout(config.GetSingle("rate")));

    // Multiplicative, by the default Apply: output = input·n.
    private protected override void Draw(Span<float> noise)
    {
        // Keras's deviation, √(rate / (1 - rate)), in double as Python computes it from the decimal rate written.
        double rate = (double)(decimal)Rate, stddev = Math.Sqrt(rate / (1.0 - rate));
        for (int i = 0; i < noise.Length; i++)
        {
            noise[i] = (float)(1.0 + (stddev * Noise.Normal()));
        }
    }
}

/// <summary>
/// Keras's <c>AlphaDropout</c>, for self-normalizing networks (<see cref="Selu"/>): in training each element is kept
/// with probability <c>1 - rate</c> or set to SELU's negative saturation <c>α' = -λα</c>, then
/// <c>output = a·x + b</c> with <c>a = ((1 - rate)(1 + rate·α'²))^-½</c> and <c>b = -a·α'·rate</c>, which keeps a unit
/// Gaussian input's mean and variance; at inference the identity.
/// </summary>
public sealed class AlphaDropout : NoiseLayer
{
    /// <summary>Creates an alpha dropout layer whose size is fixed when it is added to a model.</summary>
    /// <param name="rate">The fraction of elements dropped, in [0, 1) (at 1 the scale is infinite).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1) or NaN.</exception>
    public AlphaDropout(float rate, string? name = null)
        : base(name)
    {
        Check.InRange(rate, 0f, 1f, "[)", nameof(rate), "a dropout rate");
        Rate = rate;
    }

    /// <summary>Creates a built alpha dropout layer over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="rate">The fraction dropped, in [0, 1).</param>
    /// <param name="seed">The seed of the masks.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive, or <paramref name="rate"/> is outside [0, 1) or NaN.</exception>
    public AlphaDropout(int size, float rate, ulong seed, string? name = null)
        : this(rate, name) => BuildFromSize(size, seed);

    /// <summary>The fraction of elements dropped in training.</summary>
    public float Rate { get; }

    /// <inheritdoc/>
    public override string DefaultName => "alpha_dropout";

    /// <inheritdoc/>
    public override string TypeId => "AlphaDropout";

    /// <inheritdoc/>
    internal override bool RandomInTraining => Rate > 0f;

    // Keras's constants and affine parameters, in double as Python computes them, used as float32 tensors.
    private const double Alpha = 1.6732632423543772848170429916717, Lambda = 1.0507009873554804934193349852946, AlphaP = -Alpha * Lambda;

    // In double from the decimal rate written (Keras's rate is a Python float), rounded to float once.
    private double ExactRate => (double)(decimal)Rate;

    private double ExactA => Math.Pow((1 - ExactRate) * (1 + (ExactRate * AlphaP * AlphaP)), -0.5);

    private float A => (float)ExactA;

    private float B => (float)(-ExactA * AlphaP * ExactRate);

    /// <inheritdoc/>
    /// <remarks><c>rate</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("rate", Rate);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("AlphaDropout", config => new AlphaDropout(config.GetSingle("rate")));

    // The mask holds 1 where an element is kept and 0 where it is dropped.
    private protected override void Draw(Span<float> noise)
    {
        float rate = Rate;
        for (int i = 0; i < noise.Length; i++)
        {
            noise[i] = Noise.Uniform() >= rate ? 1f : 0f;
        }
    }

    // In float as Keras computes: x = input·k + α'·(1 - k), then a·x + b.
    private protected override void Apply(ReadOnlySpan<float> input, ReadOnlySpan<float> kept, Span<float> output)
    {
        float a = A, b = B, alphaP = (float)AlphaP;
        for (int i = 0; i < input.Length; i++)
        {
            float x = (input[i] * kept[i]) + (alphaP * (1f - kept[i]));
            output[i] = (a * x) + b;
        }
    }

    // inputGrad = outputGrad·a·k: a kept element's gradient scaled by a, a dropped one's 0.
    private protected override void ApplyBackward(ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> kept, Span<float> inputGrad)
    {
        float a = A;
        for (int i = 0; i < outputGrad.Length; i++)
        {
            inputGrad[i] = outputGrad[i] * a * kept[i];
        }
    }
}
