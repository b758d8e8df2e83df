namespace NeuralCore.Training;

/// <summary>
/// Stops training when a monitored metric has stopped improving, as Keras's <c>EarlyStopping</c>: after each epoch
/// the metric counts as improved when it beats the best so far by more than <see cref="MinDelta"/>; after
/// <see cref="Patience"/> epochs without improvement training stops. With <see cref="RestoreBestWeights"/>, the
/// parameters of the best epoch are put back when it stops early (as in Keras, a run that uses all its epochs keeps
/// its last weights).
/// </summary>
public sealed class EarlyStopping : Callback
{
    private float[]? _bestWeights;
    private double _best;
    private int _wait;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The value: <c>val_loss</c> (default), <c>loss</c>, or a metric with or without <c>val_</c> (<c>val_accuracy</c>, <c>val_mae</c>, …). Accuracy and R² are maximized, the others minimized (Keras's <c>mode="auto"</c>).</param>
    /// <param name="patience">Epochs without improvement before stopping; non-negative.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement; non-negative.</param>
    /// <param name="restoreBestWeights">Whether to restore the best epoch's parameters when stopping early.</param>
    /// <param name="mode">Whether the value improves going down or up; <see cref="MonitorMode.Auto"/> decides from the name.</param>
    /// <exception cref="ArgumentException">An unknown metric.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative patience or delta, or an undefined mode.</exception>
    public EarlyStopping(string monitor = "val_loss", int patience = 0, double minDelta = 0, bool restoreBestWeights = false,
        MonitorMode mode = MonitorMode.Auto)
    {
        Monitoring.CheckName(monitor, nameof(monitor));

        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        Check.NonNegative(minDelta, nameof(minDelta));

        Monitor = monitor;
        Patience = patience;
        MinDelta = minDelta;
        RestoreBestWeights = restoreBestWeights;
        Mode = mode;
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

    /// <summary>Whether the best parameters are restored when training stops early.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The epoch (from 1) with the best value so far, or 0.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>The epoch (from 1) at which training was stopped, or 0 if it was not.</summary>
    public int StoppedEpoch { get; private set; }

    private bool Maximize => Monitoring.Maximizes(Monitor, Mode);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The training will not report the monitored value.</exception>
    public override void OnTrainBegin(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Monitoring.CheckReported(context, Monitor, nameof(EarlyStopping));
        _best = Maximize ? double.NegativeInfinity : double.PositiveInfinity;
        _wait = 0;
        _bestWeights = null;
        BestEpoch = 0;
        StoppedEpoch = 0;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(context);
        double value = Monitoring.Read(metrics, Monitor, nameof(EarlyStopping));
        bool improved = Maximize ? value > _best + MinDelta : value < _best - MinDelta;
        if (improved)
        {
            _best = value;
            _wait = 0;
            BestEpoch = metrics.Epoch;
            if (RestoreBestWeights)
            {
                _bestWeights ??= new float[context.Model.Parameters.Length];
                context.Model.Parameters.Span.CopyTo(_bestWeights);
            }

            return;
        }

        _wait++;
        if (_wait >= Patience && metrics.Epoch > 1)
        {
            StoppedEpoch = metrics.Epoch;
            if (RestoreBestWeights && _bestWeights is not null)
            {
                // A write while the callbacks run: a read from another thread admitted in this window ends first, and
                // none starts meanwhile (one had returned rows of both models).
                Models.Sequential.TrainingCall call = context.Model.BeginCall(nameof(EarlyStopping));
                try
                {
                    _bestWeights.CopyTo(context.Model.Parameters.Span);
                }
                finally
                {
                    call.End();
                }
            }

            context.StopTraining(double.IsNaN(value)
                ? $"early stopping: {Monitor} is NaN (training diverged) and has not improved for {_wait} epoch(s) after its best, {_best:G6} at epoch {BestEpoch}"
                : $"early stopping: {Monitor} did not improve for {_wait} epoch(s) after its best, {_best:G6} at epoch {BestEpoch}");
        }
    }

    // Acts between epochs only.
    internal override bool MayReadModelBetweenSteps => false;
}
