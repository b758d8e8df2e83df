using NeuralCore.Configuration;

namespace NeuralCore.Losses;

/// <summary>
/// A loss over a batch of model outputs and their targets (class labels or real values, optionally weighted per
/// sample). Derive from <see cref="Loss"/>, which implements the reductions, weights and checks around a per-sample rule.
/// </summary>
public interface ILoss
{
    /// <summary>The Keras name of the loss (e.g. <c>categorical_crossentropy</c>), its type id in model files.</summary>
    string Name { get; }

    /// <summary>What the loss reads from the model's last layer: logits, probabilities or any values.</summary>
    LossInput Input { get; }

    /// <summary>The kind of problem the loss scores (decides what accuracy means).</summary>
    LossTask Task { get; }

    /// <summary>How per-sample losses combine.</summary>
    Reduction Reduction { get; }

    /// <summary>Writes the settings that rebuild this loss.</summary>
    /// <param name="config">The config to write to.</param>
    void WriteConfig(ComponentConfig config);

    /// <summary>
    /// Returns the reduced loss over the batch and overwrites <paramref name="outputGrad"/> with its gradient
    /// <c>∂loss/∂output</c> (for <see cref="Reduction.None"/>: the mean, and each row's own gradient).
    /// </summary>
    /// <param name="output">The <c>[batch, outputs]</c> model output.</param>
    /// <param name="targets">The batch's labels or values, and optional weights.</param>
    /// <param name="outputGrad">The <c>[batch, outputs]</c> gradient, overwritten.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="outputs">Values per sample; positive.</param>
    /// <returns>The reduced loss.</returns>
    /// <remarks>
    /// The library's losses check labels, sample weights and the target values' finiteness on every call, but not
    /// whether each value suits the loss (that check is the loss's own, per value and per row), so a value outside what
    /// the loss takes (a binary target of 2, a probability row that does not sum to 1) gives a meaningless loss here.
    /// Check data once with <see cref="CheckTargets"/>, as <c>Fit</c> does before its first step and <c>TrainStep</c>
    /// does on every call from outside <c>Fit</c>.
    /// </remarks>
    /// <exception cref="ArgumentException">A span is shorter than its shape, a label is out of range, or a sample weight is negative or not finite.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> or <paramref name="outputs"/> is not positive.</exception>
    double Compute(ReadOnlySpan<float> output, LossTargets targets, Span<float> outputGrad, int batch, int outputs);

    /// <summary>
    /// The weighted sum <c>Σ_r w_r·l_r</c> of the per-sample losses, without a gradient: the same per-sample values
    /// <see cref="Compute"/> reduces, so evaluation and training measure one quantity.
    /// </summary>
    /// <param name="output">The <c>[batch, outputs]</c> model output.</param>
    /// <param name="targets">The labels or values, and optional weights.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="outputs">Values per sample; positive.</param>
    /// <returns>The weighted sum.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, a label is out of range, or a sample weight is negative or not finite.</exception>
    double Sum(ReadOnlySpan<float> output, LossTargets targets, int batch, int outputs);

    /// <summary>Each sample's weighted loss <c>w_r·l_r</c> (Keras's <c>reduction="none"</c>).</summary>
    /// <param name="output">The <c>[batch, outputs]</c> model output.</param>
    /// <param name="targets">The labels or values, and optional weights.</param>
    /// <param name="losses">The <c>[batch]</c> losses, overwritten.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="outputs">Values per sample; positive.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape, a label is out of range, or a sample weight is negative or not finite.</exception>
    void PerSample(ReadOnlySpan<float> output, LossTargets targets, Span<double> losses, int batch, int outputs);

    /// <summary>
    /// What the model predicts from its outputs under this loss: softmax or sigmoid probabilities for a loss on logits,
    /// the outputs themselves otherwise. May run in place.
    /// </summary>
    /// <param name="output">The <c>[batch, outputs]</c> model output.</param>
    /// <param name="predictions">The <c>[batch, outputs]</c> predictions, overwritten.</param>
    /// <param name="batch">The number of samples; non-negative.</param>
    /// <param name="outputs">Values per sample; positive.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    void ToPredictions(ReadOnlySpan<float> output, Span<float> predictions, int batch, int outputs);

    /// <summary>
    /// Checks that targets suit this loss (labels in range; values finite, and probabilities or 0/1 values where the
    /// loss needs them), naming the first bad one. Training and evaluation call it once on their data;
    /// <see cref="Compute"/> checks only labels and lengths.
    /// </summary>
    /// <param name="targets">The labels or values, and optional weights.</param>
    /// <param name="count">The number of samples.</param>
    /// <param name="outputs">Values per sample; positive.</param>
    /// <param name="name">The data's name in messages (e.g. <c>labels</c>, <c>targets</c>).</param>
    /// <exception cref="ArgumentException">A target or weight does not suit the loss.</exception>
    void CheckTargets(LossTargets targets, int count, int outputs, string name);
}
