namespace NeuralCore.Training;

/// <summary>
/// The record of a <see cref="ModelTraining.Fit(Models.Sequential, Data.Dataset, FitOptions?)"/> call: one
/// <see cref="EpochMetrics"/> per epoch run. An epoch that stopped at its first step (a NaN or infinite loss or
/// gradient, an update undone) trained nothing and is not recorded, so the lists can be shorter than the epochs asked
/// for, or empty; <see cref="StopReason"/> then says why.
/// </summary>
public sealed class History
{
    private readonly List<EpochMetrics> _epochs = [];

    /// <summary>The epochs, in order; empty when training stopped at its first step (see <see cref="StopReason"/>).</summary>
    public IReadOnlyList<EpochMetrics> Epochs => _epochs;

    /// <summary>The training loss of each epoch.</summary>
    public IReadOnlyList<double> Loss => [.. _epochs.Select(e => e.Loss)];

    /// <summary>The training accuracy of each epoch.</summary>
    public IReadOnlyList<double> Accuracy => [.. _epochs.Select(e => e.Accuracy)];

    /// <summary>The validation loss of each epoch (NaN where there was none).</summary>
    public IReadOnlyList<double> ValidationLoss => [.. _epochs.Select(e => e.ValidationLoss ?? double.NaN)];

    /// <summary>The validation accuracy of each epoch (NaN where there was none).</summary>
    public IReadOnlyList<double> ValidationAccuracy => [.. _epochs.Select(e => e.ValidationAccuracy ?? double.NaN)];

    /// <summary>Any value of each epoch by its Keras name (<c>mae</c>, <c>val_r2</c>, …; NaN where it was not measured).</summary>
    /// <param name="name">The name, as <see cref="EpochMetrics.Get"/> takes it.</param>
    /// <returns>One value per epoch.</returns>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public IReadOnlyList<double> Metric(string name) => [.. _epochs.Select(e => e.Get(name) ?? double.NaN)];

    /// <summary>The seconds of each epoch.</summary>
    public IReadOnlyList<double> Seconds => [.. _epochs.Select(e => e.Seconds)];

    /// <summary>The total seconds of all epochs.</summary>
    public double TotalSeconds => _epochs.Sum(e => e.Seconds);

    /// <summary>Why training ended before its last epoch (early stopping, a NaN loss), or null if it ran them all.</summary>
    public string? StopReason { get; internal set; }

    /// <summary>
    /// What Fit found questionable about its data before training, in words (a validation split that misses classes
    /// the training part has, …); empty when nothing was. <see cref="ProgressLogger"/> prints them.
    /// </summary>
    public IReadOnlyList<string> Warnings => _warnings;

    private readonly List<string> _warnings = [];

    internal void Add(EpochMetrics metrics) => _epochs.Add(metrics);

    internal void Warn(string warning) => _warnings.Add(warning);
}
