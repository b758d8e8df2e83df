using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;
using NeuralCore.Optimizers;
using NeuralCore.Threading;

namespace NeuralCore.Layers;

/// <summary>
/// Batch normalization (Ioffe and Szegedy 2015), Keras's <c>BatchNormalization</c> over the features: in training,
/// <c>output = γ·(input - μ)/√(σ² + ε) + β</c> with the batch's mean μ and biased variance σ² per feature, which also
/// move the running statistics (<c>m ← m·momentum + μ·(1 - momentum)</c>, and likewise for the variance); in
/// inference, the same with the running mean and variance in place of the batch's. Parameters: γ (<c>[features]</c>,
/// starting at 1), then β (<c>[features]</c>, starting at 0), both excluded from weight decay by default as biases are.
/// </summary>
/// <remarks>
/// The running statistics are not parameters: the optimizer never sees them, and model files keep them as the layer's
/// state. In a model they move only when the model applies the step's update or computes gradients for a loop of your own
/// (a step it skips leaves them as they were); a layer used alone moves them at each training forward. A batch
/// whose statistics are not finite leaves them as they were too. A training batch of one sample has zero variance, and
/// every output is β. Evaluated in double precision. A layer that is not <see cref="Layer.Trainable"/> runs in inference
/// mode in training too, as Keras 3's: the running statistics normalize the batch and no longer move, and the backward
/// is that of the fixed affine map.
/// </remarks>
public sealed class BatchNormalization : Layer
{
    private float[] _movingMean = [], _movingVariance = [];
    private double[] _mean = [], _variance = [], _scale = [], _sums = [];

    // Set by a training forward: its batch statistics wait for EndTrainingStep to move the running ones.
    private bool _pending;

    // How many samples the batch statistics are for (0 after an inference forward): the backward must be of that batch.
    private int _statisticsBatch;

    // Set by a training forward of a layer that is not Trainable: it ran in inference mode, and its backward is the
    // affine map's (_mean and _scale then hold the running statistics).
    private int _frozenBatch;
    private ColumnsJob? _job;

    private const int MinValuesPerThread = 16_384;

    /// <summary>Creates a batch normalization whose size is fixed when it is added to a model.</summary>
    /// <param name="momentum">The running statistics' decay per training step, in [0, 1) (Keras's default 0.99).</param>
    /// <param name="epsilon">Added to the variance; positive and finite (Keras's default 0.001).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public BatchNormalization(float momentum = 0.99f, float epsilon = 1e-3f, string? name = null)
        : base(name)
    {
        Check.Decay(momentum, nameof(momentum));
        Check.Positive(epsilon, nameof(epsilon));
        Momentum = momentum;
        Epsilon = epsilon;
    }

    /// <summary>Creates a built batch normalization over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="momentum">The running statistics' decay per training step.</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range, or <paramref name="size"/> is more features than one array of state holds.</exception>
    /// <exception cref="InsufficientMemoryException">The layer's state over <paramref name="size"/> features is more than the memory this process may use.</exception>
    public BatchNormalization(int size, float momentum = 0.99f, float epsilon = 1e-3f, string? name = null)
        : this(momentum, epsilon, name) => BuildFromSize(size, 0);

    /// <summary>The running statistics' decay per training step.</summary>
    public float Momentum { get; }

    /// <summary>ε, added to the variance.</summary>
    public float Epsilon { get; }

    /// <summary>The running mean per feature (starting at 0), used in inference; writable, to load statistics from elsewhere.</summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    public Memory<float> MovingMean => IsBuilt ? _movingMean : throw NotBuilt();

    /// <summary>The running variance per feature (starting at 1), used in inference; writable (a negative value makes that feature's outputs NaN, and Save, Load and the ONNX export refuse it).</summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    public Memory<float> MovingVariance => IsBuilt ? _movingVariance : throw NotBuilt();

    /// <inheritdoc/>
    /// <remarks>γ, then β: two per feature.</remarks>
    public override int ParameterCount => 2 * InputSize;

    /// <inheritdoc/>
    /// <remarks>γ and β, both with the bias role: weight decay leaves them alone unless <see cref="Optimizer.DecayBiases"/>.</remarks>
    public override IReadOnlyList<ParameterSegment> ParameterSegments =>
    [
        new ParameterSegment($"{Name}/gamma", 0, InputSize, ParameterRole.Bias),
        new ParameterSegment($"{Name}/beta", InputSize, InputSize, ParameterRole.Bias),
    ];

    /// <inheritdoc/>
    public override string DefaultName => "batch_normalization";

    /// <inheritdoc/>
    public override string TypeId => "BatchNormalization";

    /// <inheritdoc/>
    /// <remarks><c>momentum</c>, <c>epsilon</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("momentum", Momentum).Set("epsilon", Epsilon);
    }

    /// <inheritdoc/>
    /// <remarks><c>moving_mean</c> and <c>moving_variance</c>.</remarks>
    protected internal override void WriteState(ComponentConfig state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Set("moving_mean", _movingMean).Set("moving_variance", _movingVariance);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidDataException">A statistic has the wrong length, is not finite, or a variance is negative.</exception>
    protected internal override void ReadState(ComponentConfig state)
    {
        ArgumentNullException.ThrowIfNull(state);
        float[] mean = state.GetSingles("moving_mean"), variance = state.GetSingles("moving_variance");
        if (mean.Length != InputSize || variance.Length != InputSize)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(Label)}' has {InputSize} features but its state holds {mean.Length} running means and {variance.Length} running variances."));
        }

        CheckStatistics(mean, variance);
        mean.CopyTo(_movingMean, 0);
        variance.CopyTo(_movingVariance, 0);
    }

    /// <inheritdoc/>
    internal override void CheckState() => CheckStatistics(_movingMean, _movingVariance);

    // One check for Save, Load and the ONNX export: a mean that is not finite, or a variance that is negative or not
    // finite, makes that feature's every output NaN.
    private void CheckStatistics(ReadOnlySpan<float> mean, ReadOnlySpan<float> variance)
    {
        int j = Check.BadStatistic(mean, variance);
        if (j >= 0)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(Label)}': feature {j}'s running mean {mean[j]} or variance {variance[j]} is not a finite number (a variance must not be negative)."));
        }
    }

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLayer("BatchNormalization", config => new BatchNormalization(config.GetSingle("momentum"), config.GetSingle("epsilon")));

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize)
    {
        // Two float and five double arrays of one value per feature, the sums' array two.
        CheckFeatureState(inputSize, longestPerFeature: 2, bytesPerFeature: (2 * sizeof(float)) + (5 * sizeof(double)), savedPerFeature: 4);
        _movingMean = new float[inputSize];
        _movingVariance = new float[inputSize];
        _movingVariance.AsSpan().Fill(1f);
        _mean = new double[inputSize];
        _variance = new double[inputSize];
        _scale = new double[inputSize];
        _sums = new double[2 * inputSize];
        return inputSize;
    }

    /// <inheritdoc/>
    protected override void InitializeParameters(Span<float> parameters, ulong seed) => parameters[..InputSize].Fill(1f);

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        int features = InputSize;
        if (batch == 0)
        {
            return;
        }

        if (training && !Trainable)
        {
            // Keras 3: a batch normalization that is not trainable runs in inference mode, in training too; its
            // running statistics normalize and stay.
            _statisticsBatch = 0;
            for (int j = 0; j < features; j++)
            {
                _mean[j] = _movingMean[j];
                _scale[j] = 1 / Math.Sqrt((double)_movingVariance[j] + Epsilon);
            }

            ReadOnlySpan<float> affine = ParameterStorage.Span;
            BatchNormKernels.Normalize(input, output, batch, features, _mean, _scale, affine[..features], affine[features..]);
            _frozenBatch = batch;
            return;
        }

        _frozenBatch = 0;
        if (training)
        {
            RunColumns(input, output, default, default, batch, backward: false);
            _statisticsBatch = batch;

            // In a model, the running statistics move when the model applies the step (EndTrainingStep); alone, now.
            _pending = true;
            if (Owner is null)
            {
                EndTrainingStep(applied: true);
            }

            return;
        }

        // Inference reads the running statistics only, so that predictions may run on several threads at once; the
        // per-call scratch is pooled, not allocated.
        _statisticsBatch = 0;
        double[] statistics = ArrayPool<double>.Shared.Rent(2 * features);
        try
        {
            Span<double> mean = statistics.AsSpan(0, features), scale = statistics.AsSpan(features, features);
            for (int j = 0; j < features; j++)
            {
                mean[j] = _movingMean[j];
                scale[j] = 1 / Math.Sqrt((double)_movingVariance[j] + Epsilon);
            }

            ReadOnlySpan<float> parameters = ParameterStorage.Span;
            BatchNormKernels.Normalize(input, output, batch, features, mean, scale, parameters[..features], parameters[features..]);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(statistics);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The last forward was not a training forward of <paramref name="batch"/> samples.</exception>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        if (batch == 0)
        {
            return;
        }

        if (_frozenBatch == batch)
        {
            BackwardFrozen(input, outputGrad, inputGrad, batch);
            return;
        }

        if (_statisticsBatch != batch)
        {
            throw new InvalidOperationException(
                $"Layer '{Names.Printable(Label)}' (BatchNormalization): Backward needs the batch statistics of a training Forward of the same {batch} samples just before it; the last forward was {(_statisticsBatch == 0 ? "none, or an inference one" : $"a training forward of {_statisticsBatch} samples")}.");
        }

        RunColumns(input, default, outputGrad, inputGrad, batch, backward: true);
    }

    // The backward of y = γ·(x - m)·s + β with the running mean m and s = 1/√(v + ε) fixed: ∂x = ∂y·γ·s, and γ's and
    // β's gradients (accumulated, as every Backward's, though an optimizer leaves the layer's parameters as they are).
    private void BackwardFrozen(ReadOnlySpan<float> input, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        int features = InputSize;
        ReadOnlySpan<float> gamma = ParameterStorage.Span[..features];
        Span<float> gradients = GradientStorage.Span;
        for (int j = 0; j < features; j++)
        {
            double sumGrad = 0, sumGradNormalized = 0, factor = gamma[j] * _scale[j];
            for (int i = 0; i < batch; i++)
            {
                int at = (i * features) + j;
                sumGrad += outputGrad[at];
                sumGradNormalized += outputGrad[at] * ((input[at] - _mean[j]) * _scale[j]);
                if (!inputGrad.IsEmpty)
                {
                    inputGrad[at] = (float)(outputGrad[at] * factor);
                }
            }

            gradients[j] += (float)sumGradNormalized;
            gradients[features + j] += (float)sumGrad;
        }
    }

    // A pass over the batch by features: each feature's statistics and gradients are its own, so threads divide the
    // features (whole vectors of 16) without changing a bit. Below MinValuesPerThread values a thread the fork and join
    // would cost more than the pass (128 × 1,024 values take about 100 µs each way on one thread of the AMD EPYC).
    private unsafe void RunColumns(ReadOnlySpan<float> input, Span<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch, bool backward)
    {
        int features = InputSize;
        int threads = Math.Min(Math.Min(Parallelism.CallerThreads, (int)Math.Min(int.MaxValue, (long)batch * features / MinValuesPerThread)), (features + 15) / 16);
        if (threads <= 1)
        {
            RunSlice(input, output, outputGrad, inputGrad, batch, 0, features, backward);
            return;
        }

        fixed (float* x = input, y = output, dy = outputGrad, dx = inputGrad)
        {
            ColumnsJob job = _job ??= new ColumnsJob(this);
            job.Set(x, y, dy, dx, input.Length, batch, threads, backward, !inputGrad.IsEmpty);
            try
            {
                WorkerPool.Run(job, threads, threads);
            }
            finally
            {
                job.Clear();
            }
        }
    }

    private void RunSlice(ReadOnlySpan<float> input, Span<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch,
        int first, int count, bool backward)
    {
        int features = InputSize;
        ReadOnlySpan<float> gamma = ParameterStorage.Span[..features];
        if (backward)
        {
            Span<float> gradients = GradientStorage.Span;
            BatchNormKernels.BackwardColumns(input, outputGrad, inputGrad, batch, features, first, count, _mean, _scale, gamma,
                gradients[..features], gradients[features..], _sums, KernelIsaSupport.Widest);
            return;
        }

        BatchNormKernels.MomentsColumns(input, batch, features, first, count, _mean, _variance, KernelIsaSupport.Widest);
        for (int j = first; j < first + count; j++)
        {
            _scale[j] = 1 / Math.Sqrt(_variance[j] + Epsilon);
        }

        BatchNormKernels.NormalizeColumns(input, output, batch, features, first, count, _mean, _scale, gamma, ParameterStorage.Span[features..],
            KernelIsaSupport.Widest);
    }

    /// <summary>A training pass divided by features among threads; one per layer (only its model's training thread runs it).</summary>
    private sealed unsafe class ColumnsJob(BatchNormalization layer) : IParallelWork
    {
        private float* _x, _y, _dy, _dx;
        private int _length, _batch, _slices;
        private bool _backward, _inputGrad;

        public void Set(float* x, float* y, float* dy, float* dx, int length, int batch, int slices, bool backward, bool inputGrad)
        {
            _x = x;
            _y = y;
            _dy = dy;
            _dx = dx;
            (_length, _batch, _slices, _backward, _inputGrad) = (length, batch, slices, backward, inputGrad);
        }

        public void Clear()
        {
            _x = null;
            _y = null;
            _dy = null;
            _dx = null;
        }

        public void Execute(int index)
        {
            // Slice `index` of the features, in whole vectors of 16 (the last takes the rest).
            int features = layer.InputSize, vectors = (features + 15) / 16;
            int first = (int)Math.Min(features, (long)vectors * index / _slices * 16);
            int end = (int)Math.Min(features, (long)vectors * (index + 1) / _slices * 16);
            layer.RunSlice(new ReadOnlySpan<float>(_x, _length), _backward ? default : new Span<float>(_y, _length),
                _backward ? new ReadOnlySpan<float>(_dy, _length) : default, _inputGrad ? new Span<float>(_dx, _length) : default,
                _batch, first, end - first, _backward);
        }
    }

    /// <inheritdoc/>
    /// <remarks>Moves the running statistics toward the last training batch's when the step was applied.</remarks>
    internal override void EndTrainingStep(bool applied)
    {
        if (!_pending)
        {
            return;
        }

        _pending = false;
        if (!applied)
        {
            return;
        }

        // Keras's 1 - momentum, from the decimal value the user wrote (1 - 0.99f in float is 0.0099999905, not 0.01).
        float keep = Momentum, take = (float)(1m - (decimal)Momentum);
        for (int j = 0; j < InputSize; j++)
        {
            // Statistics that are not finite (a NaN or an infinite input, or a variance past float's range) would make
            // every later prediction NaN: those features keep their running values.
            float mean = (float)_mean[j], variance = (float)_variance[j];
            if (float.IsFinite(mean) && float.IsFinite(variance))
            {
                _movingMean[j] = (_movingMean[j] * keep) + (mean * take);
                _movingVariance[j] = (_movingVariance[j] * keep) + (variance * take);
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>The running mean, then the running variance.</remarks>
    internal override int NonTrainableCount => 2 * InputSize;

    /// <inheritdoc/>
    internal override void CopyNonTrainable(Span<float> destination)
    {
        _movingMean.CopyTo(destination);
        _movingVariance.CopyTo(destination[InputSize..]);
    }

    /// <inheritdoc/>
    internal override void RestoreNonTrainable(ReadOnlySpan<float> source)
    {
        source[..InputSize].CopyTo(_movingMean);
        source.Slice(InputSize, InputSize).CopyTo(_movingVariance);
    }

    /// <inheritdoc/>
    internal override Layer CopyForPrediction()
    {
        var copy = new BatchNormalization(InputSize, Momentum, Epsilon, Name);
        Parameters.Span.CopyTo(copy.Parameters.Span);
        _movingMean.CopyTo(copy._movingMean, 0);
        _movingVariance.CopyTo(copy._movingVariance, 0);
        return copy;
    }

    private InvalidOperationException NotBuilt() =>
        new($"Layer '{Names.Printable(Label)}' (BatchNormalization) is not built: give it an input size or add it to a model first.");
}
