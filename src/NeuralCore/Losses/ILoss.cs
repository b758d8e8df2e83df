namespace NeuralCore.Losses;

/// <summary>A classification loss over a batch of model outputs and integer class labels.</summary>
public interface ILoss
{
    /// <summary>The Keras name of the loss (e.g. <c>categorical_crossentropy</c>).</summary>
    string Name { get; }

    /// <summary>Whether the loss reads raw scores (logits) rather than probabilities; prediction then applies softmax.</summary>
    bool ExpectsLogits { get; }

    /// <summary>Writes the settings that rebuild this loss; <see cref="Name"/> is its type id in model files.</summary>
    /// <param name="config">The config to write to.</param>
    void WriteConfig(Configuration.ComponentConfig config);

    /// <summary>
    /// Returns the mean loss over the batch and overwrites <paramref name="outputGrad"/> with <c>∂loss/∂output</c>.
    /// </summary>
    /// <param name="output">The <c>[batch, classes]</c> model output.</param>
    /// <param name="labels">The <c>[batch]</c> class indices, each in <c>[0, classes)</c>.</param>
    /// <param name="outputGrad">The <c>[batch, classes]</c> gradient, overwritten.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="classes">The number of classes; positive.</param>
    /// <returns>The mean loss.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or a label is out of range.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> or <paramref name="classes"/> is not positive.</exception>
    double Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, Span<float> outputGrad, int batch, int classes);

    /// <summary>Returns the summed (not mean) loss over the batch, without a gradient.</summary>
    /// <param name="output">The <c>[batch, classes]</c> model output.</param>
    /// <param name="labels">The <c>[batch]</c> class indices.</param>
    /// <param name="batch">The number of samples.</param>
    /// <param name="classes">The number of classes.</param>
    /// <returns>The sum of the per-sample losses.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or a label is out of range.</exception>
    double Sum(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int classes);
}

/// <summary>Argument checks shared by the losses.</summary>
internal static class LossChecks
{
    // output and outputGrad are the spans' lengths (outputGrad -1 when there is none), named after the spans they check.
    public static void Check(int output, ReadOnlySpan<int> labels, int outputGrad, int batch, int classes)
    {
        if (batch <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"Expected a positive batch size. Received: batch={batch}.");
        }

        if (classes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"Expected a positive number of classes. Received: classes={classes}.");
        }

        long needed = (long)batch * classes;
        if (output < needed)
        {
            throw new ArgumentException($"output holds {output} floats but [batch={batch}, classes={classes}] needs {needed}.", nameof(output));
        }

        if (outputGrad >= 0 && outputGrad < needed)
        {
            throw new ArgumentException($"outputGrad holds {outputGrad} floats but [batch={batch}, classes={classes}] needs {needed}.", nameof(outputGrad));
        }

        if (labels.Length < batch)
        {
            throw new ArgumentException($"labels holds {labels.Length} values but the batch has {batch}.", nameof(labels));
        }

        for (int i = 0; i < batch; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
            {
                throw new ArgumentException($"labels[{i}] = {labels[i]} is outside [0, {classes}).", nameof(labels));
            }
        }
    }
}
