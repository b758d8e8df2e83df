using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Ftrl"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001).</param>
/// <param name="LearningRatePower">How the per-parameter rate falls with the accumulated squared gradients: at most 0 (default -0.5; 0 keeps a fixed rate).</param>
/// <param name="InitialAccumulatorValue">The value every accumulator starts at (default 0.1).</param>
/// <param name="L1RegularizationStrength">The L1 strength: parameters whose accumulated pull stays within it are exactly 0 (default 0).</param>
/// <param name="L2RegularizationStrength">The L2 strength (default 0).</param>
/// <param name="L2ShrinkageRegularizationStrength">The L2 shrinkage added to the gradient as <c>2·s·θ</c> (default 0).</param>
/// <param name="Beta">Added to the denominator as <c>β/lr</c>, Keras's <c>beta</c> (default 0).</param>
public sealed record FtrlOptions(float LearningRate = 1e-3f, float LearningRatePower = -0.5f, float InitialAccumulatorValue = 0.1f,
    float L1RegularizationStrength = 0f, float L2RegularizationStrength = 0f, float L2ShrinkageRegularizationStrength = 0f, float Beta = 0f)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The learning rate is negative or not finite (0 leaves the parameters and the state as they are); the power is above 0 or not finite; a strength, β or the initial
    /// accumulator value is negative or not finite; or the initial accumulator value is 0 with neither an L2 strength
    /// nor β, whose first step with a zero gradient would divide 0 by 0.
    /// </exception>
    public void Validate()
    {
        Check.NonNegative(LearningRate, nameof(LearningRate));
        Check.InRange(LearningRatePower, float.NegativeInfinity, 0f, "(]", nameof(LearningRatePower),
            "learning_rate_power (Keras's default -0.5; 0 keeps the rate fixed)");

        Check.NonNegative(InitialAccumulatorValue, nameof(InitialAccumulatorValue));
        Check.NonNegative(L1RegularizationStrength, nameof(L1RegularizationStrength));
        Check.NonNegative(L2RegularizationStrength, nameof(L2RegularizationStrength));
        Check.NonNegative(L2ShrinkageRegularizationStrength, nameof(L2ShrinkageRegularizationStrength));
        Check.NonNegative(Beta, nameof(Beta));
        if (InitialAccumulatorValue == 0f && LearningRatePower < 0f && L2RegularizationStrength == 0f && Beta == 0f)
        {
            // Keras accepts it and writes NaN: a parameter whose gradient is still 0 gets (0 - 0) / 0.
            throw new ArgumentOutOfRangeException(nameof(InitialAccumulatorValue), InitialAccumulatorValue,
                "initial_accumulator_value 0 without an L2 strength or beta divides 0 by 0 for every parameter whose gradient has been 0 so far: start the accumulators above 0 (Keras's default 0.1), or set an L2 strength or beta.");
        }
    }
}

/// <summary>
/// FTRL-proximal (McMahan et al. 2013, "Ad click prediction") with Keras 3's update rule, for each parameter with
/// <c>P(x) = x^(-power)</c>: <c>g' = g + 2·shrinkage·θ</c>; <c>n' = n + g²</c>; <c>z ← z + g' - (P(n') - P(n))/lr·θ</c>;
/// <c>θ ← (clip(z, -l1, l1) - z) / (P(n')/lr + 2·(l2 + β/(2·lr)))</c>; <c>n ← n'</c>. The accumulator n starts at
/// <see cref="FtrlOptions.InitialAccumulatorValue"/> and z at 0. With an L1 strength, parameters whose accumulated pull
/// |z| stays within it are exactly 0: sparse linear models. Weight decay and clipping come from <see cref="Optimizer"/>.
/// </summary>
/// <remarks>
/// The rule divides by the learning rate; a step at a rate of 0 (a schedule's end) changes nothing, where Keras's
/// arithmetic gives NaN.
/// </remarks>
public sealed class Ftrl : Optimizer
{
    /// <summary>Creates FTRL with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Ftrl(FtrlOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new FtrlOptions();

    /// <summary>Creates FTRL with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Ftrl(float learningRate)
        : this(new FtrlOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public FtrlOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "ftrl";

    /// <inheritdoc/>
    /// <remarks>The accumulator n, then the linear term z.</remarks>
    protected override int StateSlots => 2;

    /// <inheritdoc/>
    private protected override bool HoldsSquares(int slot) => slot == 0;

    /// <inheritdoc/>
    protected override float InitialState(int slot) => slot == 0 ? Options.InitialAccumulatorValue : 0f;

    /// <inheritdoc/>
    /// <remarks>
    /// <c>learning_rate_power</c>, <c>initial_accumulator_value</c>, <c>l1_regularization_strength</c>,
    /// <c>l2_regularization_strength</c>, <c>l2_shrinkage_regularization_strength</c>, <c>beta</c>.
    /// </remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("learning_rate_power", Options.LearningRatePower).Set("initial_accumulator_value", Options.InitialAccumulatorValue)
            .Set("l1_regularization_strength", Options.L1RegularizationStrength).Set("l2_regularization_strength", Options.L2RegularizationStrength)
            .Set("l2_shrinkage_regularization_strength", Options.L2ShrinkageRegularizationStrength).Set("beta", Options.Beta);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("ftrl", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var ftrl = new Ftrl(new FtrlOptions(rate, config.GetSingle("learning_rate_power"), config.GetSingle("initial_accumulator_value"),
            config.GetSingle("l1_regularization_strength"), config.GetSingle("l2_regularization_strength"),
            config.GetSingle("l2_shrinkage_regularization_strength"), config.GetSingle("beta")));
        ftrl.ReadCommonConfig(config);
        return ftrl;
    });

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate)
    {
        if (learningRate == 0f)
        {
            return;
        }

        float twoL2 = (float)(2 * (Options.L2RegularizationStrength + (Options.Beta / (2.0 * learningRate))));
        if (twoL2 == 0f && (Options.L2RegularizationStrength > 0f || Options.Beta > 0f))
        {
            // A beta of 1e-45 at a rate of 10 rounds to 0 in float, and the 0/0 it was set to prevent came back as NaN:
            // the smallest float keeps a parameter with no gradient yet at 0.
            twoL2 = float.Epsilon;
        }

        // The kernel's path without its argument checks: the options were checked once, and this runs every step.
        OptimizerKernels.FtrlUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), StateSlot(1, offset, length),
            learningRate, Options.LearningRatePower, Options.L1RegularizationStrength, twoL2, Options.L2ShrinkageRegularizationStrength,
            KernelIsaSupport.Widest);
    }

    private static FtrlOptions Validated(FtrlOptions? options)
    {
        options ??= new FtrlOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;

    // Its accumulator holds the gradient's square, which overflows past the square root of float.MaxValue.
    internal override float MaxGradient => MaxCheckedGradient;
}
