using System.Globalization;
using System.Text;
using NeuralCore.IO;
using nietras.SeparatedValues;

namespace NeuralCore.Data;

/// <summary>The rows of delimited text read by Sep, with the lines each spans: the loop under <see cref="NumericTable"/> and <see cref="TextTable"/>.</summary>
internal static class DelimitedRows
{
    /// <summary>Handles one row that is not blank; <paramref name="line"/> to <paramref name="lastLine"/> are the lines it spans.</summary>
    public delegate void Handler(SepReader.Row row, int line, int lastLine);

    /// <summary>
    /// Reads <paramref name="first"/> (the line already read to choose the separator, on line <paramref name="firstLine"/>)
    /// and then the rest, fields trimmed and unquoted, skipping blank lines (a quoted empty field is a row of one value).
    /// </summary>
    /// <exception cref="InvalidDataException">A row is longer than Sep takes (16M characters), holds a quote that never closes, a quote inside a field that does not start with one, or text after a field's closing quote; the source and line are named.</exception>
    public static void Read(string first, TextReader rest, char separator, string name, int firstLine, string what, Handler handle)
    {
        // Sep reads the rest as it goes: the whole text as one string ran out of memory (a string holds at most 2^30
        // characters) for files that fit in memory as floats.
        using var text = new NumericTable.PrefixedTextReader(first + "\n", rest);
        using SepReader sep = Sep.New(separator).Reader(o => o with { HasHeader = false, DisableColCountCheck = true, Trim = SepTrim.All, Unescape = true }).From(text);
        // Sep's line numbers, from 1 at the replayed first line: a row spans [its start, LineNumberToExcl), and starts
        // where the one before it ended (a quoted field holding a newline makes rows and lines differ). Its own
        // LineNumberFrom is not used: Sep 0.17.1 gives the first row's as 2.
        int start = 1;
        try
        {
            foreach (SepReader.Row row in sep)
            {
                int line = firstLine - 1 + start, lastLine = firstLine - 2 + row.LineNumberToExcl;
                start = row.LineNumberToExcl;
                // A blank line; not a quoted empty field, the one value of a one-column row ("" in a label column was
                // skipped, and the rows below it moved up a sample). The raw text is read before the field is
                // unescaped in place.
                if (row.ColCount == 1 && row.Span.IsWhiteSpace())
                {
                    continue;
                }

                // A quote that never closes makes the rest of the file one field: `1,5" screen` swallowed every row
                // after it without a word. Quotes come in pairs in any row Sep ends itself (enclosing ones, and "" for
                // a quote inside a quoted field).
                if (row.Span.Count('"') % 2 != 0)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"{Where(name, line, Math.Max(line, lastLine))}: a quote (\") opens a field that never closes, so the rest of the file would be read as that one field; remove the quote, or write the field in quotes with each quote inside it doubled (\"5\"\" screen\")."));
                }

                if (row.Span.Contains('"'))
                {
                    CheckQuotes(row.Span, separator, name, line);
                }

                handle(row, line, lastLine);
            }
        }
        catch (NotSupportedException e)
        {
            // Sep's own limit on a row's length (16M characters), reached by a file that is not a table of rows.
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{name}, after line {firstLine - 2 + start}: a row longer than the CSV reader takes ({e.Message}); is this {what}, one row per line?"), e);
        }
    }

    /// <summary>
    /// Opens a table file as text for <paramref name="read"/>, which gets the reader and the file's name for messages:
    /// a <c>.gz</c> file is decompressed as it is read, and must be one complete gzip member.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or only white space.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist (or is not a regular file: <see cref="InputFile.RequireRegular"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    public static T ReadFile<T>(string path, Func<TextReader, string, T> read)
    {
        ArgumentNullException.ThrowIfNull(path);
        // Refused by name: looked up, it gave FileNotFoundException ": no such table file.", with no file named.
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"Expected the path of a table file. Received: path=\"{path}\" ({(path.Length == 0 ? "empty" : "white space only")}).", nameof(path));
        }

        InputFile.RequireRegular(path, "table file");
        string name = Path.GetFileName(path);
        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? Gzip.OpenVerified(file, name) : file;
        // Invalid UTF-8 throws: decoded with replacement characters, a Windows-1252 file (Excel's "CSV") read 'Café' and
        // 'Cafè' as one category 'Caf\uFFFD' without a word. A byte order mark still selects UTF-16 or UTF-32.
        using var reader = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true),
            detectEncodingFromByteOrderMarks: true);
        try
        {
            return read(reader, name);
        }
        catch (DecoderFallbackException e)
        {
            string bytes = e.BytesUnknown is { Length: > 0 } unknown ? string.Join(" ", unknown.Select(b => $"0x{b:X2}")) : "a byte";
            throw new InvalidDataException(
                $"{name}: {bytes} is not UTF-8 text, so the file is in another encoding (Excel's \"CSV\" is Windows-1252); save it as UTF-8 (Excel: \"CSV UTF-8\"), or read it through a StreamReader of its encoding with the overload that takes a TextReader.",
                e);
        }
    }

    /// <summary>
    /// Refuses a quote anywhere but around a whole field (after its leading spaces, which Sep trims; not tabs, which it
    /// keeps), and text but spaces after a field's closing quote: Sep takes any quote as the start or end of a quoted
    /// stretch, so two stray quotes on different lines (<c>TV,55" wide,500</c> then <c>TV,65" wide,900</c>) joined the
    /// two rows into one without a word, and two on one line dropped the quotes and kept the rest. RFC 4180 allows
    /// quotes only around a field. Lines are counted by their line feeds.
    /// </summary>
    private static void CheckQuotes(ReadOnlySpan<char> raw, char separator, string name, int firstLine)
    {
        for (int i = 0; ;)
        {
            while (i < raw.Length && raw[i] == ' ')
            {
                i++;
            }

            if (i < raw.Length && raw[i] == '"')
            {
                // A quoted field: up to the quote that is not doubled, then only blanks before the separator.
                for (i++; ;)
                {
                    int close = raw[i..].IndexOf('"');
                    if (close < 0)
                    {
                        return; // Unpaired: refused above by the count of quotes.
                    }

                    i += close + 1;
                    if (i < raw.Length && raw[i] == '"')
                    {
                        i++;
                        continue;
                    }

                    break;
                }

                int after = i;
                while (i < raw.Length && raw[i] == ' ')
                {
                    i++;
                }

                if (i < raw.Length && raw[i] != separator)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"{name}, line {firstLine + raw[..after].Count('\n')}: text follows the closing quote of a quoted field ('{Excerpt(raw, after)}'); a quoted field ends at its closing quote: double each quote inside it (\"5\"\" screen\")."));
                }
            }
            else
            {
                int end = raw[i..].IndexOf(separator);
                end = end < 0 ? raw.Length : i + end;
                int quote = raw[i..end].IndexOf('"');
                if (quote >= 0)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"{name}, line {firstLine + raw[..(i + quote)].Count('\n')}: a quote (\") inside a field that does not start with one ('{Excerpt(raw, i + quote)}'), which a CSV reader takes as the start of a quoted stretch, joining or changing fields; write the field in quotes with each quote inside it doubled (\"5\"\" screen\")."));
                }

                i = end;
            }

            if (i >= raw.Length)
            {
                return;
            }

            i++; // the separator
        }
    }

    // Up to 20 characters around position, on one line, for a message.
    private static string Excerpt(ReadOnlySpan<char> raw, int position)
    {
        int start = Math.Max(0, position - 10), end = Math.Min(raw.Length, position + 10);
        return Configuration.Names.Printable(raw[start..end].ToString().Replace('\n', ' ').Replace('\r', ' '));
    }

    /// <summary>"name, line N", or "name, lines N-M" for a row that spans several.</summary>
    public static string Where(string name, int line, int lastLine) => lastLine > line ? $"{name}, lines {line}-{lastLine}" : $"{name}, line {line}";
}
