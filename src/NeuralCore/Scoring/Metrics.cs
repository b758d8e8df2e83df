using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Losses;

namespace NeuralCore.Scoring;

/// <summary>Accuracy (plain, binary, top-k) and regression metrics over row-major <c>[batch, outputs]</c> model outputs and their labels or targets.</summary>
public static class Metrics
{
    /// <summary>
    /// The index of the largest value of each row (the first one on ties): <c>predictions[r] = argmax_j output[r, j]</c>;
    /// a row holding a NaN gives its first NaN's index, as <see cref="TensorPrimitives.IndexOfMax{T}(ReadOnlySpan{T})"/>.
    /// </summary>
    /// <param name="output">The <c>[batch, classes]</c> scores or probabilities.</param>
    /// <param name="predictions">The <c>[batch]</c> predicted classes, overwritten.</param>
    /// <param name="batch">The number of rows; non-negative.</param>
    /// <param name="classes">The number of columns; positive.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public static void ArgMax(ReadOnlySpan<float> output, Span<int> predictions, int batch, int classes)
    {
        CheckSizes(output, batch, classes);
        Check.Holds(predictions.Length, batch, 1, nameof(predictions), "batch", unit: "values");

        for (int r = 0; r < batch; r++)
        {
            predictions[r] = TensorPrimitives.IndexOfMax(output.Slice(r * classes, classes));
        }
    }

    /// <summary>
    /// The number of rows whose argmax equals the label. A row holding a NaN has no class and never counts (its loss is
    /// NaN too; <see cref="TensorPrimitives.IndexOfMax{T}(ReadOnlySpan{T})"/> alone would name the first NaN's column).
    /// </summary>
    /// <param name="output">The <c>[batch, classes]</c> scores or probabilities.</param>
    /// <param name="labels">The <c>[batch]</c> labels.</param>
    /// <param name="batch">The number of rows; non-negative.</param>
    /// <param name="classes">The number of columns; positive.</param>
    /// <returns>The count of correct predictions.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or a label is outside <c>[0, classes)</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int CountCorrect(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int classes)
    {
        CheckSizes(output, batch, classes);
        Check.Holds(labels.Length, batch, 1, nameof(labels), "batch", unit: "values");

        int correct = 0;
        for (int r = 0; r < batch; r++)
        {
            // A label of 7 or -1 was counted as a plain miss; CountInTopK refused it.
            Check.Class(labels[r], r, classes, nameof(labels));
            correct += Matches(output.Slice(r * classes, classes), labels[r]) ? 1 : 0;
        }

        return correct;
    }

    /// <summary>
    /// The number of rows whose label is among the <paramref name="k"/> highest scores, as Keras's
    /// <c>sparse_top_k_categorical_accuracy</c> (TensorFlow's <c>in_top_k</c>): a row counts when fewer than
    /// <paramref name="k"/> classes score strictly above its label, so classes tied across the boundary all count as
    /// in the top k; a row holding a NaN never counts. With k = 1 and no ties or NaNs this is <see cref="CountCorrect(ReadOnlySpan{float}, ReadOnlySpan{int}, int, int)"/>.
    /// </summary>
    /// <param name="output">The <c>[batch, classes]</c> scores or probabilities.</param>
    /// <param name="labels">The <c>[batch]</c> labels, in [0, classes).</param>
    /// <param name="batch">The number of rows; non-negative.</param>
    /// <param name="classes">The number of columns; positive.</param>
    /// <param name="k">How many of the highest scores count; from 1 to <paramref name="classes"/>.</param>
    /// <returns>The count of rows whose label is in the top k.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or a label is out of range.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or <paramref name="k"/> is out of range.</exception>
    public static int CountInTopK(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int classes, int k)
    {
        CheckSizes(output, batch, classes);
        Check.InRange(k, 1, classes, nameof(k), "k (how many of the highest scores count, at most classes)");
        Check.Holds(labels.Length, batch, 1, nameof(labels), "batch", unit: "values");

        int hits = 0;
        for (int r = 0; r < batch; r++)
        {
            int label = labels[r];
            Check.Class(label, r, classes, nameof(labels));

            ReadOnlySpan<float> row = output.Slice(r * classes, classes);
            float score = row[label];
            int above = 0;
            bool finite = true;
            foreach (float value in row)
            {
                above += value > score ? 1 : 0;
                finite &= float.IsFinite(value);
            }

            // A row with a NaN or an infinity ranks nothing: TensorFlow's in_top_k (which Keras's top-k metrics call)
            // is false for any row holding a non-finite score.
            hits += above < k && finite ? 1 : 0;
        }

        return hits;
    }

    /// <summary>The fraction of rows whose label is among the <paramref name="k"/> highest scores (<see cref="CountInTopK"/>).</summary>
    /// <param name="output">The <c>[batch, classes]</c> scores or probabilities.</param>
    /// <param name="labels">The <c>[batch]</c> labels.</param>
    /// <param name="batch">The number of rows; positive.</param>
    /// <param name="classes">The number of columns; positive.</param>
    /// <param name="k">How many of the highest scores count; from 1 to <paramref name="classes"/>.</param>
    /// <returns>The top-k accuracy in [0, 1].</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or a label is out of range.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or <paramref name="k"/> is out of range.</exception>
    public static double TopKAccuracy(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int classes, int k)
    {
        Check.Positive(batch, nameof(batch), "batch size");
        return (double)CountInTopK(output, labels, batch, classes, k) / batch;
    }

    /// <summary>
    /// Which accuracy suits a loss for a model of <paramref name="outputs"/> outputs: <see cref="AccuracyKind.Binary"/>
    /// for a binary loss or a single output, <see cref="AccuracyKind.Categorical"/> otherwise.
    /// </summary>
    /// <param name="loss">The loss.</param>
    /// <param name="outputs">The model's outputs.</param>
    /// <returns>The kind.</returns>
    public static AccuracyKind AccuracyFor(ILoss loss, int outputs)
    {
        ArgumentNullException.ThrowIfNull(loss);
        return loss.Task == LossTask.Binary || outputs == 1 ? AccuracyKind.Binary : AccuracyKind.Categorical;
    }

    /// <summary>
    /// Counts correct predictions. Categorical: a sample is correct when its output's argmax equals its label (or its
    /// target row's argmax), and never when the row holds a NaN; <c>judged</c> is the batch. Binary: each output that is
    /// not NaN is correct when it lies above
    /// <paramref name="threshold"/> exactly when its target is above ½ (a label is a one-hot row on several outputs, as
    /// the hinge losses read it, and 0 or 1 on one output); <c>judged</c> is
    /// <c>batch·outputs</c> (Keras's <c>binary_accuracy</c> on 0/1 targets; Keras compares a soft target such as 0.7
    /// with the thresholded output for equality, so counts it wrong always, where this counts it as the class above ½).
    /// </summary>
    /// <param name="output">The <c>[batch, outputs]</c> model output.</param>
    /// <param name="targets">The labels or target rows (weights are ignored, as Keras's unweighted metrics).</param>
    /// <param name="batch">The number of samples; non-negative.</param>
    /// <param name="outputs">Values per sample; positive.</param>
    /// <param name="kind">The accuracy.</param>
    /// <param name="threshold">The binary decision threshold on the outputs: 0.5 for probabilities, 0 for logits.</param>
    /// <returns>The number correct, and the number judged.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    /// <remarks>
    /// Labels come as the loss accepted them (a loss of one's own may take labels beyond the outputs, as an ordinal
    /// target): one that is not a class of the outputs counts as a miss here, not an error, so that training goes on.
    /// The label overload, for callers of their own, refuses such labels.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is undefined, or <paramref name="threshold"/> is NaN.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (int Correct, int Judged) CountCorrect(ReadOnlySpan<float> output, LossTargets targets, int batch, int outputs,
        AccuracyKind kind, float threshold)
    {
        // Named here: CheckSizes calls it classes, which this overload's caller never wrote.
        Check.Positive(outputs, nameof(outputs), "number of outputs");
        CheckSizes(output, batch, outputs);
        if (kind is not (AccuracyKind.Categorical or AccuracyKind.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Expected Categorical or Binary.");
        }

        Check.Number(threshold, nameof(threshold), "a number (no output is above NaN)");

        int have = targets.HasLabels ? targets.Labels.Length : targets.Values.Length / outputs;
        if (have < batch)
        {
            throw new ArgumentException($"The targets hold {have} samples but the batch has {batch}.", nameof(targets));
        }

        int correct = 0;
        if (kind == AccuracyKind.Categorical)
        {
            for (int r = 0; r < batch; r++)
            {
                int expected = targets.HasLabels ? targets.Labels[r] : TensorPrimitives.IndexOfMax(targets.Values.Slice(r * outputs, outputs));
                correct += Matches(output.Slice(r * outputs, outputs), expected) ? 1 : 0;
            }

            return (correct, batch);
        }

        for (int r = 0; r < batch; r++)
        {
            for (int j = 0; j < outputs; j++)
            {
                float value = output[(r * outputs) + j];
                // A label on several outputs is a one-hot row, as the loss reads it (Loss.LabelTarget); on one output, 0 or 1.
                bool expected = targets.HasLabels
                    ? targets.Labels[r] == (outputs == 1 ? 1 : j)
                    : targets.Values[(r * outputs) + j] > 0.5f;
                // A NaN output is neither above nor below the threshold: a miss, not a negative.
                correct += !float.IsNaN(value) && (value > threshold) == expected ? 1 : 0;
            }
        }

        return (correct, batch * outputs);
    }

    /// <summary>
    /// Regression metrics of predictions against targets, both <c>[count, outputs]</c> row-major: the mean absolute
    /// and squared errors over all values, the root of the latter, and R² per output (1 - SSE/SST, Keras's
    /// <c>R2Score</c>) averaged over outputs.
    /// </summary>
    /// <param name="predictions">The predictions.</param>
    /// <param name="targets">The targets, as long as <paramref name="predictions"/>.</param>
    /// <param name="outputs">Values per row; positive.</param>
    /// <returns>The metrics (NaN when there is no row; R² needs two).</returns>
    /// <exception cref="ArgumentException">The lengths differ or are not whole rows.</exception>
    public static RegressionMetrics Regression(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int outputs)
    {
        Check.Positive(outputs, nameof(outputs), "number of outputs");
        if (predictions.Length != targets.Length || predictions.Length % outputs != 0)
        {
            throw new ArgumentException(
                $"Expected predictions and targets of the same whole number of rows of {outputs}. Received: {predictions.Length} and {targets.Length} values.", nameof(targets));
        }

        var set = new MetricSet(["mae", "mse", "rmse", "r2"], outputs);
        set.AddPredictions(predictions, LossTargets.FromValues(targets), predictions.Length / outputs);
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        set.WriteTo(values, "");
        return new RegressionMetrics(values["mae"], values["mse"], values["rmse"], values["r2"]);
    }

    // Whether a row's argmax is the expected class; IndexOfMax names the first NaN where a row holds one, so a NaN row
    // never matches.
    internal static bool Matches(ReadOnlySpan<float> row, int expected)
    {
        int predicted = TensorPrimitives.IndexOfMax(row);
        return predicted == expected && !float.IsNaN(row[predicted]);
    }

    private static void CheckSizes(ReadOnlySpan<float> output, int batch, int classes)
    {
        Check.NonNegative(batch, nameof(batch), "batch size");
        Check.Positive(classes, nameof(classes), "number of classes");
        Check.Holds(output.Length, batch, classes, nameof(output), "batch", "classes");
    }
}

/// <summary>What <c>accuracy</c> compares.</summary>
public enum AccuracyKind
{
    /// <summary>The argmax of each output row against the label (or the target row's argmax).</summary>
    Categorical,

    /// <summary>Each output above a threshold against its 0/1 target.</summary>
    Binary,
}

/// <summary>Regression metrics (<see cref="Metrics.Regression"/>).</summary>
/// <param name="MeanAbsoluteError">The mean absolute error.</param>
/// <param name="MeanSquaredError">The mean squared error.</param>
/// <param name="RootMeanSquaredError">Its square root.</param>
/// <param name="R2">The coefficient of determination, averaged over outputs.</param>
public readonly record struct RegressionMetrics(double MeanAbsoluteError, double MeanSquaredError, double RootMeanSquaredError, double R2);
