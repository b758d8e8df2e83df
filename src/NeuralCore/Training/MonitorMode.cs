namespace NeuralCore.Training;

/// <summary>Whether a monitored value improves by going down or up (Keras's <c>mode</c>).</summary>
public enum MonitorMode
{
    /// <summary>
    /// From the name: accuracies (<c>accuracy</c>, <c>val_accuracy</c>), R², <c>cosine_similarity</c>, <c>auc</c>,
    /// <c>precision</c> and <c>recall</c> go up (as Keras's metrics say of themselves), losses and errors down.
    /// </summary>
    Auto,

    /// <summary>Lower is better.</summary>
    Min,

    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>The checks and the direction shared by the callbacks that watch one value.</summary>
internal static class Monitoring
{
    /// <summary>Throws unless <paramref name="monitor"/> is <c>loss</c> or a metric, with or without <c>val_</c>.</summary>
    public static void CheckName(string monitor, string parameter)
    {
        ArgumentNullException.ThrowIfNull(monitor, parameter);
        if (!EpochMetrics.IsKnown(monitor))
        {
            throw new ArgumentException(
                $"Unknown metric '{monitor}': expected loss or a metric ({string.Join(", ", Scoring.MetricSet.Known)}), with or without val_.", parameter);
        }
    }

    /// <summary>Whether higher values of <paramref name="monitor"/> are better under <paramref name="mode"/>.</summary>
    public static bool Maximizes(string monitor, MonitorMode mode) => mode switch
    {
        MonitorMode.Max => true,
        MonitorMode.Min => false,
        // cosine_similarity is the similarity (the loss is its negative): minimized, EarlyStopping stopped as it rose.
        MonitorMode.Auto => monitor.EndsWith("accuracy", StringComparison.Ordinal) || monitor.EndsWith("r2", StringComparison.Ordinal)
            || monitor.EndsWith("cosine_similarity", StringComparison.Ordinal) || monitor.EndsWith("auc", StringComparison.Ordinal)
            || monitor.EndsWith("precision", StringComparison.Ordinal) || monitor.EndsWith("recall", StringComparison.Ordinal),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Expected Auto, Min or Max."),
    };

    /// <summary>
    /// Keras's <c>MonitorCallback._is_improvement</c>: with no reference yet (no best, no threshold), any value but NaN
    /// (an infinity too: Keras's first value is its best whatever it is; a NaN, which Keras also takes, would leave no
    /// later value able to improve on it); otherwise a value beyond the reference by more than
    /// <paramref name="minDelta"/> in the direction of <paramref name="maximize"/> (a NaN never is), computed as Keras
    /// computes it: <c>value - minDelta &gt; reference</c> when maximizing, <c>value + minDelta &lt; reference</c> when
    /// minimizing, in double (Keras's NumPy backend; its TensorFlow and JAX backends compare in float32).
    /// </summary>
    // Keras's arithmetic, not reference ± minDelta: the two round differently at a change of exactly minDelta (0.4 to
    // 0.3 with a delta of 0.1: 0.3 + 0.1 < 0.4 is false in every Keras backend, 0.3 < 0.4 - 0.1 was true here).
    public static bool Improves(double value, double? reference, bool maximize, double minDelta) => reference is not { } r
        ? !double.IsNaN(value)
        : maximize ? value - minDelta > r : value + minDelta < r;

    /// <summary>Before training: throws when the epochs will not report <paramref name="monitor"/>, saying how to get it.</summary>
    public static void CheckReported(TrainingContext context, string monitor, string callback)
    {
        if (context.ReportedValues.Count > 0 && !context.ReportedValues.Contains(monitor))
        {
            throw new InvalidOperationException(
                $"{callback} monitors '{monitor}', which this training does not report (it reports {string.Join(", ", context.ReportedValues)}): give Fit validation data, compile the metric, or monitor 'loss'.");
        }
    }

    /// <summary>
    /// The monitored value of the epoch; null for a <c>val_</c> value of an epoch that does not validate
    /// (<see cref="FitOptions.ValidationFrequency"/>), which the callback then skips as Keras's do; otherwise an exception
    /// that says how to get it.
    /// </summary>
    public static double? Read(EpochMetrics metrics, TrainingContext context, string monitor, string callback)
    {
        double? value = metrics.Get(monitor);
        if (value is null && monitor.StartsWith("val_", StringComparison.Ordinal) && !context.Validates(metrics.Epoch)
            && context.ReportedValues.Contains(monitor))
        {
            return null;
        }

        return value ?? throw new InvalidOperationException(
            $"{callback} monitors '{monitor}', which this training does not report: give Fit validation data, compile the metric, or monitor 'loss'.");
    }
}
