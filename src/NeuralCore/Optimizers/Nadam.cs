using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Nadam"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001).</param>
/// <param name="Beta1">The first-moment decay, scaled by the momentum schedule (default 0.9).</param>
/// <param name="Beta2">The second-moment decay (default 0.999).</param>
/// <param name="Epsilon">Added to the bias-corrected √v (default 1e-7).</param>
public sealed record NadamOptions(float LearningRate = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-7f)
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
/// Nadam (Adam with Nesterov momentum, Dozat 2016) with Keras 3's update rule. At step <c>t</c> (from 1), with the
/// momentum schedule <c>μ_t = β1·(1 - 0.5·0.96^t)</c> and <c>Π_t = μ_1···μ_t</c>: <c>m ← m + (g - m)(1 - β1)</c>;
/// <c>v ← v + (g² - v)(1 - β2)</c>; <c>m̂ = μ_{t+1}·m / (1 - Π_t·μ_{t+1}) + (1 - μ_t)·g / (1 - Π_t)</c>;
/// <c>v̂ = v / (1 - β2^t)</c>; <c>θ ← θ - lr·m̂ / (√v̂ + ε)</c>. PyTorch's <c>NAdam</c> with <c>momentum_decay=1</c>
/// is the same rule (checked against torch 1.13's <c>foreach=True</c> path; its default single-tensor path multiplies
/// μ_t into the running product twice and drifts from both, by about 1e-3 relative in six steps). Weight decay and
/// clipping come from <see cref="Optimizer"/>.
/// </summary>
/// <remarks>
/// Π_t is not saved: it follows from the step count, and is recomputed from <see cref="Optimizer.Iterations"/>
/// whenever that changes other than by one step (a loaded checkpoint, <see cref="IOptimizer.SetIterations"/>).
/// </remarks>
public sealed class Nadam : Optimizer
{
    // Beyond this step 0.96^t is below double's resolution next to 1, so μ_t is β1 exactly.
    private const int ScheduleSteps = 1000;

    private long _productSteps;
    private double _product = 1;
    private double _scheduledProduct = double.NaN;
    private float _momentumStep, _gradientStep, _secondMomentScale;

    /// <summary>Creates Nadam with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Nadam(NadamOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new NadamOptions();

    /// <summary>Creates Nadam with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Nadam(float learningRate)
        : this(new NadamOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public NadamOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "nadam";

    /// <inheritdoc/>
    /// <remarks>m, then v.</remarks>
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
    internal static void Register() => ComponentRegistry.RegisterOptimizer("nadam", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var nadam = new Nadam(new NadamOptions(rate, config.GetSingle("beta_1"), config.GetSingle("beta_2"), config.GetSingle("epsilon")));
        nadam.ReadCommonConfig(config);
        return nadam;
    });

    /// <inheritdoc/>
    protected override void BeginStep(float learningRate)
    {
        // Past the schedule the product is always taken in closed form, never carried from step to step: a carried
        // product and Math.Pow's differ in the last bit, and a run resumed from a checkpoint must take the same one.
        long before = Iterations;
        if (_productSteps != before || before >= ScheduleSteps)
        {
            _product = MomentumProduct(before);
        }

        long t = before + 1;
        double mu = Mu(t), muNext = Mu(t + 1);
        double product = _product * mu;
        _momentumStep = (float)(learningRate * muNext / (1 - (product * muNext)));
        _gradientStep = (float)(learningRate * (1 - mu) / (1 - product));
        _secondMomentScale = (float)(1 / (1 - Math.Pow(Options.Beta2, t)));
        _product = product;
        _productSteps = t;
    }

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate) =>
        OptimizerKernels.NadamUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), StateSlot(1, offset, length),
            _momentumStep, _gradientStep, _secondMomentScale, Options.Beta1, Options.Beta2, Options.Epsilon);

    // μ_t = β1·(1 - 0.5·0.96^t), Keras's schedule (Dozat's with ψ = 0.004 would be 0.96^(0.004t)).
    private double Mu(long t) => Options.Beta1 * (1 - (0.5 * Math.Pow(0.96, t)));

    // Π_1..steps, multiplied out step by step up to ScheduleSteps (as BeginStep carries it there), and past it
    // Π_1..ScheduleSteps · β1^(steps - ScheduleSteps), every later factor being β1: at most ScheduleSteps factors, once.
    private double MomentumProduct(long steps)
    {
        if (steps > ScheduleSteps)
        {
            if (double.IsNaN(_scheduledProduct))
            {
                _scheduledProduct = MomentumProduct(ScheduleSteps);
            }

            return _scheduledProduct * Math.Pow(Options.Beta1, steps - ScheduleSteps);
        }

        double product = 1;
        for (long t = 1; t <= steps; t++)
        {
            product *= Mu(t);
        }

        return product;
    }

    private static NadamOptions Validated(NadamOptions? options)
    {
        options ??= new NadamOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;

    // Its second moment holds the gradient's square, which overflows past the square root of float.MaxValue.
    internal override float MaxGradient => MaxCheckedGradient;
}
