using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Lion"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001; Lion's steps are ±lr, so it usually wants 3-10 times less than Adam).</param>
/// <param name="Beta1">The interpolation between momentum and gradient that gives the step's sign (default 0.9).</param>
/// <param name="Beta2">The momentum's decay (default 0.99).</param>
public sealed record LionOptions(float LearningRate = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.99f)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is negative or not finite, or a β is outside [0, 1).</exception>
    public void Validate()
    {
        Check.NonNegative(LearningRate, nameof(LearningRate));
        Check.Decay(Beta1, nameof(Beta1));
        Check.Decay(Beta2, nameof(Beta2));
    }
}

/// <summary>
/// Lion (evolved sign momentum, Chen et al. 2023) with Keras 3's update rule: <c>θ ← θ - lr·sign(β1·m + (1 - β1)g)</c>,
/// then <c>m ← β2·m + (1 - β2)g</c>. Every parameter moves by lr (before weight decay, and up to rounding), or not at all
/// where the sign is 0, and it keeps one float of state per parameter where Adam keeps two. Weight decay and clipping
/// come from <see cref="Optimizer"/>. Unlike Keras, which takes β1 in (0, 1], β1 is in [0, 1) here, as every other decay
/// of the library (β1 = 0 is sign descent on the gradient; Keras's β1 = 1 steps by the momentum's sign alone).
/// </summary>
public sealed class Lion : Optimizer
{
    /// <summary>Creates Lion with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Lion(LionOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new LionOptions();

    /// <summary>Creates Lion with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Lion(float learningRate)
        : this(new LionOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public LionOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "lion";

    /// <inheritdoc/>
    /// <remarks>The momentum m.</remarks>
    protected override int StateSlots => 1;

    /// <inheritdoc/>
    /// <remarks><c>beta_1</c>, <c>beta_2</c>.</remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("beta_1", Options.Beta1).Set("beta_2", Options.Beta2);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("lion", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var lion = new Lion(new LionOptions(rate, config.GetSingle("beta_1"), config.GetSingle("beta_2")));
        lion.ReadCommonConfig(config);
        return lion;
    });

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate) =>
        OptimizerKernels.LionUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), learningRate, Options.Beta1, Options.Beta2);

    private static LionOptions Validated(LionOptions? options)
    {
        options ??= new LionOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;
}
