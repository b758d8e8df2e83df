using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Adam"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001).</param>
/// <param name="Beta1">The first-moment decay (default 0.9).</param>
/// <param name="Beta2">The second-moment decay (default 0.999).</param>
/// <param name="Epsilon">Added to √v (default 1e-7, Keras's value; PyTorch uses 1e-8).</param>
/// <param name="Amsgrad">Use the maximum of all second moments so far (Reddi et al., Keras's <c>amsgrad</c>; default false).</param>
public sealed record AdamOptions(float LearningRate = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-7f, bool Amsgrad = false)
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
/// Adam with Keras's update rule. At step <c>t</c> (from 1): <c>α = lr·√(1 - β2^t) / (1 - β1^t)</c>;
/// <c>m ← m + (g - m)(1 - β1)</c>; <c>v ← v + (g² - v)(1 - β2)</c>; with amsgrad <c>v̂ ← max(v̂, v)</c> and v̂ in place
/// of v below; <c>θ ← θ - α·m / (√v + ε)</c>. Weight decay and clipping come from <see cref="Optimizer"/>: Keras's
/// <c>AdamW</c> is Adam with <see cref="Optimizer.WeightDecay"/> set (AdamW's default is 0.004).
/// </summary>
public sealed class Adam : Optimizer
{
    private float _alpha;

    /// <summary>Creates Adam with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Adam(AdamOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new AdamOptions();

    /// <summary>Creates Adam with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Adam(float learningRate)
        : this(new AdamOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public AdamOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "adam";

    /// <inheritdoc/>
    /// <remarks>m, then v, then (with amsgrad) v̂.</remarks>
    protected override int StateSlots => Options.Amsgrad ? 3 : 2;

    /// <inheritdoc/>
    private protected override bool HoldsSquares(int slot) => slot >= 1;

    /// <inheritdoc/>
    /// <remarks><c>beta_1</c>, <c>beta_2</c>, <c>epsilon</c>, <c>amsgrad</c>.</remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("beta_1", Options.Beta1).Set("beta_2", Options.Beta2).Set("epsilon", Options.Epsilon).Set("amsgrad", Options.Amsgrad);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("adam", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var adam = new Adam(new AdamOptions(rate, config.GetSingle("beta_1"), config.GetSingle("beta_2"),
            config.GetSingle("epsilon"), config.GetBoolean("amsgrad", false)));
        adam.ReadCommonConfig(config);
        return adam;
    });

    /// <inheritdoc/>
    protected override void BeginStep(float learningRate)
    {
        long t = Iterations + 1;
        _alpha = (float)(learningRate * Math.Sqrt(1 - Math.Pow(Options.Beta2, t)) / (1 - Math.Pow(Options.Beta1, t)));
    }

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate)
    {
        Span<float> p = parameters.Slice(offset, length);
        if (Options.Amsgrad)
        {
            OptimizerKernels.AmsgradUpdate(p, gradients, StateSlot(0, offset, length), StateSlot(1, offset, length),
                StateSlot(2, offset, length), _alpha, Options.Beta1, Options.Beta2, Options.Epsilon);
        }
        else
        {
            OptimizerKernels.AdamUpdate(p, gradients, StateSlot(0, offset, length), StateSlot(1, offset, length),
                _alpha, Options.Beta1, Options.Beta2, Options.Epsilon);
        }
    }

    private static AdamOptions Validated(AdamOptions? options)
    {
        options ??= new AdamOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;

    // Its second moment holds the gradient's square, which overflows past the square root of float.MaxValue.
    internal override float MaxGradient => MaxCheckedGradient;
}
