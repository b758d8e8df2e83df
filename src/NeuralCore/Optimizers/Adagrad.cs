using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Adagrad"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001).</param>
/// <param name="InitialAccumulatorValue">The value every accumulator starts at (default 0.1).</param>
/// <param name="Epsilon">Added to the accumulator under the square root (default 1e-7).</param>
public sealed record AdagradOptions(float LearningRate = 1e-3f, float InitialAccumulatorValue = 0.1f, float Epsilon = 1e-7f)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is negative or not finite, ε is not positive and finite, or the initial accumulator value is negative or not finite.</exception>
    public void Validate()
    {
        Check.NonNegative(LearningRate, nameof(LearningRate));
        Check.NonNegative(InitialAccumulatorValue, nameof(InitialAccumulatorValue));
        Check.Positive(Epsilon, nameof(Epsilon));
    }
}

/// <summary>
/// Adagrad (Duchi et al. 2011) with Keras 3's update rule: <c>a ← a + g²</c>; <c>θ ← θ - lr·g / √(a + ε)</c>, the
/// accumulator starting at <see cref="AdagradOptions.InitialAccumulatorValue"/>. Each parameter's step shrinks as its
/// gradients add up. Weight decay and clipping come from <see cref="Optimizer"/>.
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Creates Adagrad with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Adagrad(AdagradOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new AdagradOptions();

    /// <summary>Creates Adagrad with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Adagrad(float learningRate)
        : this(new AdagradOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public AdagradOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "adagrad";

    /// <inheritdoc/>
    /// <remarks>The accumulator a.</remarks>
    protected override int StateSlots => 1;

    /// <inheritdoc/>
    private protected override bool HoldsSquares(int slot) => true;

    /// <inheritdoc/>
    protected override float InitialState(int slot) => Options.InitialAccumulatorValue;

    /// <inheritdoc/>
    /// <remarks><c>initial_accumulator_value</c>, <c>epsilon</c>.</remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("initial_accumulator_value", Options.InitialAccumulatorValue).Set("epsilon", Options.Epsilon);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("adagrad", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var adagrad = new Adagrad(new AdagradOptions(rate, config.GetSingle("initial_accumulator_value"), config.GetSingle("epsilon")));
        adagrad.ReadCommonConfig(config);
        return adagrad;
    });

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate) =>
        OptimizerKernels.AdagradUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), learningRate, Options.Epsilon);

    private static AdagradOptions Validated(AdagradOptions? options)
    {
        options ??= new AdagradOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;

    // Its accumulator holds the gradient's square, which overflows past the square root of float.MaxValue.
    internal override float MaxGradient => MaxCheckedGradient;
}
