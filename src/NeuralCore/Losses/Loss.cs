using System.Buffers;
using System.Runtime.CompilerServices;
using NeuralCore.Configuration;
using NeuralCore.Kernels;

namespace NeuralCore.Losses;

/// <summary>
/// A loss defined by its per-sample rule <c>l_r</c> (see <see cref="Row"/>): this class adds the weights and the
/// reduction, <c>loss = Σ_r w_r·l_r / B</c> (<see cref="Reduction.Mean"/>) or <c>Σ_r w_r·l_r</c>
/// (<see cref="Reduction.Sum"/>), with the gradient scaled to match, and checks shapes and labels.
/// </summary>
public abstract class Loss : ILoss
{
    /// <summary>Creates a loss with a reduction.</summary>
    /// <param name="reduction">How per-sample losses combine.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    protected Loss(Reduction reduction)
    {
        if (!Enum.IsDefined(reduction))
        {
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, $"Unknown reduction. Received: reduction={reduction}.");
        }

        Reduction = reduction;
    }

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract LossInput Input { get; }

    /// <inheritdoc/>
    public abstract LossTask Task { get; }

    /// <inheritdoc/>
    public Reduction Reduction { get; }

    /// <summary>
    /// Whether the loss is undefined for negative outputs (a rate under a logarithm), so that <c>Compile</c> refuses a
    /// model whose last layer can output them.
    /// </summary>
    internal virtual bool NeedsNonNegativeOutputs => false;

    /// <summary>What makes the loss unfit for a model of <paramref name="outputs"/> outputs, or null (<c>Compile</c> refuses with it).</summary>
    internal virtual string? OutputProblem(int outputs) => null;

    /// <inheritdoc/>
    /// <remarks>Writes <c>reduction</c> (Keras's names), then the loss's own settings (<see cref="WriteSettings"/>).</remarks>
    public void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("reduction", ReductionName(Reduction));
        WriteSettings(config);
    }

    /// <summary>Writes the loss's own settings (none unless overridden).</summary>
    /// <param name="config">The config to write to.</param>
    protected virtual void WriteSettings(ComponentConfig config)
    {
    }

    /// <summary>Reads the reduction a config holds (<see cref="Reduction.Mean"/> when absent).</summary>
    /// <param name="config">The config.</param>
    /// <returns>The reduction.</returns>
    /// <exception cref="InvalidDataException">The name is unknown.</exception>
    protected static Reduction ReadReduction(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.GetString("reduction", "sum_over_batch_size") switch
        {
            "sum_over_batch_size" => Reduction.Mean,
            "sum" => Reduction.Sum,
            "none" => Reduction.None,
            string other => throw new InvalidDataException(
                $"Unknown reduction '{other}': expected sum_over_batch_size, sum or none."),
        };
    }

    private static string ReductionName(Reduction reduction) => reduction switch
    {
        Reduction.Mean => "sum_over_batch_size",
        Reduction.Sum => "sum",
        _ => "none",
    };

    /// <summary>
    /// One sample's loss <c>l</c>, with <c>gradScale·∂l/∂output</c> written to <paramref name="grad"/>.
    /// </summary>
    /// <param name="output">The sample's <c>[outputs]</c> model output.</param>
    /// <param name="label">The sample's class label, or -1 when the targets are values.</param>
    /// <param name="target">The sample's <c>[outputs]</c> target values, or empty when it has a label.</param>
    /// <param name="grad">The sample's <c>[outputs]</c> gradient, overwritten.</param>
    /// <param name="gradScale">The factor of the gradient (the sample's weight over the batch size, or its weight).</param>
    /// <returns>The sample's unweighted loss.</returns>
    protected abstract double Row(ReadOnlySpan<float> output, int label, ReadOnlySpan<float> target, Span<float> grad, float gradScale);

    /// <summary>
    /// How many label values the loss accepts for <paramref name="outputs"/> outputs: unless overridden, one per output,
    /// or 0 and 1 for a single output.
    /// </summary>
    /// <param name="outputs">Values per sample.</param>
    /// <returns>Labels must lie in <c>[0, count)</c>.</returns>
    /// <exception cref="ArgumentException">The loss cannot take labels for that many outputs.</exception>
    protected virtual int LabelCount(int outputs) => outputs == 1 ? 2 : outputs;

    /// <summary>
    /// The target value a label stands for at output <paramref name="j"/>: its one-hot row, or for a single output the
    /// label itself (0 or 1).
    /// </summary>
    /// <param name="label">The label.</param>
    /// <param name="j">The output.</param>
    /// <param name="outputs">The number of outputs.</param>
    /// <returns>0 or 1.</returns>
    protected internal static float LabelTarget(int label, int j, int outputs) =>
        outputs == 1 ? label : (j == label ? 1f : 0f);

    /// <summary>Checks one target value; returns a description of what is wrong, or null.</summary>
    /// <param name="value">The value.</param>
    /// <returns>Null when valid, else the requirement it breaks.</returns>
    protected virtual string? CheckValue(float value) => float.IsFinite(value) ? null : "a finite value";

    /// <summary>Checks one row of target values; returns a description of what is wrong, or null.</summary>
    /// <param name="row">The row.</param>
    /// <returns>Null when valid, else the requirement it breaks.</returns>
    protected virtual string? CheckRow(ReadOnlySpan<float> row) => null;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Compute(ReadOnlySpan<float> output, LossTargets targets, Span<float> outputGrad, int batch, int outputs)
    {
        Check(output.Length, targets, outputGrad.Length, batch, outputs);
        double total = 0;
        for (int r = 0; r < batch; r++)
        {
            total += StepRow(output, targets, outputGrad, batch, outputs, r);
        }

        return Reduced(total, batch);
    }

    /// <summary>
    /// Checks what <see cref="Compute(ReadOnlySpan{float}, LossTargets, Span{float}, int, int)"/> checks, for a step
    /// that then computes its rows apart (<see cref="StepRow"/>, on the threads that computed them).
    /// </summary>
    internal void CheckStep(int output, LossTargets targets, int outputGrad, int batch, int outputs) =>
        Check(output, targets, outputGrad, batch, outputs);

    /// <summary>
    /// Row <paramref name="r"/> of <see cref="Compute(ReadOnlySpan{float}, LossTargets, Span{float}, int, int)"/>: its
    /// gradient row, and its term of the total, which that sums in row order before <see cref="Reduced"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal double StepRow(ReadOnlySpan<float> output, LossTargets targets, Span<float> outputGrad, int batch, int outputs, int r)
    {
        float scale = Reduction == Reduction.Mean ? 1f / batch : 1f;
        ReadOnlySpan<float> weights = targets.SampleWeights;
        float w = weights.IsEmpty ? 1f : weights[r];
        double l = Row(output.Slice(r * outputs, outputs), targets.HasLabels ? targets.Labels[r] : -1,
            targets.HasLabels ? default : targets.Values.Slice(r * outputs, outputs),
            outputGrad.Slice(r * outputs, outputs), weights.IsEmpty ? scale : scale * w);
        return weights.IsEmpty ? l : w * l;
    }

    /// <summary>The reduced loss of a batch whose <see cref="StepRow"/> terms sum to <paramref name="total"/>.</summary>
    internal double Reduced(double total, int batch) => Reduction == Reduction.Sum ? total : total / batch;

    /// <summary>As <see cref="Compute(ReadOnlySpan{float}, LossTargets, Span{float}, int, int)"/> on class labels.</summary>
    /// <param name="output">The <c>[batch, classes]</c> model output.</param>
    /// <param name="labels">The <c>[batch]</c> labels.</param>
    /// <param name="outputGrad">The <c>[batch, classes]</c> gradient, overwritten.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="classes">Values per sample; positive.</param>
    /// <returns>The reduced loss.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, a label is out of range, or a sample weight is negative or not finite.</exception>
    public double Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, Span<float> outputGrad, int batch, int classes)
    {
        NeuralCore.Check.Positive(classes, nameof(classes), "number of classes");
        return Compute(output, LossTargets.FromLabels(labels), outputGrad, batch, classes);
    }

    /// <inheritdoc/>
    public double Sum(ReadOnlySpan<float> output, LossTargets targets, int batch, int outputs)
    {
        Check(output.Length, targets, -1, batch, outputs);
        float[] scratch = ArrayPool<float>.Shared.Rent(outputs);
        try
        {
            ReadOnlySpan<float> weights = targets.SampleWeights;
            double total = 0;
            for (int r = 0; r < batch; r++)
            {
                double l = SampleLoss(output, targets, r, outputs, scratch);
                total += weights.IsEmpty ? l : weights[r] * l;
            }

            return total;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>As <see cref="Sum(ReadOnlySpan{float}, LossTargets, int, int)"/> on class labels.</summary>
    /// <param name="output">The <c>[batch, classes]</c> model output.</param>
    /// <param name="labels">The <c>[batch]</c> labels.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="classes">Values per sample; positive.</param>
    /// <returns>The sum of the per-sample losses.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, a label is out of range, or a sample weight is negative or not finite.</exception>
    public double Sum(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int classes)
    {
        NeuralCore.Check.Positive(classes, nameof(classes), "number of classes");
        return Sum(output, LossTargets.FromLabels(labels), batch, classes);
    }

    /// <inheritdoc/>
    public void PerSample(ReadOnlySpan<float> output, LossTargets targets, Span<double> losses, int batch, int outputs)
    {
        Check(output.Length, targets, -1, batch, outputs);
        NeuralCore.Check.Holds(losses.Length, batch, 1, nameof(losses), "batch", unit: "values");

        float[] scratch = ArrayPool<float>.Shared.Rent(outputs);
        try
        {
            ReadOnlySpan<float> weights = targets.SampleWeights;
            for (int r = 0; r < batch; r++)
            {
                double l = SampleLoss(output, targets, r, outputs, scratch);
                losses[r] = weights.IsEmpty ? l : weights[r] * l;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    // The same Row the training step runs, its gradient written to a scratch row: one computation for both.
    private double SampleLoss(ReadOnlySpan<float> output, LossTargets targets, int r, int outputs, float[] scratch) =>
        Row(output.Slice(r * outputs, outputs), targets.HasLabels ? targets.Labels[r] : -1,
            targets.HasLabels ? default : targets.Values.Slice(r * outputs, outputs), scratch.AsSpan(0, outputs), 1f);

    /// <inheritdoc/>
    /// <remarks>Copies the outputs unless overridden.</remarks>
    public virtual void ToPredictions(ReadOnlySpan<float> output, Span<float> predictions, int batch, int outputs)
    {
        CheckPredictionShapes(output, predictions, batch, outputs);
        output[..(batch * outputs)].CopyTo(predictions);
    }

    /// <summary>Checks the spans of <see cref="ToPredictions"/>.</summary>
    /// <param name="output">The output.</param>
    /// <param name="predictions">The predictions.</param>
    /// <param name="batch">The number of samples.</param>
    /// <param name="outputs">Values per sample.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    protected static void CheckPredictionShapes(ReadOnlySpan<float> output, Span<float> predictions, int batch, int outputs)
    {
        ThrowHelper.CheckNonNegative(batch, nameof(batch));
        NeuralCore.Check.Positive(outputs, nameof(outputs), "number of outputs");
        NeuralCore.Check.Holds(output.Length, batch, outputs, nameof(output), "batch", "outputs");
        NeuralCore.Check.Holds(predictions.Length, batch, outputs, nameof(predictions), "batch", "outputs");
    }

    /// <inheritdoc/>
    public void CheckTargets(LossTargets targets, int count, int outputs, string name)
    {
        NeuralCore.Check.NonNegative(count, nameof(count), "count of samples");
        NeuralCore.Check.Positive(outputs, nameof(outputs), "number of outputs");
        name ??= "targets";
        ReadOnlySpan<float> weights = targets.SampleWeights;
        if (!weights.IsEmpty)
        {
            if (weights.Length < count)
            {
                throw new ArgumentException($"The sample weights hold {weights.Length} values but there are {count} samples.", name);
            }

            NeuralCore.Check.Weights(weights[..count], name, "Sample weight");
        }

        if (targets.HasLabels)
        {
            int classes = LabelCount(outputs);
            ReadOnlySpan<int> labels = targets.Labels;
            NeuralCore.Check.Holds(labels.Length, count, 1, name, "count", unit: "labels");

            int bad = labels[..count].IndexOfAnyExceptInRange(0, classes - 1);
            if (bad >= 0)
            {
                // Regression values passed as int[] were read as class labels and told about classes only.
                string advice = Task == LossTask.Regression
                    ? " If these are values to regress, pass them as float[] targets."
                    : "";
                throw new ArgumentException(
                    $"{name}[{bad}] = {labels[bad]} is outside [0, {classes}): the model has {outputs} output(s) and {Name} takes labels 0 to {classes - 1}.{advice}", name);
            }

            return;
        }

        ReadOnlySpan<float> values = targets.Values;
        NeuralCore.Check.Holds(values.Length, count, outputs, name, "count", "outputs", "values");

        for (int r = 0; r < count; r++)
        {
            ReadOnlySpan<float> row = values.Slice(r * outputs, outputs);
            for (int j = 0; j < outputs; j++)
            {
                if (CheckValue(row[j]) is { } requirement)
                {
                    throw new ArgumentException(
                        $"{name}[{r}, {j}] = {NeuralCore.Check.Format(row[j])}, but {Name} needs {requirement}.", name);
                }
            }

            if (CheckRow(row) is { } rowRequirement)
            {
                throw new ArgumentException($"{name} row {r} does not suit {Name}: it needs {rowRequirement}.", name);
            }
        }
    }

    // The labels travel inside the targets, but messages name them as the caller knows them.
    private const string Labels = "labels";

    private void Check(int output, LossTargets targets, int outputGrad, int batch, int outputs)
    {
        NeuralCore.Check.Positive(batch, nameof(batch), "batch size");

        NeuralCore.Check.Positive(outputs, nameof(outputs), "number of outputs");

        long needed = (long)batch * outputs;
        NeuralCore.Check.Holds(output, batch, outputs, nameof(output), "batch", "outputs");
        if (outputGrad >= 0)
        {
            NeuralCore.Check.Holds(outputGrad, batch, outputs, nameof(outputGrad), "batch", "outputs");
        }

        if (!targets.SampleWeights.IsEmpty)
        {
            if (targets.SampleWeights.Length < batch)
            {
                throw new ArgumentException($"The sample weights hold {targets.SampleWeights.Length} values but the batch has {batch}.", nameof(targets));
            }

            // A negative weight turned the loss into something to maximize without a word; a batch's weights are few.
            NeuralCore.Check.Weights(targets.SampleWeights[..batch], nameof(targets), "Sample weight");
        }

        if (targets.HasLabels)
        {
            ReadOnlySpan<int> labels = targets.Labels;
            NeuralCore.Check.Holds(labels.Length, batch, 1, Labels, "batch", unit: "values");
            int classes = LabelCount(outputs);
            int bad = labels[..batch].IndexOfAnyExceptInRange(0, classes - 1);
            if (bad >= 0)
            {
                NeuralCore.Check.Class(labels[bad], bad, classes, Labels);
            }

            return;
        }

        NeuralCore.Check.Holds(targets.Values.Length, batch, outputs, nameof(targets), "batch", "outputs", "values");
        if (Kernels.Elementwise.IndexOfNonFinite(targets.Values[..(int)needed]) is int nonFinite and >= 0)
        {
            // A vectorized scan of the batch's values (a NaN target gave a NaN loss with no word of where it came from);
            // each loss's own range (a binary target in [0, 1]) is CheckTargets's, run once over the data by Fit.
            throw new ArgumentException(
                $"targets[{nonFinite / outputs}, {nonFinite % outputs}] = {NeuralCore.Check.Format(targets.Values[nonFinite])}: targets must be finite.", nameof(targets));
        }
    }
}
