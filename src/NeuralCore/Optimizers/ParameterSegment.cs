namespace NeuralCore.Optimizers;

/// <summary>What a run of parameters is, for the optimizer's per-variable options.</summary>
public enum ParameterRole
{
    /// <summary>A weight matrix (Keras's <c>kernel</c>): weight decay applies.</summary>
    Weight,

    /// <summary>A bias vector: excluded from weight decay unless <see cref="Optimizer.DecayBiases"/>.</summary>
    Bias,
}

/// <summary>
/// One variable of a model's parameter arena (Keras's <c>variable</c>): a layer's kernel or bias. The model lists them
/// at <c>Compile</c>, so that the optimizer can clip each one's gradient by its own norm and leave biases out of
/// weight decay.
/// </summary>
/// <param name="Name">The variable's name, e.g. <c>dense_1/kernel</c>.</param>
/// <param name="Offset">Its first element in the arena (or, from a layer, in the layer's parameters).</param>
/// <param name="Length">Its number of elements.</param>
/// <param name="Role">Weight or bias.</param>
public readonly record struct ParameterSegment(string Name, int Offset, int Length, ParameterRole Role)
{
    /// <summary>
    /// For a matrix variable kept row-major as <c>[Length / Columns, Columns]</c> (a dense layer's <c>[inputs, units]</c>
    /// kernel), its columns; 0 for a vector. An optimizer that factors its state by rows and columns
    /// (<see cref="Adafactor"/>) reads it; the others treat every variable as a vector.
    /// </summary>
    /// <remarks>Must divide <see cref="Length"/> (<see cref="Optimizer.Initialize(int, IReadOnlyList{ParameterSegment})"/> checks).</remarks>
    public int Columns { get; init; }
}
