using System.Globalization;

namespace NeuralCore.Configuration;

/// <summary>
/// The named settings a layer, loss or optimizer writes to describe itself, and reads to rebuild itself (Keras's
/// <c>get_config</c> and <c>from_config</c>). The model file stores a component as its type id and this config, so a
/// new component needs no change anywhere else: it writes its settings, registers a factory that reads them
/// (<see cref="ComponentRegistry"/>), and files round-trip it.
/// </summary>
/// <remarks>
/// Values are booleans, 32- and 64-bit integers, floats, doubles, strings and float arrays, each under a unique key.
/// A getter names the component and the key when a value is missing or has another type, and the model file adds its
/// own name, so a bad file reports exactly what is wrong.
/// </remarks>
public sealed class ComponentConfig
{
    private readonly List<KeyValuePair<string, object>> _entries = [];

    /// <summary>Creates an empty config for the component <paramref name="typeId"/>.</summary>
    /// <param name="typeId">The component's type id, used in error messages.</param>
    /// <exception cref="ArgumentException"><paramref name="typeId"/> is null or empty.</exception>
    public ComponentConfig(string typeId)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeId);
        TypeId = typeId;
    }

    /// <summary>The type id of the component this config describes.</summary>
    public string TypeId { get; }

    /// <summary>The entries, in the order they were set.</summary>
    public IReadOnlyList<KeyValuePair<string, object>> Entries => _entries;

    /// <summary>Sets a boolean.</summary>
    /// <param name="key">The key; unique in this config.</param>
    /// <param name="value">The value.</param>
    /// <returns>This config, to chain calls.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty or already set.</exception>
    public ComponentConfig Set(string key, bool value) => Add(key, value);

    /// <summary>Sets a 32-bit integer.</summary>
    /// <param name="key">The key; unique in this config.</param>
    /// <param name="value">The value.</param>
    /// <returns>This config, to chain calls.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty or already set.</exception>
    public ComponentConfig Set(string key, int value) => Add(key, value);

    /// <summary>Sets a 64-bit integer.</summary>
    /// <param name="key">The key; unique in this config.</param>
    /// <param name="value">The value.</param>
    /// <returns>This config, to chain calls.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty or already set.</exception>
    public ComponentConfig Set(string key, long value) => Add(key, value);

    /// <summary>Sets a float.</summary>
    /// <param name="key">The key; unique in this config.</param>
    /// <param name="value">The value.</param>
    /// <returns>This config, to chain calls.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty or already set.</exception>
    public ComponentConfig Set(string key, float value) => Add(key, value);

    /// <summary>Sets a double.</summary>
    /// <param name="key">The key; unique in this config.</param>
    /// <param name="value">The value.</param>
    /// <returns>This config, to chain calls.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty or already set.</exception>
    public ComponentConfig Set(string key, double value) => Add(key, value);

    /// <summary>Sets a string.</summary>
    /// <param name="key">The key; unique in this config.</param>
    /// <param name="value">The value; not null.</param>
    /// <returns>This config, to chain calls.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty or already set.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    public ComponentConfig Set(string key, string value) => Add(key, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>Sets a float array (copied).</summary>
    /// <param name="key">The key; unique in this config.</param>
    /// <param name="value">The values.</param>
    /// <returns>This config, to chain calls.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty or already set.</exception>
    public ComponentConfig Set(string key, ReadOnlySpan<float> value) => Add(key, value.ToArray());

    /// <summary>Whether <paramref name="key"/> is set.</summary>
    /// <param name="key">The key.</param>
    /// <returns>True when set.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    public bool Contains(string key) => Find(key) >= 0;

    /// <summary>The boolean under <paramref name="key"/>, or <paramref name="fallback"/> when it is not set.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when the key is missing (a setting added in a later version).</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    /// <exception cref="InvalidDataException">The key holds another type.</exception>
    public bool GetBoolean(string key, bool? fallback = null) => Get(key, fallback);

    /// <summary>The 32-bit integer under <paramref name="key"/>, or <paramref name="fallback"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when the key is missing, or null to require it.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    /// <exception cref="InvalidDataException">The key is missing without a fallback, or holds another type.</exception>
    public int GetInt32(string key, int? fallback = null) => Get(key, fallback);

    /// <summary>The 64-bit integer under <paramref name="key"/>, or <paramref name="fallback"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when the key is missing, or null to require it.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    /// <exception cref="InvalidDataException">The key is missing without a fallback, or holds another type.</exception>
    public long GetInt64(string key, long? fallback = null) => Get(key, fallback);

    /// <summary>The float under <paramref name="key"/>, or <paramref name="fallback"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when the key is missing, or null to require it.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    /// <exception cref="InvalidDataException">The key is missing without a fallback, or holds another type.</exception>
    public float GetSingle(string key, float? fallback = null) => Get(key, fallback);

    /// <summary>The double under <paramref name="key"/>, or <paramref name="fallback"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when the key is missing, or null to require it.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    /// <exception cref="InvalidDataException">The key is missing without a fallback, or holds another type.</exception>
    public double GetDouble(string key, double? fallback = null) => Get(key, fallback);

    /// <summary>The string under <paramref name="key"/>, or <paramref name="fallback"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when the key is missing, or null to require it.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    /// <exception cref="InvalidDataException">The key is missing without a fallback, or holds another type.</exception>
    public string GetString(string key, string? fallback = null)
    {
        int i = Find(key);
        if (i < 0)
        {
            return fallback ?? throw Missing(key);
        }

        return _entries[i].Value as string ?? throw WrongType(key, "a string");
    }

    /// <summary>The float array under <paramref name="key"/> (a copy).</summary>
    /// <param name="key">The key.</param>
    /// <returns>The values.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    /// <exception cref="InvalidDataException">The key is missing, or holds another type.</exception>
    public float[] GetSingles(string key)
    {
        int i = Find(key);
        if (i < 0)
        {
            throw Missing(key);
        }

        return _entries[i].Value is float[] values ? (float[])values.Clone() : throw WrongType(key, "a float array");
    }

    /// <summary>Adds an entry read from a file (the model file's reader).</summary>
    internal void AddRaw(string key, object value) => Add(key, value);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{TypeId}({string.Join(", ", _entries.Select(e => $"{e.Key}={Format(e.Value)}"))})";

    private static string Format(object value) => value switch
    {
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float[] a => $"[{a.Length} values]",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private T Get<T>(string key, T? fallback)
        where T : struct
    {
        int i = Find(key);
        if (i < 0)
        {
            return fallback ?? throw Missing(key);
        }

        return _entries[i].Value is T value ? value : throw WrongType(key, typeof(T).Name);
    }

    private ComponentConfig Add(string key, object value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (Find(key) >= 0)
        {
            throw new ArgumentException($"{TypeId}: the config key '{key}' is already set.", nameof(key));
        }

        _entries.Add(new(key, value));
        return this;
    }

    private int Find(string key)
    {
        // Every lookup passes here. A null or empty key, which Set refuses, had been reported as missing from the
        // config, an InvalidDataException.
        ArgumentException.ThrowIfNullOrEmpty(key);
        for (int i = 0; i < _entries.Count; i++)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private InvalidDataException Missing(string key) => new($"{TypeId}: the config has no '{key}'.");

    private InvalidDataException WrongType(string key, string expected) =>
        new($"{TypeId}: the config's '{key}' is not {expected}.");
}
