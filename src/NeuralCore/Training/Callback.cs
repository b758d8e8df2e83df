using NeuralCore.Models;

namespace NeuralCore.Training;

/// <summary>The state of a running <see cref="ModelTraining.Fit(Models.Sequential, float[], int[], FitOptions?)"/>, shared with its callbacks.</summary>
public sealed class TrainingContext
{
    internal TrainingContext(Sequential model, int epochs, int stepsPerEpoch, int samples, History history, IReadOnlyList<string>? reportedValues = null)
    {
        ReportedValues = reportedValues ?? [];
        Model = model;
        Epochs = epochs;
        StepsPerEpoch = stepsPerEpoch;
        Samples = samples;
        History = history;
    }

    /// <summary>
    /// The names the epochs report in <see cref="EpochMetrics.Values"/> (<c>loss</c>, the metrics, and the same
    /// with <c>val_</c> when there is validation data, those only on the epochs that <see cref="Validates"/>), known
    /// before the first epoch so that a callback can check what it needs at <see cref="Callback.OnTrainBegin"/> instead
    /// of after an epoch of training.
    /// </summary>
    public IReadOnlyList<string> ReportedValues { get; }

    /// <summary>
    /// Every how many epochs the training validates (<see cref="FitOptions.ValidationFrequency"/>; 1 without
    /// validation data).
    /// </summary>
    public int ValidationFrequency { get; internal init; } = 1;

    /// <summary>Whether epoch <paramref name="epoch"/> (from 1) reports the <c>val_</c> values, when there are any.</summary>
    /// <param name="epoch">The epoch, as <see cref="EpochMetrics.Epoch"/> numbers it.</param>
    /// <returns><c>epoch % ValidationFrequency == 0</c>.</returns>
    public bool Validates(int epoch) => epoch % ValidationFrequency == 0;

    /// <summary>The model being trained.</summary>
    public Sequential Model { get; }

    /// <summary>The number of epochs asked for.</summary>
    public int Epochs { get; }

    /// <summary>Training steps (batches) per epoch.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>Training samples per epoch.</summary>
    public int Samples { get; }

    /// <summary>The history so far.</summary>
    public History History { get; }

    /// <summary>
    /// The values of the running epoch over the steps it has taken so far, as Keras's batch logs: <c>loss</c> (the mean
    /// over the samples so far, each step's loss weighted by its samples, as the epoch's own loss is) and the training
    /// metrics, under the names of <see cref="ReportedValues"/> without <c>val_</c> (validation comes at the epoch's
    /// end). A new dictionary at each call, for <see cref="Callback.OnBatchEnd"/> (computed on demand: the steps do not
    /// pay for it); at <see cref="Callback.OnEpochEnd"/> the epoch's values are in its <see cref="EpochMetrics"/>.
    /// </summary>
    /// <returns>The running values by name.</returns>
    /// <exception cref="InvalidOperationException">No step of the current epoch has run yet (before the first step, or outside <c>Fit</c>).</exception>
    public IReadOnlyDictionary<string, double> EpochValuesSoFar()
    {
        if (_runningMetrics is null || _runningSeen == 0)
        {
            throw new InvalidOperationException("No training step of the current epoch has run yet: the epoch's values so far exist from the first OnBatchEnd of an epoch (at OnEpochEnd, read the epoch's EpochMetrics).");
        }

        var values = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = _runningLossSum / _runningSeen };
        _runningMetrics.WriteTo(values, "");
        return values;
    }

    private Scoring.MetricSet? _runningMetrics;
    private double _runningLossSum;
    private int _runningSeen;

    /// <summary>Fit's accumulators of the running epoch, read by <see cref="EpochValuesSoFar"/> (the metrics once; the loss at each step).</summary>
    internal void SetRunning(Scoring.MetricSet? metrics, double lossSum, int seen)
    {
        _runningMetrics = metrics;
        (_runningLossSum, _runningSeen) = (lossSum, seen);
    }

    /// <summary>Every callback of this training, in order (so that one can refuse another it cannot work beside).</summary>
    internal IReadOnlyList<Callback> Callbacks { get; set; } = [];

    /// <summary>
    /// Set by a callback to end training, with a reason for <see cref="History.StopReason"/> (Keras's
    /// <c>model.stop_training = True</c>): from <see cref="Callback.OnEpochEnd"/>, no further epoch starts; from
    /// <see cref="Callback.OnBatchEnd"/>, the epoch takes no further step, and is validated and reported (its
    /// <see cref="Callback.OnEpochEnd"/> called) over the steps it ran, as in Keras; from
    /// <see cref="Callback.OnTrainBegin"/> or <see cref="Callback.OnEpochBegin"/>, the epoch takes no step and is not
    /// recorded (Keras runs one step of it first).
    /// </summary>
    /// <param name="reason">Why training stops.</param>
    /// <exception cref="ArgumentNullException"><paramref name="reason"/> is null (it left the history's stop reason empty).</exception>
    public void StopTraining(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        StopRequested = true;
        History.StopReason ??= reason;
    }

    /// <summary>Whether a callback asked to stop.</summary>
    public bool StopRequested { get; private set; }
}

/// <summary>
/// Hooks into <see cref="ModelTraining.Fit(Models.Sequential, float[], int[], FitOptions?)"/>, Keras-style; every method does nothing unless overridden. Callbacks run
/// on the training thread, in the order given.
/// </summary>
public abstract class Callback
{
    /// <summary>Before the first epoch.</summary>
    /// <param name="context">The training state.</param>
    public virtual void OnTrainBegin(TrainingContext context)
    {
    }

    /// <summary>Before each epoch.</summary>
    /// <param name="epoch">The epoch, from 1.</param>
    /// <param name="context">The training state.</param>
    public virtual void OnEpochBegin(int epoch, TrainingContext context)
    {
    }

    /// <summary>After each training step.</summary>
    /// <param name="epoch">The epoch, from 1.</param>
    /// <param name="batch">The step (batch) within the epoch, from 1.</param>
    /// <param name="result">The step's loss and correct count.</param>
    /// <param name="context">The training state.</param>
    public virtual void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context)
    {
    }

    /// <summary>After each epoch, validation included; the metrics are already in the history.</summary>
    /// <param name="metrics">The epoch's metrics.</param>
    /// <param name="context">The training state; call <see cref="TrainingContext.StopTraining"/> to stop.</param>
    public virtual void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
    }

    /// <summary>After the last epoch (or the early stop).</summary>
    /// <param name="context">The training state.</param>
    public virtual void OnTrainEnd(TrainingContext context)
    {
    }

    /// <summary>
    /// When <c>Fit</c> stops because its cancellation token was cancelled, at a step boundary: <see cref="OnTrainEnd"/>
    /// is then not called, and <c>Fit</c> throws <see cref="OperationCanceledException"/> after this. For ending
    /// what <see cref="OnTrainBegin"/> started (the progress bar's line), not for saving: a checkpoint of an
    /// interrupted run is the caller's decision.
    /// </summary>
    /// <param name="context">The training state.</param>
    public virtual void OnTrainInterrupted(TrainingContext context)
    {
    }

    /// <summary>The full path (or path template) of the file the callback writes, or null: two callbacks of one training may not write the same one.</summary>
    internal virtual string? FileWritten => null;

    /// <summary>
    /// Whether <see cref="OnBatchEnd"/> may read or change the model's weights, gradients or optimizer state (true by
    /// default). Fit keeps the first layer's weights, their gradient and the optimizer's state for them in the order its
    /// products read them through an epoch's steps only while no callback says true (between epochs they are back in
    /// their documented row-major order): that saves repacking the weights every step, 1-11% of an MNIST epoch (784-128-10
    /// and 784-1024-10 at batch 32 and 128, one and two threads; docs/benchmarks.md). Override it to return false in a
    /// callback whose <see cref="OnBatchEnd"/> reads only the step's result and the context (a logger, a timer, a
    /// stopper); the library's own callbacks do. While the weights are in that order, a call from such a callback that
    /// reads the model (<c>Predict</c>, <c>Evaluate</c>, <c>ModelFile.Save</c>, the model's or its first layer's
    /// <c>Parameters</c>, <c>Gradients</c> or <c>Weights</c>, <c>Optimizer.State</c>) throws
    /// <see cref="InvalidOperationException"/>; a span of them taken before the epoch and read there holds them in an
    /// undocumented order.
    /// </summary>
    public virtual bool ReadsModelBetweenSteps => true;
}

/// <summary>A callback made of delegates, for progress reporting without a subclass.</summary>
/// <param name="onBatchEnd">Called after each step with (epoch, step, result, context), or null.</param>
/// <param name="onEpochEnd">Called after each epoch with (metrics, context), or null.</param>
/// <param name="readsModel">
/// Whether <paramref name="onBatchEnd"/> reads or changes the model's weights (<see cref="Callback.ReadsModelBetweenSteps"/>);
/// false lets Fit keep its faster weight order through the steps, for a callback that reads only the step's result and the context.
/// </param>
public sealed class LambdaCallback(
    Action<int, int, TrainStepResult, TrainingContext>? onBatchEnd = null,
    Action<EpochMetrics, TrainingContext>? onEpochEnd = null,
    bool readsModel = true) : Callback
{
    /// <inheritdoc/>
    public override void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context) =>
        onBatchEnd?.Invoke(epoch, batch, result, context);

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context) =>
        onEpochEnd?.Invoke(metrics, context);

    /// <inheritdoc/>
    public override bool ReadsModelBetweenSteps => readsModel && onBatchEnd is not null;
}
