using System.Buffers;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;
using NeuralCore.Optimizers;
using NeuralCore.Randomness;
using NeuralCore.Threading;

namespace NeuralCore.Layers;

/// <summary>
/// A fully connected layer: <c>output = f(input·W + b)</c>, with <c>W[InputSize, Units]</c>, <c>b[Units]</c> (none
/// when <see cref="UseBias"/> is false) and <c>f</c> the <see cref="Activation"/> (the identity by default).
/// </summary>
/// <remarks>
/// Parameters are laid out as W (row-major) followed by b. As in Keras, W starts Glorot-uniform,
/// <c>U(-√(6/(in+out)), √(6/(in+out)))</c>, and b starts at zero, unless <see cref="KernelInitializer"/> and
/// <see cref="BiasInitializer"/> say otherwise. Backward, with <c>dZ = f'(output) ⊙ outputGrad</c>
/// (for softmax, per row <c>output ⊙ (outputGrad - Σ outputGrad·output)</c>): <c>dW += inputᵀ·dZ</c>,
/// <c>db += Σ_rows dZ</c>, <c>inputGrad = dZ·Wᵀ</c>. A ReLU activation is applied as the product stores its output.
/// </remarks>
public sealed class Dense : Layer
{
    private float[] _activationGrad = [];
    private float[] _zeroBias = [];

    /// <summary>Creates a dense layer whose input size is fixed when it is added to a model.</summary>
    /// <param name="units">Output features; positive.</param>
    /// <param name="activation">The activation applied to the output (Keras's <c>activation</c>; none by default).</param>
    /// <param name="useBias">Whether the layer has a bias (Keras's <c>use_bias</c>).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is not positive, or <paramref name="activation"/> is not defined.</exception>
    public Dense(int units, Activation activation = Activation.Linear, bool useBias = true, string? name = null)
        : base(name)
    {
        Check.Positive(units, nameof(units), "number of units");

        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation,
                $"Unknown activation. Received: activation={activation}.");
        }

        Units = units;
        Activation = activation;
        UseBias = useBias;
    }

    /// <summary>Creates a built dense layer, initialized from <paramref name="seed"/>.</summary>
    /// <param name="inputSize">Input features; positive.</param>
    /// <param name="units">Output features; positive.</param>
    /// <param name="seed">The initializer's seed.</param>
    /// <param name="activation">The activation applied to the output.</param>
    /// <param name="useBias">Whether the layer has a bias.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or <paramref name="activation"/> is not defined.</exception>
    public Dense(int inputSize, int units, ulong seed, Activation activation = Activation.Linear, bool useBias = true, string? name = null)
        : this(units, activation, useBias, name) => Build(inputSize, seed);

    /// <summary>Output features.</summary>
    public int Units { get; }

    /// <summary>The activation applied to the output.</summary>
    public Activation Activation { get; }

    /// <summary>Whether the layer adds a bias.</summary>
    public bool UseBias { get; }

    /// <summary>
    /// How W starts when the layer is built (Keras's <c>kernel_initializer</c>): <see cref="Initializer.GlorotUniform"/>
    /// by default; <see cref="Initializer.HeNormal"/> suits a layer followed by a ReLU, <see cref="Initializer.LecunNormal"/>
    /// one with SELU. Stored in the model file.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <exception cref="InvalidOperationException">Set on a built layer (added to a model, or made with its input size), whose W already started.</exception>
    public Initializer KernelInitializer
    {
        get => _kernelInitializer;
        set => _kernelInitializer = CheckInitializer(value, nameof(KernelInitializer));
    }

    /// <summary>
    /// How b starts when the layer is built (Keras's <c>bias_initializer</c>): <see cref="Initializer.Zeros"/> by default;
    /// its fans are both <see cref="Units"/>. Ignored without a bias; stored in the model file.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <exception cref="ArgumentException">Set to <see cref="Initializer.Identity"/> or <see cref="Initializer.Orthogonal"/>, which need a matrix.</exception>
    /// <exception cref="InvalidOperationException">Set on a built layer, whose b already started.</exception>
    public Initializer BiasInitializer
    {
        get => _biasInitializer;
        set => _biasInitializer = value is { Kind: InitializerKind.Identity or InitializerKind.Orthogonal }
            ? throw new ArgumentException($"{value} needs a matrix, but a bias is a vector: use Zeros, Constant or a random initializer.", nameof(value))
            : CheckInitializer(value, nameof(BiasInitializer));
    }

    private Initializer _kernelInitializer = Initializer.GlorotUniform();
    private Initializer _biasInitializer = Initializer.Zeros();

    private Initializer CheckInitializer(Initializer value, string property)
    {
        ArgumentNullException.ThrowIfNull(value, nameof(value));
        // IsBuilt, not the input size OnBuild records: a layer a model refused after OnBuild (too many parameters in
        // all) is not built, and may still be given another initializer.
        return IsBuilt
            ? throw new InvalidOperationException($"Layer '{Names.Printable(Label)}' is built, so its parameters have started; set {property} before adding the layer to a model (or use the constructor without an input size).")
            : value;
    }

    /// <summary>
    /// The penalty on W added to the training loss (Keras's <c>kernel_regularizer</c>), or null for none. Read at every
    /// training step; stored in the model file.
    /// </summary>
    public Regularizer? KernelRegularizer { get; set; }

    /// <summary>The penalty on b added to the training loss (Keras's <c>bias_regularizer</c>), or null for none; ignored without a bias.</summary>
    public Regularizer? BiasRegularizer { get; set; }

    /// <summary>
    /// The projection applied to W after every update the model applies (Keras's <c>kernel_constraint</c>, e.g.
    /// <c>Constraint.MaxNorm(3)</c> beside dropout), or null for none; stored in the model file. A loop of your own that
    /// calls <c>ComputeGradients</c> and an optimizer applies it with <see cref="Models.Sequential.ApplyConstraints"/>.
    /// </summary>
    public Constraint? KernelConstraint { get; set; }

    /// <summary>The projection applied to b after every update the model applies (Keras's <c>bias_constraint</c>), or null; ignored without a bias.</summary>
    /// <exception cref="ArgumentException">Set to a constraint along axis 1: a bias has one axis.</exception>
    public Constraint? BiasConstraint
    {
        get => _biasConstraint;
        set => _biasConstraint = value is { Axis: 1 }
            ? throw new ArgumentException($"{value} runs along axis 1, but a bias has one axis: use axis 0 (its norm is the whole vector's).", nameof(value))
            : value;
    }

    private Constraint? _biasConstraint;

    // The constraints' column norms, allocated at the first constrained step and kept.
    private float[] _constraintScratch = [];

    /// <summary>Whether a constraint applies to the layer's parameters.</summary>
    internal bool IsConstrained => KernelConstraint is not null || (BiasConstraint is not null && UseBias);

    /// <summary>
    /// Applies <see cref="KernelConstraint"/> to W (row-major, or in <see cref="PanelOrder"/>: the same bits) and
    /// <see cref="BiasConstraint"/> to b, in place: the model calls it after each update it applies, as Keras's optimizer does.
    /// </summary>
    internal void ApplyConstraints()
    {
        if (KernelConstraint is { } kernel)
        {
            if (_constraintScratch.Length < Constraint.ScratchLength(Units))
            {
                _constraintScratch = new float[Constraint.ScratchLength(Units)];
            }

            // Divided among the step's threads above MinParallelPenaltyWeights, each norm summed by one of them.
            int slices = InputSize * Units < MinParallelPenaltyWeights ? 1 : kernel.Slices(InputSize, Units, Parallelism.ComputeThreads);
            if (slices <= 1)
            {
                kernel.Apply(ParameterStorage.Span[..(InputSize * Units)], InputSize, Units, _constraintScratch, layout: PanelOrder);
            }
            else
            {
                _constraintJob ??= new ConstraintJob(this);
                _constraintJob.Slices = slices;
                WorkerPool.Run(_constraintJob, slices, slices);
            }
        }

        if (BiasConstraint is { } bias && UseBias)
        {
            bias.Apply(ParameterStorage.Span.Slice(InputSize * Units, Units), 1, Units, default, vector: true);
        }
    }

    private ConstraintJob? _constraintJob;

    /// <summary>One slice of the kernel constraint (<see cref="ApplyConstraints"/>).</summary>
    private sealed class ConstraintJob(Dense layer) : IParallelWork
    {
        public int Slices { get; set; }

        public void Execute(int index) => layer.KernelConstraint!.ApplySlice(layer.ParameterStorage.Span[..(layer.InputSize * layer.Units)],
            layer.InputSize, layer.Units, layer._constraintScratch, index, Slices, layout: layer.PanelOrder);
    }

    /// <summary>Whether a regularizer applies to the layer's parameters.</summary>
    internal bool IsRegularized => KernelRegularizer is not null || (BiasRegularizer is not null && UseBias);

    /// <summary>
    /// Adds each regularizer's gradient to the layer's parameter gradients <c>[start, start + length)</c> (indices into
    /// <see cref="Layer.Parameters"/>: the weights, then the bias): <c>l1·sign(w) + 2·l2·w</c>, element by element. The
    /// optimizer's step adds it range by range, each range on the thread that updates it.
    /// </summary>
    internal void AddRegularizationGradient(int start, int length)
    {
        Span<float> parameters = ParameterStorage.Span, gradients = GradientStorage.Span;
        int weights = InputSize * Units, end = start + length;
        if (KernelRegularizer is { } kernel && start < weights)
        {
            int stop = Math.Min(end, weights);
            kernel.AddGradient(parameters[start..stop], gradients[start..stop]);
        }

        if (BiasRegularizer is { } bias && UseBias && end > weights)
        {
            int first = Math.Max(start, weights);
            bias.AddGradient(parameters[first..end], gradients[first..end]);
        }
    }

    /// <summary>
    /// The penalties' sum for the parameters as they are, with the same bits whether the weights are row-major or in
    /// panel order (<see cref="RegularizerKernels.MatrixSums"/>: column by column down the rows), on any vector width.
    /// </summary>
    internal double RegularizationPenalty()
    {
        Regularizer? kernel = KernelRegularizer, bias = UseBias ? BiasRegularizer : null;
        if (kernel is null && bias is null)
        {
            return 0;
        }

        // Pooled rather than kept: Evaluate may run on several threads at once.
        float[] scratch = ArrayPool<float>.Shared.Rent(2 * Units);
        try
        {
            ReadOnlySpan<float> parameters = ParameterStorage.Span;
            int weights = InputSize * Units;
            double penalty = 0;
            if (kernel is not null)
            {
                (double m, double s) = RegularizerKernels.MatrixSums(parameters[..weights], InputSize, Units, PanelOrder, scratch, KernelIsaSupport.Widest);
                penalty += RegularizerKernels.Combine(kernel.L1Factor, kernel.L2Factor, m, s);
            }

            if (bias is not null)
            {
                (double m, double s) = RegularizerKernels.MatrixSums(parameters[weights..], 1, Units, default, scratch, KernelIsaSupport.Widest);
                penalty += RegularizerKernels.Combine(bias.L1Factor, bias.L2Factor, m, s);
            }

            return penalty;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// <see cref="RegularizationPenalty"/> as a training step takes it, with the same bits: a large kernel's column sums
    /// divided by columns among the step's threads (in groups of 32 columns, or of whole panels in panel order; where the
    /// step's threads own the layer's columns, <see cref="PanelLayout.OwnedColumnSlices"/>, each sums the columns it
    /// updates). Only the model's training thread calls it.
    /// </summary>
    /// <remarks>
    /// Serial, the sums of 784-1024-10's first layer took 35 µs of a two-thread step of about 1,000 (AMD EPYC Zen 5,
    /// 2 real cores, 2026-12-02).
    /// </remarks>
    internal double TrainingPenalty(int batch)
    {
        int weights = InputSize * Units;
        Regularizer? kernel = KernelRegularizer;
        int slices = kernel is null || weights < MinParallelPenaltyWeights ? 1 : Math.Min(Parallelism.ComputeThreads, Units / 32);
        if (slices <= 1)
        {
            return RegularizationPenalty();
        }

        if (_penaltySums.Length != 2 * Units)
        {
            _penaltySums = new float[2 * Units];
        }

        int owned = PanelOrder.OwnedColumnSlices(batch);
        _penaltyJob ??= new PenaltyJob(this);
        _penaltyJob.Slices = owned > 0 ? owned : slices;
        _penaltyJob.Owned = owned > 0;
        WorkerPool.Run(_penaltyJob, _penaltyJob.Slices, _penaltyJob.Slices);

        (double m, double s) = RegularizerKernels.Combine(_penaltySums.AsSpan(0, Units), _penaltySums.AsSpan(Units, Units));
        double penalty = RegularizerKernels.Combine(kernel!.L1Factor, kernel.L2Factor, m, s);
        if (BiasRegularizer is { } bias && UseBias)
        {
            // As RegularizationPenalty sums it (the kernel's sums are taken: the scratch is free again).
            (m, s) = RegularizerKernels.MatrixSums(ParameterStorage.Span[weights..], 1, Units, default, _penaltySums, KernelIsaSupport.Widest);
            penalty += RegularizerKernels.Combine(bias.L1Factor, bias.L2Factor, m, s);
        }

        return penalty;
    }

    /// <summary>
    /// The fewest weights whose penalty <see cref="TrainingPenalty"/> divides among threads: below 2^17 one thread's sums
    /// take under 6 µs, not worth a parallel region's start and join. Tests lower it to divide small layers.
    /// </summary>
    internal static int MinParallelPenaltyWeights { get; set; } = 1 << 17;

    private float[] _penaltySums = [];
    private PenaltyJob? _penaltyJob;

    /// <summary>One slice of the kernel's column sums (<see cref="TrainingPenalty"/>).</summary>
    private sealed class PenaltyJob(Dense layer) : IParallelWork
    {
        public int Slices { get; set; }

        public bool Owned { get; set; }

        public void Execute(int index)
        {
            int units = layer.Units;
            PanelLayout layout = layer.PanelOrder;
            int group = layout.IsValid ? layout.Nr : 32;
            (int first, int end) = Owned
                ? layout.ColumnSlice(Slices, index)
                : (Columns(units, group, Slices, index), Columns(units, group, Slices, index + 1));
            Span<float> sums = layer._penaltySums;
            RegularizerKernels.ColumnSums(layer.ParameterStorage.Span[..(layer.InputSize * units)], layer.InputSize, units, layout, first, end,
                sums[..units], sums[units..], KernelIsaSupport.Widest);
        }

        // Slice boundaries in whole groups of columns (32, or whole panels in panel order), the last slice ending at the last column.
        private static int Columns(int units, int group, int slices, int index) =>
            index >= slices ? units : (int)((long)(units / group) * index / slices) * group;
    }

    /// <inheritdoc/>
    public override string DefaultName => "dense";

    /// <inheritdoc/>
    public override string TypeId => "Dense";

    /// <inheritdoc/>
    /// <remarks>That of its <see cref="Activation"/>: a distribution for softmax, [0, 1] for sigmoid, 0 or more for ReLU.</remarks>
    public override OutputRange OutputRange => Activation switch
    {
        Activation.Softmax => OutputRange.Distribution,
        Activation.Sigmoid => OutputRange.UnitInterval,
        Activation.Relu => OutputRange.NonNegative,
        _ => OutputRange.Any,
    };

    /// <inheritdoc/>
    /// <remarks>
    /// <c>units</c>, <c>activation</c> (Keras's name) and <c>use_bias</c>; with a regularizer, its factors as
    /// <c>kernel_l1</c> and <c>kernel_l2</c> (or <c>bias_l1</c> and <c>bias_l2</c>); with a constraint,
    /// <c>kernel_constraint</c> (<c>max_norm</c>, <c>min_max_norm</c>, <c>non_neg</c> or <c>unit_norm</c>) and its
    /// <c>kernel_constraint_axis</c>, <c>_max_value</c>, <c>_min_value</c> and <c>_rate</c> (or the same for <c>bias</c>);
    /// with an initializer other than the default, <c>kernel_initializer</c> (<c>variance_scaling</c>,
    /// <c>random_uniform</c>, <c>random_normal</c>, <c>truncated_normal</c>, <c>constant</c>, <c>identity</c> or
    /// <c>orthogonal</c>) and its <c>_scale</c>, <c>_mode</c> and <c>_distribution</c>, <c>_minval</c> and
    /// <c>_maxval</c>, <c>_mean</c> and <c>_stddev</c>, <c>_value</c> or <c>_gain</c> (or the same for <c>bias</c>).
    /// </remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("units", Units).Set("activation", ActivationNames.Of(Activation)).Set("use_bias", UseBias);
        if (KernelRegularizer is { } kernel)
        {
            config.Set("kernel_l1", kernel.L1Factor).Set("kernel_l2", kernel.L2Factor);
        }

        if (BiasRegularizer is { } bias)
        {
            config.Set("bias_l1", bias.L1Factor).Set("bias_l2", bias.L2Factor);
        }

        KernelConstraint?.Write(config, "kernel");
        BiasConstraint?.Write(config, "bias");

        // The defaults are left out, so that a default layer's config is what it was before initializers were options.
        if (!KernelInitializer.IsGlorotUniform)
        {
            KernelInitializer.Write(config, "kernel");
        }

        if (!BiasInitializer.IsZeros)
        {
            BiasInitializer.Write(config, "bias");
        }
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Dense", config => new Dense(
        config.GetInt32("units"),
        ActivationNames.Parse(config.GetString("activation", "linear")),
        config.GetBoolean("use_bias", true))
    {
        KernelRegularizer = ReadRegularizer(config, "kernel"),
        BiasRegularizer = ReadRegularizer(config, "bias"),
        KernelConstraint = Constraint.Read(config, "kernel", vector: false),
        BiasConstraint = Constraint.Read(config, "bias", vector: true),
        KernelInitializer = Initializer.Read(config, "kernel", Initializer.GlorotUniform()),
        BiasInitializer = Initializer.Read(config, "bias", Initializer.Zeros()),
    });

    // Files written before regularizers existed have neither key: no regularizer.
    private static Regularizer? ReadRegularizer(ComponentConfig config, string what) =>
        config.Entries.Any(e => e.Key == what + "_l1" || e.Key == what + "_l2")
            ? new Regularizer(config.GetSingle(what + "_l1", 0f), config.GetSingle(what + "_l2", 0f))
            : null;

    /// <inheritdoc/>
    /// <remarks><c>InputSize·Units + Units</c> (without the <c>Units</c> when there is no bias).</remarks>
    public override int ParameterCount => IsBuiltOrBuilding ? (_inputs * Units) + BiasCount : 0;

    /// <inheritdoc/>
    /// <remarks><c>kernel</c> (W, a weight), then <c>bias</c> when there is one.</remarks>
    public override IReadOnlyList<ParameterSegment> ParameterSegments => UseBias
        ?
        [
            new ParameterSegment($"{Name}/kernel", 0, InputSize * Units, ParameterRole.Weight) { Columns = Units },
            new ParameterSegment($"{Name}/bias", InputSize * Units, Units, ParameterRole.Bias),
        ]
        : [new ParameterSegment($"{Name}/kernel", 0, InputSize * Units, ParameterRole.Weight) { Columns = Units }];

    /// <summary>The weights <c>W[InputSize, Units]</c>, row-major (a view of <see cref="Layer.Parameters"/>).</summary>
    /// <remarks>Read on the thread of a model's <c>TrainingLoop</c>, a first layer's puts the weights back in row-major order first, as <see cref="Layer.Parameters"/> does.</remarks>
    /// <exception cref="InvalidOperationException">As for <see cref="Layer.Parameters"/>.</exception>
    public Memory<float> Weights
    {
        get
        {
            BeforeView(nameof(Weights));
            return ParameterStorage[..(InputSize * Units)];
        }
    }

    /// <summary>The bias <c>b[Units]</c> (a view of <see cref="Layer.Parameters"/>); empty without a bias.</summary>
    /// <remarks>Never reordered during training: reading it inside a <c>TrainingLoop</c> or a callback costs nothing.</remarks>
    public Memory<float> Bias => ParameterStorage[(InputSize * Units)..];

    private int _inputs;

    private int BiasCount => UseBias ? Units : 0;

    private bool IsBuiltOrBuilding => _inputs > 0;

    /// <inheritdoc/>
    protected override int OnBuild(int inputSize)
    {
        long count = ((long)inputSize * Units) + BiasCount;
        if (count > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize,
                $"A dense layer of {inputSize} inputs and {Units} units would have {count} parameters, more than an array holds ({Array.MaxLength}).");
        }

        if (t_fromFile is null)
        {
            // Before anything is allocated or recorded: a kernel too large to decompose is refused at once.
            KernelInitializer.CheckKernel(inputSize, Units);
        }

        _inputs = inputSize;
        if (!UseBias)
        {
            // ReLU fused into the product is applied by the bias epilogue.
            _zeroBias = new float[Units];
        }

        return Units;
    }

    /// <inheritdoc/>
    protected override void InitializeParameters(Span<float> parameters, ulong seed)
    {
        var random = new Xoshiro128(seed);
        KernelInitializer.Fill(parameters[..(_inputs * Units)], _inputs, Units, ref random, bias: false);
        if (UseBias)
        {
            // Its own stream, so that the bias's initializer does not change the kernel's values.
            var biasRandom = new Xoshiro128(Xoshiro128.Derive(seed, 1));
            BiasInitializer.Fill(parameters.Slice(_inputs * Units, Units), 1, Units, ref biasRandom, bias: true);
        }
    }

    /// <inheritdoc/>
    protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        ForwardFused(input, output, batch, relu: Activation == Activation.Relu);
        ApplyActivation(output, batch);
    }

    // ReLU is applied in the product's stores; the others need each row's finished sums (softmax a whole row).
    private void ApplyActivation(Span<float> output, int batch)
    {
        switch (Activation)
        {
            case Activation.Sigmoid:
                Activations.Sigmoid(output, output);
                break;
            case Activation.Tanh:
                Activations.Tanh(output, output);
                break;
            case Activation.Softmax:
                Elementwise.SoftmaxRows(output, output, batch, Units);
                break;
        }
    }

    /// <inheritdoc/>
    protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        ReadOnlySpan<float> dz = outputGrad;
        if (Activation != Activation.Linear)
        {
            // The product needs the gradient before the activation; the caller's outputGrad is read-only, so it goes
            // into a buffer kept for the largest batch (no allocation once grown).
            if (_activationGrad.Length < outputGrad.Length)
            {
                _activationGrad = new float[outputGrad.Length];
            }

            Span<float> buffer = _activationGrad.AsSpan(0, outputGrad.Length);
            switch (Activation)
            {
                case Activation.Relu:
                    Elementwise.ReluBackward(output, outputGrad, buffer);
                    break;
                case Activation.Sigmoid:
                    Activations.SigmoidBackward(output, outputGrad, buffer);
                    break;
                case Activation.Tanh:
                    Activations.TanhBackward(output, outputGrad, buffer);
                    break;
                default:
                    Elementwise.SoftmaxRowsBackward(output, outputGrad, buffer, batch, Units);
                    break;
            }

            dz = buffer;
        }

        BackwardFused(input, dz, inputGrad, batch, inputMask: default, overwriteGradients: false);
    }

    /// <summary>
    /// Set while the model keeps this layer's weights, their gradient and the optimizer's state for them in this panel
    /// order (<see cref="Models.Sequential.EnterPanelOrder"/>): the forward product reads the weights without packing
    /// them, and the weight gradient is written in the same order. Invalid (the default) in the row-major order.
    /// </summary>
    internal PanelLayout PanelOrder { get; set; }

    /// <summary>
    /// Whether the products that read this layer's input (the forward product and the weight gradient) leave out the
    /// steps at which the input is zero (<see cref="Kernels.GemmSteps"/>): a model sets it on its first layer, whose
    /// input is the data (four fifths of an MNIST image's pixels are 0). The outputs and gradients are the same bits
    /// wherever the weights and the output gradient are finite (signed zero sums aside). An infinite or NaN weight that
    /// meets only zero inputs may leave an output finite where the full product gives NaN: a step is left out when the
    /// input is zero in every sample of its group (a tile of 4 to 12 samples by instruction set, or the 1 to 8 samples
    /// of the 512-bit few-row product), so which outputs such a weight still reaches depends on the path and the batch,
    /// never on the thread count.
    /// </summary>
    internal bool SkipsZeroInputs { get; set; }

    /// <summary>
    /// The product with the bias (if any), and ReLU when <paramref name="relu"/>, applied to each tile of the output as
    /// the product stores it: <c>output = relu?(input·W + b)</c>. A model calls it for a dense layer followed by ReLU.
    /// </summary>
    /// <param name="input">The <c>[batch, InputSize]</c> input.</param>
    /// <param name="output">The <c>[batch, Units]</c> output.</param>
    /// <param name="batch">The number of samples.</param>
    /// <param name="relu">Whether to apply ReLU.</param>
    /// <param name="rowsDone">Where the product takes the narrow path (<see cref="GemmNarrow"/>, a layer of at most 16
    /// units with a bias, its weights row-major), run on each slice of output rows by the thread that computed them;
    /// otherwise not called.</param>
    internal void ForwardFused(ReadOnlySpan<float> input, Span<float> output, int batch, bool relu, GemmNarrow.IRowsDone? rowsDone = null)
    {
        ReadOnlySpan<float> parameters = ParameterStorage.Span;
        int weights = InputSize * Units;
        if (PanelOrder.IsValid)
        {
            ReadOnlySpan<float> panelBias = UseBias ? parameters[weights..] : relu ? _zeroBias : default;
            Gemm.MultiplyAddBiasPanels(input, parameters[..weights], PanelOrder, panelBias, output, batch, relu, SkipsZeroInputs);
            return;
        }

        if (UseBias || relu)
        {
            ReadOnlySpan<float> bias = UseBias ? parameters[weights..] : _zeroBias;
            Gemm.MultiplyAddBias(input, parameters[..weights], bias, output, batch, Units, InputSize, relu, SkipsZeroInputs,
                UseBias ? rowsDone : null);
        }
        else
        {
            Gemm.MultiplyInput(input, parameters[..weights], output, batch, Units, InputSize, SkipsZeroInputs);
        }
    }

    /// <summary>
    /// Whether <see cref="ForwardFusedThenRows"/> on a batch of <paramref name="batch"/>, on the current thread limit,
    /// computes the layer above too where it fits the narrow path (<see cref="Gemm.DividesReductionRows"/>).
    /// </summary>
    internal bool ForwardDividesReductionRows(int batch) => IsBuilt && Gemm.DividesReductionRows(batch, Units, InputSize, PanelOrder);

    /// <summary>
    /// <see cref="ForwardFused"/> with ReLU, and the forward of <paramref name="upper"/> (a dense layer of at most 16
    /// units without activation, its weights row-major, reading that ReLU's output) on each thread's rows in this
    /// product's reduction phase, where its threads divide the reduction and then the rows
    /// (<see cref="Gemm.MultiplyAddBiasThenRowsAbove"/>): <c>output = relu(input·W + b)</c>, then
    /// <c>upperOutput = output·W2 + b2</c> and <paramref name="rowsDone"/> on those rows, on the same thread. Bitwise the
    /// two forwards one after the other. This layer's output is computed either way.
    /// </summary>
    /// <returns>Whether <paramref name="upper"/>'s forward ran too; where it did not, the caller runs it.</returns>
    internal bool ForwardFusedThenRows(ReadOnlySpan<float> input, Span<float> output, Dense upper, Span<float> upperOutput, int batch,
        GemmNarrow.IRowsDone? rowsDone)
    {
        if (upper.Activation != Activation.Linear || upper.InputSize != Units || !upper.IsBuilt || upper.PanelOrder.IsValid)
        {
            ForwardFused(input, output, batch, relu: true);
            return false;
        }

        ReadOnlySpan<float> parameters = ParameterStorage.Span, upperParameters = upper.ParameterStorage.Span;
        int weights = InputSize * Units, upperWeights = upper.InputSize * upper.Units;
        return Gemm.MultiplyAddBiasThenRowsAbove(input, parameters[..weights], PanelOrder, UseBias ? parameters[weights..] : _zeroBias,
            output, batch, Units, InputSize, relu: true, SkipsZeroInputs, upperParameters[..upperWeights],
            upper.UseBias ? upperParameters[upperWeights..] : default, upperOutput, upper.Units, rowsDone);
    }

    /// <summary>
    /// <see cref="ForwardFused"/> with ReLU, and the forward of <paramref name="upper"/> (a dense layer without
    /// activation reading that ReLU's output) in the same parallel region, where threads own this layer's columns
    /// (<see cref="Gemm.TryMultiplyAddBiasPanelsThenNarrow"/>): <c>output = relu(input·W + b)</c>, then
    /// <c>upperOutput = output·W2 + b2</c>. Bitwise the two forwards one after the other; false, computing nothing,
    /// where it does not apply.
    /// </summary>
    internal bool TryForwardFusedThenNarrow(ReadOnlySpan<float> input, Span<float> output, Dense upper, Span<float> upperOutput, int batch)
    {
        if (!PanelOrder.IsValid || upper.Activation != Activation.Linear || upper.InputSize != Units || !upper.IsBuilt)
        {
            return false;
        }

        ReadOnlySpan<float> parameters = ParameterStorage.Span, upperParameters = upper.ParameterStorage.Span;
        int weights = InputSize * Units, upperWeights = upper.InputSize * upper.Units;
        return Gemm.TryMultiplyAddBiasPanelsThenNarrow(input, parameters[..weights], PanelOrder, UseBias ? parameters[weights..] : _zeroBias,
            output, batch, relu: true, SkipsZeroInputs, upperParameters[..upperWeights], upper.UseBias ? upperParameters[upperWeights..] : default,
            upperOutput, upper.Units);
    }

    /// <summary>
    /// A copy of the weights, packed once for the matrix product (<see cref="PackedMatrix"/>), and of the bias: what
    /// <see cref="ForwardFrozen"/> reads instead of the live parameters.
    /// </summary>
    internal sealed class Frozen(PackedMatrix weights, float[] bias)
    {
        public PackedMatrix Weights { get; } = weights;

        // The bias, or zeros without one (ReLU fused into the product is applied by the bias epilogue).
        public float[] Bias { get; } = bias;
    }

    /// <summary>Copies the layer's current weights and bias for <see cref="ForwardFrozen"/>.</summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    internal Frozen Freeze()
    {
        if (!IsBuilt)
        {
            throw new InvalidOperationException($"Layer '{Names.Printable(Label)}' is not built: add it to a model first.");
        }

        ReadOnlySpan<float> parameters = ParameterStorage.Span;
        int weights = InputSize * Units;
        return new Frozen(PackedMatrix.Pack(parameters[..weights], InputSize, Units, KernelIsaSupport.Best),
            UseBias ? parameters[weights..(weights + Units)].ToArray() : new float[Units]);
    }

    /// <summary>
    /// The inference forward on a frozen copy of the parameters: bitwise <see cref="Layer.Forward"/> (or
    /// <see cref="ForwardFused"/> with ReLU when <paramref name="fusedRelu"/>) on the parameters
    /// <paramref name="frozen"/> was taken from.
    /// </summary>
    /// <param name="frozen">What <see cref="Freeze"/> returned.</param>
    /// <param name="input">The <c>[batch, InputSize]</c> input.</param>
    /// <param name="output">The <c>[batch, Units]</c> output.</param>
    /// <param name="batch">The number of samples.</param>
    /// <param name="fusedRelu">Whether the next layer is a plain ReLU run in this product's stores.</param>
    internal void ForwardFrozen(Frozen frozen, ReadOnlySpan<float> input, Span<float> output, int batch, bool fusedRelu)
    {
        bool relu = fusedRelu || Activation == Activation.Relu;
        if (UseBias || relu)
        {
            Gemm.MultiplyAddBiasPacked(input, frozen.Weights, frozen.Bias, output, batch, relu, SkipsZeroInputs);
        }
        else
        {
            Gemm.MultiplyPacked(input, frozen.Weights, output, batch, SkipsZeroInputs);
        }

        ApplyActivation(output, batch);
    }

    /// <summary>
    /// The inference forward of <paramref name="first"/> and of <paramref name="second"/>, the next dense layer (with at
    /// most a fused ReLU and dropout, the identity at inference, between them; the caller skips the dropout), for a few
    /// samples in one parallel region (<see cref="Gemm.TryMultiplyPairRows"/>): bitwise <see cref="ForwardFrozen"/> (or
    /// the layer's own forward, for a layer without a frozen copy) of each in turn. <paramref name="output"/> may be
    /// <paramref name="input"/>'s memory; <paramref name="hidden"/> must overlap neither. Returns false, having done
    /// nothing, where that does not apply: the first layer has an activation other than ReLU, a layer's weights are in
    /// panel order, the products are not divided this way (<see cref="GemmRows.PairThreads"/>), or the workers are busy.
    /// </summary>
    /// <param name="first">The lower layer; its output is <paramref name="hidden"/>.</param>
    /// <param name="firstFrozen">Its frozen copy, or null to read its live parameters.</param>
    /// <param name="firstRelu">Whether a plain ReLU after <paramref name="first"/> runs in its product's stores.</param>
    /// <param name="second">The upper layer, whose input is <paramref name="hidden"/>.</param>
    /// <param name="secondFrozen">Its frozen copy, or null.</param>
    /// <param name="secondRelu">Whether a plain ReLU after <paramref name="second"/> runs in its product's stores.</param>
    /// <param name="input">The <c>[batch, first.InputSize]</c> input.</param>
    /// <param name="hidden">The <c>[batch, first.Units]</c> output of the first layer (and its ReLU).</param>
    /// <param name="output">The <c>[batch, second.Units]</c> output of the second layer (and its ReLU).</param>
    /// <param name="batch">The number of samples.</param>
    internal static bool TryForwardPair(Dense first, Frozen? firstFrozen, bool firstRelu, Dense second, Frozen? secondFrozen, bool secondRelu,
        ReadOnlySpan<float> input, Span<float> hidden, Span<float> output, int batch)
    {
        if (first.Activation is not (Activation.Linear or Activation.Relu) || second.InputSize != first.Units
            || GemmRows.PairThreads(batch, first.InputSize, first.Units, second.Units) < 2
            || !first.TryRowsOperands(firstFrozen, firstRelu, out ReadOnlySpan<float> w1, out int chunkColumns1, out ReadOnlySpan<float> bias1, out bool relu1, out KernelIsa isa1)
            || !second.TryRowsOperands(secondFrozen, secondRelu, out ReadOnlySpan<float> w2, out int chunkColumns2, out ReadOnlySpan<float> bias2, out bool relu2, out KernelIsa isa2)
            || isa1 != isa2)
        {
            return false;
        }

        if (!Gemm.TryMultiplyPairRows(isa1, input, w1, chunkColumns1, bias1, relu1, hidden, batch, first.InputSize, first.Units,
            w2, chunkColumns2, bias2, relu2, output, second.Units, first.SkipsZeroInputs))
        {
            return false;
        }

        second.ApplyActivation(output, batch);
        return true;
    }

    // What the few-row product of this layer's inference forward reads: the weights (the frozen copy's column chunks, or
    // the live row-major ones), the bias of its epilogue (empty for none; zeros where ReLU needs one), and the arithmetic.
    private bool TryRowsOperands(Frozen? frozen, bool fusedRelu, out ReadOnlySpan<float> weights, out int chunkColumns,
        out ReadOnlySpan<float> bias, out bool relu, out KernelIsa isa)
    {
        relu = fusedRelu || Activation == Activation.Relu;
        if (frozen is not null)
        {
            // PackedMatrix.Chunked is B itself for at most one chunk's columns: one chunk is row-major.
            weights = frozen.Weights.Chunked;
            chunkColumns = frozen.Weights.ChunkColumns;
            bias = UseBias || relu ? frozen.Bias : default;
            isa = frozen.Weights.Isa;
            return true;
        }

        ReadOnlySpan<float> parameters = ParameterStorage.Span;
        int count = InputSize * Units;
        weights = parameters[..count];
        chunkColumns = 0;
        bias = UseBias ? parameters[count..(count + Units)] : relu ? _zeroBias : default;
        isa = KernelIsaSupport.Best;
        return !PanelOrder.IsValid;
    }

    /// <summary>
    /// This layer's weight and bias gradients and those of <paramref name="upper"/> (all overwritten) when this layer's
    /// output goes through a ReLU, whose output is <paramref name="reluOutput"/> <c>[batch, Units]</c>, into
    /// <paramref name="upper"/>, whose output gradient is <paramref name="upperGrad"/> <c>[batch, upper.Units]</c>. The
    /// gradient between the two layers is computed while the weight-gradient product packs it and is never stored
    /// (<see cref="Gemm.WeightGradientThroughRelu"/>), and the upper layer's weight gradient from the same rows where
    /// the product can; the caller runs no backward for <paramref name="upper"/>, and this layer gives no input
    /// gradient (it is the first).
    /// </summary>
    internal void BackwardThroughRelu(ReadOnlySpan<float> input, Dense upper, ReadOnlySpan<float> upperGrad, ReadOnlySpan<float> reluOutput, int batch)
    {
        Span<float> gradients = GradientStorage.Span, upperGradients = upper.GradientStorage.Span;
        int weights = InputSize * Units, upperWeights = upper.InputSize * upper.Units;
        Gemm.WeightGradientThroughRelu(input, upperGrad, upper.ParameterStorage.Span[..upperWeights], reluOutput,
            gradients[..weights], gradients[weights..], InputSize, Units, batch, upper.Units, accumulate: false, PanelOrder,
            upperGradients[..upperWeights], upperGradients[upperWeights..], SkipsZeroInputs);
    }

    /// <summary>
    /// Whether <see cref="BackwardThroughRelu"/> applies to this layer below <paramref name="upper"/>: the upper layer
    /// is narrow (at most <see cref="GemmMaskedProduct.MaxRank"/> units), so that each of the threads computing its
    /// input gradient again, all of it (where threads divide this layer's weight gradient by rows; where they own its
    /// columns, <see cref="PanelLayout.OwnedColumnSlices"/>, each computes only its columns), costs at most a quarter
    /// of that thread's share of this layer's weight gradient. Either way the results are the same bits.
    /// </summary>
    internal bool CanTakeGradientThrough(Dense upper) =>
        upper.Units <= GemmMaskedProduct.MaxRank && upper.InputSize == Units
        && 4L * upper.Units * Parallelism.ComputeThreads <= InputSize;

    /// <summary>
    /// Whether <see cref="BackwardThroughRelu"/> below <paramref name="upper"/> also computes the upper layer's weight
    /// gradient in this layer's weight-gradient product (the 512-bit path), each thread the rows of the units it
    /// computes, rather than by the upper layer's own product.
    /// </summary>
    internal bool ComputesUpperGradient(Dense upper) =>
        CanTakeGradientThrough(upper) && GemmMaskedProduct.CanComputeUpperWeightGrad(PanelOrder.IsValid ? PanelOrder.Isa : KernelIsaSupport.Best);

    /// <summary>
    /// Backward of the product (the activation's backward already applied to <paramref name="outputGrad"/>), with two
    /// fusions a model uses: <paramref name="overwriteGradients"/> writes the parameter gradients instead of adding to
    /// them (so nothing has to zero them first), and a non-empty <paramref name="inputMask"/> (the output of the ReLU
    /// that feeds this layer) applies that ReLU's backward to the input gradient as it is stored:
    /// <c>inputGrad = (outputGrad·Wᵀ) ⊙ [inputMask &gt; 0]</c>.
    /// </summary>
    /// <param name="input">The <c>[batch, InputSize]</c> input given to forward.</param>
    /// <param name="outputGrad">The <c>[batch, Units]</c> gradient of the product's output.</param>
    /// <param name="inputGrad">The <c>[batch, InputSize]</c> input gradient, or empty.</param>
    /// <param name="batch">The number of samples.</param>
    /// <param name="inputMask">Empty, or the <c>[batch, InputSize]</c> output of the ReLU this layer reads.</param>
    /// <param name="overwriteGradients">Overwrite the parameter gradients rather than accumulate.</param>
    /// <param name="parameterGradients">False to leave the parameter gradients as they are and compute the input
    /// gradient only (a frozen layer above one that trains, whose gradients the model then clears).</param>
    internal void BackwardFused(ReadOnlySpan<float> input, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch,
        ReadOnlySpan<float> inputMask, bool overwriteGradients, bool parameterGradients = true)
    {
        Span<float> gradients = GradientStorage.Span;
        int weights = InputSize * Units;
        if (parameterGradients)
        {
            Gemm.WeightGradient(input, outputGrad, gradients[..weights], gradients[weights..], InputSize, Units, batch,
                accumulate: !overwriteGradients, PanelOrder, SkipsZeroInputs);
        }

        if (inputGrad.IsEmpty)
        {
            return;
        }

        if (PanelOrder.IsValid)
        {
            throw new InvalidOperationException($"Layer '{Names.Printable(Label)}' keeps its weights in panel order, which only the first layer (whose input gradient is not needed) does.");
        }

        ReadOnlySpan<float> w = ParameterStorage.Span[..weights];
        if (inputMask.IsEmpty)
        {
            Gemm.Multiply(outputGrad, w, inputGrad, batch, InputSize, Units, transposeB: true);
        }
        else
        {
            Gemm.MultiplyReluMasked(outputGrad, w, inputMask, inputGrad, batch, InputSize, Units, transposeB: true);
        }
    }
}
