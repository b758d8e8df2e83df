using NeuralCore.Models;
using NeuralCore.Optimizers;

namespace NeuralCore.Training;

/// <summary>
/// Sets the optimizer's <see cref="IOptimizer.LearningRate"/> during <c>Fit</c>: before every step from a
/// <see cref="LearningRateSchedule"/> of the optimizer's step count (as a Keras optimizer built with a schedule as its
/// <c>learning_rate</c>), or before every epoch from a function of the epoch and the current rate (Keras's
/// <c>LearningRateScheduler</c> callback). Keras's callback also writes the rate into the epoch's logs (a
/// <c>learning_rate</c> series in its history and CSV file); here the history does not record it.
/// </summary>
public sealed class LearningRateScheduler : Callback
{
    private readonly LearningRateSchedule? _schedule;
    private readonly Func<int, float, float>? _perEpoch;

    /// <summary>Applies <paramref name="schedule"/> before every step, at the optimizer's step count.</summary>
    /// <param name="schedule">The schedule.</param>
    /// <exception cref="ArgumentNullException"><paramref name="schedule"/> is null.</exception>
    public LearningRateScheduler(LearningRateSchedule schedule) =>
        _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));

    /// <summary>
    /// Before each epoch, sets the rate to <c>schedule(epoch, currentRate)</c>, with <c>epoch</c> counted from 0 as
    /// in Keras.
    /// </summary>
    /// <param name="schedule">The function of the epoch and the current rate.</param>
    /// <exception cref="ArgumentNullException"><paramref name="schedule"/> is null.</exception>
    public LearningRateScheduler(Func<int, float, float> schedule) =>
        _perEpoch = schedule ?? throw new ArgumentNullException(nameof(schedule));

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">The schedule gives a negative, infinite or NaN rate.</exception>
    /// <exception cref="InvalidOperationException">
    /// A schedule of every step trains beside a <see cref="ReduceLROnPlateau"/> or another
    /// <see cref="LearningRateScheduler"/>, whose rates it would overwrite at the next step; or the optimizer follows its
    /// own <see cref="Optimizer.Schedule"/>.
    /// </exception>
    public override void OnTrainBegin(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        CheckNoOwnSchedule(context, nameof(LearningRateScheduler));
        if (_schedule is not null)
        {
            // Keras refuses to set the rate of an optimizer built with a schedule; here the other callback's rate held
            // for one step at most while it reported its changes.
            Callback? other = context.Callbacks.FirstOrDefault(c => c != this && c is ReduceLROnPlateau or LearningRateScheduler);
            if (other is not null)
            {
                throw new InvalidOperationException(
                    $"LearningRateScheduler's schedule sets the learning rate before every step, so what {other.GetType().Name} sets would be overwritten at the next step: use one of them (a per-epoch LearningRateScheduler function receives the current rate, and so works beside ReduceLROnPlateau).");
            }

            Apply(context);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">The schedule gives a negative, infinite or NaN rate.</exception>
    public override void OnEpochBegin(int epoch, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_perEpoch is not null)
        {
            IOptimizer optimizer = context.Model.Optimizer!;
            float rate = _perEpoch(epoch - 1, optimizer.LearningRate);
            optimizer.LearningRate = Optimizer.UsableRate(rate)
                ? rate
                : throw Optimizer.BadRate(rate, $"The per-epoch schedule function, for epoch {epoch - 1} (counted from 0),", nameof(rate));
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">The schedule gives a negative, infinite or NaN rate.</exception>
    public override void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_schedule is not null)
        {
            Apply(context);
        }
    }

    private void Apply(TrainingContext context)
    {
        IOptimizer optimizer = context.Model.Optimizer!;
        float rate = _schedule!.Rate(optimizer.Iterations);
        // The message is built for a bad rate only: this runs after every step, and a step allocates nothing.
        optimizer.LearningRate = Optimizer.UsableRate(rate) ? rate : throw Optimizer.BadRate(rate, $"{_schedule.GetType().Name}, at step {optimizer.Iterations},", nameof(rate));
    }

    // A callback that sets the rate cannot train an optimizer that follows a schedule of its own: refused before the
    // first step rather than at the first epoch's end.
    internal static void CheckNoOwnSchedule(TrainingContext context, string callback)
    {
        if (context.Model.Optimizer is Optimizer { Schedule: { } schedule } optimizer)
        {
            throw new InvalidOperationException(
                $"{callback} sets the learning rate, but {optimizer.Name} follows its own schedule ({schedule.GetType().Name}), which sets the rate of every step: use one of them.");
        }
    }

    // Reads the learning rate only, between steps.
    /// <inheritdoc/>
    public override bool ReadsModelBetweenSteps => false;
}
