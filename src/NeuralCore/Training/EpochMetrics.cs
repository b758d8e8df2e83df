namespace NeuralCore.Training;

/// <summary>What one epoch of <see cref="ModelTraining.Fit(Models.Sequential, float[], int[], FitOptions?)"/> measured (Keras's <c>history.history</c> row).</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Loss">The training loss: the mean over the epoch's samples of the loss measured before each update.</param>
/// <param name="Accuracy">The fraction of the epoch's samples classified correctly before each update.</param>
/// <param name="ValidationLoss">The loss on the validation data after the epoch, in inference mode; null without validation data.</param>
/// <param name="ValidationAccuracy">The accuracy on the validation data; null without validation data.</param>
/// <param name="Seconds">Wall-clock seconds of the epoch, validation included.</param>
public sealed record EpochMetrics(int Epoch, double Loss, double Accuracy, double? ValidationLoss, double? ValidationAccuracy, double Seconds)
{
    /// <summary>Reads a metric by its Keras name: <c>loss</c>, <c>accuracy</c>, <c>val_loss</c> or <c>val_accuracy</c>.</summary>
    /// <param name="name">The metric's name.</param>
    /// <returns>The value, or null when the epoch has no such value (no validation data).</returns>
    /// <exception cref="ArgumentException">The name is not one of the four.</exception>
    public double? Get(string name) => name switch
    {
        "loss" => Loss,
        "accuracy" => Accuracy,
        "val_loss" => ValidationLoss,
        "val_accuracy" => ValidationAccuracy,
        _ => throw new ArgumentException(
            $"Unknown metric '{name}': expected loss, accuracy, val_loss or val_accuracy.", nameof(name)),
    };
}
