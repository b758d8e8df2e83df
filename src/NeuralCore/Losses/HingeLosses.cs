using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// What <see cref="Hinge"/> and <see cref="SquaredHinge"/> share: raw scores o against targets y of -1 or 1 (0 read as
/// -1, Keras's conversion of 0/1 targets), the margin <c>max(1 - y·o, 0)</c> of each output averaged over the outputs,
/// squared or not.
/// </summary>
/// <remarks>
/// Targets are -1 or 1, or 0 and 1 (class labels 0 and 1 for one output, one-hot rows for several). Keras converts only
/// a batch whose targets are all 0 or 1, so a batch mixing -1, 0 and 1 scores 0 as 0 there; do not mix the two
/// encodings. Accuracy counts a score above 0 as the positive class, and predictions are the scores themselves.
/// </remarks>
public abstract class HingeLoss : Loss
{
    private readonly bool _squared;

    /// <summary>Creates the loss.</summary>
    /// <param name="squared">Whether each margin is squared.</param>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    private protected HingeLoss(bool squared, Reduction reduction)
        : base(reduction) => _squared = squared;

    /// <inheritdoc/>
    /// <remarks>Raw scores: the margin is on the score, not on a probability.</remarks>
    public override LossInput Input => LossInput.Logits;

    /// <inheritdoc/>
    public override LossTask Task => LossTask.Binary;

    /// <inheritdoc/>
    /// <remarks>-1, 0 or 1.</remarks>
    protected override string? CheckValue(float value) =>
        value is -1 or 0 or 1 ? null : "targets of -1 or 1 (or 0 and 1, read as -1 and 1)";

    /// <inheritdoc/>
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        float scale = gradScale / outputs;
        double sum = 0;
        for (int j = 0; j < outputs; j++)
        {
            float t = label >= 0 ? LabelTarget(label, j, outputs) : target[j];
            double y = t == 0 ? -1 : t;
            double gap = 1 - (y * output[j]);
            if (gap > 0)
            {
                sum += _squared ? gap * gap : gap;
                grad[j] = (float)(_squared ? -2 * scale * y * gap : -scale * y);
            }
            else
            {
                // Past the margin, or NaN (a NaN loss skips the step): no gradient.
                sum += double.IsNaN(gap) ? gap : 0;
                grad[j] = 0f;
            }
        }

        return sum / outputs;
    }
}

/// <summary>
/// Hinge loss, Keras's <c>Hinge</c>: per sample <c>l = (1/C) Σ_j max(1 - y_j·o_j, 0)</c> over raw scores o (no
/// Sigmoid layer) and targets y of -1 or 1; gradient <c>-y/C</c> inside the margin (<c>y·o &lt; 1</c>), 0 beyond. The
/// loss of a linear support vector machine: a yes/no classifier whose score's sign is the class. Targets, accuracy
/// and predictions as <see cref="HingeLoss"/> says.
/// </summary>
public sealed class Hinge : HingeLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public Hinge(Reduction reduction = Reduction.Mean)
        : base(squared: false, reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "hinge";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("hinge", config => new Hinge(ReadReduction(config)));
}

/// <summary>
/// Squared hinge loss, Keras's <c>SquaredHinge</c>: per sample <c>l = (1/C) Σ_j max(1 - y_j·o_j, 0)²</c> over raw
/// scores o and targets y of -1 or 1; gradient <c>-2y·max(1 - y·o, 0)/C</c>. Smooth at the margin, and it punishes
/// large violations more than <see cref="Hinge"/> does. Targets, accuracy and predictions as <see cref="HingeLoss"/> says.
/// </summary>
public sealed class SquaredHinge : HingeLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public SquaredHinge(Reduction reduction = Reduction.Mean)
        : base(squared: true, reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "squared_hinge";

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("squared_hinge", config => new SquaredHinge(ReadReduction(config)));
}

/// <summary>
/// Categorical hinge loss, Keras's <c>CategoricalHinge</c>: per sample <c>l = max(neg - pos + 1, 0)</c> with
/// <c>pos = Σ_j t_j·o_j</c> and <c>neg = max_j (1 - t_j)·o_j</c>, over raw scores o (no Softmax layer) and a one-hot
/// target t (a class label, or a row of 0/1 or soft values); gradient <c>(1 - t_k)·e_k - t</c> inside the margin, with
/// k the index of the largest <c>(1 - t_j)·o_j</c> (the first of equals), and 0 beyond. The multi-class margin loss
/// of Crammer and Singer.
/// </summary>
/// <remarks>
/// As in Keras, the true class's own term <c>(1 - 1)·o = 0</c> takes part in the maximum, so a row whose other scores
/// are all negative has <c>neg = 0</c>. Accuracy takes the argmax of the scores, and predictions are the scores.
/// </remarks>
public sealed class CategoricalHinge : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public CategoricalHinge(Reduction reduction = Reduction.Mean)
        : base(reduction)
    {
    }

    /// <inheritdoc/>
    public override string Name => "categorical_hinge";

    /// <inheritdoc/>
    /// <remarks>Raw scores: the margin is on the score, not on a probability.</remarks>
    public override LossInput Input => LossInput.Logits;

    /// <inheritdoc/>
    public override LossTask Task => LossTask.MultiClass;

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLoss("categorical_hinge", config => new CategoricalHinge(ReadReduction(config)));

    /// <inheritdoc/>
    /// <remarks>Values in [0, 1].</remarks>
    protected override string? CheckValue(float value) =>
        value is >= 0 and <= 1 ? null : "values in [0, 1] (one-hot rows, or class labels)";

    /// <inheritdoc/>
    protected override double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale)
    {
        int outputs = output.Length;
        double positive = 0, negative = double.NegativeInfinity;
        int largest = 0;
        for (int j = 0; j < outputs; j++)
        {
            double t = label >= 0 ? LabelTarget(label, j, outputs) : target[j];
            positive += t * output[j];
            double term = (1 - t) * output[j];
            if (term > negative)
            {
                negative = term;
                largest = j;
            }
        }

        double margin = negative - positive + 1;
        if (!(margin > 0))
        {
            // Beyond the margin, or NaN (Math.Max keeps it: a NaN loss skips the step): no gradient.
            grad[..outputs].Clear();
            return Math.Max(margin, 0);
        }

        for (int j = 0; j < outputs; j++)
        {
            double t = label >= 0 ? LabelTarget(label, j, outputs) : target[j];
            grad[j] = (float)(gradScale * ((j == largest ? 1 - t : 0) - t));
        }

        return margin;
    }
}
