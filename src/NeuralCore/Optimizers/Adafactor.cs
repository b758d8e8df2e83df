using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Optimizers;

/// <summary>Options of <see cref="Adafactor"/>, with Keras's defaults.</summary>
/// <param name="LearningRate">The learning rate lr (Keras default 0.001); the step's ρ_t is <c>min(lr, 1/√t)</c>.</param>
/// <param name="Beta2Decay">The decay exponent of β2: <c>β2_t = 1 - t^decay</c> (default -0.8); at most 0.</param>
/// <param name="Epsilon1">ε1, added to every squared gradient so the second moments stay positive (default 1e-30).</param>
/// <param name="Epsilon2">ε2, the smallest parameter RMS the step scales with (default 1e-3), so zero parameters still move.</param>
/// <param name="ClipThreshold">d, the update RMS above which the step is scaled down (default 1).</param>
public sealed record AdafactorOptions(
    float LearningRate = 1e-3f, float Beta2Decay = -0.8f, float Epsilon1 = 1e-30f, float Epsilon2 = 1e-3f, float ClipThreshold = 1f)
{
    /// <summary>Throws when a value is outside its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The learning rate is negative or not finite, ε1 or the clip threshold is not positive and finite, ε2 is negative or not finite, or the decay
    /// exponent is above 0 or not finite (a positive one gives β2 below 0 from the second step, and negative moments).
    /// </exception>
    public void Validate()
    {
        Check.NonNegative(LearningRate, nameof(LearningRate));
        Check.InRange(Beta2Decay, float.NegativeInfinity, 0f, "(]", nameof(Beta2Decay));

        Check.Positive(Epsilon1, nameof(Epsilon1));
        Check.NonNegative(Epsilon2, nameof(Epsilon2));
        Check.Positive(ClipThreshold, nameof(ClipThreshold));
    }
}

/// <summary>
/// Adafactor (Shazeer and Stern 2018) with Keras 3's update rule. At step t (1-based), with <c>β = 1 - t^decay</c>,
/// <c>ρ = min(lr, 1/√t)</c> and <c>α = max(ε2, RMS(θ))·ρ</c>: a vector variable keeps
/// <c>v = β·v + (1 - β)·(g² + ε1)</c>; a matrix variable (a dense layer's <c>[inputs, units]</c> kernel) keeps only row
/// and column means, <c>r_i = β·r_i + (1 - β)·mean_j(g_ij² + ε1)</c> and <c>c_j = β·c_j + (1 - β)·mean_i(g_ij² + ε1)</c>,
/// and estimates <c>v_ij = (r_i / mean(r))·c_j</c>. Then <c>u = g/√v</c> and <c>θ = θ - α·u / max(1, RMS(u)/d)</c>, RMS
/// taken over each whole variable. Weight decay and clipping come from <see cref="Optimizer"/>.
/// </summary>
/// <remarks>
/// <para>
/// One deliberate difference from Keras: for a matrix, <c>√v_ij</c> is computed as <c>√(r_i / mean(r))·√c_j</c>. Keras
/// forms the product first, which underflows to 0 where a row and a column of zero gradients meet (a blank MNIST
/// pixel and a unit no sample of the batch activates: about 1e-25 times 1e-30); there <c>0/√0</c> is NaN, and the RMS
/// then made the whole kernel NaN at the first step of an MNIST model. Elsewhere the two agree to rounding.
/// </para>
/// <para>
/// As in Keras 3, ρ is <c>min(lr, 1/√t)</c> whatever Keras's <c>relative_step</c> says (its rule applies the minimum in
/// both cases), so that option is not offered. The state is two floats per parameter, laid out in the arena's slots:
/// for a vector, v in the first; for a matrix, r in the first <c>rows</c> floats of its range in the first slot and c
/// in the first <c>columns</c> of its range in the second (Keras also keeps a full-size v). A matrix is a variable
/// whose <see cref="ParameterSegment.Columns"/> is set. The RMS of each variable is summed before the step on one
/// thread, so the model keeps its weights in row-major order with this optimizer.
/// </para>
/// </remarks>
public sealed class Adafactor : Optimizer
{
    private float _rho, _beta;
    private float[] _steps = [];
    private float[] _rowMeans = [];
    private float[] _scratch = [];

    /// <summary>Creates Adafactor with <paramref name="options"/>, or Keras's defaults.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Adafactor(AdafactorOptions? options = null)
        : base(Validated(options).LearningRate) => Options = options ?? new AdafactorOptions();

    /// <summary>Creates Adafactor with a learning rate and the other defaults.</summary>
    /// <param name="learningRate">The learning rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    public Adafactor(float learningRate)
        : this(new AdafactorOptions(LearningRate: learningRate))
    {
    }

    /// <summary>
    /// The options. Their learning rate is the starting one (<see cref="Optimizer.LearningRate"/> is the current one);
    /// for an optimizer read from a model file, the rate in effect when it was saved.
    /// </summary>
    public AdafactorOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => "adafactor";

    /// <inheritdoc/>
    /// <remarks>A vector's v, or a matrix's row moments r; then a matrix's column moments c.</remarks>
    protected override int StateSlots => 2;

    /// <inheritdoc/>
    private protected override bool HoldsSquares(int slot) => true;

    /// <inheritdoc/>
    /// <remarks><c>beta_2_decay</c>, <c>epsilon_1</c>, <c>epsilon_2</c>, <c>clip_threshold</c>.</remarks>
    protected override void WriteRuleConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("beta_2_decay", Options.Beta2Decay).Set("epsilon_1", Options.Epsilon1).Set("epsilon_2", Options.Epsilon2)
            .Set("clip_threshold", Options.ClipThreshold);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterOptimizer("adafactor", config =>
    {
        float rate = config.GetSingle("learning_rate");
        var adafactor = new Adafactor(new AdafactorOptions(rate, config.GetSingle("beta_2_decay"),
            config.GetSingle("epsilon_1"), config.GetSingle("epsilon_2"), config.GetSingle("clip_threshold")));
        adafactor.ReadCommonConfig(config);
        return adafactor;
    });

    /// <inheritdoc/>
    protected override void BeginStep(float learningRate)
    {
        double t = Iterations + 1.0;
        _rho = (float)Math.Min(learningRate, 1 / Math.Sqrt(t));
        _beta = (float)(1 - Math.Pow(t, Options.Beta2Decay));
        int count = Segments.Count;
        if (_steps.Length != count)
        {
            _steps = new float[count];
            _rowMeans = new float[count];
        }

        // Enough for a vector variable's squares, or twice a matrix's columns; sized once, at the first step.
        // By index: a foreach over the list's interface allocated an enumerator every step.
        long scratch = 0;
        for (int s = 0; s < count; s++)
        {
            ParameterSegment segment = Segments[s];
            scratch = Math.Max(scratch, segment.Columns > 0 ? 2L * segment.Columns : segment.Length);
        }

        if (_scratch.Length < scratch)
        {
            _scratch = new float[scratch];
        }
    }

    private protected override bool PreparesVariables => true;

    private protected override void PrepareVariable(int segment, ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients, int offset, float decay)
    {
        ParameterSegment variable = Segments[segment];
        int length = parameters.Length;
        if (length == 0)
        {
            return;
        }

        // RMS(θ) of the parameters as the decoupled weight decay leaves them (Keras decays before its update step).
        // |1 - decay|: a decay past 1 (weight decay × rate) flips the parameters' sign but keeps an RMS.
        double rmsTheta = Math.Sqrt(TensorPrimitives.SumOfSquares(parameters) / (double)length) * Math.Abs(1.0 - decay);
        float alpha = (float)(Math.Max(Options.Epsilon2, rmsTheta) * _rho);
        double squares;
        int columns = variable.Columns;
        if (columns > 0)
        {
            int rows = length / columns;
            Span<float> r = StateSlot(0, offset, rows), c = StateSlot(1, offset, columns);
            float rowMean = (float)(OptimizerKernels.AdafactorFactoredMoments(gradients, columns, r, c, _scratch, _beta, Options.Epsilon1) / rows);
            _rowMeans[segment] = rowMean;
            squares = OptimizerKernels.AdafactorFactoredSquares(gradients, columns, r, rowMean, c, _scratch);
        }
        else
        {
            squares = OptimizerKernels.AdafactorVelocity(gradients, StateSlot(0, offset, length), _scratch, _beta, Options.Epsilon1);
        }

        double rmsUpdate = Math.Sqrt(squares / length);
        _steps[segment] = (float)(alpha / Math.Max(1.0, rmsUpdate / Options.ClipThreshold));
    }

    /// <inheritdoc/>
    protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate)
    {
        int segment = VariableOf(offset);
        ParameterSegment variable = Segments[segment];
        float step = _steps[segment];
        int columns = variable.Columns;
        if (columns == 0)
        {
            OptimizerKernels.AdafactorUpdate(parameters.Slice(offset, length), gradients, StateSlot(0, offset, length), 1f, step);
            return;
        }

        // The range may start and end inside rows: each piece is one row's run of columns.
        float rowMean = _rowMeans[segment];
        int done = 0;
        while (done < length)
        {
            int local = offset + done - variable.Offset;
            int row = local / columns, column = local % columns;
            int piece = Math.Min(columns - column, length - done);
            float rowRoot = MathF.Sqrt(StateSlot(0, variable.Offset + row, 1)[0] / rowMean);
            OptimizerKernels.AdafactorUpdate(parameters.Slice(offset + done, piece), gradients.Slice(done, piece),
                StateSlot(1, variable.Offset + column, piece), rowRoot, step);
            done += piece;
        }
    }

    private static AdafactorOptions Validated(AdafactorOptions? options)
    {
        options ??= new AdafactorOptions();
        options.Validate();
        return options;
    }

    // Its moments hold the gradient's square, which overflows past the square root of float.MaxValue.
    internal override float MaxGradient => MaxCheckedGradient;
}
