namespace NeuralCore.Optimizers;

/// <summary>An optimizer that updates a flat parameter arena from its gradient arena in one pass.</summary>
public interface IOptimizer
{
    /// <summary>The Keras name of the optimizer.</summary>
    string Name { get; }

    /// <summary>
    /// Writes the settings that rebuild this optimizer, its current <see cref="LearningRate"/> included;
    /// <see cref="Name"/> is its type id in model files. The step count and <see cref="State"/> are saved apart.
    /// </summary>
    /// <param name="config">The config to write to.</param>
    void WriteConfig(Configuration.ComponentConfig config);

    /// <summary>The number of steps taken so far.</summary>
    long Iterations { get; }

    /// <summary>
    /// The learning rate the next step uses: the options' rate at first; a schedule (see
    /// <see cref="Training.LearningRateScheduler"/>) may change it between steps, as Keras assigns
    /// <c>optimizer.learning_rate</c>. Saved with a model, so training resumes at the rate it stopped at.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is negative, infinite or NaN (0 is allowed: a decay may end there).</exception>
    float LearningRate { get; set; }

    /// <summary>The optimizer's state (moments, velocity), flat; empty when it keeps none. Saved with a model to resume training.</summary>
    Memory<float> State { get; }

    /// <summary>Allocates state for <paramref name="parameterCount"/> parameters and resets the step count.</summary>
    /// <param name="parameterCount">The arena's length; non-negative.</param>
    void Initialize(int parameterCount);

    /// <summary>Restores the step count (with <see cref="State"/>, to resume training).</summary>
    /// <param name="iterations">Steps already taken; non-negative.</param>
    void SetIterations(long iterations);

    /// <summary>Applies one update: <paramref name="parameters"/> change in place, from <paramref name="gradients"/>.</summary>
    /// <param name="parameters">The arena; as long as given to <see cref="Initialize"/>.</param>
    /// <param name="gradients">The gradients, same length.</param>
    /// <exception cref="InvalidOperationException">Not initialized for this length.</exception>
    void Update(Span<float> parameters, ReadOnlySpan<float> gradients);
}
