using NeuralCore.Scoring;

namespace NeuralCore.Training;

/// <summary>What one epoch of <see cref="ModelTraining.Fit(Models.Sequential, Data.Dataset, FitOptions?)"/> measured (Keras's <c>history.history</c> row).</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Loss">The training loss: the mean over the epoch's samples of the loss measured before each update.</param>
/// <param name="Accuracy">The fraction of the epoch's predictions that were right before each update; NaN when accuracy is not measured (a regression).</param>
/// <param name="ValidationLoss">The loss on the validation data after the epoch, in inference mode; null without validation data.</param>
/// <param name="ValidationAccuracy">The accuracy on the validation data; null without validation data or accuracy.</param>
/// <param name="Seconds">Wall-clock seconds of the epoch, validation included.</param>
public sealed record EpochMetrics(int Epoch, double Loss, double Accuracy, double? ValidationLoss, double? ValidationAccuracy, double Seconds)
{
    private readonly IReadOnlyDictionary<string, double>? _values;

    /// <summary>
    /// Every value of the epoch by its Keras name: <c>loss</c>, each metric (<c>accuracy</c>, <c>mae</c>, <c>mse</c>,
    /// <c>rmse</c>, <c>r2</c>), and the same with <c>val_</c> for the validation data.
    /// </summary>
    public IReadOnlyDictionary<string, double> Values
    {
        get => _values ?? new Dictionary<string, double>(StringComparer.Ordinal);
        init => _values = value;
    }

    /// <summary>Reads a value by its Keras name (<c>loss</c>, <c>accuracy</c>, <c>mae</c>, <c>val_loss</c>, …).</summary>
    /// <param name="name">The name.</param>
    /// <returns>
    /// The value (NaN where the measure was undefined or diverged), or null when the epoch did not measure it (no
    /// validation data, a metric not compiled).
    /// </returns>
    /// <exception cref="ArgumentException">The name is neither <c>loss</c> nor a metric, with or without <c>val_</c>.</exception>
    public double? Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_values is not null && _values.TryGetValue(name, out double value))
        {
            // Present means measured: a NaN here is the value (a diverged loss, R² of one sample), not a missing one.
            return value;
        }

        return name switch
        {
            "loss" => Loss,
            "accuracy" => double.IsNaN(Accuracy) ? null : Accuracy,
            "val_loss" => ValidationLoss,
            "val_accuracy" => ValidationAccuracy,
            _ when IsKnown(name) => null,
            _ => throw new ArgumentException(
                $"Unknown metric '{name}': expected loss or one of {string.Join(", ", MetricSet.Known)}, each with or without the val_ prefix.", nameof(name)),
        };
    }

    /// <summary>Whether <paramref name="name"/> is <c>loss</c> or a metric, with or without <c>val_</c>.</summary>
    internal static bool IsKnown(string name)
    {
        string bare = name.StartsWith("val_", StringComparison.Ordinal) ? name[4..] : name;
        return bare == "loss" || Array.IndexOf(MetricSet.Known, bare) >= 0;
    }
}
