namespace NeuralCore.Optimizers;

/// <summary>
/// An optimizer whose update of each parameter reads only that parameter, its gradient and its own state, so a step
/// can be applied range by range, in any order and on any thread, with bitwise the same result as one
/// <see cref="IOptimizer.Update"/>. A model uses it to update each thread's rows of a weight matrix on the core
/// that computed their gradients.
/// </summary>
internal interface IElementwiseOptimizer
{
    /// <summary>Prepares a step (Adam's bias correction for step <c>Iterations + 1</c>, the gradient norms for clipping).</summary>
    /// <param name="parameters">The whole arena (a LAMB rule reads each variable's norm).</param>
    /// <param name="gradients">The whole gradient arena.</param>
    /// <exception cref="InvalidOperationException">Not initialized for this length.</exception>
    void BeginStep(ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients);

    /// <summary>Updates <c>parameters[offset..offset+length)</c> from the same range of <paramref name="gradients"/>.</summary>
    /// <param name="parameters">The whole arena.</param>
    /// <param name="gradients">The whole gradient arena.</param>
    /// <param name="offset">The first element.</param>
    /// <param name="length">The number of elements.</param>
    void UpdateRange(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length);

    /// <summary>
    /// Whether the gradients may be completed range by range just before <see cref="UpdateRange"/> reads each range (a
    /// regularizer's terms added on the thread that updates the range): true when each element's update reads only its
    /// own gradient and <see cref="BeginStep"/> reads none (no norm clipping).
    /// </summary>
    bool TakesGradientsInPieces { get; }

    /// <summary>Ends the step begun by <see cref="BeginStep"/>: the iteration count advances.</summary>
    void EndStep();
}
