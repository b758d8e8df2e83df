using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Adam"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001).</param>
/// <param name="Beta1">The first-moment decay (default 0.9).</param>
/// <param name="Beta2">The second-moment decay (default 0.999).</param>
/// <param name="Epsilon">Added to √v (default 1e-7, Keras's value; PyTorch uses 1e-8).</param>
public sealed record AdamOptions(float LearningRate = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-7f)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate or ε is not positive and finite, or a β is outside [0, 1).</exception>
    public void Validate()
    {
        OptionChecks.Positive(LearningRate, nameof(LearningRate));
        OptionChecks.Decay(Beta1, nameof(Beta1));
        OptionChecks.Decay(Beta2, nameof(Beta2));
        OptionChecks.Positive(Epsilon, nameof(Epsilon));
    }
}

/// <summary>
/// Adam with Keras's update rule. At step <c>t</c> (from 1): <c>α = lr·√(1 - β2^t) / (1 - β1^t)</c>;
/// <c>m ← m + (g - m)(1 - β1)</c>; <c>v ← v + (g² - v)(1 - β2)</c>; <c>θ ← θ - α·m / (√v + ε)</c>.
/// </summary>
public sealed class Adam : IOptimizer, IElementwiseOptimizer
{
    private float _learningRate;
    private float _alpha;

    private float[] _state = [];
    private int _count = -1;

    /// <summary>Creates Adam with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Adam(AdamOptions? options = null)
    {
        Options = options ?? new AdamOptions();
        Options.Validate();
        _learningRate = Options.LearningRate;
    }

    /// <summary>Creates Adam with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    public Adam(float learningRate)
        : this(new AdamOptions(LearningRate: learningRate))
    {
    }

    /// <summary>The options.</summary>
    public AdamOptions Options { get; }

    /// <inheritdoc/>
    /// <remarks><c>learning_rate</c> (the current one), <c>beta_1</c>, <c>beta_2</c>, <c>epsilon</c>.</remarks>
    public void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("learning_rate", LearningRate).Set("beta_1", Options.Beta1).Set("beta_2", Options.Beta2).Set("epsilon", Options.Epsilon);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("adam", config =>
    {
        // A decay may have brought the current rate to 0, which the options (the starting rate) do not allow.
        float rate = config.GetSingle("learning_rate");
        var options = new AdamOptions(rate == 0f ? 1e-3f : rate, config.GetSingle("beta_1"), config.GetSingle("beta_2"), config.GetSingle("epsilon"));
        return new Adam(options) { LearningRate = rate };
    });

    /// <inheritdoc/>
    public string Name => "adam";

    /// <inheritdoc/>
    public long Iterations { get; private set; }

    /// <inheritdoc/>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            OptionChecks.NonNegative(value, nameof(LearningRate));
            _learningRate = value;
        }
    }

    /// <inheritdoc/>
    /// <remarks>The first moments m, then the second moments v.</remarks>
    public Memory<float> State => _state;

    /// <inheritdoc/>
    public void Initialize(int parameterCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(parameterCount);
        _state = new float[2L * parameterCount <= Array.MaxLength ? 2 * parameterCount : throw new ArgumentOutOfRangeException(nameof(parameterCount))];
        _count = parameterCount;
        Iterations = 0;
    }

    /// <inheritdoc/>
    public void SetIterations(long iterations)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        Iterations = iterations;
    }

    /// <inheritdoc/>
    public void Update(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        BeginStep(parameters.Length);
        UpdateRange(parameters, gradients, 0, parameters.Length);
        EndStep();
    }

    void IElementwiseOptimizer.BeginStep(int parameterCount) => BeginStep(parameterCount);

    void IElementwiseOptimizer.UpdateRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length) =>
        UpdateRange(parameters, gradients, offset, length);

    void IElementwiseOptimizer.EndStep() => EndStep();

    private void BeginStep(int parameterCount)
    {
        if (parameterCount != _count)
        {
            throw new InvalidOperationException(
                $"Adam is initialized for {_count} parameters but was given {parameterCount}; call Initialize first.");
        }

        long t = Iterations + 1;
        _alpha = (float)(_learningRate * Math.Sqrt(1 - Math.Pow(Options.Beta2, t)) / (1 - Math.Pow(Options.Beta1, t)));
    }

    private void UpdateRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length) =>
        OptimizerKernels.AdamUpdate(parameters.Slice(offset, length), gradients.Slice(offset, length),
            _state.AsSpan(offset, length), _state.AsSpan(_count + offset, length),
            _alpha, Options.Beta1, Options.Beta2, Options.Epsilon);

    private void EndStep() => Iterations++;
}
