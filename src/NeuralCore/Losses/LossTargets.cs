namespace NeuralCore.Losses;

/// <summary>
/// What a batch is scored against: class labels (<c>[batch]</c> indices) or real-valued targets
/// (<c>[batch, outputs]</c> row-major: one-hot rows, probabilities, 0/1 values or regression targets), with optional
/// per-sample weights (<c>[batch]</c>, Keras's <c>sample_weight</c>; empty for all ones).
/// </summary>
public readonly ref struct LossTargets
{
    private LossTargets(ReadOnlySpan<int> labels, ReadOnlySpan<float> values, ReadOnlySpan<float> sampleWeights, bool hasLabels)
    {
        Labels = labels;
        Values = values;
        SampleWeights = sampleWeights;
        HasLabels = hasLabels;
    }

    /// <summary>Class labels, each in <c>[0, outputs)</c> (for a one-output binary loss, 0 or 1).</summary>
    /// <param name="labels">The <c>[batch]</c> labels.</param>
    /// <param name="sampleWeights">The <c>[batch]</c> weights, or empty for all ones.</param>
    /// <returns>The targets.</returns>
    public static LossTargets FromLabels(ReadOnlySpan<int> labels, ReadOnlySpan<float> sampleWeights = default) =>
        new(labels, default, sampleWeights, hasLabels: true);

    /// <summary>Real-valued targets, one row of <c>outputs</c> values per sample.</summary>
    /// <param name="values">The <c>[batch, outputs]</c> targets, row-major.</param>
    /// <param name="sampleWeights">The <c>[batch]</c> weights, or empty for all ones.</param>
    /// <returns>The targets.</returns>
    public static LossTargets FromValues(ReadOnlySpan<float> values, ReadOnlySpan<float> sampleWeights = default) =>
        new(default, values, sampleWeights, hasLabels: false);

    /// <summary>The class labels (empty for real-valued targets).</summary>
    public ReadOnlySpan<int> Labels { get; }

    /// <summary>The real-valued targets (empty for labels).</summary>
    public ReadOnlySpan<float> Values { get; }

    /// <summary>The per-sample weights; empty means every weight is 1.</summary>
    public ReadOnlySpan<float> SampleWeights { get; }

    /// <summary>Whether the targets are class labels.</summary>
    public bool HasLabels { get; }

    /// <summary>The targets of rows <c>[start, start + count)</c>.</summary>
    /// <param name="start">The first row.</param>
    /// <param name="count">The number of rows.</param>
    /// <param name="outputs">Values per row (for real-valued targets).</param>
    /// <returns>The slice.</returns>
    internal LossTargets Slice(int start, int count, int outputs) => new(
        HasLabels ? Labels.Slice(start, count) : default,
        HasLabels ? default : Values.Slice(start * outputs, count * outputs),
        SampleWeights.IsEmpty ? default : SampleWeights.Slice(start, count),
        HasLabels);
}
