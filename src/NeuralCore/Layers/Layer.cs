using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;
using NeuralCore.Optimizers;

namespace NeuralCore.Layers;

/// <summary>Common plumbing for layers: build state, parameter storage and shape checks.</summary>
#pragma warning disable CA1001 // OwnStorage is a MemoryManager over a managed array: nothing to dispose.
public abstract class Layer : ILayer
#pragma warning restore CA1001
{
    private string _name;
    private Memory<float> _parameters = Memory<float>.Empty;
    private Memory<float> _gradients = Memory<float>.Empty;
    private OwnStorage? _ownParameters;
    private OwnStorage? _ownGradients;

    // The parameter a refusal of the input size names: a constructor that builds the layer calls it size.
    private string _sizeName = "inputSize";

    /// <summary>Creates a layer with an optional name (the model assigns a Keras-style one when null).</summary>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> cannot be stored in a model file (<see cref="Names.Check"/>).</exception>
    protected Layer(string? name)
    {
        if (name is not null)
        {
            Names.Check(name, nameof(name));
        }

        _name = name ?? string.Empty;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <exception cref="ArgumentException">Set to a name the model file cannot store (<see cref="Names.Check"/>).</exception>
    public string Name
    {
        get => _name;
        set
        {
            Names.Check(value, nameof(value));
            _name = value;
        }
    }

    /// <summary>The Keras-style base name the model numbers (e.g. <c>dense</c>, <c>re_lu</c>).</summary>
    public abstract string DefaultName { get; }

    /// <summary>How messages name the layer: its name, or before a model names it, its default name.</summary>
    internal string Label => _name.Length > 0 ? _name : DefaultName;

    /// <inheritdoc/>
    public abstract string TypeId { get; }

    /// <summary>
    /// The values this layer can output (<see cref="OutputRange.Any"/> unless overridden). <c>Compile</c> reads it from
    /// the model's last layer (looking through noise layers) to refuse a loss that cannot read such values: a layer of
    /// one's own that outputs probabilities overrides it to be accepted by a loss on probabilities.
    /// </summary>
    public virtual OutputRange OutputRange => OutputRange.Any;

    /// <inheritdoc/>
    /// <remarks>Writes nothing unless overridden.</remarks>
    public virtual void WriteConfig(ComponentConfig config) => ArgumentNullException.ThrowIfNull(config);

    /// <summary>
    /// Writes the state training changes besides the parameters (a dropout layer's generator), so that a saved model
    /// resumes training bitwise. Writes nothing unless overridden.
    /// </summary>
    /// <param name="state">The config to write to.</param>
    protected internal virtual void WriteState(ComponentConfig state)
    {
    }

    /// <summary>
    /// Set by <see cref="Serialization.ModelFile"/> on its thread while it adds the layers of a file it reads, null
    /// otherwise. The file then brings every layer's parameters and state: it bounds what a layer may claim before
    /// allocating (a forged input size made a layer allocate gigabytes before anything was read), and initial draws
    /// would only be overwritten (an orthogonal kernel's decomposition takes seconds).
    /// </summary>
    [ThreadStatic]
    internal static FileBudget? t_fromFile;

    /// <summary>The size of a model file being read, and the bytes left in it where the next layer's parameters begin.</summary>
    internal readonly record struct FileBudget(long Length, long Remaining);

    /// <summary>
    /// Floats of non-trainable weights (a batch normalization's running statistics): values training changes that are
    /// not parameters, which Keras's <c>get_weights</c> includes and a restore of the best weights puts back.
    /// </summary>
    internal virtual int NonTrainableCount => 0;

    /// <summary>
    /// What the parameters and non-trainable weights mean, where the counts do not say it (empty otherwise): two layers
    /// of one type, sizes and counts whose layouts differ hold different things in the same places (a layer
    /// normalization's one vector, an offset or a scale). <c>ModelFile.LoadWeights</c> refuses to copy between them.
    /// </summary>
    internal virtual string WeightLayout => string.Empty;

    /// <summary>Copies the <see cref="NonTrainableCount"/> non-trainable weights into <paramref name="destination"/>.</summary>
    internal virtual void CopyNonTrainable(Span<float> destination)
    {
    }

    /// <summary>Puts back what <see cref="CopyNonTrainable"/> copied.</summary>
    internal virtual void RestoreNonTrainable(ReadOnlySpan<float> source)
    {
    }

    /// <summary>
    /// Ends a model's training step: <paramref name="applied"/> when the model updated its parameters, false when it
    /// skipped the update (a loss or gradient that was not finite) or only computed gradients. A layer whose training
    /// forward changes state besides its parameters (a batch normalization's running statistics) changes it here, so
    /// that a skipped step leaves the whole model as it was. A layer outside a model is never called.
    /// </summary>
    internal virtual void EndTrainingStep(bool applied)
    {
    }

    /// <summary>
    /// Whether inference passes the input through unchanged (dropout and the noise layers), so that a model's inference
    /// may skip the layer.
    /// </summary>
    internal virtual bool InferenceIsIdentity => false;

    /// <summary>Whether a training forward draws random values (dropout or noise with a rate above 0): the model's gradient then cannot be checked against its inference loss.</summary>
    internal virtual bool RandomInTraining => false;

    /// <summary>
    /// A built copy with the same settings, name, parameters and state, for a <see cref="Models.Predictor"/>, which
    /// later training must not move; null where the layer has no parameters or state (the predictor then shares it).
    /// </summary>
    internal virtual Layer? CopyForPrediction() => null;

    /// <summary>
    /// Throws when the state besides the parameters is not one a model file can hold (a batch normalization's running
    /// variance that is negative or not finite): Save checks it, so that it never writes a file Load refuses.
    /// </summary>
    /// <exception cref="InvalidDataException">The state is invalid, named.</exception>
    internal virtual void CheckState()
    {
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    /// <param name="state">The state read back.</param>
    /// <exception cref="InvalidDataException">The state is invalid.</exception>
    protected internal virtual void ReadState(ComponentConfig state)
    {
    }

    /// <inheritdoc/>
    public bool IsBuilt { get; private set; }

    /// <summary>
    /// Whether training updates this layer's parameters (default true), Keras's <c>trainable</c>. When false, a model's
    /// steps (<c>TrainStep</c>, <c>Fit</c>) leave them, and the optimizer's state for them, as they are (no weight decay
    /// either), while the gradient still flows through the layer to the layers below it that train. As Keras takes no
    /// gradient for variables that are not trainable, the layer's own gradients read 0 after <c>ComputeGradients</c> or a
    /// step (a loop of your own on them and <see cref="IOptimizer.Update"/> updates every parameter it gives the
    /// optimizer, with those zeros), and below the lowest layer that trains the backward pass does not run at all: a
    /// frozen base under a new head costs its forward pass and the clearing of its gradients only. A global clip norm measures the
    /// trainable gradients only, and a frozen layer's regularizers add nothing to the loss (Keras 3 counts the
    /// regularizers of trainable variables only). A
    /// <see cref="BatchNormalization"/> that is not trainable also runs in inference mode while the model trains (the
    /// running statistics normalize, and they no longer move), as in Keras 3. The model reads the flag at every step, so
    /// a change applies from the next step (Keras applies it at the next compile); the model file keeps it.
    /// </summary>
    /// <remarks>
    /// Freeze the layers of a trained or imported model and train a new head on them (fine-tuning): the frozen layers'
    /// parameters stay bitwise as they were. The model's optimizer must derive from <see cref="Optimizer"/>.
    /// </remarks>
    public bool Trainable { get; set; } = true;

    /// <summary>The model this layer was added to, if any (a layer belongs to one model).</summary>
    internal object? Owner { get; set; }

    /// <inheritdoc/>
    public int InputSize { get; private set; }

    /// <inheritdoc/>
    public int OutputSize { get; private set; }

    /// <inheritdoc/>
    public virtual int ParameterCount => 0;

    /// <inheritdoc/>
    /// <remarks>
    /// A view, not a copy. Read on the thread of a model's <c>TrainingLoop</c>, the first layer's puts the model's
    /// weights back in row-major order first (a view taken before a later step may show the products' order after it:
    /// take it again), as <c>Sequential.Parameters</c> does.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The model's first layer, read by a callback of <c>Fit</c> between two steps while its weights are in the products' order (every callback's <c>ReadsModelBetweenSteps</c> is false).</exception>
    public Memory<float> Parameters
    {
        get
        {
            BeforeView(nameof(Parameters));
            return _parameters;
        }
    }

    /// <summary>The parameters for the layer's own steps, in whatever order the model holds them now (no check).</summary>
    internal Memory<float> ParameterStorage => _parameters;

    /// <summary>The gradients for the layer's own steps, in whatever order the model holds them now (no check).</summary>
    internal Memory<float> GradientStorage => _gradients;

    /// <summary>Asks the model, if any, before a public view of this layer's arena is handed out (<see cref="IArenaOwner"/>).</summary>
    private protected void BeforeView(string view) => (Owner as IArenaOwner)?.BeforeView(this, view);

    /// <summary>
    /// The layer's variables within <see cref="Parameters"/> (offsets relative to it), for the optimizer's
    /// per-variable options: by default one weight variable over all parameters.
    /// </summary>
    public virtual IReadOnlyList<ParameterSegment> ParameterSegments =>
        ParameterCount == 0 ? [] : [new ParameterSegment($"{Name}/weights", 0, ParameterCount, ParameterRole.Weight)];

    /// <inheritdoc/>
    /// <remarks>A view, not a copy; read on the thread of a model's <c>TrainingLoop</c>, the first layer's puts the model's weights back in row-major order first, as <see cref="Parameters"/> does.</remarks>
    /// <exception cref="InvalidOperationException">As for <see cref="Parameters"/>.</exception>
    public Memory<float> Gradients
    {
        get
        {
            BeforeView(nameof(Gradients));
            return _gradients;
        }
    }

    /// <inheritdoc/>
    public void Build(int inputSize, ulong seed) => Build(inputSize, seed, null);

    /// <summary>
    /// <see cref="Build(int, ulong)"/> from a constructor that takes the input size as <paramref name="size"/>: a refusal
    /// names <c>size</c>, the parameter its caller wrote, not Build's <c>inputSize</c>.
    /// </summary>
    private protected void BuildFromSize(int size, ulong seed)
    {
        _sizeName = nameof(size);
        try
        {
            Build(size, seed, null);
        }
        finally
        {
            _sizeName = "inputSize";
        }
    }

    /// <summary>
    /// <see cref="Build(int, ulong)"/> for a model, which first checks <paramref name="admit"/> with the layer's parameter
    /// count, after its shapes are known and before its parameters are allocated (the check throws to refuse).
    /// </summary>
    internal void Build(int inputSize, ulong seed, Action<Layer>? admit)
    {
        Check.Positive(inputSize, _sizeName, "input size");

        if (IsBuilt)
        {
            if (inputSize != InputSize)
            {
                throw new InvalidOperationException(
                    $"Layer '{Names.Printable(Label)}' is built for {InputSize} input features but is given {inputSize}.");
            }

            return;
        }

        int outputSize = OnBuild(inputSize);
        if (outputSize <= 0)
        {
            // A subclass's answer: -1 passed, and the model failed later with an OverflowException far from the cause.
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(Label)}' ({GetType().Name}) gave an output size of {outputSize} for {inputSize} inputs from OnBuild; it must be positive."));
        }

        OutputSize = outputSize;
        InputSize = inputSize;
        if (ParameterCount < 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(Label)}' ({GetType().Name}) reports {ParameterCount} parameters; ParameterCount must not be negative."));
        }

        if (t_fromFile is { } file && (long)ParameterCount * sizeof(float) > file.Remaining)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(Label)}' ({GetType().Name}) over {inputSize:N0} features has {ParameterCount:N0} parameters, more than the {file.Remaining:N0} bytes left in the file hold."));
        }

        admit?.Invoke(this);
        Check.FitsInMemory(8m * ParameterCount, string.Create(CultureInfo.InvariantCulture,
            $"Layer '{Names.Printable(Label)}' ({ParameterCount:N0} parameters) with its gradients"), "use fewer units");
        _ownParameters = new OwnStorage(new float[ParameterCount], this, "parameters");
        _ownGradients = new OwnStorage(new float[ParameterCount], this, "gradients");
        _parameters = _ownParameters.Memory;
        _gradients = _ownGradients.Memory;
        if (t_fromFile is null)
        {
            InitializeParameters(_parameters.Span, seed);
        }

        OnSeed(seed);
        IsBuilt = true;
    }

    /// <inheritdoc/>
    public void BindParameters(Memory<float> parameters, Memory<float> gradients)
    {
        EnsureBuilt();
        if (parameters.Length != ParameterCount)
        {
            throw new ArgumentException(
                $"Layer '{Names.Printable(Label)}' has {ParameterCount} parameters but {parameters.Length} slots were given.", nameof(parameters));
        }

        if (gradients.Length != ParameterCount)
        {
            throw new ArgumentException(
                $"Layer '{Names.Printable(Label)}' has {ParameterCount} parameters but {gradients.Length} gradient slots were given.", nameof(gradients));
        }

        _parameters.Span.CopyTo(parameters.Span);
        _gradients.Span.CopyTo(gradients.Span);
        _parameters = parameters;
        _gradients = gradients;

        // Views of the storage left behind now throw rather than silently read or write values nothing uses.
        _ownParameters?.Retire();
        _ownGradients?.Retire();
        _ownParameters = _ownGradients = null;
    }

    /// <summary>
    /// A layer's own parameter or gradient storage before a model binds it: a <see cref="Memory{T}"/> over it throws
    /// once the values have moved to the model's arena, where a plain array would go on answering with stale values.
    /// </summary>
    private sealed unsafe class OwnStorage(float[] array, Layer layer, string what) : MemoryManager<float>
    {
        private float[]? _array = array;

        public void Retire() => _array = null;

        public override Span<float> GetSpan() => _array ?? throw Stale();

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            float[] array = _array ?? throw Stale();
            GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new MemoryHandle((float*)handle.AddrOfPinnedObject() + elementIndex, handle, this);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing) => _array = null;

        private InvalidOperationException Stale() => new(
            $"This view of layer '{Names.Printable(layer.Name)}''s {what} was taken before its model's Compile, which moved them into the model's arena: it no longer reaches them. Read layer.Parameters (or Weights, Bias, Gradients) again after Compile.");
    }

    /// <inheritdoc/>
    public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        EnsureBuilt();
        CheckShape(input.Length, batch, InputSize, nameof(input));
        CheckShape(output.Length, batch, OutputSize, nameof(output));
        OnForward(input[..(batch * InputSize)], output[..(batch * OutputSize)], batch, training);
    }

    /// <inheritdoc/>
    public void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
    {
        EnsureBuilt();
        CheckShape(input.Length, batch, InputSize, nameof(input));
        CheckShape(output.Length, batch, OutputSize, nameof(output));
        CheckShape(outputGrad.Length, batch, OutputSize, nameof(outputGrad));
        if (!inputGrad.IsEmpty)
        {
            CheckShape(inputGrad.Length, batch, InputSize, nameof(inputGrad));
            inputGrad = inputGrad[..(batch * InputSize)];
        }

        OnBackward(input[..(batch * InputSize)], output[..(batch * OutputSize)], outputGrad[..(batch * OutputSize)], inputGrad, batch);
    }

    /// <summary>
    /// For an <see cref="OnBuild"/> that keeps state per input feature: refuses that state before it is allocated when
    /// its longest array would be more than one .NET array holds, or all of it more than the memory this process may use
    /// (built for 2³¹ - 1 features, such layers threw an <see cref="OverflowException"/> or an
    /// <see cref="OutOfMemoryException"/> naming nothing).
    /// </summary>
    /// <param name="inputSize">The features the layer is being built for.</param>
    /// <param name="longestPerFeature">Elements per feature in the layer's longest state array.</param>
    /// <param name="bytesPerFeature">Bytes per feature of all its state arrays together.</param>
    /// <param name="savedPerFeature">
    /// Values per feature that a model file holds for the layer (parameters, statistics): while one is read, more values
    /// than the file has bytes are refused before anything is allocated.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">The longest array is more than <see cref="Array.MaxLength"/> elements.</exception>
    /// <exception cref="InsufficientMemoryException">The state is more than the memory this process may use.</exception>
    /// <exception cref="InvalidDataException">A model file being read cannot hold the layer's values.</exception>
    private protected void CheckFeatureState(int inputSize, int longestPerFeature, int bytesPerFeature, int savedPerFeature)
    {
        string layer = string.Create(CultureInfo.InvariantCulture, $"Layer '{Names.Printable(Label)}' ({GetType().Name}) over {inputSize:N0} features");
        long longest = (long)inputSize * longestPerFeature;
        if (longest > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(_sizeName, inputSize, string.Create(CultureInfo.InvariantCulture,
                $"{layer} needs an array of {longest:N0} values, more than one array holds ({Array.MaxLength:N0}): give it fewer features."));
        }

        long saved = (long)inputSize * savedPerFeature;
        if (t_fromFile is { } file && saved > file.Length)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{layer} keeps {saved:N0} values in a model file, more than the file's {file.Length:N0} bytes hold."));
        }

        Check.FitsInMemory((decimal)inputSize * bytesPerFeature, layer, "give it fewer features");
    }

    /// <summary>Returns the output size for <paramref name="inputSize"/>; <see cref="ParameterCount"/> may depend on it.</summary>
    /// <param name="inputSize">Features per input sample, positive.</param>
    /// <returns>Features per output sample.</returns>
    protected abstract int OnBuild(int inputSize);

    /// <summary>Writes the initial parameter values.</summary>
    /// <param name="parameters">The <see cref="ParameterCount"/> parameters.</param>
    /// <param name="seed">The layer's seed.</param>
    protected virtual void InitializeParameters(Span<float> parameters, ulong seed)
    {
    }

    /// <summary>Receives the layer's seed for randomness drawn in training (dropout masks).</summary>
    /// <param name="seed">The layer's seed.</param>
    protected virtual void OnSeed(ulong seed)
    {
    }

    /// <summary>Forward over spans already checked and trimmed to their shapes.</summary>
    /// <param name="input">The <c>[batch, InputSize]</c> input.</param>
    /// <param name="output">The <c>[batch, OutputSize]</c> output.</param>
    /// <param name="batch">The number of samples.</param>
    /// <param name="training">Training mode.</param>
    protected abstract void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training);

    /// <summary>Backward over spans already checked and trimmed; <paramref name="inputGrad"/> is empty when not wanted.</summary>
    /// <param name="input">The <c>[batch, InputSize]</c> input.</param>
    /// <param name="output">The <c>[batch, OutputSize]</c> output.</param>
    /// <param name="outputGrad">The <c>[batch, OutputSize]</c> output gradient.</param>
    /// <param name="inputGrad">The <c>[batch, InputSize]</c> input gradient, or empty.</param>
    /// <param name="batch">The number of samples.</param>
    protected abstract void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch);

    private void EnsureBuilt()
    {
        if (!IsBuilt)
        {
            throw new InvalidOperationException(
                $"Layer '{Names.Printable(Label)}' ({GetType().Name}) is not built: give it an input size or add it to a model first.");
        }
    }

    private void CheckShape(int length, int batch, int features, string name)
    {
        ThrowHelper.CheckNonNegative(batch, nameof(batch));
        long needed = (long)batch * features;
        if (length < needed)
        {
            throw new ArgumentException(
                $"Layer '{Names.Printable(Label)}': {name} holds {length} floats but its shape [batch={batch}, {features}] needs {needed}.", name);
        }
    }
}
