using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="RmsProp"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001).</param>
/// <param name="Rho">The decay of the moving average of squared gradients (default 0.9).</param>
/// <param name="Momentum">Momentum on the increments, in [0, 1) (default 0).</param>
/// <param name="Epsilon">Added to the average before its square root (default 1e-7).</param>
/// <param name="Centered">Divide by an estimate of the gradient's variance instead of its second moment (default false).</param>
public sealed record RmsPropOptions(float LearningRate = 1e-3f, float Rho = 0.9f, float Momentum = 0f, float Epsilon = 1e-7f, bool Centered = false)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is negative or not finite, ε is not positive and finite, or ρ or the momentum is outside [0, 1).</exception>
    public void Validate()
    {
        Check.NonNegative(LearningRate, nameof(LearningRate));
        Check.Decay(Rho, nameof(Rho));
        Check.Decay(Momentum, nameof(Momentum));
        Check.Positive(Epsilon, nameof(Epsilon));
    }
}

/// <summary>
/// RMSprop with Keras 3's update rule: <c>v ← ρv + (1 - ρ)g²</c>; centered, also <c>ḡ ← ρḡ + (1 - ρ)g</c> and
/// <c>d = v - ḡ² + ε</c>, else <c>d = v + ε</c>; <c>Δ = lr·g / √d</c>; with momentum μ, <c>u ← μu + Δ</c> and
/// <c>θ ← θ - u</c>, else <c>θ ← θ - Δ</c>.
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates RMSprop with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public RmsProp(RmsPropOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new RmsPropOptions();

    /// <summary>Creates RMSprop with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public RmsProp(float learningRate)
        : this(new RmsPropOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public RmsPropOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "rmsprop";

    /// <inheritdoc/>
    /// <remarks>v, then the momentum u (when used), then ḡ (when centered).</remarks>
    protected override int StateSlots => 1 + (Options.Momentum > 0 ? 1 : 0) + (Options.Centered ? 1 : 0);

    /// <inheritdoc/>
    private protected override bool HoldsSquares(int slot) => slot == 0;

    /// <inheritdoc/>
    /// <remarks><c>rho</c>, <c>momentum</c>, <c>epsilon</c>, <c>centered</c>.</remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("rho", Options.Rho).Set("momentum", Options.Momentum).Set("epsilon", Options.Epsilon).Set("centered", Options.Centered);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("rmsprop", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var rmsprop = new RmsProp(new RmsPropOptions(rate, config.GetSingle("rho"), config.GetSingle("momentum"),
            config.GetSingle("epsilon"), config.GetBoolean("centered")));
        rmsprop.ReadCommonConfig(config);
        return rmsprop;
    });

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate)
    {
        int slot = 1;
        Span<float> momentum = Options.Momentum > 0 ? StateSlot(slot++, offset, length) : Span<float>.Empty;
        Span<float> average = Options.Centered ? StateSlot(slot, offset, length) : Span<float>.Empty;
        OptimizerKernels.RmsPropUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), momentum, average,
            learningRate, Options.Rho, Options.Momentum, Options.Epsilon);
    }

    private static RmsPropOptions Validated(RmsPropOptions? options)
    {
        options ??= new RmsPropOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;

    // Its second moment holds the gradient's square, which overflows past the square root of float.MaxValue.
    internal override float MaxGradient => MaxCheckedGradient;
}
