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
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is negative or not finite, or the momentum is outside [0, 1).</exception>
    public void Validate()
    {
        Check.NonNegative(LearningRate, nameof(LearningRate));
        Check.Decay(Momentum, nameof(Momentum));
    }
}

/// <summary>
/// Stochastic gradient descent with Keras's semantics: <c>θ ← θ - lr·g</c>; with momentum
/// <c>u ← μu - lr·g</c> and <c>θ ← θ + u</c>, or with Nesterov <c>θ ← θ + μu - lr·g</c>. Weight decay and clipping
/// come from <see cref="Optimizer"/>.
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates SGD with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Sgd(SgdOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new SgdOptions();

    /// <summary>Creates Sgd with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Sgd(float learningRate)
        : this(new SgdOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public SgdOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "sgd";

    /// <inheritdoc/>
    /// <remarks>The velocity u when momentum is used, else nothing.</remarks>
    protected override int StateSlots => Options.Momentum == 0f ? 0 : 1;

    /// <inheritdoc/>
    /// <remarks><c>momentum</c>, <c>nesterov</c>.</remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("momentum", Options.Momentum).Set("nesterov", Options.Nesterov);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("sgd", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var sgd = new Sgd(new SgdOptions(rate, config.GetSingle("momentum"), config.GetBoolean("nesterov")));
        sgd.ReadCommonConfig(config);
        return sgd;
    });

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate) =>
        OptimizerKernels.SgdUpdate(parameters.Slice(offset, length), gradients,
            Options.Momentum == 0f ? Span<float>.Empty : StateSlot(0, offset, length),
            learningRate, Options.Momentum, Options.Nesterov);

    private static SgdOptions Validated(SgdOptions? options)
    {
        options ??= new SgdOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;
}
