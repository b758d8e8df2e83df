using System.Globalization;
using NeuralCore.Configuration;

namespace NeuralCore.Optimizers;

/// <summary>
/// A learning rate as a function of the optimizer's step count, Keras's
/// <c>keras.optimizers.schedules.LearningRateSchedule</c>. An optimizer follows one set as its
/// <see cref="Optimizer.Schedule"/> (as a Keras optimizer built with a schedule as its <c>learning_rate</c>), in
/// <c>Fit</c> and in a training loop of one's own alike; <see cref="Training.LearningRateScheduler"/> applies one from
/// a callback instead.
/// </summary>
/// <remarks>
/// The library's four schedules are saved with a model file and read back with it; a schedule of one's own (a subclass)
/// trains, but a model whose optimizer follows it cannot be saved.
/// </remarks>
public abstract class LearningRateSchedule
{
    // The config keys of a schedule inside its optimizer's config: "schedule" names the type, the rest are its arguments.
    internal const string TypeKey = "schedule";

    /// <summary>The learning rate of step <paramref name="iteration"/> (0 for the first step).</summary>
    /// <param name="iteration">Steps taken so far; non-negative.</param>
    /// <returns>A non-negative, finite rate.</returns>
    public abstract float Rate(long iteration);

    // Writes the schedule's type and arguments under "schedule" and "schedule_*" keys; false for a schedule of one's own.
    internal virtual bool TryWrite(ComponentConfig config) => false;

    // The schedule an optimizer's config names, or null where it names none.
    internal static LearningRateSchedule? Read(ComponentConfig config)
    {
        if (!config.Contains(TypeKey))
        {
            return null;
        }

        string type = config.GetString(TypeKey);
        return type switch
        {
            nameof(CosineDecay) => new CosineDecay(config.GetSingle("schedule_initial_learning_rate"), config.GetInt64("schedule_decay_steps"),
                config.GetSingle("schedule_alpha"), config.Contains("schedule_warmup_target") ? config.GetSingle("schedule_warmup_target") : null,
                config.GetInt64("schedule_warmup_steps")),
            nameof(ExponentialDecay) => new ExponentialDecay(config.GetSingle("schedule_initial_learning_rate"), config.GetInt64("schedule_decay_steps"),
                config.GetSingle("schedule_decay_rate"), config.GetBoolean("schedule_staircase")),
            nameof(PiecewiseConstantDecay) => new PiecewiseConstantDecay(Steps(config.GetString("schedule_boundaries")), config.GetSingles("schedule_values")),
            nameof(OneCycle) => new OneCycle(config.GetSingle("schedule_max_learning_rate"), config.GetInt64("schedule_total_steps"),
                config.GetDouble("schedule_pct_start"), config.GetDouble("schedule_div_factor"), config.GetDouble("schedule_final_div_factor")),
            _ => throw new ArgumentException(
                $"{config.TypeId}: the learning-rate schedule '{type}' is not one of CosineDecay, ExponentialDecay, PiecewiseConstantDecay and OneCycle.", nameof(config)),
        };
    }

    // Boundaries are step counts, beyond what a float holds exactly: written as invariant integers separated by commas.
    private protected static string Steps(IReadOnlyList<long> steps) =>
        string.Join(',', steps.Select(s => s.ToString(CultureInfo.InvariantCulture)));

    private static long[] Steps(string text)
    {
        if (text.Length == 0)
        {
            return [];
        }

        string[] parts = text.Split(',');
        long[] steps = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out steps[i]))
            {
                throw new FormatException($"The schedule's boundary '{parts[i]}' is not a step count (schedule_boundaries \"{text}\").");
            }
        }

        return steps;
    }

    private protected static void PositiveSteps(long decaySteps)
    {
        Check.Positive(decaySteps, nameof(decaySteps), "number of decay steps");
    }
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
    /// <param name="initialLearningRate">The first step's rate: positive, or 0 with a warmup (Keras's example warms up from 0).</param>
    /// <param name="decaySteps">Steps over which the rate decays; positive.</param>
    /// <param name="alpha">The final rate as a fraction of the rate the decay starts from, in [0, 1].</param>
    /// <param name="warmupTarget">The rate the warmup reaches and the decay starts from, or null for no warmup.</param>
    /// <param name="warmupSteps">Steps of linear warmup; non-negative (0 without warmup).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range (named, with its value).</exception>
    public CosineDecay(float initialLearningRate, long decaySteps, float alpha = 0f, float? warmupTarget = null, long warmupSteps = 0)
    {
        if (warmupTarget is null)
        {
            Check.Positive(initialLearningRate, nameof(InitialLearningRate));
        }
        else
        {
            Check.NonNegative(initialLearningRate, nameof(InitialLearningRate));
        }

        PositiveSteps(decaySteps);

        Check.InRange(alpha, 0f, 1f, "[]", nameof(alpha));

        if (warmupTarget is { } target)
        {
            Check.Positive(target, nameof(WarmupTarget));
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

    internal override bool TryWrite(ComponentConfig config)
    {
        config.Set(TypeKey, nameof(CosineDecay)).Set("schedule_initial_learning_rate", InitialLearningRate).Set("schedule_decay_steps", DecaySteps)
            .Set("schedule_alpha", Alpha).Set("schedule_warmup_steps", WarmupSteps);
        if (WarmupTarget is { } target)
        {
            config.Set("schedule_warmup_target", target);
        }

        return true;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iteration"/> is negative.</exception>
    public override float Rate(long iteration)
    {
        Check.NonNegative(iteration, nameof(iteration), "step count");
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

/// <summary>
/// Keras 3's <c>ExponentialDecay</c>: <c>lr = initial·decayRate^(s / decaySteps)</c> at step s, with the exponent
/// floored when <c>staircase</c> (the rate then drops every <c>decaySteps</c> steps).
/// </summary>
public sealed class ExponentialDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule; arguments as Keras names them.</summary>
    /// <param name="initialLearningRate">The first step's rate; positive.</param>
    /// <param name="decaySteps">Steps per factor of <paramref name="decayRate"/>; positive.</param>
    /// <param name="decayRate">The factor per <paramref name="decaySteps"/> steps; positive and finite.</param>
    /// <param name="staircase">Whether the rate drops in steps rather than continuously.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range (named, with its value).</exception>
    public ExponentialDecay(float initialLearningRate, long decaySteps, float decayRate, bool staircase = false)
    {
        Check.Positive(initialLearningRate, nameof(InitialLearningRate));
        PositiveSteps(decaySteps);

        Check.Positive(decayRate, nameof(DecayRate));
        (InitialLearningRate, DecaySteps, DecayRate, Staircase) = (initialLearningRate, decaySteps, decayRate, staircase);
    }

    /// <summary>The first step's rate.</summary>
    public float InitialLearningRate { get; }

    /// <summary>Steps per factor of <see cref="DecayRate"/>.</summary>
    public long DecaySteps { get; }

    /// <summary>The factor per <see cref="DecaySteps"/> steps.</summary>
    public float DecayRate { get; }

    /// <summary>Whether the exponent is floored.</summary>
    public bool Staircase { get; }

    internal override bool TryWrite(ComponentConfig config)
    {
        config.Set(TypeKey, nameof(ExponentialDecay)).Set("schedule_initial_learning_rate", InitialLearningRate).Set("schedule_decay_steps", DecaySteps)
            .Set("schedule_decay_rate", DecayRate).Set("schedule_staircase", Staircase);
        return true;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iteration"/> is negative.</exception>
    public override float Rate(long iteration)
    {
        Check.NonNegative(iteration, nameof(iteration), "step count");
        double exponent = iteration / (double)DecaySteps;
        if (Staircase)
        {
            exponent = Math.Floor(exponent);
        }

        return (float)(InitialLearningRate * Math.Pow(DecayRate, exponent));
    }
}

/// <summary>
/// Keras 3's <c>PiecewiseConstantDecay</c>: <c>values[0]</c> while the step is at most <c>boundaries[0]</c>,
/// <c>values[i]</c> while it is in <c>(boundaries[i - 1], boundaries[i]]</c>, and the last value after the last boundary.
/// </summary>
public sealed class PiecewiseConstantDecay : LearningRateSchedule
{
    private readonly long[] _boundaries;
    private readonly float[] _values;

    /// <summary>Creates the schedule; arguments as Keras names them.</summary>
    /// <param name="boundaries">Strictly increasing, non-negative steps.</param>
    /// <param name="values">One more rate than boundaries; each non-negative and finite.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The lengths do not match, the boundaries do not increase, or a rate is invalid.</exception>
    public PiecewiseConstantDecay(IReadOnlyList<long> boundaries, IReadOnlyList<float> values)
    {
        ArgumentNullException.ThrowIfNull(boundaries);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != boundaries.Count + 1)
        {
            throw new ArgumentException(
                $"Expected one more value than boundaries. Received: {boundaries.Count} boundaries and {values.Count} values.", nameof(values));
        }

        for (int i = 0; i < boundaries.Count; i++)
        {
            if (boundaries[i] < 0 || (i > 0 && boundaries[i] <= boundaries[i - 1]))
            {
                throw new ArgumentException(
                    $"Expected strictly increasing, non-negative boundaries. Received: boundaries[{i}]={boundaries[i]}.", nameof(boundaries));
            }
        }

        for (int i = 0; i < values.Count; i++)
        {
            if (!(values[i] >= 0 && float.IsFinite(values[i])))
            {
                throw new ArgumentException($"Expected non-negative, finite rates. Received: values[{i}]={values[i]}.", nameof(values));
            }
        }

        _boundaries = [.. boundaries];
        _values = [.. values];
    }

    /// <summary>The boundaries.</summary>
    public IReadOnlyList<long> Boundaries => _boundaries;

    /// <summary>The rates.</summary>
    public IReadOnlyList<float> Values => _values;

    internal override bool TryWrite(ComponentConfig config)
    {
        config.Set(TypeKey, nameof(PiecewiseConstantDecay)).Set("schedule_boundaries", Steps(_boundaries)).Set("schedule_values", _values);
        return true;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iteration"/> is negative.</exception>
    public override float Rate(long iteration)
    {
        Check.NonNegative(iteration, nameof(iteration), "step count");
        int piece = 0;
        while (piece < _boundaries.Length && iteration > _boundaries[piece])
        {
            piece++;
        }

        return _values[piece];
    }
}

/// <summary>
/// The one-cycle policy (Smith and Topping, 2017), as PyTorch's <c>OneCycleLR</c> with cosine annealing (Keras has no
/// built-in one): from <c>maxLearningRate / divFactor</c> up to <c>maxLearningRate</c> over the first
/// <c>pctStart·totalSteps - 1</c> steps, then down to <c>initial / finalDivFactor</c> at step <c>totalSteps - 1</c>,
/// each phase a half cosine; the last rate is kept after <c>totalSteps</c>.
/// </summary>
/// <remarks>
/// Only the learning rate cycles. PyTorch's <c>OneCycleLR</c> by default (<c>cycle_momentum=True</c>) also moves
/// momentum (SGD's momentum, Adam's β1) opposite to the rate, from 0.95 down to 0.85 and back; a schedule here sets the
/// rate alone, so for PyTorch's exact trajectory compare with <c>cycle_momentum=False</c>.
/// </remarks>
public sealed class OneCycle : LearningRateSchedule
{
    /// <summary>Creates the schedule; arguments as PyTorch names them.</summary>
    /// <param name="maxLearningRate">The peak rate; positive.</param>
    /// <param name="totalSteps">The steps of the cycle; at least 2.</param>
    /// <param name="pctStart">The fraction of the cycle spent rising, in (0, 1).</param>
    /// <param name="divFactor">The initial rate is <c>maxLearningRate / divFactor</c>; at least 1.</param>
    /// <param name="finalDivFactor">The final rate is the initial one divided by this; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range (named, with its value).</exception>
    public OneCycle(float maxLearningRate, long totalSteps, double pctStart = 0.3, double divFactor = 25, double finalDivFactor = 1e4)
    {
        Check.Positive(maxLearningRate, nameof(MaxLearningRate));
        Check.AtLeast(totalSteps, 2, nameof(totalSteps), "a number of steps");

        Check.InRange(pctStart, 0f, 1f, "()", nameof(pctStart));

        if (!(divFactor >= 1 && double.IsFinite(divFactor)))
        {
            throw new ArgumentOutOfRangeException(nameof(divFactor), divFactor, $"Expected a finite divFactor >= 1. Received: divFactor={divFactor}.");
        }

        if (!(finalDivFactor >= 1 && double.IsFinite(finalDivFactor)))
        {
            throw new ArgumentOutOfRangeException(nameof(finalDivFactor), finalDivFactor,
                $"Expected a finite finalDivFactor >= 1. Received: finalDivFactor={finalDivFactor}.");
        }

        (MaxLearningRate, TotalSteps, PctStart, DivFactor, FinalDivFactor) = (maxLearningRate, totalSteps, pctStart, divFactor, finalDivFactor);
    }

    /// <summary>The peak rate.</summary>
    public float MaxLearningRate { get; }

    /// <summary>The steps of the cycle.</summary>
    public long TotalSteps { get; }

    /// <summary>The fraction of the cycle spent rising.</summary>
    public double PctStart { get; }

    /// <summary>The ratio of the peak to the initial rate.</summary>
    public double DivFactor { get; }

    /// <summary>The ratio of the initial to the final rate.</summary>
    public double FinalDivFactor { get; }

    internal override bool TryWrite(ComponentConfig config)
    {
        config.Set(TypeKey, nameof(OneCycle)).Set("schedule_max_learning_rate", MaxLearningRate).Set("schedule_total_steps", TotalSteps)
            .Set("schedule_pct_start", PctStart).Set("schedule_div_factor", DivFactor).Set("schedule_final_div_factor", FinalDivFactor);
        return true;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iteration"/> is negative.</exception>
    public override float Rate(long iteration)
    {
        Check.NonNegative(iteration, nameof(iteration), "step count");
        double initial = MaxLearningRate / DivFactor, final = initial / FinalDivFactor;
        double peakStep = (PctStart * TotalSteps) - 1, lastStep = TotalSteps - 1;
        double step = Math.Min(iteration, lastStep);
        return step <= peakStep
            ? (float)Anneal(initial, MaxLearningRate, peakStep <= 0 ? 1 : step / peakStep)
            : (float)Anneal(MaxLearningRate, final, (step - peakStep) / (lastStep - peakStep));
    }

    // PyTorch's cosine annealing from start to end as pct goes from 0 to 1.
    private static double Anneal(double start, double end, double pct) => end + ((start - end) / 2 * (Math.Cos(Math.PI * pct) + 1));
}
