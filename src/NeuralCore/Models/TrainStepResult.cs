namespace NeuralCore.Models;

/// <summary>What one training step measured, before its update.</summary>
/// <param name="Loss">The mean loss over the batch.</param>
/// <param name="Correct">How many samples the model classified correctly.</param>
/// <param name="Batch">The number of samples.</param>
public readonly record struct TrainStepResult(double Loss, int Correct, int Batch)
{
    /// <summary>The fraction of the batch classified correctly.</summary>
    public double Accuracy => Batch == 0 ? 0 : (double)Correct / Batch;
}
