using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Lamb"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate (Keras default 0.001).</param>
/// <param name="Beta1">The first-moment decay (default 0.9).</param>
/// <param name="Beta2">The second-moment decay (default 0.999).</param>
/// <param name="Epsilon">Added to the bias-corrected √v (default 1e-7).</param>
public sealed record LambOptions(float LearningRate = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-7f)
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
/// LAMB (You et al. 2019, layer-wise adaptive moments for large batches) with Keras's update rule: Adam's moments, and
/// each variable's step scaled by its trust ratio. At step <c>t</c> (from 1): <c>m ← m + (g - m)(1 - β1)</c>;
/// <c>v ← v + (g² - v)(1 - β2)</c>; <c>u = (m / (1 - β1^t)) / (√(v / (1 - β2^t)) + ε)</c>; per variable (a layer's
/// kernel, its bias: <see cref="Optimizer.Segments"/>) <c>r = ‖θ‖ / ‖u‖</c>, or 1 where either norm is 0;
/// <c>θ ← θ - r·lr·u</c>. Decoupled weight decay (<see cref="Optimizer.WeightDecay"/>) applies before the step, as in
/// Keras, so ‖θ‖ is the decayed weights' norm.
/// </summary>
/// <remarks>
/// The norms are summed in double over each whole variable (<see cref="OptimizerKernels.LambNorms(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, float, float, float, float, float, float)"/>:
/// sixteen running sums added in one fixed order) before any element is updated; the update itself then runs element by
/// element on any number of threads, so results depend neither on the thread count nor on the vector width. Where the
/// updates' squares would all underflow in float, as Keras sums them, the ratio is 1, as there.
/// A model keeps its first layer's weights in their own order while training with LAMB (no panel order, which would sum
/// the norms in another order).
/// </remarks>
public sealed class Lamb : Optimizer
{
    private float _correction1, _correction2;
    private float[] _ratios = [];

    /// <summary>Creates LAMB with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Lamb(LambOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new LambOptions();

    /// <summary>Creates LAMB with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Lamb(float learningRate)
        : this(new LambOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public LambOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "lamb";

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
    internal static void Register() => ComponentRegistry.RegisterOptimizer("lamb", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var lamb = new Lamb(new LambOptions(rate, config.GetSingle("beta_1"), config.GetSingle("beta_2"), config.GetSingle("epsilon")));
        lamb.ReadCommonConfig(config);
        return lamb;
    });

    /// <inheritdoc/>
    protected override void BeginStep(float learningRate)
    {
        long t = Iterations + 1;
        _correction1 = (float)(1 - Math.Pow(Options.Beta1, t));
        _correction2 = (float)(1 - Math.Pow(Options.Beta2, t));
        if (_ratios.Length != Segments.Count)
        {
            _ratios = new float[Segments.Count];
        }
    }

    private protected override bool PreparesVariables => true;

    private protected override void PrepareVariable(int segment, ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients, int offset, float decay)
    {
        (double thetas, double updates) = OptimizerKernels.LambNorms(parameters, gradients, StateSlot(0, offset, parameters.Length),
            StateSlot(1, offset, parameters.Length), decay, Options.Beta1, Options.Beta2, _correction1, _correction2, Options.Epsilon);
        // Keras sums the squares in float: updates whose squares underflow there give ‖u‖ = 0 and ratio 1, where the
        // double sum gave a ratio past float's range and an infinite step (θ of 1e15 against u of 1e-31 wrote -∞ and
        // NaN). A ratio that finite sums still make too large for a finite step is capped there.
        _ratios[segment] = thetas > 0 && (float)updates > 0
            ? (float)Math.Min(Math.Sqrt(thetas) / Math.Sqrt(updates), float.MaxValue / Math.Max(1.0, LearningRate))
            : 1f;
    }

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate)
    {
        float step = _ratios[VariableOf(offset)] * learningRate;
        OptimizerKernels.LambUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), StateSlot(1, offset, length),
            step, Options.Beta1, Options.Beta2, _correction1, _correction2, Options.Epsilon);
    }

    private static LambOptions Validated(LambOptions? options)
    {
        options ??= new LambOptions();
        options.Validate();
        return options;
    }

    // Its second moment holds the gradient's square, which overflows past the square root of float.MaxValue.
    internal override float MaxGradient => MaxCheckedGradient;
}
