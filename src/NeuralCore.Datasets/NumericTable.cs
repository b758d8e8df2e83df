using System.Globalization;
using System.Text;

namespace NeuralCore.Data;

/// <summary>
/// A table of numbers read from a delimited text file (CSV, or columns separated by spaces), row-major in
/// <see cref="Values"/>: the form tabular data sets (scikit-learn's, UCI's) come in.
/// </summary>
/// <remarks>
/// The constructor checks the whole shape. A <c>with</c> expression sets its properties one after the other, so each
/// refuses a bad value of its own (null, negative) at once, but whether the values fill the new shape can only be told
/// once all are set: <see cref="ColumnsOf"/> checks it before reading.
/// </remarks>
/// <param name="Values">The <c>[Rows, Columns]</c> values, row-major: exactly <c>Rows·Columns</c> of them.</param>
/// <param name="Rows">The number of rows; non-negative.</param>
/// <param name="Columns">The number of columns; non-negative.</param>
/// <exception cref="ArgumentNullException"><paramref name="Values"/> is null.</exception>
/// <exception cref="ArgumentOutOfRangeException"><paramref name="Rows"/> or <paramref name="Columns"/> is negative.</exception>
/// <exception cref="ArgumentException"><paramref name="Values"/> does not hold <c>Rows·Columns</c> values.</exception>
public sealed record NumericTable(float[] Values, int Rows, int Columns)
{
    // Values's initializer runs first and checks all three, so that a bad shape is refused before any is stored.

    /// <summary>The <c>[Rows, Columns]</c> values, row-major.</summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public float[] Values { get; init => field = value ?? throw new ArgumentNullException(nameof(Values), "Expected an array of values. Received: null."); } =
        CheckShape(Values, Rows, Columns);

    /// <summary>The number of rows.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative number.</exception>
    public int Rows { get; init => field = NonNegative(value, nameof(Rows)); } = Rows;

    /// <summary>The number of columns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative number.</exception>
    public int Columns { get; init => field = NonNegative(value, nameof(Columns)); } = Columns;

    /// <summary>The most values a table holds: one <c>float[]</c>, at most <see cref="Array.MaxLength"/> elements.</summary>
    public const int MaxValues = 0x7FFFFFC7;

    /// <summary>
    /// Reads a table of numbers. Fields are separated by semicolons, commas or tabs (the first of these the first row
    /// holds, parsed by Sep, quotes and surrounding spaces removed), or, in a file with none of them, by runs of spaces; a
    /// field of a file separated by semicolons may write its decimal point as a comma (<c>1,5;2;0</c>); a
    /// first row of one field is read as CSV of one column (quotes removed). Empty lines are skipped. A <c>.gz</c> file is decompressed as it is read, and must be one complete gzip member: its
    /// decompressed length must equal its trailer's size field (.NET's gzip decoder reports a cut file as a normal end).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="skipLines">Leading lines to skip (a header; 0 for none); non-negative.</param>
    /// <returns>The table.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or only white space.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="skipLines"/> is negative.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// A field is not a number, a line has another number of fields than the first, or a line or row is longer than 16M
    /// characters (the file and line are named); or
    /// a <c>.gz</c> file is truncated, not gzip, corrupt, or of several gzip members (the file is named); or the file
    /// holds more than <see cref="MaxValues"/> values, a quote inside a field that does not start with one, or bytes
    /// that are not UTF-8 (nor UTF-16 or UTF-32 with a byte order mark).
    /// </exception>
    /// <exception cref="InsufficientMemoryException">The values do not fit in the memory available (the file is named). The text is streamed, and the values need twice their size as float32 while they are read.</exception>
    public static NumericTable Read(string path, int skipLines)
    {
        Check.NonNegative(skipLines, nameof(skipLines), "number of lines to skip");
        return DelimitedRows.ReadFile(path, (reader, name) => Read(reader, name, skipLines));
    }

    /// <summary>Reads a table of numbers from text (see <see cref="Read(string, int)"/>); a leading byte-order mark is skipped.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="name">The source's name in messages.</param>
    /// <param name="skipLines">Leading lines to skip (0 for none); non-negative.</param>
    /// <returns>The table.</returns>
    /// <exception cref="InvalidDataException">A field is not a number, a line has another number of fields than the first, a line or row is longer than the CSV reader takes (16M characters), or the text holds more than <see cref="MaxValues"/> values.</exception>
    /// <exception cref="InsufficientMemoryException">The values do not fit in the memory available.</exception>
    public static NumericTable Read(TextReader reader, string name, int skipLines) => Read(reader, name, skipLines, MaxValues);

    // maxValues: MaxValues, or less in tests, which cannot fill an array of 2^31 floats.
    internal static NumericTable Read(TextReader reader, string name, int skipLines, long maxValues)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(name);
        Check.NonNegative(skipLines, nameof(skipLines), "number of lines to skip");
        int line = 0;
        var buffer = new StringBuilder();
        // The lines skipped are lines (a header is counted by its lines); the first row read is a whole row.
        string? first = ReadLine(reader, buffer, name, 1, record: skipLines == 0);
        // A StreamReader drops a byte-order mark, but text handed over in a string or another reader may still start
        // with one, which made the first field "\uFEFF1", not a number.
        if (first is not null && first.StartsWith('\uFEFF'))
        {
            first = first[1..];
        }

        while (first is not null && (++line <= skipLines || string.IsNullOrWhiteSpace(first)))
        {
            first = ReadLine(reader, buffer, name, line + 1, record: line >= skipLines);
        }

        if (first is null)
        {
            throw new InvalidDataException($"{name} holds no rows of numbers.");
        }

        // Delimited text (CSV, or semicolons or tabs) goes through Sep; columns aligned with runs of spaces, as some
        // data sets come, are split here. A single column is CSV too (any separator; it holds none), so that its
        // quotes are removed as in a file of several columns: split on spaces, "151" was not a number.
        // Semicolons before commas: a row that holds both is one with decimal commas ("1,5;2;0"), which split on its
        // commas gave the field '5;2;0'. Commas still before tabs: a comma file may pad its fields with tabs.
        char? separator = first.Contains(';', StringComparison.Ordinal) ? ';' : first.Contains(',', StringComparison.Ordinal) ? ',' : first.Contains('\t', StringComparison.Ordinal) ? '\t'
            : first.AsSpan().Trim().Contains(' ') ? null : ',';
        var values = new ValueBuffer(name, maxValues);
        return separator is { } sep ? ReadDelimited(first, reader, sep, values, line) : ReadAligned(first, reader, values, line, buffer);
    }

    /// <summary>The longest line read before the CSV reader takes over, and of space-aligned text: Sep's own limit on a row.</summary>
    internal const int MaxLineLength = 1 << 24;

    // TextReader.ReadLine with a limit: it read a file with no line break whole (a 2 GiB file of zero bytes took 40 s
    // and 8 GB, then an ArgumentOutOfRangeException from the string it built). Ends a line at \n, \r or \r\n, as it.
    // With record, a line break inside quotes (each '"' opens or closes them, as Sep reads them) is kept as written and
    // the row goes on: the separator is chosen from the whole first row, which a quoted field may carry over lines
    // (a header of "a<newline>b";c was read as one column named 'a<newline>b;c', its first line holding no ';').
    internal static string? ReadLine(TextReader reader, StringBuilder line, string name, int number, bool record = false)
    {
        line.Clear();
        bool quoted = false, spans = false;
        int c;
        while ((c = reader.Read()) >= 0 && (quoted || c is not ('\n' or '\r')))
        {
            if (line.Length == MaxLineLength)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{name}, line {number}: a {(spans ? "row (a quoted field holding line breaks)" : "line")} longer than {MaxLineLength} characters; is this a table of numbers, one row per line?"));
            }

            quoted ^= record && c == '"';
            spans |= c is '\n' or '\r';
            line.Append((char)c);
        }

        if (c == '\r' && reader.Peek() == '\n')
        {
            reader.Read();
        }

        return c < 0 && line.Length == 0 ? null : line.ToString();
    }

    private static NumericTable ReadDelimited(string first, TextReader rest, char separator, ValueBuffer values, int firstLine)
    {
        string name = values.Name;
        int columns = -1, rows = 0;
        DelimitedRows.Read(first, rest, separator, name, firstLine, "a table of numbers", (row, line, lastLine) =>
        {
            if (columns < 0)
            {
                columns = row.ColCount;
            }
            else if (row.ColCount != columns)
            {
                throw new InvalidDataException($"{Where(name, line, lastLine)}: {row.ColCount} fields, but the first row has {columns}.");
            }

            values.EnsureRoom(row.ColCount, line);
            for (int c = 0; c < row.ColCount; c++)
            {
                values.Add(ParseField(row[c].Span, name, line, lastLine, c, decimalComma: separator == ';'));
            }

            rows++;
        });

        // Rows that were all blank (a quoted "" on each line) left no row of numbers, and the table a width of -1.
        return rows == 0 ? throw new InvalidDataException($"{name} holds no rows of numbers.") : new NumericTable(values.ToArray(), rows, columns);
    }

    private static NumericTable ReadAligned(string first, TextReader rest, ValueBuffer values, int line, StringBuilder buffer)
    {
        string name = values.Name;
        int columns = -1, rows = 0;
        for (string? text = first; text is not null; text = ReadLine(rest, buffer, name, line + 1), line++)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            string[] fields = text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (columns < 0)
            {
                columns = fields.Length;
            }
            else if (fields.Length != columns)
            {
                throw new InvalidDataException($"{name}, line {line}: {fields.Length} fields, but the first row has {columns}.");
            }

            values.EnsureRoom(fields.Length, line);
            for (int c = 0; c < fields.Length; c++)
            {
                values.Add(ParseField(fields[c], name, line, line, c));
            }

            rows++;
        }

        // Rows that were all blank (a quoted "" on each line) left no row of numbers, and the table a width of -1.
        return rows == 0 ? throw new InvalidDataException($"{name} holds no rows of numbers.") : new NumericTable(values.ToArray(), rows, columns);
    }

    /// <summary>The values of columns <c>[first, first + count)</c> of every row, as a new row-major array.</summary>
    /// <param name="first">The first column, in <c>[0, Columns]</c>.</param>
    /// <param name="count">The number of columns, in <c>[0, Columns − first]</c>.</param>
    /// <returns>The <c>[Rows, count]</c> values.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="first"/> or <paramref name="count"/> reaches outside the table.</exception>
    /// <exception cref="InvalidOperationException">
    /// <see cref="Values"/> does not hold <c>Rows·Columns</c> values: a <c>with</c> expression changed the shape without
    /// the values, or the values without the shape.
    /// </exception>
    public float[] ColumnsOf(int first, int count)
    {
        if ((uint)first > (uint)Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(first), first,
                $"Expected a first column in [0, {Columns}]. Received: first={first}, count={count}.");
        }

        if ((uint)count > (uint)(Columns - first))
        {
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"Expected a count of columns in [0, {Columns - first}] (columns {first}.. of {Columns}). Received: first={first}, count={count}.");
        }

        if ((long)Rows * Columns != Values.Length)
        {
            throw new InvalidOperationException(
                $"{ShapeMismatch(Values.Length, Rows, Columns)}: a with expression changed the shape without the values, or the values without the shape; set them together.");
        }

        float[] result = new float[Rows * count];
        for (int r = 0; r < Rows; r++)
        {
            Values.AsSpan((r * Columns) + first, count).CopyTo(result.AsSpan(r * count, count));
        }

        return result;
    }

    private static float[] CheckShape(float[] values, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(values, nameof(Values));
        NonNegative(rows, nameof(Rows));
        NonNegative(columns, nameof(Columns));
        // In 64 bits: 65536 × 65536 is 0 in int arithmetic, which an empty array would have matched.
        if ((long)rows * columns != values.Length)
        {
            // Named after the primary constructor's parameter, which this helper checks from Values's initializer.
#pragma warning disable CA2208
            throw new ArgumentException($"{ShapeMismatch(values.Length, rows, columns)}.", nameof(Values));
#pragma warning restore CA2208
        }

        return values;
    }

    private static int NonNegative(int value, string name)
    {
        Check.NonNegative(value, name, $"number of {name.ToLowerInvariant()}");
        return value;
    }

    private static string ShapeMismatch(int length, int rows, int columns) =>
        $"Values holds {length} floats but [Rows={rows}, Columns={columns}] needs {(long)rows * columns}";

    // A field as a finite float32: float.TryParse takes "NaN" and "Infinity", and turns 1e999 into an infinity, none of
    // which a model can train on.
    // line, lastLine: the lines the field's row spans (more than one when a quoted field holds a newline).
    private static float ParseField(ReadOnlySpan<char> field, string name, int line, int lastLine, int column, bool decimalComma = false)
    {
        if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value)
            && !(decimalComma && field.Count(',') == 1 && !field.Contains('.') && TryDecimalComma(field, out value)))
        {
            throw new InvalidDataException($"{Where(name, line, lastLine)}, field {column + 1}: {TextTable.Quote(field)} is not a number.");
        }

        if (!float.IsFinite(value))
        {
            throw new InvalidDataException(
                $"{Where(name, line, lastLine)}, field {column + 1}: {TextTable.Quote(field)} is not a finite float32 (a missing value, an infinity, or beyond ±3.4E+38): fill in or remove it first.");
        }

        return value;
    }

    private static string Where(string name, int line, int lastLine) => DelimitedRows.Where(name, line, lastLine);

    // "1,5" in a file whose fields are not separated by commas: a decimal comma, as European spreadsheets write.
    private static bool TryDecimalComma(ReadOnlySpan<char> field, out float value)
    {
        Span<char> copy = field.Length <= 64 ? stackalloc char[field.Length] : new char[field.Length];
        field.Replace(copy, ',', '.');
        return float.TryParse(copy, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// The values read so far, in chunks of at most 4 MB, so that growing never copies them and the peak is the
    /// values twice (the chunks and the final array), not three times as a doubling list's growth and copy cost.
    /// </summary>
    private sealed class ValueBuffer(string name, long maxValues)
    {
        private const int MaxChunk = 1 << 20;
        private readonly List<float[]> _full = [];
        private float[] _chunk = new float[1024];
        private int _used;
        private long _count;

        public string Name => name;

        /// <summary>Refuses, naming the line, a row that would take the table past the limit; makes room for it.</summary>
        public void EnsureRoom(int fields, int line)
        {
            if (_count + fields > maxValues)
            {
                throw new InvalidDataException(
                    $"{name}, line {line}: more than {maxValues} values, the most one table holds ({MaxValues}, one .NET array of floats): read a part of the file at a time.");
            }
        }

        public void Add(float value)
        {
            if (_used == _chunk.Length)
            {
                _full.Add(_chunk);
                _chunk = Allocate((int)Math.Min(MaxChunk, _count));
                _used = 0;
            }

            _chunk[_used++] = value;
            _count++;
        }

        public float[] ToArray()
        {
            float[] result = Allocate((int)_count);
            int offset = 0;
            foreach (float[] chunk in _full)
            {
                chunk.CopyTo(result, offset);
                offset += chunk.Length;
            }

            _chunk.AsSpan(0, _used).CopyTo(result.AsSpan(offset));
            return result;
        }

        // The table is the one large allocation here: when memory runs out, say which file and how much it needs,
        // rather than let a bare OutOfMemoryException escape from deep inside the reader.
        private float[] Allocate(int length)
        {
            try
            {
                return new float[length];
            }
            catch (OutOfMemoryException e)
            {
                throw new InsufficientMemoryException(
                    $"{name}: {_count} values read so far ({_count * sizeof(float) / (1 << 20)} MB as float32) leave no memory for {length} more (the whole table needs the values twice while it is read): free memory, or read a part of the file at a time.",
                    e);
            }
        }
    }

    /// <summary>Yields <c>prefix</c>, then the rest of <c>inner</c>: gives back the line read to choose the separator.</summary>
    internal sealed class PrefixedTextReader(string prefix, TextReader inner) : TextReader
    {
        private int _position;

        public override int Peek() => _position < prefix.Length ? prefix[_position] : inner.Peek();

        public override int Read() => _position < prefix.Length ? prefix[_position++] : inner.Read();

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer) =>
            Prefix.TryRead(prefix.AsSpan(), ref _position, buffer, out int n) ? n : inner.Read(buffer);
    }
}
