using System.Globalization;

namespace NeuralCore.Training;

/// <summary>
/// Stops training when a monitored metric has stopped improving, as Keras 3's <c>EarlyStopping</c>: after each epoch
/// from <see cref="StartFromEpoch"/> on, the metric counts as improved when it beats the best so far by more than
/// <see cref="MinDelta"/>; the first monitored epoch is the first best whatever its value (an infinity too), unless it
/// is NaN: a NaN never improves (Keras takes a NaN first value as its best, after which no value can beat it); after <see cref="Patience"/> epochs without improvement (or, with a
/// <see cref="Baseline"/>, without beating it too) training stops. With <see cref="RestoreBestWeights"/>, the parameters
/// of the best epoch (and the running statistics of its batch normalizations) are put back when training ends, whether it stopped early or ran all its epochs (Keras 3; Keras 2
/// restored only on an early stop).
/// </summary>
public sealed class EarlyStopping : Callback
{
    private float[]? _bestWeights;
    private double? _best;
    private int _wait;
    private int _keptEpoch;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The value: <c>val_loss</c> (default), <c>loss</c>, or a metric with or without <c>val_</c> (<c>val_accuracy</c>, <c>val_mae</c>, …); with <see cref="MonitorMode.Auto"/>, accuracy, R², <c>cosine_similarity</c>, <c>auc</c>, <c>precision</c> and <c>recall</c> are maximized, the others minimized (Keras's <c>mode="auto"</c>, from the metrics' own direction).</param>
    /// <param name="patience">Epochs without improvement before stopping; non-negative.</param>
    /// <param name="minDelta">The amount by which a value must beat the best to count as an improvement, computed as Keras computes it (<c>value - minDelta &gt; best</c> when maximizing, <c>value + minDelta &lt; best</c> when minimizing); non-negative (Keras takes the absolute value of a negative one; here it is refused).</param>
    /// <param name="restoreBestWeights">Whether to put the best epoch's parameters back when training ends.</param>
    /// <param name="mode">Whether the value improves going down or up; <see cref="MonitorMode.Auto"/> decides from the name.</param>
    /// <param name="baseline">A value the monitored one must also beat for the patience to start over (Keras's <c>baseline</c>), or null.</param>
    /// <param name="startFromEpoch">Epochs at the start that are not monitored at all (Keras's <c>start_from_epoch</c>, a warm-up); non-negative.</param>
    /// <exception cref="ArgumentException">An unknown metric.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative patience, delta or start epoch, a NaN baseline, or an undefined mode.</exception>
    public EarlyStopping(string monitor = "val_loss", int patience = 0, double minDelta = 0, bool restoreBestWeights = false,
        MonitorMode mode = MonitorMode.Auto, double? baseline = null, int startFromEpoch = 0)
    {
        Monitoring.CheckName(monitor, nameof(monitor));

        Check.NonNegative(patience, nameof(patience), "patience (epochs without improvement)");
        Check.NonNegative(minDelta, nameof(minDelta));
        Check.NonNegative(startFromEpoch, nameof(startFromEpoch), "epoch to start from");
        if (baseline is { } b)
        {
            Check.Number(b, nameof(baseline), "a number, or null for no baseline");
        }

        Monitor = monitor;
        Patience = patience;
        MinDelta = minDelta;
        RestoreBestWeights = restoreBestWeights;
        Mode = mode;
        Baseline = baseline;
        StartFromEpoch = startFromEpoch;
        _ = Monitoring.Maximizes(monitor, mode);
    }

    /// <summary>Whether the value improves going down or up.</summary>
    public MonitorMode Mode { get; }

    /// <summary>The monitored metric.</summary>
    public string Monitor { get; }

    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>The smallest improvement that counts.</summary>
    public double MinDelta { get; }

    /// <summary>Whether the best parameters are put back when training ends.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The value the monitored one must also beat for the patience to start over, or null.</summary>
    public double? Baseline { get; }

    /// <summary>The number of epochs at the start that are not monitored.</summary>
    public int StartFromEpoch { get; }

    /// <summary>The epoch (from 1) with the best value so far, or 0.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>The epoch (from 1) at which training was stopped, or 0 if it was not.</summary>
    public int StoppedEpoch { get; private set; }

    /// <summary>The epoch (from 1) whose parameters were put back when training ended, or 0 if none were.</summary>
    public int RestoredEpoch { get; private set; }

    private bool Maximize => Monitoring.Maximizes(Monitor, Mode);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The training will not report the monitored value.</exception>
    public override void OnTrainBegin(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Monitoring.CheckReported(context, Monitor, nameof(EarlyStopping));
        _best = null;
        _wait = 0;
        _bestWeights = null;
        BestEpoch = 0;
        StoppedEpoch = 0;
        RestoredEpoch = 0;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(context);
        if (metrics.Epoch <= StartFromEpoch)
        {
            return;
        }

        // An epoch that does not validate neither improves nor counts against the patience (Keras returns before both).
        if (Monitoring.Read(metrics, context, Monitor, nameof(EarlyStopping)) is not { } value)
        {
            return;
        }

        if (RestoreBestWeights && _bestWeights is null)
        {
            // As Keras: until an epoch improves, the first monitored one counts as the best to go back to.
            Keep(context, metrics.Epoch);
        }

        // Counted first and started over only by an improvement that also beats the baseline (Keras's order).
        _wait++;
        if (Improves(value, _best))
        {
            _best = value;
            BestEpoch = metrics.Epoch;
            if (RestoreBestWeights)
            {
                Keep(context, metrics.Epoch);
            }

            if (Baseline is not { } baseline || Improves(value, baseline))
            {
                _wait = 0;
            }

            return;
        }

        if (_wait >= Patience && metrics.Epoch > 1)
        {
            StoppedEpoch = metrics.Epoch;
            string best = BestEpoch == 0
                ? "no epoch improved on the start"
                : string.Create(CultureInfo.InvariantCulture, $"its best, {_best:G6} at epoch {BestEpoch}");
            // A NaN beside finite losses is a metric undefined on this data (the R² of one validation sample), not a
            // divergence.
            // A NaN validation loss beside a finite training loss is the validation data's: the model's outputs on it
            // overflow (inputs far larger than the training ones), which is not a divergence either.
            string nan = !double.IsFinite(metrics.Loss)
                ? "is NaN (training diverged)"
                : metrics.ValidationLoss is { } validationLoss && !double.IsFinite(validationLoss)
                    ? "is NaN (the validation loss is not finite while the training loss is: the model's outputs on the validation data overflow; check its inputs' scale against the training data's)"
                    : "is NaN (undefined on this data, as the R² of a single sample; the losses are finite)";
            context.StopTraining(double.IsNaN(value)
                ? string.Create(CultureInfo.InvariantCulture, $"early stopping: {Monitor} {nan} and has not improved for {_wait} epoch(s) after {best}")
                : string.Create(CultureInfo.InvariantCulture, $"early stopping: {Monitor} did not improve for {_wait} epoch(s) after {best}"));
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!RestoreBestWeights || _bestWeights is null)
        {
            return;
        }

        // A write while the callbacks run: a read from another thread admitted in this window ends first, and none
        // starts meanwhile (one had returned rows of both models).
        Models.Sequential.TrainingCall call = context.Model.BeginCall(nameof(EarlyStopping));
        try
        {
            int parameters = context.Model.Parameters.Length;
            _bestWeights.AsSpan(0, parameters).CopyTo(context.Model.Parameters.Span);
            context.Model.RestoreNonTrainable(_bestWeights.AsSpan(parameters));
        }
        finally
        {
            call.End();
        }

        RestoredEpoch = _keptEpoch;
    }

    private bool Improves(double value, double? reference) => Monitoring.Improves(value, reference, Maximize, MinDelta);

    private void Keep(TrainingContext context, int epoch)
    {
        // With the non-trainable weights (batch normalizations' running statistics), as Keras's get_weights has them.
        int parameters = context.Model.Parameters.Length;
        _bestWeights ??= new float[parameters + context.Model.NonTrainableCount];
        context.Model.Parameters.Span.CopyTo(_bestWeights);
        context.Model.CopyNonTrainable(_bestWeights.AsSpan(parameters));
        _keptEpoch = epoch;
    }

    // Acts between epochs only.
    /// <inheritdoc/>
    public override bool ReadsModelBetweenSteps => false;
}
