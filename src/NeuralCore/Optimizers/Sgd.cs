using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Sgd"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.01).</param>
/// <param name="Momentum">The momentum μ in [0, 1) (default 0: plain SGD).</param>
/// <param name="Nesterov">Whether to use Nesterov momentum (default false).</param>
public sealed record SgdOptions(float LearningRate = 0.01f, float Momentum = 0f, bool Nesterov = false)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is not positive and finite, or the momentum is outside [0, 1).</exception>
    public void Validate()
    {
        OptionChecks.Positive(LearningRate, nameof(LearningRate));
        OptionChecks.Decay(Momentum, nameof(Momentum));
    }
}

/// <summary>
/// Stochastic gradient descent with Keras's semantics: <c>θ ← θ - lr·g</c>; with momentum
/// <c>u ← μu - lr·g</c> and <c>θ ← θ + u</c>, or with Nesterov <c>θ ← θ + μu - lr·g</c>.
/// </summary>
public sealed class Sgd : IOptimizer, IElementwiseOptimizer
{
    private float _learningRate;
    private float[] _velocity = [];
    private int _count = -1;

    /// <summary>Creates SGD with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Sgd(SgdOptions? options = null)
    {
        Options = options ?? new SgdOptions();
        Options.Validate();
        _learningRate = Options.LearningRate;
    }

    /// <summary>The options.</summary>
    public SgdOptions Options { get; }

    /// <inheritdoc/>
    /// <remarks><c>learning_rate</c> (the current one), <c>momentum</c>, <c>nesterov</c>.</remarks>
    public void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("learning_rate", LearningRate).Set("momentum", Options.Momentum).Set("nesterov", Options.Nesterov);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("sgd", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var options = new SgdOptions(rate == 0f ? 1e-2f : rate, config.GetSingle("momentum"), config.GetBoolean("nesterov"));
        return new Sgd(options) { LearningRate = rate };
    });

    /// <inheritdoc/>
    public string Name => "sgd";

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
    /// <remarks>The velocity u when momentum is used, else empty.</remarks>
    public Memory<float> State => _velocity;

    /// <inheritdoc/>
    public void Initialize(int parameterCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(parameterCount);
        _velocity = Options.Momentum == 0f ? [] : new float[parameterCount];
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
                $"Sgd is initialized for {_count} parameters but was given {parameterCount}; call Initialize first.");
        }
    }

    private void UpdateRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length) =>
        OptimizerKernels.SgdUpdate(parameters.Slice(offset, length), gradients.Slice(offset, length),
            _velocity.Length == 0 ? Span<float>.Empty : _velocity.AsSpan(offset, length),
            _learningRate, Options.Momentum, Options.Nesterov);

    private void EndStep() => Iterations++;
}
