using System.Diagnostics;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Optimizers;

/// <summary>
/// The base of NeuralCore's optimizers, as Keras's <c>Optimizer</c>: it owns the learning rate (constant, or a
/// <see cref="Schedule"/> of the step count), the step count, the
/// state arena, gradient clipping (<see cref="ClipNorm"/>, <see cref="ClipValue"/> or <see cref="GlobalClipNorm"/>) and
/// decoupled weight decay (<see cref="WeightDecay"/>); a subclass implements only its update rule
/// (<see cref="Apply"/>) over a range of the arena. Updates are element-wise, so a model may apply a step range by
/// range on several threads with bitwise the result of one pass.
/// </summary>
/// <remarks>
/// Per step, for each variable (a layer's kernel or bias): the gradient is clipped (Keras: <c>clipnorm</c> scales each
/// variable's gradient to at most that norm, <c>global_clipnorm</c> all of them together, <c>clipvalue</c> clamps each
/// element; at most one of them); then, with weight decay, <c>θ ← θ - θ·wd·lr</c> (Keras's
/// <c>_apply_weight_decay</c>, before the update, biases excluded unless <see cref="DecayBiases"/>); then the rule.
/// Norms are summed in double in arena order on the calling thread, so they do not depend on the thread count.
/// </remarks>
public abstract class Optimizer : IOptimizer, IElementwiseOptimizer
{
    // A whole variable's clipped gradient before a LAMB step, on the calling thread (updates clip through the stack).
    [ThreadStatic]
    private static float[]? t_clipped;

    private float _learningRate;
    private LearningRateSchedule? _schedule;
    private float _weightDecay;
    private float _clipNorm;
    private float _clipValue;
    private float _globalClipNorm;
    private bool _decayBiases;
    private string[] _excludeFromWeightDecay = [];
    private bool[] _decays = [];
    private float[] _state = [];
    private int _count = -1;
    private ParameterSegment[] _segments = [];
    private int _largestSegment;
    private float[] _segmentScale = [];
    private bool[] _frozen = [];
    private bool _anyFrozen;
    private float _stepRate;

    /// <summary>Creates an optimizer whose first steps use <paramref name="learningRate"/>.</summary>
    /// <param name="learningRate">The learning rate; non-negative and finite (0, as Keras allows, leaves the parameters as they are).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is out of range.</exception>
    protected Optimizer(float learningRate)
    {
        Check.NonNegative(learningRate, "LearningRate");
        _learningRate = learningRate;
    }

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public long Iterations { get; private set; }

    /// <summary>The model this optimizer is compiled into, if any: its state belongs to one model's parameters.</summary>
    internal object? Owner { get; set; }

    /// <inheritdoc/>
    /// <remarks>While a <see cref="Schedule"/> is set, the rate of the last step begun (the schedule's first rate before any).</remarks>
    /// <exception cref="InvalidOperationException">Set while a <see cref="Schedule"/> is set (as in Keras, whose optimizer built with a schedule refuses a new rate).</exception>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            Check.NonNegative(value, nameof(LearningRate));
            if (_schedule is not null)
            {
                throw new InvalidOperationException(
                    $"{Name} follows its schedule ({_schedule.GetType().Name}), which sets the learning rate of every step: set Schedule to null first to train at a constant rate.");
            }

            _learningRate = value;
        }
    }

    /// <summary>
    /// The learning rate as a function of the step count (Keras: an optimizer built with a
    /// <see cref="LearningRateSchedule"/> as its <c>learning_rate</c>); null, the default, for the constant
    /// <see cref="LearningRate"/>. Each step's rate is <c>Schedule.Rate(Iterations)</c>, the step count before it, in
    /// <c>Fit</c>, <c>TrainStep</c> and a training loop alike; weight decay scales with it. Saved with a model file
    /// (the library's four schedules), so a resumed run continues the schedule where it stopped. Setting a schedule sets
    /// <see cref="LearningRate"/> to its rate at the current step; setting null keeps that rate.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The schedule's rate at the current step is negative, infinite or NaN (a step at which that happens throws the same, naming the step).</exception>
    public LearningRateSchedule? Schedule
    {
        get => _schedule;
        set
        {
            if (value is not null)
            {
                _learningRate = ScheduledRate(value, Iterations);
            }

            _schedule = value;
        }
    }

    /// <summary>
    /// Decoupled weight decay (Keras's <c>weight_decay</c>; 0, the default, turns it off): before each update
    /// <c>θ ← θ - θ·wd·lr</c>, for weights only unless <see cref="DecayBiases"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, infinite or NaN.</exception>
    public float WeightDecay
    {
        get => _weightDecay;
        init
        {
            Check.NonNegative(value, nameof(WeightDecay));
            _weightDecay = value;
        }
    }

    /// <summary>Whether weight decay also applies to biases (default false: Keras users exclude them by hand).</summary>
    public bool DecayBiases
    {
        get => _decayBiases;
        init => _decayBiases = value;
    }

    /// <summary>
    /// Variables left out of weight decay by name (Keras's <c>exclude_from_weight_decay(var_names=...)</c>): a variable
    /// whose <see cref="ParameterSegment.Name"/> (<c>dense_1/kernel</c>, <c>layer_normalization/gamma</c>) contains any
    /// of these strings (ordinal) is not decayed, whatever its role and <see cref="DecayBiases"/>. With
    /// <see cref="DecayBiases"/> set, <c>["/bias", "/beta"]</c> decays the normalizations' scales but no offset. Empty by default;
    /// saved with a model file.
    /// </summary>
    /// <exception cref="ArgumentException">A string is null, empty or holds a line break.</exception>
    public IReadOnlyList<string> ExcludeFromWeightDecay
    {
        get => _excludeFromWeightDecay;
        init => _excludeFromWeightDecay = CheckedExclusions(value);
    }

    // Keras refuses two clippings when the optimizer is built; found only at the first update, the error came after
    // the model had compiled and data had loaded.
    private void CheckOneClipping(string parameter)
    {
        if ((_clipNorm > 0 ? 1 : 0) + (_clipValue > 0 ? 1 : 0) + (_globalClipNorm > 0 ? 1 : 0) > 1)
        {
            throw new ArgumentException(
                $"{Name}: set at most one of ClipNorm, ClipValue and GlobalClipNorm (Keras allows one). Received: clipnorm={_clipNorm}, clipvalue={_clipValue}, global_clipnorm={_globalClipNorm}.", parameter);
        }
    }

    /// <summary>Clips each variable's gradient to this L2 norm (Keras's <c>clipnorm</c>); 0, the default, turns it off.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, infinite or NaN.</exception>
    /// <exception cref="ArgumentException">Another clipping is set already.</exception>
    public float ClipNorm
    {
        get => _clipNorm;
        init
        {
            Check.NonNegative(value, nameof(ClipNorm));
            _clipNorm = value;
            CheckOneClipping(nameof(ClipNorm));
        }
    }

    /// <summary>Clamps every gradient element to [-value, value] (Keras's <c>clipvalue</c>); 0 turns it off.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, infinite or NaN.</exception>
    /// <exception cref="ArgumentException">Another clipping is set already.</exception>
    public float ClipValue
    {
        get => _clipValue;
        init
        {
            Check.NonNegative(value, nameof(ClipValue));
            _clipValue = value;
            CheckOneClipping(nameof(ClipValue));
        }
    }

    /// <summary>Clips all gradients together to this L2 norm (Keras's <c>global_clipnorm</c>); 0 turns it off.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, infinite or NaN.</exception>
    /// <exception cref="ArgumentException">Another clipping is set already.</exception>
    public float GlobalClipNorm
    {
        get => _globalClipNorm;
        init
        {
            Check.NonNegative(value, nameof(GlobalClipNorm));
            _globalClipNorm = value;
            CheckOneClipping(nameof(GlobalClipNorm));
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The slots of <see cref="StateSlots"/>, each as long as the arena, one after the other. Read on the thread of its
    /// model's <c>TrainingLoop</c>, it puts the first layer's state back in row-major order first, as the model's
    /// <c>Parameters</c> does.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Read by a callback of <c>Fit</c> between two steps while the model's first layer is in its products' order (every callback's <c>ReadsModelBetweenSteps</c> is false).</exception>
    public Memory<float> State
    {
        get
        {
            (Owner as IArenaOwner)?.BeforeView(this, nameof(State));
            return _state;
        }
    }

    /// <summary>The state for the optimizer's and the model's own use, in whatever order the model holds it now (no check).</summary>
    internal Memory<float> StateStorage => _state;

    /// <summary>
    /// Whether state slot <paramref name="slot"/> holds averages or sums of squares (Adam's v), which no step leaves
    /// negative: a file's state is checked against it (<c>ModelFile.Load</c>).
    /// </summary>
    private protected virtual bool HoldsSquares(int slot) => false;

    /// <summary>
    /// The first value of the state that no step could have left (a negative average of squares: Adam's v of -1 moved
    /// a weight by -288 at the next step), described for a message; null when there is none.
    /// </summary>
    internal string? ImpossibleState()
    {
        ReadOnlySpan<float> state = _state;
        for (int slot = 0; slot < StateSlots && (long)(slot + 1) * _count <= state.Length; slot++)
        {
            if (!HoldsSquares(slot))
            {
                continue;
            }

            ReadOnlySpan<float> values = state.Slice(slot * _count, _count);
            int i = values.IndexOfAnyInRange(float.NegativeInfinity, -float.Epsilon);
            if (i >= 0)
            {
                return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{Name}'s state slot {slot} holds {values[i]} for parameter {i}, but it holds averages of squares, which are never negative");
            }
        }

        return null;
    }

    /// <summary>Floats of state per parameter (Adam: m and v; SGD with momentum: the velocity).</summary>
    protected abstract int StateSlots { get; }

    /// <summary>The value every element of state slot <paramref name="slot"/> starts at (0 unless overridden: Adagrad starts its accumulator at 0.1).</summary>
    /// <param name="slot">The slot, from 0 to <see cref="StateSlots"/> - 1.</param>
    /// <returns>The starting value; finite.</returns>
    protected virtual float InitialState(int slot) => 0f;

    /// <summary><see cref="StateSlots"/>, for the model's memory estimate before it compiles.</summary>
    internal int StateSlotCount => StateSlots;

    /// <summary>The number of parameters the optimizer was initialized for, or -1.</summary>
    protected int ParameterCount => _count;

    /// <summary><see cref="ParameterCount"/>, for the model's checks.</summary>
    internal int InitializedCount => _count;

    /// <summary>
    /// Marks the variables the next step leaves as they are (their layer is not <see cref="Layers.Layer.Trainable"/>), one
    /// flag per <see cref="Segments"/> entry; the model sets them before each of its steps, and the step's end clears them,
    /// so that an <see cref="Update"/> of a loop of your own updates every parameter it is given.
    /// </summary>
    internal void SetFrozen(ReadOnlySpan<bool> frozen)
    {
        frozen.CopyTo(_frozen);
        _anyFrozen = frozen.Contains(true);
    }

    /// <summary>The variables of the arena, from the model (one weight variable over everything when not given).</summary>
    public IReadOnlyList<ParameterSegment> Segments => _segments;

    /// <inheritdoc/>
    public void Initialize(int parameterCount) =>
        Initialize(parameterCount, parameterCount == 0 ? [] : [new ParameterSegment("parameters", 0, parameterCount, ParameterRole.Weight)]);

    /// <summary>
    /// Allocates state for <paramref name="parameterCount"/> parameters laid out as <paramref name="segments"/> (which
    /// must cover them, in order, without gaps) and resets the step count.
    /// </summary>
    /// <param name="parameterCount">The arena's length; non-negative.</param>
    /// <param name="segments">The arena's variables.</param>
    /// <exception cref="ArgumentException">The segments do not tile the arena.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parameterCount"/> is negative or the state would not fit in an array.</exception>
    public void Initialize(int parameterCount, IReadOnlyList<ParameterSegment> segments)
    {
        Check.NonNegative(parameterCount, nameof(parameterCount), "parameter count");
        ArgumentNullException.ThrowIfNull(segments);
        int next = 0;
        foreach (ParameterSegment segment in segments)
        {
            if (segment.Offset != next || segment.Length < 0)
            {
                throw new ArgumentException($"The parameter segments must tile the arena in order; '{Names.Printable(segment.Name)}' starts at {segment.Offset}, expected {next}.", nameof(segments));
            }

            if (segment.Columns < 0 || (segment.Columns > 0 && segment.Length % segment.Columns != 0))
            {
                throw new ArgumentException($"The parameter segment '{Names.Printable(segment.Name)}' has {segment.Length} elements, which {segment.Columns} columns do not divide into rows.", nameof(segments));
            }

            next += segment.Length;
        }

        if (next != parameterCount)
        {
            throw new ArgumentException($"The parameter segments cover {next} parameters but the arena has {parameterCount}.", nameof(segments));
        }

        if (StateSlots < 0)
        {
            // A subclass's answer: -1 failed as an OverflowException allocating the state.
            throw new InvalidOperationException($"{Name} ({GetType().Name}) reports {StateSlots} state slots; StateSlots must not be negative.");
        }

        long length = (long)StateSlots * parameterCount;
        if (length > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(parameterCount), parameterCount,
                $"{Name}'s state for {parameterCount} parameters ({StateSlots} per parameter) would not fit in one array.");
        }

        _state = new float[length];
        for (int slot = 0; slot < StateSlots; slot++)
        {
            float initial = InitialState(slot);
            if (!float.IsFinite(initial))
            {
                throw new InvalidOperationException($"{Name} ({GetType().Name}) starts state slot {slot} at {initial}; InitialState must be finite.");
            }

            if (initial != 0f)
            {
                _state.AsSpan(slot * parameterCount, parameterCount).Fill(initial);
            }
        }

        _count = parameterCount;
        _segments = [.. segments];
        _largestSegment = _segments.Length == 0 ? 0 : _segments.Max(s => s.Length);
        // 1 until a norm clips: a scale other than 1 sends an update through the clipping path.
        _segmentScale = [.. Enumerable.Repeat(1f, _segments.Length)];
        _frozen = new bool[_segments.Length];
        _decays = [.. _segments.Select(s => (s.Role == ParameterRole.Weight || _decayBiases)
            && !_excludeFromWeightDecay.Any(name => s.Name.Contains(name, StringComparison.Ordinal)))];
        _anyFrozen = false;
        Iterations = 0;
    }

    /// <summary>
    /// The largest step count <see cref="SetIterations"/> accepts, 2^62: far beyond any run, and far enough from
    /// <see cref="long.MaxValue"/> that a rule's <c>t + 1</c> and <c>t + 2</c> cannot overflow (at <c>long.MaxValue</c>,
    /// Nadam's momentum schedule gave NaN to every parameter and the count wrapped to a negative one).
    /// </summary>
    public const long MaxIterations = 1L << 62;

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iterations"/> is negative or above <see cref="MaxIterations"/>.</exception>
    public void SetIterations(long iterations)
    {
        Check.InRange(iterations, 0, MaxIterations, nameof(iterations), "a step count");
        Iterations = iterations;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Writes <c>learning_rate</c> (the current one), the options set among <c>weight_decay</c>, <c>decay_biases</c>,
    /// <c>clipnorm</c>, <c>clipvalue</c>, <c>global_clipnorm</c>, the <see cref="Schedule"/> (<c>schedule</c>, its
    /// type, and its arguments as <c>schedule_*</c>), then <see cref="WriteRuleConfig"/>.
    /// </remarks>
    /// <exception cref="NotSupportedException">The <see cref="Schedule"/> is a subclass of one's own, which a config cannot rebuild.</exception>
    public void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("learning_rate", LearningRate);
        if (WeightDecay > 0)
        {
            config.Set("weight_decay", WeightDecay).Set("decay_biases", DecayBiases);
            if (_excludeFromWeightDecay.Length > 0)
            {
                config.Set("exclude_from_weight_decay", string.Join('\n', _excludeFromWeightDecay));
            }
        }

        if (ClipNorm > 0)
        {
            config.Set("clipnorm", ClipNorm);
        }

        if (ClipValue > 0)
        {
            config.Set("clipvalue", ClipValue);
        }

        if (GlobalClipNorm > 0)
        {
            config.Set("global_clipnorm", GlobalClipNorm);
        }

        if (_schedule is not null && !_schedule.TryWrite(config))
        {
            throw new NotSupportedException(
                $"{Name} follows a schedule of its own type ({_schedule.GetType().FullName}), which a model file cannot hold: use CosineDecay, ExponentialDecay, PiecewiseConstantDecay or OneCycle, or apply it with a LearningRateScheduler callback (the file then keeps the current rate).");
        }

        WriteRuleConfig(config);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">Not initialized for this length, or more than one kind of clipping is set.</exception>
    /// <exception cref="ArgumentException"><paramref name="gradients"/> is not as long as <paramref name="parameters"/>.</exception>
    public void Update(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (gradients.Length != parameters.Length)
        {
            throw new ArgumentException(
                $"Expected one gradient per parameter: {parameters.Length}. Received: {gradients.Length} gradients.", nameof(gradients));
        }

        BeginStep(parameters, gradients);
        UpdateRange(parameters, gradients, 0, parameters.Length);
        EndStep();
    }

    /// <summary>Writes the update rule's own settings (Adam's betas and epsilon, say).</summary>
    /// <param name="config">The config to write to.</param>
    protected abstract void WriteRuleConfig(ComponentConfig config);

    /// <summary>Reads back what <see cref="WriteConfig"/> wrote besides the rule's settings (for a factory).</summary>
    /// <param name="config">The config read from a file.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentException">More than one clipping is set.</exception>
    protected void ReadCommonConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        LearningRate = config.GetSingle("learning_rate");
        _weightDecay = Checked(config.GetSingle("weight_decay", 0f), nameof(WeightDecay));
        _decayBiases = config.GetBoolean("decay_biases", false);
        _excludeFromWeightDecay = config.Contains("exclude_from_weight_decay")
            ? CheckedExclusions(config.GetString("exclude_from_weight_decay").Split('\n'))
            : [];
        _clipNorm = Checked(config.GetSingle("clipnorm", 0f), nameof(ClipNorm));
        _clipValue = Checked(config.GetSingle("clipvalue", 0f), nameof(ClipValue));
        _globalClipNorm = Checked(config.GetSingle("global_clipnorm", 0f), nameof(GlobalClipNorm));
        CheckOneClipping("config");
        // The saved rate stays what LearningRate reads until the first step, which takes the schedule's rate at the
        // step count restored with the state.
        _schedule = LearningRateSchedule.Read(config);
    }

    /// <summary>
    /// Prepares a step (Adam's bias correction, say); called once before the <see cref="Apply"/> calls of a step, with
    /// <see cref="Iterations"/> still the number of steps before it.
    /// </summary>
    /// <param name="learningRate">This step's learning rate.</param>
    protected virtual void BeginStep(float learningRate)
    {
    }

    /// <summary>
    /// Applies the update rule to <c>parameters[offset..offset+length)</c>, element by element, from the (already
    /// clipped) <paramref name="gradients"/> of the same range (its index 0 is element <paramref name="offset"/>) and
    /// the state at the same offset in each slot of <see cref="State"/>.
    /// </summary>
    /// <param name="parameters">The whole arena.</param>
    /// <param name="gradients">The gradients of the range.</param>
    /// <param name="offset">The range's first element.</param>
    /// <param name="length">The range's length.</param>
    /// <param name="learningRate">This step's learning rate.</param>
    protected abstract void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate);

    /// <summary>Slot <paramref name="slot"/> of the state, over <c>[offset, offset + length)</c>.</summary>
    /// <param name="slot">The slot, from 0 to <see cref="StateSlots"/> - 1.</param>
    /// <param name="offset">The first element.</param>
    /// <param name="length">The number of elements.</param>
    /// <returns>The state.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The slot is not one of <see cref="StateSlots"/>, or the range leaves the arena (it ran into the next slot).</exception>
    protected Span<float> StateSlot(int slot, int offset, int length)
    {
        if ((uint)slot >= (uint)StateSlots)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"{Name} has {StateSlots} state slots.");
        }

        if (offset < 0 || length < 0 || (long)offset + length > _count)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"The range [{offset}, {(long)offset + length}) leaves the arena of {_count} parameters.");
        }

        return _state.AsSpan((slot * _count) + offset, length);
    }

    /// <summary>
    /// Whether <see cref="Apply"/> updates each element from its own parameter, gradient and state only, and keeps all
    /// its state in <see cref="State"/>: then the model may keep the parameters in another order while it trains
    /// (<see cref="Models.Sequential.EnterPanelOrder"/>). The library's own optimizers do; a subclass from outside the
    /// library is assumed not to (a LAMB-style rule sums over its range).
    /// </summary>
    internal virtual bool UpdatesElementByElement => false;

    /// <summary>
    /// The largest gradient magnitude a training step whose gradients the model checks (past a loss of 1e10) may update
    /// with under an optimizer that keeps the gradient's square (Adam, AMSGrad, RMSprop): the square root of
    /// <see cref="float.MaxValue"/> (1.8e19), so that the square stays finite. Finite gradients of 4.6e36 made Adam's
    /// second moment infinite, and the next step's <c>∞ - ∞</c> wrote NaN into 24 weights before any loss was NaN, so the
    /// run stopped holding weights that were no longer finite. SGD takes any finite gradient.
    /// </summary>
    public const float MaxCheckedGradient = 1.8446743e19f;

    /// <summary>
    /// The largest gradient magnitude the update rule stays finite with: any finite one by default (SGD's steps are
    /// linear in it); <see cref="MaxCheckedGradient"/> for rules that keep the gradient's square.
    /// </summary>
    internal virtual float MaxGradient => float.MaxValue;

    /// <summary><see cref="StateSlot"/> for the model, which reorders the state with the parameters it belongs to.</summary>
    internal Span<float> StateRange(int slot, int offset, int length) => StateSlot(slot, offset, length);

    void IElementwiseOptimizer.BeginStep(ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients) => BeginStep(parameters, gradients);

    void IElementwiseOptimizer.UpdateRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length) =>
        UpdateRange(parameters, gradients, offset, length);

    void IElementwiseOptimizer.EndStep() => EndStep();

    bool IElementwiseOptimizer.TakesGradientsInPieces => UpdatesElementByElement && !PreparesVariables && ClipNorm == 0 && GlobalClipNorm == 0;

    private void BeginStep(ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients)
    {
        int parameterCount = parameters.Length;
        if (parameterCount != _count)
        {
            throw new InvalidOperationException(
                $"{Name} is initialized for {_count} parameters but was given {parameterCount}; call Initialize first.");
        }

        if (_schedule is not null)
        {
            _learningRate = ScheduledRate(_schedule, Iterations);
        }

        _stepRate = _learningRate;
        _segmentScale.AsSpan().Fill(1f);
        if (GlobalClipNorm > 0)
        {
            // Over the trainable variables only: Keras clips the gradients of its trainable variables, the others have none.
            double norm = Math.Sqrt(_anyFrozen ? TrainableSumOfSquares(gradients) : SumOfSquares(gradients[..parameterCount]));
            _segmentScale.AsSpan().Fill(Scale(norm, GlobalClipNorm));
        }
        else if (ClipNorm > 0)
        {
            for (int s = 0; s < _segments.Length; s++)
            {
                ParameterSegment segment = _segments[s];
                double norm = Math.Sqrt(SumOfSquares(gradients.Slice(segment.Offset, segment.Length)));
                _segmentScale[s] = Scale(norm, ClipNorm);
            }
        }

        BeginStep(_stepRate);
        if (PreparesVariables)
        {
            if (ClipValue > 0 || ClipNorm > 0 || GlobalClipNorm > 0)
            {
                // Sized for the largest variable at every step, whether or not this one clips: sized by the update's
                // ranges alone (a thread's share), the step where clipping first applied allocated a whole variable.
                EnsureClipBuffer(_largestSegment);
            }

            for (int s = 0; s < _segments.Length; s++)
            {
                if (_frozen[s])
                {
                    continue;
                }

                ParameterSegment segment = _segments[s];
                ReadOnlySpan<float> g = gradients.Slice(segment.Offset, segment.Length);
                if (ClipValue > 0 || _segmentScale[s] != 1f)
                {
                    g = Clip(g, _segmentScale[s], t_clipped);
                }

                float decay = WeightDecay > 0 && _decays[s] ? WeightDecay * _stepRate : 0f;
                PrepareVariable(s, parameters.Slice(segment.Offset, segment.Length), g, segment.Offset, decay);
            }
        }
    }

    /// <summary>
    /// Whether the rule reads each whole variable before the step (a LAMB trust ratio): <see cref="PrepareVariable"/> is
    /// then called for every variable after <see cref="BeginStep(float)"/>, and the model neither reorders the
    /// parameters nor hands the rule gradients in pieces.
    /// </summary>
    private protected virtual bool PreparesVariables => false;

    /// <summary>
    /// Reads variable <paramref name="segment"/> before the step's updates: its parameters as the decoupled weight
    /// decay will leave them (<c>θ - θ·decay</c>, decay 0 where it does not apply) and its clipped gradients.
    /// </summary>
    private protected virtual void PrepareVariable(int segment, ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients, int offset, float decay)
    {
    }

    /// <summary>The index in <see cref="Segments"/> of the variable holding arena element <paramref name="offset"/>.</summary>
    private protected int VariableOf(int offset) => FindSegment(offset);

    [SkipLocalsInit] // the clipped chunk is written before it is read
    private void UpdateRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length)
    {
        // A range from the model lies in one variable or covers whole ones; each piece gets its variable's options.
        // Clipped gradients go through a chunk on the stack: a buffer of each thread's own was allocated by the first
        // update a thread ran with clipping, which came mid-training for a worker that first took over a range then.
        Span<float> chunk = ClipValue > 0 || ClipNorm > 0 || GlobalClipNorm > 0 ? stackalloc float[ClipChunk] : [];

        int end = offset + length;
        int s = FindSegment(offset);
        while (offset < end)
        {
            ParameterSegment segment = _segments[s];
            int pieceEnd = Math.Min(end, segment.Offset + segment.Length);
            int pieceLength = pieceEnd - offset;
            if (_frozen[s])
            {
                // A layer that is not trainable: its parameters and this optimizer's state for them stay as they are.
                offset = pieceEnd;
                s++;
                continue;
            }

            bool decay = WeightDecay > 0 && _decays[s];
            if (ClipValue > 0 || _segmentScale[s] != 1f)
            {
                // A run of ClipChunk at a time through the chunk on the stack (the update is element by element, so the
                // same bits).
                Debug.Assert(chunk.Length == ClipChunk, "a scale other than 1 comes from clipping, which sized the chunk");
                for (int start = offset; start < pieceEnd; start += ClipChunk)
                {
                    int run = Math.Min(ClipChunk, pieceEnd - start);
                    ReadOnlySpan<float> clipped = Clip(gradients.Slice(start, run), _segmentScale[s], chunk);
                    if (decay)
                    {
                        Decay(parameters.Slice(start, run), WeightDecay * _stepRate);
                    }

                    Apply(parameters, clipped, start, run, _stepRate);
                }
            }
            else
            {
                if (decay)
                {
                    Decay(parameters.Slice(offset, pieceLength), WeightDecay * _stepRate);
                }

                Apply(parameters, gradients.Slice(offset, pieceLength), offset, pieceLength, _stepRate);
            }

            offset = pieceEnd;
            s++;
        }
    }

    private void EndStep()
    {
        Iterations++;
        if (_anyFrozen)
        {
            Array.Clear(_frozen);
            _anyFrozen = false;
        }
    }

    private double TrainableSumOfSquares(ReadOnlySpan<float> gradients)
    {
        double sum = 0;
        for (int s = 0; s < _segments.Length; s++)
        {
            if (!_frozen[s])
            {
                sum += SumOfSquares(gradients.Slice(_segments[s].Offset, _segments[s].Length));
            }
        }

        return sum;
    }

    private int FindSegment(int offset)
    {
        int lo = 0, hi = _segments.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (_segments[mid].Offset <= offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    /// <summary>Drops this thread's clipped-gradient buffer, so that a test sees the sizes one model's steps need from the start.</summary>
    internal static void ReleaseClipBuffer() => t_clipped = null;

    // The most gradients clipped at a time (UpdateRange), on the stack: 16 KB.
    private const int ClipChunk = 4096;

    private static void EnsureClipBuffer(int length)
    {
        if (t_clipped is null || t_clipped.Length < length)
        {
            t_clipped = new float[length];
        }
    }

    // The clipped gradient, written to the start of `buffer` (a chunk on the stack in an update; a whole variable before a
    // LAMB step, in the calling thread's buffer, sized for the largest at every step).
    private ReadOnlySpan<float> Clip(ReadOnlySpan<float> gradients, float scale, Span<float> buffer)
    {
        Span<float> clipped = buffer[..gradients.Length];
        float limit = ClipValue;
        for (int i = 0; i < clipped.Length; i++)
        {
            float g = gradients[i] * scale;
            clipped[i] = limit > 0 ? Math.Clamp(g, -limit, limit) : g;
        }

        return clipped;
    }

    private static void Decay(Span<float> parameters, float factor)
    {
        for (int i = 0; i < parameters.Length; i++)
        {
            parameters[i] -= parameters[i] * factor;
        }
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values)
        {
            sum += (double)v * v;
        }

        return sum;
    }

    // Keras: g · clip / max(norm, clip).
    private static string[] CheckedExclusions(IReadOnlyList<string> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string[] copy = [.. value];
        for (int i = 0; i < copy.Length; i++)
        {
            if (string.IsNullOrEmpty(copy[i]) || copy[i].AsSpan().ContainsAny('\n', '\r'))
            {
                throw new ArgumentException(
                    $"ExcludeFromWeightDecay[{i}] is {(copy[i] is null ? "null" : copy[i].Length == 0 ? "empty (it would exclude every variable)" : "a string holding a line break")}: give a part of a variable's name, such as \"/bias\" or \"gamma\".",
                    nameof(value));
            }
        }

        return copy;
    }

    private static float ScheduledRate(LearningRateSchedule schedule, long iteration)
    {
        float rate = schedule.Rate(iteration);
        // The message is built for a bad rate only: this runs before every step, and a step allocates nothing.
        return UsableRate(rate) ? rate : throw BadRate(rate, $"{schedule.GetType().Name}, at step {iteration},", nameof(schedule));
    }

    /// <summary>
    /// Whether a rate that a schedule gives can be applied: the one rule for scheduled rates, here and in the
    /// LearningRateScheduler callback.
    /// </summary>
    internal static bool UsableRate(float rate) => float.IsFinite(rate) && rate >= 0;

    /// <summary>
    /// The error for a rate <see cref="UsableRate"/> refuses, naming its <paramref name="source"/> (the schedule and the
    /// step or epoch): the setter's own check named only <c>learningRate</c>, so a schedule that overflows failed
    /// mid-training without saying which schedule, or when.
    /// </summary>
    internal static ArgumentOutOfRangeException BadRate(float rate, string source, string paramName) =>
        new(paramName, rate, $"{source} gave a learning rate of {Check.Format(rate)}; a rate must be non-negative and finite.");

    private static float Scale(double norm, float clip) => norm > clip ? (float)(clip / norm) : 1f;

    private static float Checked(float value, string name)
    {
        Check.NonNegative(value, name);
        return value;
    }
}
