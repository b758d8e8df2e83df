namespace NeuralCore.Layers;

/// <summary>
/// The values a layer can output, which <c>Sequential.Compile</c>
/// checks against what the loss reads: a loss on probabilities needs them, a loss from logits must not get them, a
/// loss under a logarithm needs outputs that are never negative.
/// </summary>
public enum OutputRange
{
    /// <summary>Any real value (a linear layer, Tanh, ELU and most activations).</summary>
    Any,

    /// <summary>Values of 0 or more (ReLU, Softplus).</summary>
    NonNegative,

    /// <summary>Each value in [0, 1] on its own: independent probabilities (Sigmoid, HardSigmoid).</summary>
    UnitInterval,

    /// <summary>Each row a probability distribution: values in [0, 1] that sum to 1 (Softmax).</summary>
    Distribution,
}
