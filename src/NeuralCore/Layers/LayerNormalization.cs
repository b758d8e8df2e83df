using System.Buffers;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;
using NeuralCore.Optimizers;
using NeuralCore.Threading;

namespace NeuralCore.Layers;

/// <summary>
/// Layer normalization (Ba, Kiros and Hinton 2016), Keras's <c>LayerNormalization</c> over the last axis: each sample's
/// features normalized by that sample's own mean μ and biased variance σ², <c>output = γ·(input - μ)/√(σ² + ε) + β</c>.
/// Training and inference compute the same function (no running statistics), so a model's predictions do not depend on
/// the batch. Parameters: γ (<c>[features]</c>, starting at 1; absent with <c>scale: false</c>), then β
/// (<c>[features]</c>, starting at 0; absent with <c>center: false</c>), both excluded from weight decay by default as
/// biases are.
/// </summary>
/// <remarks>
/// Evaluated in double precision (<see cref="LayerNormKernels"/>), with the same bits on any thread count and vector
/// width. A sample whose features are all equal has zero variance, and every output is β.
/// </remarks>
public sealed class LayerNormalization : Layer
{
    // The last training forward's μ and s per sample, for the backward (grown to the largest batch, then kept), and
    // how many samples they are for (0 after an inference forward, whose statistics are not kept).
    private double[] _mean = [], _scale = [], _sums = [];
    private int _statisticsBatch;

    // Stand-ins for an absent γ (ones) or β (zeros), and where their gradients go (discarded).
    private float[] _ones = [], _zeros = [], _discard = [];
    private RowsJob? _job;

    private const int MinValuesPerThread = 16_384;

    /// <summary>Creates a layer normalization whose size is fixed when it is added to a model.</summary>
    /// <param name="epsilon">Added to the variance; positive and finite (Keras's default 0.001).</param>
    /// <param name="center">Whether the layer adds a learned offset β (Keras's default true).</param>
    /// <param name="scale">Whether the layer multiplies by a learned scale γ (Keras's default true).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is not positive and finite.</exception>
    public LayerNormalization(float epsilon = 1e-3f, bool center = true, bool scale = true, string? name = null)
        : base(name)
    {
        Check.Positive(epsilon, nameof(epsilon));
        Epsilon = epsilon;
        Center = center;
        Scale = scale;
    }

    /// <summary>Creates a built layer normalization over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="center">Whether the layer adds a learned offset β.</param>
    /// <param name="scale">Whether the layer multiplies by a learned scale γ.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive or more features than one array of state holds, or <paramref name="epsilon"/> is not positive and finite.</exception>
    /// <exception cref="InsufficientMemoryException">The layer's state over <paramref name="size"/> features is more than the memory this process may use.</exception>
    public LayerNormalization(int size, float epsilon = 1e-3f, bool center = true, bool scale = true, string? name = null)
        : this(epsilon, center, scale, name) => BuildFromSize(size, 0);

    /// <summary>ε, added to the variance.</summary>
    public float Epsilon { get; }

    /// <summary>Whether the layer adds a learned offset β.</summary>
    public bool Center { get; }

    /// <summary>Whether the layer multiplies by a learned scale γ.</summary>
    public bool Scale { get; }

    // With one of the two, its one vector is a scale or an offset: the same count, not the same weights.
    internal override string WeightLayout => (Center, Scale) switch
    {
        (true, true) => "scale and offset",
        (true, false) => "offset only",
        (false, true) => "scale only",
        _ => "no scale nor offset",
    };

    /// <inheritdoc/>
    /// <remarks>γ (with <see cref="Scale"/>), then β (with <see cref="Center"/>): up to two per feature.</remarks>
    public override int ParameterCount => ((Scale ? 1 : 0) + (Center ? 1 : 0)) * InputSize;

    /// <inheritdoc/>
    /// <remarks>γ and β, both with the bias role: weight decay leaves them alone unless <see cref="Optimizer.DecayBiases"/>.</remarks>
    public override IReadOnlyList<ParameterSegment> ParameterSegments
    {
        get
        {
            var segments = new List<ParameterSegment>(2);
            if (Scale)
            {
                segments.Add(new ParameterSegment($"{Name}/gamma", 0, InputSize, ParameterRole.Bias));
            }

            if (Center)
            {
                segments.Add(new ParameterSegment($"{Name}/beta", BetaOffset, InputSize, ParameterRole.Bias));
            }

            return segments;
        }
    }

    /// <inheritdoc/>
    public override string DefaultName => "layer_normalization";

    /// <inheritdoc/>
    public override string TypeId => "LayerNormalization";

    // β follows γ in the parameters when both are there.
    private int BetaOffset => Scale ? InputSize : 0;

    /// <inheritdoc/>
    /// <remarks><c>epsilon</c>, <c>center</c>, <c>scale</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("epsilon", Epsilon).Set("center", Center).Set("scale", Scale);
    }

    [ModuleInitializer]
    internal static void Register() =>
        ComponentRegistry.RegisterLayer("LayerNormalization",
            config => new LayerNormalization(config.GetSingle("epsilon"), config.GetBoolean("center"), config.GetBoolean("scale")));

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize)
    {
        CheckFeatureState(inputSize, longestPerFeature: 2, bytesPerFeature: (2 * sizeof(double)) + (3 * sizeof(float)), savedPerFeature: (Scale ? 1 : 0) + (Center ? 1 : 0));
        _sums = new double[2 * inputSize];
        _ones = new float[inputSize];
        _ones.AsSpan().Fill(1f);
        _zeros = new float[inputSize];
        _discard = new float[inputSize];
        return inputSize;
    }

    /// <inheritdoc/>
    protected override void InitializeParameters(Span<float> parameters, ulong seed)
    {
        parameters.Clear();
        if (Scale)
        {
            parameters[..InputSize].Fill(1f);
        }
    }

    /// <summary>γ, or ones without <see cref="Scale"/>.</summary>
    private ReadOnlySpan<float> Gamma => Scale ? ParameterStorage.Span[..InputSize] : _ones;

    /// <summary>β, or zeros without <see cref="Center"/>.</summary>
    private ReadOnlySpan<float> Beta => Center ? ParameterStorage.Span.Slice(BetaOffset, InputSize) : _zeros;

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        if (batch == 0)
        {
            return;
        }

        if (training)
        {
            // Kept for the backward; grown once to the largest batch, so that steady training allocates nothing.
            if (_mean.Length < batch)
            {
                _mean = new double[batch];
                _scale = new double[batch];
            }

            Run(input, output, default, default, batch, _mean, _scale, backward: false);
            _statisticsBatch = batch;
            return;
        }

        _statisticsBatch = 0;

        // Inference keeps nothing and shares no job, so that predictions may run on several threads at once; the
        // statistics' scratch is pooled, not allocated.
        double[] statistics = ArrayPool<double>.Shared.Rent(2 * batch);
        try
        {
            RunSlice(input, output, default, default, batch, statistics.AsSpan(0, batch), statistics.AsSpan(batch, batch), backward: false, 0, 1);
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

        if (_statisticsBatch != batch)
        {
            throw new InvalidOperationException(
                $"Layer '{Names.Printable(Label)}' (LayerNormalization): Backward needs the statistics of a training Forward of the same {batch} samples just before it; the last forward was {(_statisticsBatch == 0 ? "none, or an inference one" : $"a training forward of {_statisticsBatch} samples")}.");
        }

        Run(input, default, outputGrad, inputGrad, batch, _mean, _scale, backward: true);
    }

    // A pass over the batch, divided among threads: the forward and the input gradient by samples (each row is its
    // own), the γ and β gradients by features (each column summed over the samples in order), in one region. Below
    // MinValuesPerThread values a thread the fork and join would cost more than the pass.
    private unsafe void Run(ReadOnlySpan<float> input, Span<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch,
        Span<double> mean, Span<double> scale, bool backward)
    {
        int features = InputSize;
        int threads = Math.Min(Math.Min(Parallelism.CallerThreads, (int)Math.Min(int.MaxValue, (long)batch * features / MinValuesPerThread)), batch);
        if (threads <= 1)
        {
            RunSlice(input, output, outputGrad, inputGrad, batch, mean, scale, backward, 0, 1);
            return;
        }

        fixed (float* x = input, y = output, dy = outputGrad, dx = inputGrad)
        fixed (double* m = mean, s = scale)
        {
            RowsJob job = _job ??= new RowsJob(this);
            job.Set(x, y, dy, dx, m, s, input.Length, batch, threads, backward, !inputGrad.IsEmpty);
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

    // Slice `index` of `slices`: its rows of the forward or the input gradient, and its features of γ's and β's gradients.
    private void RunSlice(ReadOnlySpan<float> input, Span<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch,
        Span<double> mean, Span<double> scale, bool backward, int index, int slices)
    {
        int features = InputSize;
        int row0 = (int)((long)batch * index / slices), row1 = (int)((long)batch * (index + 1) / slices);
        if (!backward)
        {
            LayerNormKernels.ForwardRows(input, output, features, row0, row1, Gamma, Beta, Epsilon, mean, scale, KernelIsaSupport.Widest);
            return;
        }

        // Features in whole vectors of 8 (the last slice takes the rest).
        int vectors = (features + 7) / 8;
        int first = (int)Math.Min(features, (long)vectors * index / slices * 8);
        int end = (int)Math.Min(features, (long)vectors * (index + 1) / slices * 8);
        Span<float> gradients = GradientStorage.Span;
        Span<float> gammaGrad = Scale ? gradients[..features] : _discard, betaGrad = Center ? gradients.Slice(BetaOffset, features) : _discard;
        if (first < end && (Scale || Center))
        {
            LayerNormKernels.ParameterGradientColumns(input, outputGrad, batch, features, first, end, mean, scale, gammaGrad, betaGrad, _sums,
                KernelIsaSupport.Widest);
        }

        if (!inputGrad.IsEmpty)
        {
            LayerNormKernels.InputGradientRows(input, outputGrad, inputGrad, features, row0, row1, mean, scale, Gamma, KernelIsaSupport.Widest);
        }
    }

    /// <summary>A training pass divided among threads; one per layer (only its model's training thread runs it).</summary>
    private sealed unsafe class RowsJob(LayerNormalization layer) : IParallelWork
    {
        private float* _x, _y, _dy, _dx;
        private double* _mean, _scale;
        private int _length, _batch, _slices;
        private bool _backward, _inputGrad;

        public void Set(float* x, float* y, float* dy, float* dx, double* mean, double* scale, int length, int batch, int slices, bool backward, bool inputGrad)
        {
            _x = x;
            _y = y;
            _dy = dy;
            _dx = dx;
            _mean = mean;
            _scale = scale;
            (_length, _batch, _slices, _backward, _inputGrad) = (length, batch, slices, backward, inputGrad);
        }

        public void Clear()
        {
            _x = null;
            _y = null;
            _dy = null;
            _dx = null;
            _mean = null;
            _scale = null;
        }

        public void Execute(int index) =>
            layer.RunSlice(new ReadOnlySpan<float>(_x, _length), _backward ? default : new Span<float>(_y, _length),
                _backward ? new ReadOnlySpan<float>(_dy, _length) : default, _inputGrad ? new Span<float>(_dx, _length) : default,
                _batch, new Span<double>(_mean, _batch), new Span<double>(_scale, _batch), _backward, index, _slices);
    }

    /// <inheritdoc/>
    internal override Layer CopyForPrediction()
    {
        var copy = new LayerNormalization(InputSize, Epsilon, Center, Scale, Name);
        Parameters.Span.CopyTo(copy.Parameters.Span);
        return copy;
    }
}
