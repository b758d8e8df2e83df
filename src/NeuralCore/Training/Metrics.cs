using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace NeuralCore.Training;

/// <summary>Classification metrics over row-major <c>[batch, classes]</c> outputs and integer labels.</summary>
public static class Metrics
{
    /// <summary>The index of the largest value of each row (the first one on ties): <c>predictions[r] = argmax_j output[r, j]</c>.</summary>
    /// <param name="output">The <c>[batch, classes]</c> scores or probabilities.</param>
    /// <param name="predictions">The <c>[batch]</c> predicted classes, overwritten.</param>
    /// <param name="batch">The number of rows; non-negative.</param>
    /// <param name="classes">The number of columns; positive.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public static void ArgMax(ReadOnlySpan<float> output, Span<int> predictions, int batch, int classes)
    {
        CheckSizes(output, batch, classes);
        if (predictions.Length < batch)
        {
            throw new ArgumentException($"predictions holds {predictions.Length} values but the batch has {batch}.", nameof(predictions));
        }

        for (int r = 0; r < batch; r++)
        {
            predictions[r] = TensorPrimitives.IndexOfMax(output.Slice(r * classes, classes));
        }
    }

    /// <summary>The number of rows whose argmax equals the label.</summary>
    /// <param name="output">The <c>[batch, classes]</c> scores or probabilities.</param>
    /// <param name="labels">The <c>[batch]</c> labels.</param>
    /// <param name="batch">The number of rows; non-negative.</param>
    /// <param name="classes">The number of columns; positive.</param>
    /// <returns>The count of correct predictions.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int CountCorrect(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int classes)
    {
        CheckSizes(output, batch, classes);
        if (labels.Length < batch)
        {
            throw new ArgumentException($"labels holds {labels.Length} values but the batch has {batch}.", nameof(labels));
        }

        int correct = 0;
        for (int r = 0; r < batch; r++)
        {
            if (TensorPrimitives.IndexOfMax(output.Slice(r * classes, classes)) == labels[r])
            {
                correct++;
            }
        }

        return correct;
    }

    private static void CheckSizes(ReadOnlySpan<float> output, int batch, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (output.Length < (long)batch * classes)
        {
            throw new ArgumentException($"output holds {output.Length} floats but [batch={batch}, classes={classes}] needs {(long)batch * classes}.", nameof(output));
        }
    }
}
