using System.Globalization;
using NeuralCore.Optimizers;

namespace NeuralCore.Training;

/// <summary>
/// Keras's <c>ReduceLROnPlateau</c>: after each epoch, when the monitored value has not improved by more than
/// <see cref="MinDelta"/> for <see cref="Patience"/> epochs, the learning rate is multiplied by <see cref="Factor"/>
/// (never below <see cref="MinLearningRate"/>), then <see cref="Cooldown"/> epochs pass before counting again. The
/// first epoch is the first best whatever its value (an infinity too), unless it is NaN: a NaN never improves (Keras
/// takes a NaN first value as its best, after which no value can beat it). Keras's also writes the rate into the
/// epoch's logs (a <c>learning_rate</c> series in its history and CSV file); here the history does not record it, and
/// <see cref="Reductions"/> lists the changes.
/// </summary>
public sealed class ReduceLROnPlateau : Callback
{
    private double? _best;
    private int _wait;
    private readonly List<string> _reductions = [];
    private int _cooldownLeft;

    /// <summary>Creates the callback, with Keras's defaults.</summary>
    /// <param name="monitor">The value: <c>val_loss</c> (default), <c>loss</c>, or a metric with or without <c>val_</c>; with <see cref="MonitorMode.Auto"/>, accuracy, R², <c>cosine_similarity</c>, <c>auc</c>, <c>precision</c> and <c>recall</c> are maximized, the others minimized (Keras's <c>mode="auto"</c>, from the metrics' own direction).</param>
    /// <param name="factor">The factor applied to the rate, in (0, 1); the product is taken in double and stored as the optimizer's float rate, as Keras does. Keras refuses only a factor of 1 or more; a factor of 0 or below (which there sets the rate to <paramref name="minLearningRate"/> at the first reduction) is refused here too.</param>
    /// <param name="patience">Epochs without improvement before a reduction; non-negative.</param>
    /// <param name="minDelta">The amount by which a value must beat the best to count as an improvement, computed as Keras computes it (<c>value - minDelta &gt; best</c> when maximizing, <c>value + minDelta &lt; best</c> when minimizing); non-negative (Keras takes the absolute value of a negative one; here it is refused). This is Keras's current <c>MonitorCallback</c>, which the callback shares with <c>EarlyStopping</c>; Keras 3 releases before it compared <c>value &lt; best - minDelta</c> here and, in auto mode, maximized only names holding <c>acc</c>.</param>
    /// <param name="cooldown">Epochs to wait after a reduction before counting again; non-negative.</param>
    /// <param name="minLearningRate">The lowest rate; non-negative.</param>
    /// <param name="mode">Whether the value improves going down or up; <see cref="MonitorMode.Auto"/> decides from the name.</param>
    /// <exception cref="ArgumentException">An unknown value to monitor.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range (named, with its value).</exception>
    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, double minDelta = 1e-4,
        int cooldown = 0, float minLearningRate = 0f, MonitorMode mode = MonitorMode.Auto)
    {
        Monitoring.CheckName(monitor, nameof(monitor));

        Check.InRange(factor, 0d, 1d, "()", nameof(factor), "a factor (the rate is multiplied by it)");

        Check.NonNegative(patience, nameof(patience), "patience (epochs without improvement)");
        Check.NonNegative(cooldown, nameof(cooldown), "cooldown (epochs)");
        Check.NonNegative(minDelta, nameof(minDelta));

        Check.NonNegative(minLearningRate, nameof(minLearningRate), "minimum rate");

        (Monitor, Factor, Patience, MinDelta, Cooldown, MinLearningRate) = (monitor, factor, patience, minDelta, cooldown, minLearningRate);
        Mode = mode;
        _ = Monitoring.Maximizes(monitor, mode);
    }

    /// <summary>Whether the value improves going down or up.</summary>
    public MonitorMode Mode { get; }

    /// <summary>The monitored value.</summary>
    public string Monitor { get; }

    /// <summary>The factor applied to the rate.</summary>
    public double Factor { get; }

    /// <summary>Epochs without improvement before a reduction.</summary>
    public int Patience { get; }

    /// <summary>The smallest improvement that counts.</summary>
    public double MinDelta { get; }

    /// <summary>Epochs after a reduction before counting again.</summary>
    public int Cooldown { get; }

    /// <summary>The lowest rate.</summary>
    public float MinLearningRate { get; }

    private bool Maximize => Monitoring.Maximizes(Monitor, Mode);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The training will not report the monitored value, or the optimizer follows its own <see cref="Optimizers.Optimizer.Schedule"/>.</exception>
    public override void OnTrainBegin(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Monitoring.CheckReported(context, Monitor, nameof(ReduceLROnPlateau));
        LearningRateScheduler.CheckNoOwnSchedule(context, nameof(ReduceLROnPlateau));
        _best = null;
        _wait = 0;
        _cooldownLeft = 0;
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The epoch does not report the monitored value.</exception>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(context);
        // An epoch that does not validate changes nothing, not even the cooldown (as in Keras).
        if (Monitoring.Read(metrics, context, Monitor, nameof(ReduceLROnPlateau)) is not { } value)
        {
            return;
        }

        if (_cooldownLeft > 0)
        {
            _cooldownLeft--;
            _wait = 0;
        }

        bool improved = Monitoring.Improves(value, _best, Maximize, MinDelta);
        if (improved)
        {
            _best = value;
            _wait = 0;
            return;
        }

        if (_cooldownLeft > 0)
        {
            return;
        }

        if (++_wait >= Patience)
        {
            IOptimizer optimizer = context.Model.Optimizer!;
            float rate = optimizer.LearningRate;
            if (rate > MinLearningRate)
            {
                // In double, then stored as float: Keras multiplies the rate, read as a Python float, by its factor (a
                // float factor multiplied in float gave 0.0010000000474974513 for 0.01 × 0.1, Keras 0.0009999999310821295).
                optimizer.LearningRate = (float)Math.Max(rate * Factor, MinLearningRate);
                _reductions.Add(string.Create(CultureInfo.InvariantCulture, $"epoch {metrics.Epoch}: {rate:G4} -> {optimizer.LearningRate:G4}"));
                _cooldownLeft = Cooldown;
                _wait = 0;
            }
        }
    }

    /// <summary>Each reduction made, as <c>epoch N: old -> new</c>.</summary>
    public IReadOnlyList<string> Reductions => _reductions;

    // Acts between epochs only.
    /// <inheritdoc/>
    public override bool ReadsModelBetweenSteps => false;
}
