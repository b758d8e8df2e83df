namespace NeuralCore.Models;

/// <summary>What one training step measured, before its update.</summary>
/// <param name="Loss">The batch's loss, reduced as the loss says (the mean by default), plus the layers' regularization penalties (<see cref="Layers.Dense.KernelRegularizer"/>), as Keras reports it.</param>
/// <param name="Correct">How many predictions were right (samples, or outputs for a binary loss).</param>
/// <param name="Batch">The number of samples.</param>
/// <param name="Judged">How many predictions were judged: the batch, <c>batch·outputs</c> for a binary loss, 0 for a regression on real values.</param>
public readonly record struct TrainStepResult(double Loss, int Correct, int Batch, int Judged)
{
    /// <summary>
    /// Whether the step left the weights as they were: its loss was NaN or infinite, or, where the loss exceeds
    /// <see cref="Sequential.GradientCheckLoss"/>, a gradient was not finite or the update would have made a parameter
    /// or the optimizer's state infinite or NaN (<see cref="UpdateOverflowed"/>; the update was then undone). Training
    /// loops stop on it, as Keras's TerminateOnNaN does.
    /// </summary>
    public bool Skipped { get; init; }

    /// <summary>
    /// Whether the step was <see cref="Skipped"/> because its update overflowed: the loss and the gradients were
    /// finite, but the updated parameters or the optimizer's state were not, so the update was undone (checked past
    /// <see cref="Sequential.GradientCheckLoss"/>, where only a diverging run goes).
    /// </summary>
    public bool UpdateOverflowed { get; init; }

    /// <summary>The fraction of predictions that were right; NaN when none was judged.</summary>
    public double Accuracy => Judged == 0 ? double.NaN : (double)Correct / Judged;
}
