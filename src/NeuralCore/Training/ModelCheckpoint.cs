using System.Globalization;
using System.Text.RegularExpressions;
using NeuralCore.Serialization;

namespace NeuralCore.Training;

/// <summary>
/// Saves the model (<see cref="ModelFile.Save"/>, atomically) after epochs, as Keras's <c>ModelCheckpoint</c>: after
/// every epoch, or with <see cref="SaveBestOnly"/> only after an epoch whose monitored value beats every earlier one
/// (a NaN never does). The path may name values of the epoch in braces, with an optional .NET format:
/// <c>model-{epoch:000}-{val_accuracy:0.0000}.ncm</c>; without any, each save replaces the last.
/// </summary>
public sealed partial class ModelCheckpoint : Callback
{
    private readonly string _template;
    private double _best;

    /// <summary>Creates the callback.</summary>
    /// <param name="path">The file to write, with optional <c>{epoch}</c> and <c>{metric:format}</c> placeholders; its folder is created if needed.</param>
    /// <param name="monitor">The value that decides the best epoch: <c>val_loss</c> (default), <c>loss</c>, or a metric with or without <c>val_</c>.</param>
    /// <param name="saveBestOnly">Whether to save only when the monitored value improves.</param>
    /// <param name="mode">Whether the value improves going down or up; <see cref="MonitorMode.Auto"/> decides from the name.</param>
    /// <param name="includeOptimizer">Whether the file also holds the optimizer's state, so that training can resume from it.</param>
    /// <exception cref="ArgumentException">The path is empty, or names an unknown value or a bad format; the monitor is unknown.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is undefined.</exception>
    public ModelCheckpoint(string path, string monitor = "val_loss", bool saveBestOnly = false, MonitorMode mode = MonitorMode.Auto,
        bool includeOptimizer = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Monitoring.CheckName(monitor, nameof(monitor));
        _ = Monitoring.Maximizes(monitor, mode);
        foreach (Match placeholder in Placeholder().Matches(path))
        {
            string name = placeholder.Groups[1].Value;
            if (name != "epoch" && !EpochMetrics.IsKnown(name))
            {
                throw new ArgumentException(
                    $"The path names '{{{name}}}', which is neither epoch nor loss nor a metric (accuracy, mae, mse, rmse, r2, with or without val_).", nameof(path));
            }

            try
            {
                _ = (name == "epoch" ? (IFormattable)1 : 0.5).ToString(placeholder.Groups[2].Success ? placeholder.Groups[2].Value : null, CultureInfo.InvariantCulture);
            }
            catch (FormatException ex)
            {
                throw new ArgumentException($"The path's placeholder {placeholder.Value} has a bad format: {ex.Message}", nameof(path), ex);
            }
        }

        _template = path;
        Monitor = monitor;
        SaveBestOnly = saveBestOnly;
        Mode = mode;
        IncludeOptimizer = includeOptimizer;
    }

    /// <summary>The monitored value.</summary>
    public string Monitor { get; }

    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>Whether the value improves going down or up.</summary>
    public MonitorMode Mode { get; }

    /// <summary>Whether the optimizer's state is saved too.</summary>
    public bool IncludeOptimizer { get; }

    /// <summary>The epoch (from 1) with the best monitored value so far, or 0.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>The file of the last save, or null before the first.</summary>
    public string? LastSavedPath { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainingContext context)
    {
        _best = Monitoring.Maximizes(Monitor, Mode) ? double.NegativeInfinity : double.PositiveInfinity;
        BestEpoch = 0;
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">With <see cref="SaveBestOnly"/>, the epoch does not report the monitored value.</exception>
    /// <exception cref="IOException">The file cannot be written; an earlier file under the same name is untouched.</exception>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(context);
        if (SaveBestOnly)
        {
            double value = Monitoring.Read(metrics, Monitor, nameof(ModelCheckpoint));
            bool improved = Monitoring.Maximizes(Monitor, Mode) ? value > _best : value < _best;
            if (!improved)
            {
                return;
            }

            (_best, BestEpoch) = (value, metrics.Epoch);
        }

        string path = Path.GetFullPath(Format(_template, metrics));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ModelFile.Save(context.Model, path, IncludeOptimizer);
        LastSavedPath = path;
    }

    /// <summary>The path with its placeholders filled from the epoch.</summary>
    internal static string Format(string template, EpochMetrics metrics) =>
        Placeholder().Replace(template, match =>
        {
            string name = match.Groups[1].Value;
            string? format = match.Groups[2].Success ? match.Groups[2].Value : null;
            return name == "epoch"
                ? metrics.Epoch.ToString(format, CultureInfo.InvariantCulture)
                : (metrics.Get(name) ?? double.NaN).ToString(format, CultureInfo.InvariantCulture);
        });

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")]
    private static partial Regex Placeholder();
}
