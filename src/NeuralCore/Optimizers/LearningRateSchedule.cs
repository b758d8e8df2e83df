namespace NeuralCore.Optimizers;

/// <summary>
/// A learning rate as a function of the optimizer's step count, Keras's
/// <c>keras.optimizers.schedules.LearningRateSchedule</c>. Applied by <see cref="Training.LearningRateScheduler"/>.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The learning rate of step <paramref name="iteration"/> (0 for the first step).</summary>
    /// <param name="iteration">Steps taken so far; non-negative.</param>
    /// <returns>A non-negative, finite rate.</returns>
    public abstract float Rate(long iteration);
}

/// <summary>
/// Keras 3's <c>CosineDecay</c>: an optional linear warmup from <c>initialLearningRate</c> to <c>warmupTarget</c>
/// over <c>warmupSteps</c>, then a cosine decay over <c>decaySteps</c> to <c>alpha</c> times the rate it starts from,
/// which it keeps afterwards. Without warmup, at step <c>s</c>:
/// <c>lr = initial·((1 - alpha)·½(1 + cos(π·min(s, decaySteps)/decaySteps)) + alpha)</c>.
/// </summary>
public sealed class CosineDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule; arguments as Keras names them.</summary>
    /// <param name="initialLearningRate">The first step's rate; positive.</param>
    /// <param name="decaySteps">Steps over which the rate decays; positive.</param>
    /// <param name="alpha">The final rate as a fraction of the rate the decay starts from, in [0, 1].</param>
    /// <param name="warmupTarget">The rate the warmup reaches and the decay starts from, or null for no warmup.</param>
    /// <param name="warmupSteps">Steps of linear warmup; non-negative (0 without warmup).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range (named, with its value).</exception>
    public CosineDecay(float initialLearningRate, long decaySteps, float alpha = 0f, float? warmupTarget = null, long warmupSteps = 0)
    {
        OptionChecks.Positive(initialLearningRate, nameof(InitialLearningRate));
        if (decaySteps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(decaySteps), decaySteps,
                $"Expected a positive number of decay steps. Received: decaySteps={decaySteps}.");
        }

        if (!(alpha >= 0f && alpha <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"Expected alpha in [0, 1]. Received: alpha={alpha}.");
        }

        if (warmupTarget is { } target)
        {
            OptionChecks.Positive(target, nameof(WarmupTarget));
        }

        if (warmupSteps < 0 || (warmupTarget is null && warmupSteps != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps,
                $"Expected warmupSteps >= 0, and 0 without a warmupTarget. Received: warmupSteps={warmupSteps}.");
        }

        (InitialLearningRate, DecaySteps, Alpha, WarmupTarget, WarmupSteps) = (initialLearningRate, decaySteps, alpha, warmupTarget, warmupSteps);
    }

    /// <summary>The first step's rate.</summary>
    public float InitialLearningRate { get; }

    /// <summary>Steps over which the rate decays.</summary>
    public long DecaySteps { get; }

    /// <summary>The final rate as a fraction of the rate the decay starts from.</summary>
    public float Alpha { get; }

    /// <summary>The rate the warmup reaches, or null.</summary>
    public float? WarmupTarget { get; }

    /// <summary>Steps of linear warmup.</summary>
    public long WarmupSteps { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iteration"/> is negative.</exception>
    public override float Rate(long iteration)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        long step = iteration;
        double start = InitialLearningRate;
        if (WarmupTarget is { } target)
        {
            if (step < WarmupSteps)
            {
                return (float)(((target - start) * step / WarmupSteps) + start);
            }

            step -= WarmupSteps;
            start = target;
        }

        double fraction = Math.Min(step, DecaySteps) / (double)DecaySteps;
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * fraction));
        return (float)(start * (((1 - Alpha) * cosine) + Alpha));
    }
}
