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
    /// line breaks that could forge lines of a report) and the bidirectional overrides and isolates (U+202A-U+202E,
    /// U+2066-U+2069, which reorder the text printed after them: "Trojan Source") each become <c>?</c>. Other format
    /// characters stay (the zero-width joiner of an emoji sequence among them).
    /// </summary>
    /// <param name="name">The name.</param>
    /// <returns>The printable name.</returns>
    public static string Printable(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ReadOnlySpan<char> span = name;
        if (!span.ContainsAnyInRange('\0', '\u001f') && !span.Contains('\u007f') && !span.ContainsAnyInRange('\u0080', '\u009f')
            && !span.ContainsAnyInRange('\u202a', '\u202e') && !span.ContainsAnyInRange('\u2066', '\u2069'))
        {
            return name;
        }

        var text = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            text.Append(char.IsControl(c) || c is (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069') ? '?' : c);
        }

        return text.ToString();
    }
}
