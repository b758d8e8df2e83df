using System.Buffers;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Layers;

/// <summary>
/// Feature-wise standardization with fixed statistics, Keras's <c>Normalization</c> preprocessing layer over the last
/// axis: <c>output = (input - mean) / max(√variance, 1e-7)</c>, or with <see cref="Invert"/>
/// <c>output = mean + input·max(√variance, 1e-7)</c>, in float as Keras computes it. The statistics come from
/// <see cref="Adapt(ReadOnlySpan{float}, int)"/> (each feature's mean and biased variance over data, usually the training split) or are given;
/// they are the layer's state, not parameters (training never changes them), and model files and ONNX exports keep
/// them, so a saved model takes raw inputs.
/// </summary>
/// <remarks>
/// Until adapted or given statistics, the mean is 0 and the variance 1: the identity. A constant feature (variance 0)
/// is divided by 1e-7, as Keras does, which maps its adapted value to 0. Adapt sums in double, where Keras over NumPy
/// sums float32 pairwise: the same statistics to within float rounding, not always to the bit. The model's summary
/// counts the mean and variance as non-trainable weights, 2 per feature, where Keras counts 2 per feature and 1 (the
/// sample count) for a layer to adapt, and none for statistics given at construction.
/// </remarks>
public sealed class Normalization : Layer
{
    /// <summary>The smallest divisor: Keras's <c>backend.epsilon()</c>.</summary>
    public const float MinScale = 1e-7f;

    private float[] _mean = [], _variance = [];
    private readonly float[]? _givenMean, _givenVariance;

    // Made with its statistics (kept through a model file, whose config says so): Adapt is refused, as in Keras.
    private bool _fixedStatistics;

    /// <summary>Creates a normalization whose size is fixed when it is added to a model; adapt it, or set its statistics, before use.</summary>
    /// <param name="invert">Whether to undo a normalization instead (Keras's <c>invert</c>): <c>mean + input·std</c>.</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    public Normalization(bool invert = false, string? name = null)
        : base(name) => Invert = invert;

    /// <summary>Creates a normalization with given statistics, one per feature or one for all.</summary>
    /// <param name="mean">The means; finite.</param>
    /// <param name="variance">The variances, as many as the means; non-negative and finite.</param>
    /// <param name="invert">Whether to undo a normalization instead.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentException">The statistics are empty, of different lengths, or a value is out of range (named).</exception>
    public Normalization(ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, bool invert = false, string? name = null)
        : this(invert, name)
    {
        if (mean.IsEmpty || mean.Length != variance.Length)
        {
            throw new ArgumentException(
                $"Expected as many variances as means, at least one (one per feature, or one for all). Received: {mean.Length} means and {variance.Length} variances.", nameof(variance));
        }

        int bad = Check.BadStatistic(mean, variance);
        if (bad >= 0)
        {
            throw new ArgumentException(StatisticProblem(bad, mean, variance), float.IsFinite(mean[bad]) ? nameof(variance) : nameof(mean));
        }

        _givenMean = mean.ToArray();
        _givenVariance = variance.ToArray();
        _fixedStatistics = true;
    }

    /// <summary>Creates a built normalization over <paramref name="size"/> features (mean 0, variance 1 until adapted).</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="invert">Whether to undo a normalization instead.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive or more features than one array of state holds.</exception>
    /// <exception cref="InsufficientMemoryException">The layer's state over <paramref name="size"/> features is more than the memory this process may use.</exception>
    public Normalization(int size, bool invert = false, string? name = null)
        : this(invert, name) => BuildFromSize(size, 0);

    /// <summary>Whether the layer undoes a normalization (<c>mean + input·std</c>) instead of applying one.</summary>
    public bool Invert { get; }

    /// <summary>The mean per feature; writable (a value that is not finite makes Save and the ONNX export refuse the model).</summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    public Memory<float> Mean => IsBuilt ? _mean : throw NotBuilt();

    /// <summary>The variance per feature; writable (one that is negative or not finite makes Save and the ONNX export refuse the model).</summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    public Memory<float> Variance => IsBuilt ? _variance : throw NotBuilt();

    /// <inheritdoc/>
    public override string DefaultName => "normalization";

    /// <inheritdoc/>
    public override string TypeId => "Normalization";

    /// <summary>
    /// Takes each feature's mean and biased variance (<c>Σ(x - mean)²/N</c>) over <paramref name="samples"/> rows of
    /// <paramref name="data"/>, in double, rounded to float once, as Keras's <c>adapt</c>. Builds the layer first when
    /// it is not built (its size is then the data's row width).
    /// </summary>
    /// <param name="data">The <c>[samples, features]</c> data, row-major; every value finite.</param>
    /// <param name="samples">The number of rows; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="samples"/> is not positive.</exception>
    /// <exception cref="ArgumentException">The data is not <paramref name="samples"/> whole rows (of the layer's width when built), or holds a value that is not finite (named by row and column).</exception>
    /// <exception cref="InvalidOperationException">The layer was given its statistics at construction.</exception>
    public void Adapt(ReadOnlySpan<float> data, int samples)
    {
        Check.Positive(samples, nameof(samples));
        if (_fixedStatistics)
        {
            // As Keras refuses it: the statistics given at construction are what the layer was made for.
            throw new InvalidOperationException($"Layer '{Names.Printable(Label)}' (Normalization) was given its mean and variance when it was made; adapt a layer made without them.");
        }

        if (!IsBuilt)
        {
            if (data.Length == 0 || data.Length % samples != 0)
            {
                throw new ArgumentException($"data holds {data.Length} floats, which is not {samples} whole rows of one or more features.", nameof(data));
            }

            Build(data.Length / samples, 0);
        }

        int features = InputSize;
        Check.Holds(data.Length, samples, features, nameof(data), "samples", "features", exact: true);
        Check.Finite(data, features, nameof(data));
        double[] mean = new double[features], variance = new double[features];
        BatchNormKernels.Moments(data, samples, features, mean, variance);
        for (int j = 0; j < features; j++)
        {
            // A variance past float's range would make the layer's output 0 for every value; refuse it by name.
            float m = (float)mean[j], v = (float)variance[j];
            if (!float.IsFinite(v))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"Feature {j}'s variance over the data, {variance[j]:G4}, is past float's range (column {j} of each row; a TableEncoder's FeatureNames[{j}] names its column): scale that feature first."), nameof(data));
            }

            (_mean[j], _variance[j]) = (m, v);
        }
    }

    /// <inheritdoc/>
    /// <remarks><c>invert</c>, and <c>fixed_statistics</c> for a layer made with its statistics (which refuses <see cref="Adapt(ReadOnlySpan{float}, int)"/>).</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("invert", Invert).Set("fixed_statistics", _fixedStatistics);
    }

    /// <inheritdoc/>
    /// <remarks><c>mean</c> and <c>variance</c>.</remarks>
    protected internal override void WriteState(ComponentConfig state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Set("mean", _mean).Set("variance", _variance);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidDataException">A statistic has the wrong length, is not finite, or a variance is negative.</exception>
    protected internal override void ReadState(ComponentConfig state)
    {
        ArgumentNullException.ThrowIfNull(state);
        float[] mean = state.GetSingles("mean"), variance = state.GetSingles("variance");
        if (mean.Length != InputSize || variance.Length != InputSize)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(Label)}' has {InputSize} features but its state holds {mean.Length} means and {variance.Length} variances."));
        }

        CheckState(mean, variance);
        mean.CopyTo(_mean, 0);
        variance.CopyTo(_variance, 0);
    }

    /// <inheritdoc/>
    internal override void CheckState() => CheckState(_mean, _variance);

    // Save, Load and the ONNX export: a mean that is not finite, or a variance that is negative or not finite, makes
    // that feature's every output NaN or 0.
    private void CheckState(ReadOnlySpan<float> mean, ReadOnlySpan<float> variance)
    {
        int bad = Check.BadStatistic(mean, variance);
        if (bad >= 0)
        {
            throw new InvalidDataException($"Layer '{Names.Printable(Label)}': {StatisticProblem(bad, mean, variance)}");
        }
    }

    private static string StatisticProblem(int j, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance) => float.IsFinite(mean[j])
        ? string.Create(CultureInfo.InvariantCulture, $"Feature {j}'s variance {variance[j]} is not a finite, non-negative number.")
        : string.Create(CultureInfo.InvariantCulture, $"Feature {j}'s mean {mean[j]} is not a finite number.");

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLayer("Normalization", config => new Normalization(config.GetBoolean("invert"))
        {
            _fixedStatistics = config.GetBoolean("fixed_statistics", false),
        });

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">Statistics given at construction are neither one nor <paramref name="inputSize"/> per feature.</exception>
    protected override int OnBuild(int inputSize)
    {
        CheckFeatureState(inputSize, longestPerFeature: 1, bytesPerFeature: 2 * sizeof(float), savedPerFeature: 2);
        _mean = new float[inputSize];
        _variance = new float[inputSize];
        if (_givenMean is null)
        {
            _variance.AsSpan().Fill(1f);
            return inputSize;
        }

        if (_givenMean.Length == 1)
        {
            _mean.AsSpan().Fill(_givenMean[0]);
            _variance.AsSpan().Fill(_givenVariance![0]);
        }
        else if (_givenMean.Length == inputSize)
        {
            _givenMean.CopyTo(_mean, 0);
            _givenVariance!.CopyTo(_variance, 0);
        }
        else
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(Label)}' (Normalization) was given {_givenMean.Length} means and variances for {inputSize} features: give one per feature, or one for all."));
        }

        return inputSize;
    }

    /// <summary>Each feature's divisor (or factor, inverted), <c>max(√variance, 1e-7)</c>, as Keras computes it in float.</summary>
    /// <param name="destination">One float per feature, overwritten.</param>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> does not hold one float per feature.</exception>
    public void GetScales(Span<float> destination)
    {
        if (!IsBuilt)
        {
            throw NotBuilt();
        }

        Check.Holds(destination.Length, InputSize, 1, nameof(destination), "features");
        TensorPrimitives.Sqrt(_variance, destination);
        TensorPrimitives.Max(destination, MinScale, destination);
    }

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
        Apply(input, output, batch, forward: true);

    /// <inheritdoc/>
    /// <remarks>No parameters: <c>inputGrad = outputGrad / std</c> (inverted, <c>outputGrad·std</c>).</remarks>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (!inputGrad.IsEmpty)
        {
            Apply(outputGrad, inputGrad, batch, forward: false);
        }
    }

    // Row by row, with the feature scales in pooled scratch (the statistics are writable, so they are read per call;
    // a call from several threads at once is safe). Element-wise in float, each operation rounded as Keras rounds it.
    private void Apply(ReadOnlySpan<float> input, Span<float> output, int batch, bool forward)
    {
        int features = InputSize;
        float[] scales = ArrayPool<float>.Shared.Rent(features);
        try
        {
            Span<float> scale = scales.AsSpan(0, features);
            GetScales(scale);
            for (int n = 0; n < batch; n++)
            {
                ReadOnlySpan<float> x = input.Slice(n * features, features);
                Span<float> y = output.Slice(n * features, features);
                if (!forward)
                {
                    // The backward: the derivative of either direction is its scale factor alone.
                    if (Invert)
                    {
                        TensorPrimitives.Multiply(x, scale, y);
                    }
                    else
                    {
                        TensorPrimitives.Divide(x, scale, y);
                    }
                }
                else if (Invert)
                {
                    TensorPrimitives.Multiply(x, scale, y);
                    TensorPrimitives.Add(_mean, y, y);
                }
                else
                {
                    TensorPrimitives.Subtract(x, _mean, y);
                    TensorPrimitives.Divide(y, scale, y);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scales);
        }
    }

    /// <inheritdoc/>
    /// <remarks>The mean, then the variance.</remarks>
    internal override int NonTrainableCount => 2 * InputSize;

    // Statistics given at construction are the model's constants (Keras makes them no variables, so its load_weights
    // finds nothing to load there); adapted ones are weights a file can bring.
    internal override string WeightLayout => _fixedStatistics ? "statistics given at construction" : "adapted statistics";

    /// <inheritdoc/>
    internal override void CopyNonTrainable(Span<float> destination)
    {
        _mean.CopyTo(destination);
        _variance.CopyTo(destination[InputSize..]);
    }

    /// <inheritdoc/>
    internal override void RestoreNonTrainable(ReadOnlySpan<float> source)
    {
        source[..InputSize].CopyTo(_mean);
        source.Slice(InputSize, InputSize).CopyTo(_variance);
    }

    /// <inheritdoc/>
    internal override Layer CopyForPrediction()
    {
        var copy = new Normalization(InputSize, Invert, Name);
        _mean.CopyTo(copy._mean, 0);
        _variance.CopyTo(copy._variance, 0);
        return copy;
    }

    private InvalidOperationException NotBuilt() =>
        new($"Layer '{Names.Printable(Label)}' (Normalization) is not built: adapt it to data, give it an input size, or add it to a model first.");
}
