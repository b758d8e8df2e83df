using System.Collections.Concurrent;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Optimizers;

namespace NeuralCore.Configuration;

/// <summary>
/// Maps type ids to the factories that rebuild layers, losses and optimizers from their <see cref="ComponentConfig"/>,
/// so that the model file needs no list of types. Every built-in component registers itself, in its own file, when the
/// library loads; a component of your own registers once before a file that holds it is read.
/// </summary>
public static class ComponentRegistry
{
    private static readonly ConcurrentDictionary<string, Func<ComponentConfig, ILayer>> s_layers = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Func<ComponentConfig, ILoss>> s_losses = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Func<ComponentConfig, IOptimizer>> s_optimizers = new(StringComparer.Ordinal);

    /// <summary>Registers the factory of layers whose <see cref="ILayer.TypeId"/> is <paramref name="typeId"/>.</summary>
    /// <param name="typeId">The type id.</param>
    /// <param name="factory">Builds an unbuilt layer from its config (the model builds it when it is added).</param>
    /// <exception cref="ArgumentException"><paramref name="typeId"/> is empty or already registered to another factory.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is null.</exception>
    public static void RegisterLayer(string typeId, Func<ComponentConfig, ILayer> factory) => Register(s_layers, typeId, factory, "layer");

    /// <summary>Registers the factory of losses whose <see cref="ILoss.Name"/> is <paramref name="typeId"/>.</summary>
    /// <param name="typeId">The type id.</param>
    /// <param name="factory">Builds the loss from its config.</param>
    /// <exception cref="ArgumentException"><paramref name="typeId"/> is empty or already registered to another factory.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is null.</exception>
    public static void RegisterLoss(string typeId, Func<ComponentConfig, ILoss> factory) => Register(s_losses, typeId, factory, "loss");

    /// <summary>Registers the factory of optimizers whose <see cref="IOptimizer.Name"/> is <paramref name="typeId"/>.</summary>
    /// <param name="typeId">The type id.</param>
    /// <param name="factory">Builds the optimizer from its config.</param>
    /// <exception cref="ArgumentException"><paramref name="typeId"/> is empty or already registered to another factory.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is null.</exception>
    public static void RegisterOptimizer(string typeId, Func<ComponentConfig, IOptimizer> factory) => Register(s_optimizers, typeId, factory, "optimizer");

    /// <summary>The registered layer type ids.</summary>
    public static IReadOnlyCollection<string> LayerTypes => [.. s_layers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The registered loss type ids.</summary>
    public static IReadOnlyCollection<string> LossTypes => [.. s_losses.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The registered optimizer type ids.</summary>
    public static IReadOnlyCollection<string> OptimizerTypes => [.. s_optimizers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Rebuilds a layer from its config.</summary>
    /// <param name="config">The config; its <see cref="ComponentConfig.TypeId"/> selects the factory.</param>
    /// <returns>The layer, not built.</returns>
    /// <exception cref="InvalidDataException">No factory is registered for the type id, or the config is invalid.</exception>
    /// <exception cref="InvalidOperationException">The registered factory returned null.</exception>
    public static ILayer CreateLayer(ComponentConfig config) => Create(s_layers, config, "layer");

    /// <summary>Rebuilds a loss from its config.</summary>
    /// <param name="config">The config.</param>
    /// <returns>The loss.</returns>
    /// <exception cref="InvalidDataException">No factory is registered for the type id, or the config is invalid.</exception>
    /// <exception cref="InvalidOperationException">The registered factory returned null.</exception>
    public static ILoss CreateLoss(ComponentConfig config) => Create(s_losses, config, "loss");

    /// <summary>Rebuilds an optimizer from its config.</summary>
    /// <param name="config">The config.</param>
    /// <returns>The optimizer, initialized by the model it is compiled with.</returns>
    /// <exception cref="InvalidDataException">No factory is registered for the type id, or the config is invalid.</exception>
    /// <exception cref="InvalidOperationException">The registered factory returned null.</exception>
    public static IOptimizer CreateOptimizer(ComponentConfig config) => Create(s_optimizers, config, "optimizer");

    /// <summary>The config of a layer: its type id and what it writes.</summary>
    /// <param name="layer">The layer.</param>
    /// <returns>The config.</returns>
    public static ComponentConfig ConfigOf(ILayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var config = new ComponentConfig(layer.TypeId);
        layer.WriteConfig(config);
        return config;
    }

    /// <summary>The config of a loss.</summary>
    /// <param name="loss">The loss.</param>
    /// <returns>The config.</returns>
    public static ComponentConfig ConfigOf(ILoss loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        var config = new ComponentConfig(loss.Name);
        loss.WriteConfig(config);
        return config;
    }

    /// <summary>The config of an optimizer.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <returns>The config.</returns>
    public static ComponentConfig ConfigOf(IOptimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var config = new ComponentConfig(optimizer.Name);
        optimizer.WriteConfig(config);
        return config;
    }

    private static void Register<T>(ConcurrentDictionary<string, Func<ComponentConfig, T>> table, string typeId, Func<ComponentConfig, T> factory, string kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeId);
        ArgumentNullException.ThrowIfNull(factory);
        Func<ComponentConfig, T> stored = table.GetOrAdd(typeId, factory);
        if (stored != factory)
        {
            throw new ArgumentException($"A {kind} factory is already registered for the type id '{typeId}'.", nameof(typeId));
        }
    }

    private static T Create<T>(ConcurrentDictionary<string, Func<ComponentConfig, T>> table, ComponentConfig config, string kind)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!table.TryGetValue(config.TypeId, out Func<ComponentConfig, T>? factory))
        {
            throw new InvalidDataException(
                $"unknown {kind} type '{config.TypeId}' (registered: {string.Join(", ", table.Keys.Order(StringComparer.Ordinal))}); a {kind} of your own must be registered with ComponentRegistry.Register{char.ToUpperInvariant(kind[0])}{kind[1..]} before loading");
        }

        T? created;
        try
        {
            created = factory(config);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"invalid {kind} config {config}: {ex.Message}", ex);
        }

        // A registered factory of the caller's that returned null gave null where the signature promises an object.
        return created ?? throw new InvalidOperationException(
            $"the factory registered for {kind} type '{config.TypeId}' returned null; it must return a new {kind}.");
    }
}
