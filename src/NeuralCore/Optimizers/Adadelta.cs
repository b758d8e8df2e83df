using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Adadelta"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001; the paper and PyTorch use 1.0).</param>
/// <param name="Rho">The decay of both running averages (default 0.95).</param>
/// <param name="Epsilon">Added under both square roots (default 1e-7).</param>
public sealed record AdadeltaOptions(float LearningRate = 1e-3f, float Rho = 0.95f, float Epsilon = 1e-7f)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is negative or not finite, ε is not positive and finite, or ρ is outside [0, 1).</exception>
    public void Validate()
    {
        Check.NonNegative(LearningRate, nameof(LearningRate));
        Check.Decay(Rho, nameof(Rho));
        Check.Positive(Epsilon, nameof(Epsilon));
    }
}

/// <summary>
/// Adadelta (Zeiler 2012) with Keras 3's update rule: <c>a ← ρa + (1 - ρ)g²</c>; <c>Δ = √(d + ε)·g / √(a + ε)</c>;
/// <c>d ← ρd + (1 - ρ)Δ²</c>; <c>θ ← θ - lr·Δ</c>. The step's scale comes from the past steps themselves, so the
/// learning rate matters less than elsewhere (Keras's default of 0.001 learns slowly; 1.0 is the paper's). Weight decay
/// and clipping come from <see cref="Optimizer"/>.
/// </summary>
public sealed class Adadelta : Optimizer
{
    /// <summary>Creates Adadelta with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Adadelta(AdadeltaOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new AdadeltaOptions();

    /// <summary>Creates Adadelta with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Adadelta(float learningRate)
        : this(new AdadeltaOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public AdadeltaOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "adadelta";

    /// <inheritdoc/>
    /// <remarks>The average of squared gradients a, then the average of squared updates d.</remarks>
    protected override int StateSlots => 2;

    /// <inheritdoc/>
    private protected override bool HoldsSquares(int slot) => true;

    /// <inheritdoc/>
    /// <remarks><c>rho</c>, <c>epsilon</c>.</remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("rho", Options.Rho).Set("epsilon", Options.Epsilon);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("adadelta", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var adadelta = new Adadelta(new AdadeltaOptions(rate, config.GetSingle("rho"), config.GetSingle("epsilon")));
        adadelta.ReadCommonConfig(config);
        return adadelta;
    });

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate) =>
        OptimizerKernels.AdadeltaUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), StateSlot(1, offset, length),
            learningRate, Options.Rho, Options.Epsilon);

    private static AdadeltaOptions Validated(AdadeltaOptions? options)
    {
        options ??= new AdadeltaOptions();
        options.Validate();
        return options;
    }

    internal override bool UpdatesElementByElement => true;

    // Its first average holds the gradient's square, which overflows past the square root of float.MaxValue.
    internal override float MaxGradient => MaxCheckedGradient;
}
