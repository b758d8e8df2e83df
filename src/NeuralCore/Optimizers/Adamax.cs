using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Adamax"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001).</param>
/// <param name="Beta1">The first-moment decay (default 0.9).</param>
/// <param name="Beta2">The infinity norm's decay (default 0.999).</param>
/// <param name="Epsilon">Added to the infinity norm (default 1e-7).</param>
public sealed record AdamaxOptions(float LearningRate = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-7f)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is negative or not finite, ε is not positive and finite, or a β is outside [0, 1).</exception>
    public void Validate()
    {
        Check.NonNegative(LearningRate, nameof(LearningRate));
        Check.Decay(Beta1, nameof(Beta1));
        Check.Decay(Beta2, nameof(Beta2));
        Check.Positive(Epsilon, nameof(Epsilon));
    }
}

/// <summary>
/// Adamax (Adam with the infinity norm, Kingma and Ba 2015) with Keras 3's update rule. At step <c>t</c> (from 1):
/// <c>m ← m + (g - m)(1 - β1)</c>; <c>u ← max(β2·u, |g|)</c>; <c>θ ← θ - lr·m / ((1 - β1^t)(u + ε))</c>. Weight decay
/// and clipping come from <see cref="Optimizer"/>.
/// </summary>
public sealed class Adamax : Optimizer
{
    private float _alpha;

    /// <summary>Creates Adamax with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Adamax(AdamaxOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new AdamaxOptions();

    /// <summary>Creates Adamax with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Adamax(float learningRate)
        : this(new AdamaxOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public AdamaxOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "adamax";

    /// <inheritdoc/>
    /// <remarks>m, then u.</remarks>
    protected override int StateSlots => 2;

    /// <inheritdoc/>
    private protected override bool HoldsSquares(int slot) => slot == 1;

    /// <inheritdoc/>
    /// <remarks><c>beta_1</c>, <c>beta_2</c>, <c>epsilon</c>.</remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("beta_1", Options.Beta1).Set("beta_2", Options.Beta2).Set("epsilon", Options.Epsilon);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("adamax", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var adamax = new Adamax(new AdamaxOptions(rate, config.GetSingle("beta_1"), config.GetSingle("beta_2"), config.GetSingle("epsilon")));
        adamax.ReadCommonConfig(config);
        return adamax;
    });

    /// <inheritdoc/>
    protected override void BeginStep(float learningRate) =>
        _alpha = (float)(learningRate / (1 - Math.Pow(Options.Beta1, Iterations + 1)));

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate) =>
        OptimizerKernels.AdamaxUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), StateSlot(1, offset, length),
            _alpha, Options.Beta1, Options.Beta2, Options.Epsilon);

    private static AdamaxOptions Validated(AdamaxOptions? options)
    {
        options ??= new AdamaxOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;

    // The step α·m overflows before the division for gradients near float.MaxValue; the same bound as Adam's keeps
    // every product finite.
    internal override float MaxGradient => MaxCheckedGradient;
}
