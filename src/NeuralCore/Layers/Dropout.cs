using System.Runtime.CompilerServices;
using NeuralCore.Configuration;

namespace NeuralCore.Layers;

/// <summary>
/// Inverted dropout: in training each element is kept with probability <c>1 - rate</c> and scaled by
/// <c>1 / (1 - rate)</c>, or zeroed; at inference it is the identity. Masks come from the layer's seed, so a seed
/// fixes them (<see cref="NoiseLayer"/>).
/// </summary>
public sealed class Dropout : NoiseLayer
{
    /// <summary>Creates a dropout layer whose size is fixed when it is added to a model.</summary>
    /// <param name="rate">The fraction of elements dropped, in [0, 1).</param>
    /// <param name="name">The layer's name, or null for a Keras-style one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1) or NaN.</exception>
    public Dropout(float rate, string? name = null)
        : base(name)
    {
        Check.InRange(rate, 0f, 1f, "[)", nameof(rate), "a dropout rate");

        Rate = rate;
    }

    /// <summary>Creates a built dropout layer over <paramref name="size"/> features.</summary>
    /// <param name="size">Features per sample; positive.</param>
    /// <param name="rate">The fraction of elements dropped, in [0, 1).</param>
    /// <param name="seed">The seed of the masks.</param>
    /// <param name="name">The layer's name, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive, or <paramref name="rate"/> is outside [0, 1) or NaN.</exception>
    public Dropout(int size, float rate, ulong seed, string? name = null)
        : this(rate, name) => BuildFromSize(size, seed);

    /// <summary>The fraction of elements dropped in training.</summary>
    public float Rate { get; }

    /// <inheritdoc/>
    public override string DefaultName => "dropout";

    /// <inheritdoc/>
    public override string TypeId => "Dropout";

    /// <inheritdoc/>
    internal override bool RandomInTraining => Rate > 0f;

    /// <inheritdoc/>
    /// <remarks><c>rate</c>.</remarks>
    public override void WriteConfig(ComponentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Set("rate", Rate);
    }

    [ModuleInitializer]
    internal static void Register() => ComponentRegistry.RegisterLayer("Dropout", config => new Dropout(config.GetSingle("rate")));

    // Multiplicative, by the default Apply and ApplyBackward: output = input·m, inputGrad = outputGrad·m.
    private protected override void Draw(Span<float> noise)
    {
        float scale = 1f / (1f - Rate);
        for (int i = 0; i < noise.Length; i++)
        {
            noise[i] = Noise.Uniform() >= Rate ? scale : 0f;
        }
    }
}
