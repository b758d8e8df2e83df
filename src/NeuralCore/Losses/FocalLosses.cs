using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Losses;

/// <summary>
/// Binary focal cross-entropy, Keras's <c>BinaryFocalCrossentropy</c> (Lin et al., 2017): the binary cross-entropy of
/// each output scaled by <c>(1 - p_t)^γ</c>, where <c>p_t = t·p + (1 - t)·(1 - p)</c> is the probability given to the
/// target, so that easy, confident examples weigh little and hard ones dominate; per sample
/// <c>l = (1/C) Σ_j w_j·(1 - p_t)^γ·bce_j</c>, with <c>w = α</c> for a positive and <c>1 - α</c> for a negative target
/// when <see cref="ApplyClassBalancing"/> is on (else 1). For imbalanced yes/no problems.
/// </summary>
/// <remarks>
/// <para>As Keras: targets are smoothed to <c>t·(1 - ε) + ε/2</c> first, p is <c>σ(x)</c> from logits or the output
/// itself, bce clips p to <c>[1e-7, 1 - 1e-7]</c> (no gradient through the clip) while <c>p_t</c> uses p unclipped. With
/// γ = 0 and no balancing it is <see cref="BinaryCrossentropy"/>.</para>
/// <para>Gradient, with <c>q = 1 - p_t</c>: <c>∂l/∂p = w·(-γ·q^(γ-1)·(2t - 1)·bce + q^γ·∂bce/∂p)</c>, times
/// <c>p(1 - p)</c> from logits. Where q is 0 (a perfect prediction, possible only at a saturated p) the first term is
/// taken as 0: Keras's autodiff gives NaN there for γ &lt; 1.</para>
/// <para>From logits, a sample the model is confidently wrong about stops pulling, as in Keras: past a logit of about
/// ±16 the sigmoid is clipped and its gradient is 0 (against a plain <see cref="BinaryCrossentropy"/> from logits,
/// whose gradient stays -1 there). Keep logits moderate, or use that loss while they are not.</para>
/// </remarks>
public sealed class BinaryFocalCrossentropy : BinaryCrossentropy
{
    /// <summary>Creates the loss.</summary>
    /// <param name="applyClassBalancing">Whether to weigh positive targets by α and negative ones by 1 - α.</param>
    /// <param name="alpha">α in [0, 1], the weight of the positive class when balancing (Keras's default 0.25).</param>
    /// <param name="gamma">γ ≥ 0, the focusing power (Keras's default 2; 0 turns the focus off).</param>
    /// <param name="fromLogits">Whether the model outputs logits (no Sigmoid layer) rather than probabilities.</param>
    /// <param name="labelSmoothing">ε in [0, 1]: targets become <c>t·(1 - ε) + ε/2</c>.</param>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is outside [0, 1], <paramref name="gamma"/> is negative or not finite, <paramref name="labelSmoothing"/> is outside [0, 1], or <paramref name="reduction"/> is not defined.</exception>
    public BinaryFocalCrossentropy(bool applyClassBalancing = false, float alpha = 0.25f, float gamma = 2f, bool fromLogits = false,
        float labelSmoothing = 0f, Reduction reduction = Reduction.Mean)
        : base(fromLogits, labelSmoothing, reduction)
    {
        Check.InRange(alpha, 0f, 1f, "[]", nameof(alpha));
        Check.NonNegative(gamma, nameof(gamma));
        ApplyClassBalancing = applyClassBalancing;
        Alpha = alpha;
        Gamma = gamma;
    }

    /// <summary>Whether positive targets weigh α and negative ones 1 - α.</summary>
    public bool ApplyClassBalancing { get; }

    /// <summary>α, the weight of the positive class when <see cref="ApplyClassBalancing"/> is on.</summary>
    public float Alpha { get; }

    /// <summary>γ, the focusing power.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public override string Name => "binary_focal_crossentropy";

    [ModuleInitializer]
    internal static new void Register() => ComponentRegistry.RegisterLoss("binary_focal_crossentropy", config => new BinaryFocalCrossentropy(
        config.GetBoolean("apply_class_balancing", false), config.GetSingle("alpha", 0.25f), config.GetSingle("gamma", 2f),
        config.GetBoolean("from_logits", false), config.GetSingle("label_smoothing", 0f), ReadReduction(config)));

    /// <inheritdoc/>
    /// <remarks><c>from_logits</c>, <c>label_smoothing</c>, <c>apply_class_balancing</c>, <c>alpha</c>, <c>gamma</c>.</remarks>
    protected override void WriteSettings(ComponentConfig config)
    {
        base.WriteSettings(config);
        config.Set("apply_class_balancing", ApplyClassBalancing).Set("alpha", Alpha).Set("gamma", Gamma);
    }

    /// <inheritdoc/>
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        double scale = (double)gradScale / outputs, keep = 1.0 - LabelSmoothing, spread = 0.5 * LabelSmoothing, gamma = Gamma;
        const double lower = CategoricalCrossentropy.Epsilon, upper = 1f - CategoricalCrossentropy.Epsilon; // Keras clips in float32
        double loss = 0;
        for (int j = 0; j < outputs; j++)
        {
            double t = ((label >= 0 ? label : target[j]) * keep) + spread;
            double p = FromLogits ? 1 / (1 + Math.Exp(-(double)output[j])) : output[j];
            double clipped = Math.Clamp(p, lower, upper);
            double bce = -((t * Math.Log(clipped)) + ((1 - t) * Math.Log(1 - clipped)));
            double q = 1 - ((t * p) + ((1 - t) * (1 - p)));
            double focus = Math.Pow(q, gamma);
            double weight = ApplyClassBalancing ? (t * Alpha) + ((1 - t) * (1 - Alpha)) : 1;
            loss += weight * focus * bce;

            double bceSlope = p >= lower && p <= upper ? (-t / clipped) + ((1 - t) / (1 - clipped)) : 0;
            double focusSlope = gamma > 0 && q > 0 ? -gamma * Math.Pow(q, gamma - 1) * ((2 * t) - 1) : 0;
            double slope = weight * ((focusSlope * bce) + (focus * bceSlope));
            grad[j] = (float)(scale * (FromLogits ? slope * p * (1 - p) : slope));
        }

        return loss / outputs;
    }
}

/// <summary>
/// Categorical focal cross-entropy, Keras's <c>CategoricalFocalCrossentropy</c> (Lin et al., 2017): per sample
/// <c>l = Σ_j α·(1 - p_j)^γ·(-t_j·log p_j)</c> over the target distribution t (a label's one-hot row, or a row of
/// probabilities) and the predicted p, so that confidently right classes weigh little. For imbalanced multi-class
/// problems; with γ = 0 it is α times <see cref="CategoricalCrossentropy"/>.
/// </summary>
/// <remarks>
/// As Keras: targets are smoothed to <c>t·(1 - ε) + ε/C</c>, p is the softmax of the logits or the outputs over their
/// sum, then clipped to <c>[1e-7, 1 - 1e-7]</c> in both the log and the focal factor (no gradient through the clip).
/// The gradient is that of this expression: per class <c>a_j = α·t_j·(γ(1 - p_j)^(γ-1)·log p_j - (1 - p_j)^γ/p_j)</c>,
/// then <c>p_k(a_k - Σ_j p_j a_j)</c> through the softmax, or <c>(a_k - Σ_j a_j p_j)/Σo</c> through the normalization.
/// As in Keras, a sample whose true class has a probability below 1e-7 (confidently wrong) gets no gradient.
/// </remarks>
public sealed class CategoricalFocalCrossentropy : CategoricalCrossentropy
{
    /// <summary>Creates the loss.</summary>
    /// <param name="alpha">α &gt; 0, the weight of every class (Keras's default 0.25).</param>
    /// <param name="gamma">γ ≥ 0, the focusing power (Keras's default 2; 0 turns the focus off).</param>
    /// <param name="fromLogits">Whether the model outputs logits (no Softmax layer) rather than probabilities.</param>
    /// <param name="labelSmoothing">ε in [0, 1]: targets become <c>t·(1 - ε) + ε/C</c>.</param>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not positive and finite, <paramref name="gamma"/> is negative or not finite, <paramref name="labelSmoothing"/> is outside [0, 1], or <paramref name="reduction"/> is not defined.</exception>
    public CategoricalFocalCrossentropy(float alpha = 0.25f, float gamma = 2f, bool fromLogits = false, float labelSmoothing = 0f,
        Reduction reduction = Reduction.Mean)
        : base(fromLogits, labelSmoothing, reduction)
    {
        Check.Positive(alpha, nameof(alpha));
        Check.NonNegative(gamma, nameof(gamma));
        Alpha = alpha;
        Gamma = gamma;
    }

    /// <summary>α, the weight of every class's term (unless <see cref="ClassAlphas"/> gives one per class).</summary>
    public float Alpha { get; }

    /// <summary>
    /// One α per class instead of <see cref="Alpha"/> (Keras's <c>alpha</c> given as a list), for example the inverse
    /// class frequencies of imbalanced data; null (the default) for <see cref="Alpha"/> on every class. The model must
    /// have one output per value (<c>Compile</c> checks).
    /// </summary>
    /// <exception cref="ArgumentException">A value is not positive and finite, or fewer than two are given.</exception>
    public IReadOnlyList<float>? ClassAlphas
    {
        // A read-only view: the array itself, cast back, could be written past the checks (a negative alpha trained
        // to maximize the loss, and Save wrote a file Load refused).
        get => _classAlphas is null ? null : Array.AsReadOnly(_classAlphas);
        init
        {
            if (value is not null)
            {
                if (value.Count < 2)
                {
                    throw new ArgumentException($"Expected one alpha per class, at least two. Received: {value.Count}.", nameof(ClassAlphas));
                }

                for (int c = 0; c < value.Count; c++)
                {
                    if (!(value[c] > 0 && float.IsFinite(value[c])))
                    {
                        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                            $"Expected positive, finite alphas. Received: classAlphas[{c}]={value[c]}."), nameof(ClassAlphas));
                    }
                }
            }

            _classAlphas = value is null ? null : [.. value];
        }
    }

    private readonly float[]? _classAlphas;

    /// <inheritdoc/>
    internal override string? OutputProblem(int outputs) => _classAlphas is { } alphas && alphas.Length != outputs
        ? string.Create(CultureInfo.InvariantCulture, $"it has {alphas.Length} class alphas, one per class, but the model has {outputs} outputs")
        : null;

    /// <summary>γ, the focusing power.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public override string Name => "categorical_focal_crossentropy";

    [ModuleInitializer]
    internal static new void Register() => ComponentRegistry.RegisterLoss("categorical_focal_crossentropy", config => new CategoricalFocalCrossentropy(
        config.GetSingle("alpha", 0.25f), config.GetSingle("gamma", 2f), config.GetBoolean("from_logits", false),
        config.GetSingle("label_smoothing", 0f), ReadReduction(config))
    {
        ClassAlphas = config.Entries.Any(e => e.Key == "class_alphas") ? config.GetSingles("class_alphas") : null,
    });

    /// <inheritdoc/>
    /// <remarks><c>from_logits</c>, <c>label_smoothing</c>, <c>alpha</c>, <c>gamma</c>, and <c>class_alphas</c> when set.</remarks>
    protected override void WriteSettings(ComponentConfig config)
    {
        base.WriteSettings(config);
        config.Set("alpha", Alpha).Set("gamma", Gamma);
        if (_classAlphas is not null)
        {
            config.Set("class_alphas", _classAlphas);
        }
    }

    /// <inheritdoc/>
    [SkipLocalsInit] // the scratch is written before it is read
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        // The softmax of logits is the library's one softmax kernel (the Softmax layer's, SoftmaxCrossEntropy's and
        // Predict's); the rest in double, as CategoricalCrossentropy's probabilities path: the normalizing sum, the
        // focusing term and the slopes. The third part of the scratch holds the float probabilities.
        int classes = output.Length;
        double[]? rented = null;
        Span<double> scratch = classes <= MaxStackClasses
            ? stackalloc double[3 * MaxStackClasses]
            : (rented = ArrayPool<double>.Shared.Rent(3 * classes));
        try
        {
            Span<float> softmax = MemoryMarshal.Cast<double, float>(scratch.Slice(2 * classes, classes))[..classes];
            return Focal(output, label, target, grad, gradScale, scratch[..classes], scratch.Slice(classes, classes), softmax);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    // Rows up to this many classes keep their scratch on the stack (12 KB).
    private const int MaxStackClasses = 512;

    private double Focal(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale,
        Span<double> p, Span<double> slopes, Span<float> softmax)
    {
        int classes = output.Length;
        double keep = 1.0 - LabelSmoothing, spread = (double)LabelSmoothing / classes, gamma = Gamma;
        float[]? alphas = _classAlphas;
        if (alphas is not null && alphas.Length != classes)
        {
            throw new ArgumentException($"CategoricalFocalCrossentropy: {OutputProblem(classes)}.", nameof(output));
        }
        const double lower = Epsilon, upper = 1f - Epsilon; // Keras clips in float32
        double sum = 0;
        if (FromLogits)
        {
            Elementwise.SoftmaxRows(output, softmax, 1, classes);
        }

        for (int j = 0; j < classes; j++)
        {
            p[j] = FromLogits ? softmax[j] : output[j];
            sum += p[j];
        }

        double loss = 0, weighted = 0;
        for (int j = 0; j < classes; j++)
        {
            p[j] /= sum;
            double t = ((label >= 0 ? (j == label ? 1.0 : 0.0) : target[j]) * keep) + spread;
            double alpha = alphas is null ? Alpha : alphas[j];
            double clipped = Math.Clamp(p[j], lower, upper), rest = 1 - clipped, log = Math.Log(clipped);
            double focus = Math.Pow(rest, gamma);
            loss -= alpha * focus * t * log;

            // a_j = ∂l/∂p_j, zero where the clip holds p (strictly outside its bounds).
            slopes[j] = p[j] >= lower && p[j] <= upper
                ? alpha * t * ((gamma > 0 ? gamma * Math.Pow(rest, gamma - 1) * log : 0) - (focus / clipped))
                : 0;
            weighted += slopes[j] * p[j];
        }

        for (int j = 0; j < classes; j++)
        {
            // Through the softmax p_k(a_k - Σ p_j a_j) (its normalization by a sum of 1 adds nothing); through
            // p = o / Σo, (a_k - Σ a_j p_j) / Σo.
            double a = slopes[j] - weighted;
            grad[j] = (float)(gradScale * (FromLogits ? p[j] * a : a / sum));
        }

        return loss;
    }
}
