namespace NeuralCore.Losses;

/// <summary>How a loss combines its per-sample values <c>w_r·l_r</c> into the number training minimizes (Keras's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The sum divided by the batch size, Keras's default <c>"sum_over_batch_size"</c> (weights do not change the divisor).</summary>
    Mean,

    /// <summary>The sum, Keras's <c>"sum"</c>.</summary>
    Sum,

    /// <summary>
    /// No reduction, Keras's <c>"none"</c>: <see cref="ILoss.PerSample"/> gives each sample's loss. A model cannot
    /// train on it (<see cref="Models.Sequential.Compile"/> rejects it).
    /// </summary>
    None,
}

/// <summary>What a loss reads from a model's last layer, and what its predictions are.</summary>
public enum LossInput
{
    /// <summary>Raw scores; the loss applies softmax or sigmoid itself, and so do predictions.</summary>
    Logits,

    /// <summary>Probabilities: the model must end in a softmax or sigmoid.</summary>
    Probabilities,

    /// <summary>Any values, compared as they are (regression losses).</summary>
    Values,
}

/// <summary>The kind of problem a loss scores, which decides what <c>accuracy</c> means.</summary>
public enum LossTask
{
    /// <summary>One class out of several: accuracy compares the argmax with the label (or the target's argmax).</summary>
    MultiClass,

    /// <summary>Independent yes/no outputs: accuracy compares each output's probability above ½ with its 0/1 target.</summary>
    Binary,

    /// <summary>Real-valued targets: accuracy applies only to class labels or one-hot targets.</summary>
    Regression,
}
