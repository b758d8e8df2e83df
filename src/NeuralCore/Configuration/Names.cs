using System.Text;

namespace NeuralCore.Configuration;

/// <summary>The rules for model and layer names: what the model file can store, and how they are printed.</summary>
public static class Names
{
    /// <summary>The longest name the model file stores, in UTF-8 bytes.</summary>
    public const int MaxUtf8Bytes = 4096;

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Throws unless <paramref name="name"/> can be saved: not null, valid UTF-16, at most <see cref="MaxUtf8Bytes"/> bytes of UTF-8.</summary>
    /// <param name="name">The name.</param>
    /// <param name="parameter">The parameter to name in the exception.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException">The name is too long, or holds a lone surrogate (no UTF-8 form).</exception>
    public static void Check(string name, string parameter)
    {
        ArgumentNullException.ThrowIfNull(name, parameter);
        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(name);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException($"The name holds a lone UTF-16 surrogate, which the model file cannot store.", parameter);
        }

        if (bytes > MaxUtf8Bytes)
        {
            throw new ArgumentException($"The name is {bytes} bytes of UTF-8; the model file stores at most {MaxUtf8Bytes}.", parameter);
        }
    }

    /// <summary>
    /// The name as it may be printed: control characters (escape sequences that could clear a terminal or fake output,
    /// line breaks that could forge lines of a report) each become <c>?</c>.
    /// </summary>
    /// <param name="name">The name.</param>
    /// <returns>The printable name.</returns>
    public static string Printable(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!name.AsSpan().ContainsAnyInRange('\0', '\u001f') && !name.Contains('\u007f', StringComparison.Ordinal) && !name.AsSpan().ContainsAnyInRange('\u0080', '\u009f'))
        {
            return name;
        }

        var text = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            text.Append(char.IsControl(c) ? '?' : c);
        }

        return text.ToString();
    }
}
