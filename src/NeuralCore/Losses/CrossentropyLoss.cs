using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// What the cross-entropies share: they read logits (<see cref="FromLogits"/>; the model then has no softmax or sigmoid
/// layer) or probabilities, smooth their targets by <see cref="LabelSmoothing"/>, and save both settings.
/// </summary>
public abstract class CrossentropyLoss : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether the model outputs logits rather than probabilities.</param>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1], or <paramref name="reduction"/> is not defined.</exception>
    protected CrossentropyLoss(bool fromLogits, float labelSmoothing, Reduction reduction)
        : base(reduction)
    {
        Check.InRange(labelSmoothing, 0f, 1f, "[]", nameof(labelSmoothing), "label_smoothing");

        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>Whether the loss reads logits.</summary>
    public bool FromLogits { get; }

    /// <summary>The label smoothing ε.</summary>
    public float LabelSmoothing { get; }

    /// <inheritdoc/>
    public override LossInput Input => FromLogits ? LossInput.Logits : LossInput.Probabilities;

    /// <inheritdoc/>
    /// <remarks><c>from_logits</c>, <c>label_smoothing</c>.</remarks>
    protected override void WriteSettings(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("from_logits", FromLogits).Set("label_smoothing", LabelSmoothing);
    }
}
