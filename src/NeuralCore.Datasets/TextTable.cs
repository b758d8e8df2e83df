using System.Globalization;
using System.Text;

namespace NeuralCore.Data;

/// <summary>
/// A table of text fields under a header row, read from a delimited file: the form of tabular data whose columns mix
/// numbers and categories (<c>"red"</c>, <c>"setosa"</c>), such as a CSV exported from a spreadsheet or a database.
/// <see cref="TableEncoder"/> turns it into the numbers a model takes; a table of numbers only can also be read with
/// <see cref="NumericTable"/>.
/// </summary>
/// <remarks>
/// Fields are kept as read (surrounding spaces and quotes removed), column by column; a column's repeated values share
/// one string. The table is immutable.
/// </remarks>
public sealed class TextTable
{
    /// <summary>The most fields a table holds (rows × columns): <see cref="Array.MaxLength"/>.</summary>
    public static int MaxFields => Array.MaxLength;

    // A column stops sharing its repeated values once it has held this many distinct ones (a column of measurements
    // repeats few, and a dictionary of all of them would cost more than the strings it saves).
    private const int MaxPooled = 4096;

    private readonly string[][] _columns;
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;
    // Where the rows came from, for messages: the file's name and each row's first line (null for rows built in memory).
    private readonly string? _source;
    private readonly int[]? _lines;

    private TextTable(string[] names, string[][] columns, int rows, string? source = null, int[]? lines = null)
    {
        _names = names;
        _columns = columns;
        Rows = rows;
        _source = source;
        _lines = lines;
        _index = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
        for (int c = 0; c < names.Length; c++)
        {
            _index.Add(names[c], c);
        }
    }

    /// <summary>A table of the given rows under the given column names (copied).</summary>
    /// <param name="columnNames">The header: distinct, non-empty names; at least one.</param>
    /// <param name="rows">The rows, each holding one field (not null) per column.</param>
    /// <exception cref="ArgumentNullException">An argument, a row or a field is null.</exception>
    /// <exception cref="ArgumentException">
    /// No column is named, a name is empty or repeated, or a row holds another number of fields than the header (the
    /// row is named).
    /// </exception>
    public TextTable(IReadOnlyList<string> columnNames, IReadOnlyList<IReadOnlyList<string>> rows)
        : this(CheckedNames(columnNames), Columnize(columnNames, rows), rows.Count)
    {
    }

    /// <summary>The column names, from the header, in order.</summary>
    public IReadOnlyList<string> ColumnNames => Array.AsReadOnly(_names);

    /// <summary>The number of rows below the header.</summary>
    public int Rows { get; }

    /// <summary>The number of columns.</summary>
    public int Columns => _names.Length;

    /// <summary>The field at <paramref name="row"/>, <paramref name="column"/>.</summary>
    /// <param name="row">The row, in <c>[0, Rows)</c>.</param>
    /// <param name="column">The column, in <c>[0, Columns)</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The row or the column is outside the table.</exception>
    public string this[int row, int column]
    {
        get
        {
            Check.Index(row, Rows, nameof(row), "a row");
            Check.Index(column, Columns, nameof(column), "a column");

            return _columns[column][row];
        }
    }

    /// <summary>The fields of the column named <paramref name="name"/>, one per row.</summary>
    /// <param name="name">A column name (case-sensitive).</param>
    /// <returns>The column's fields, in row order (a read-only view).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException">No column has that name (the names present are listed).</exception>
    public IReadOnlyList<string> Column(string name) => Array.AsReadOnly(_columns[IndexOf(name)]);

    /// <summary>The position of the column named <paramref name="name"/>.</summary>
    /// <param name="name">A column name (case-sensitive).</param>
    /// <returns>Its index in <see cref="ColumnNames"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException">No column has that name (the names present are listed).</exception>
    public int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _index.TryGetValue(name, out int column)
            ? column
            : throw new ArgumentException($"The table has no column {Quote(name)}; its columns are {Listed(_names)}.", nameof(name));
    }

    /// <summary>Whether a column is named <paramref name="name"/>.</summary>
    /// <param name="name">A column name (case-sensitive).</param>
    /// <returns>True if the table has that column.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public bool HasColumn(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _index.ContainsKey(name);
    }

    /// <summary>A table of the rows at <paramref name="rows"/>, in that order (an index may repeat), under the same header.</summary>
    /// <param name="rows">The rows to take, each in <c>[0, Rows)</c>.</param>
    /// <returns>A new table of <c>rows.Length</c> rows.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside <c>[0, Rows)</c>, named with its position.</exception>
    public TextTable Subset(ReadOnlySpan<int> rows)
    {
        // Of an empty table every index is outside: the range [0, -1] would have let any through.
        int bad = Rows == 0 ? (rows.IsEmpty ? -1 : 0) : rows.IndexOfAnyExceptInRange(0, Rows - 1);
        if (bad >= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"rows[{bad}] = {rows[bad]} is outside [0, {Rows}).");
        }

        int[]? lines = _lines is null ? null : new int[rows.Length];
        var columns = new string[Columns][];
        for (int c = 0; c < Columns; c++)
        {
            string[] source = _columns[c], column = columns[c] = new string[rows.Length];
            for (int r = 0; r < rows.Length; r++)
            {
                column[r] = source[rows[r]];
            }
        }

        for (int r = 0; lines is not null && r < rows.Length; r++)
        {
            lines[r] = _lines![rows[r]];
        }

        return new TextTable(_names, columns, rows.Length, _source, lines);
    }

    /// <summary>
    /// Splits the rows into training and test tables after a seeded shuffle, by the rule of
    /// <see cref="Dataset.SplitShuffled"/> (scikit-learn's <c>train_test_split</c>): the test table is
    /// <c>ceil(Rows × testFraction)</c> rows drawn at random, the training table the rest. Split the text before
    /// fitting a <see cref="TableEncoder"/>, so that nothing of the test rows shapes the encoding.
    /// </summary>
    /// <param name="testFraction">The fraction held out, in (0, 1).</param>
    /// <param name="seed">The shuffle's seed.</param>
    /// <returns>The training and test tables.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="testFraction"/> is not in (0, 1).</exception>
    /// <exception cref="ArgumentException">Either part would be empty.</exception>
    public (TextTable Training, TextTable Test) SplitShuffled(double testFraction, ulong seed)
    {
        (int[] order, int test) = Dataset.ShuffledSplit(Rows, testFraction, seed, "rows");
        return (Subset(order.AsSpan(test)), Subset(order.AsSpan(0, test)));
    }

    /// <summary>
    /// Reads a table with a header row. Fields are separated by semicolons, commas or tabs, whichever the header holds
    /// outside quotes first in that order (as <see cref="NumericTable"/> chooses: a file of semicolons is one whose
    /// numbers may hold decimal commas; a header of one name is one column), and parsed by Sep: quotes and surrounding spaces are
    /// removed, and a quoted field may hold separators and line breaks. Empty lines (or lines of spaces) are skipped; a
    /// quoted empty field alone on a line is a row (in a table of one column, a missing value; in a wider one, a row of
    /// too few fields, refused by line). A <c>.gz</c> file is
    /// decompressed as it is read, and must be one complete gzip member.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The table.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or only white space.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file holds no header; a header name is empty or repeated; a row has another number of fields than the
    /// header; a line or row is longer than 16M characters; the table holds more than <see cref="MaxFields"/> fields
    /// (the file and line are named); a quote stands inside a field that does not start with one, or text follows a
    /// field's closing quote; the file is not UTF-8 (nor UTF-16 or UTF-32 with a byte order mark); or a <c>.gz</c> file
    /// is truncated, corrupt or not gzip.
    /// </exception>
    /// <exception cref="InsufficientMemoryException">The fields do not fit in the memory available (the file is named).</exception>
    public static TextTable Read(string path) => DelimitedRows.ReadFile(path, Read);

    /// <summary>Reads a table with a header row from text (see <see cref="Read(string)"/>); a leading byte-order mark is skipped.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="name">The source's name in messages.</param>
    /// <returns>The table.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidDataException">As <see cref="Read(string)"/>.</exception>
    /// <exception cref="InsufficientMemoryException">The fields do not fit in the memory available.</exception>
    public static TextTable Read(TextReader reader, string name) => Read(reader, name, MaxFields);

    // maxFields: MaxFields, or less in tests, which cannot fill 2^31 fields.
    internal static TextTable Read(TextReader reader, string name, long maxFields)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(name);
        var buffer = new StringBuilder();
        int line = 1;
        // The whole header row, though a quoted name holds line breaks: the separator is chosen from all of it.
        string? header = NumericTable.ReadLine(reader, buffer, name, line, record: true);
        if (header is not null && header.StartsWith('\uFEFF'))
        {
            header = header[1..];
        }

        while (header is not null && string.IsNullOrWhiteSpace(header))
        {
            header = NumericTable.ReadLine(reader, buffer, name, ++line, record: true);
        }

        if (header is null)
        {
            throw new InvalidDataException($"{name} holds no header row: the first line of a table names its columns.");
        }

        // Only outside quotes: a header of "price, net";qty is separated by semicolons. Semicolons before commas, as
        // NumericTable takes them: with commas first, the header Preis, netto;Menge over the row 1,5;2 read as the
        // columns 'Preis' and 'netto;Menge' holding '1' and '5;2' without a word (the counts matched); the other way
        // round, a comma file with a semicolon in a name gets rows of too few fields, refused by line.
        string bare = Unquoted(header);
        char separator = bare.Contains(';', StringComparison.Ordinal) ? ';'
            : bare.Contains(',', StringComparison.Ordinal) ? ','
            : bare.Contains('\t', StringComparison.Ordinal) ? '\t' : ',';
        try
        {
            return ReadRows(header, reader, separator, name, line, maxFields);
        }
        catch (OutOfMemoryException e)
        {
            throw new InsufficientMemoryException($"{name}: its fields do not fit in the memory available.", e);
        }
    }

    private static TextTable ReadRows(string header, TextReader rest, char separator, string name, int firstLine, long maxFields)
    {
        string[]? names = null;
        List<string>[] columns = [];
        Dictionary<string, string>[] pools = [];
        var lines = new List<int>();
        long fields = 0;
        int rows = 0;
        DelimitedRows.Read(header, rest, separator, name, firstLine, "a table", (row, line, lastLine) =>
        {
            if (names is null)
            {
                names = new string[row.ColCount];
                for (int c = 0; c < names.Length; c++)
                {
                    names[c] = row[c].ToString();
                }

                CheckHeader(names, name, line);
                columns = [.. names.Select(_ => new List<string>())];
                pools = [.. names.Select(_ => new Dictionary<string, string>(StringComparer.Ordinal))];
                return;
            }

            if (row.ColCount != names.Length)
            {
                throw new InvalidDataException(
                    $"{DelimitedRows.Where(name, line, lastLine)}: {row.ColCount} fields, but the header names {names.Length} columns ({Listed(names)}).");
            }

            fields += names.Length;
            if (fields > maxFields)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{DelimitedRows.Where(name, line, lastLine)}: the table holds more than {maxFields} fields, the most one table holds; split the file."));
            }

            for (int c = 0; c < names.Length; c++)
            {
                columns[c].Add(Shared(pools[c], row[c].Span));
            }

            lines.Add(line);
            rows++;
        });

        // A header of quoted empty fields only is skipped as blank, like any other blank row.
        return names is null
            ? throw new InvalidDataException($"{name} holds no header row: the first line of a table names its columns.")
            : new TextTable(names, [.. columns.Select(c => c.ToArray())], rows, name, [.. lines]);
    }

    // The line without its quoted parts.
    private static string Unquoted(string line)
    {
        var bare = new StringBuilder(line.Length);
        bool quoted = false;
        foreach (char c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted)
            {
                bare.Append(c);
            }
        }

        return bare.ToString();
    }

    // The field as a string, one instance per distinct value while the column has few of them.
    private static string Shared(Dictionary<string, string> pool, ReadOnlySpan<char> field)
    {
        Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> lookup = pool.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(field, out string? shared))
        {
            return shared;
        }

        string value = field.ToString();
        if (pool.Count < MaxPooled)
        {
            pool.Add(value, value);
        }

        return value;
    }

    private static void CheckHeader(string[] names, string source, int line)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int c = 0; c < names.Length; c++)
        {
            if (names[c].Length == 0)
            {
                throw new InvalidDataException($"{source}, line {line}: column {c + 1} of the header has no name; every column needs one.");
            }

            if (!seen.Add(names[c]))
            {
                throw new InvalidDataException($"{source}, line {line}: the header names column {Quote(names[c])} twice (columns {Array.IndexOf(names, names[c]) + 1} and {c + 1}); names must differ.");
            }
        }
    }

    private static string[] CheckedNames(IReadOnlyList<string> columnNames)
    {
        ArgumentNullException.ThrowIfNull(columnNames);
        if (columnNames.Count == 0)
        {
            throw new ArgumentException("Expected at least one column name. Received: none.", nameof(columnNames));
        }

        string[] names = [.. columnNames];
        for (int c = 0; c < names.Length; c++)
        {
            ArgumentNullException.ThrowIfNull(names[c], $"{nameof(columnNames)}[{c}]");
        }

        try
        {
            CheckHeader(names, "the header", 1);
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException(e.Message, nameof(columnNames));
        }

        return names;
    }

    private static string[][] Columnize(IReadOnlyList<string> columnNames, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int width = columnNames.Count;
        var columns = new string[width][];
        for (int c = 0; c < width; c++)
        {
            columns[c] = new string[rows.Count];
        }

        for (int r = 0; r < rows.Count; r++)
        {
            IReadOnlyList<string> row = rows[r] ?? throw new ArgumentNullException(nameof(rows), $"rows[{r}] is null.");
            if (row.Count != width)
            {
                throw new ArgumentException($"rows[{r}] holds {row.Count} fields, but the header names {width} columns.", nameof(rows));
            }

            for (int c = 0; c < width; c++)
            {
                columns[c][r] = row[c] ?? throw new ArgumentNullException(nameof(rows), $"rows[{r}][{c}] is null.");
            }
        }

        return columns;
    }

    internal string[] RawColumn(int column) => _columns[column];

    /// <summary>Where row <paramref name="row"/> is, for messages: "file, line N" for a table read from text, else "Row N".</summary>
    internal string Where(int row) => _lines is null || _source is null
        ? string.Create(CultureInfo.InvariantCulture, $"Row {row}")
        : string.Create(CultureInfo.InvariantCulture, $"{_source}, line {_lines[row]}");

    /// <summary>The table in messages: its file, for a table read from text, else "The table".</summary>
    internal string Name => _source ?? "The table";

    internal static string Listed(IReadOnlyList<string> names) =>
        names.Count <= 12 ? string.Join(", ", names.Select(Quote)) : string.Join(", ", names.Take(12).Select(Quote)) + $" and {names.Count - 12} more";

    /// <summary>The most characters of a file's text that <see cref="Quote(string)"/> shows.</summary>
    internal const int QuotedLength = 80;

    /// <summary>
    /// A name or field from a file (or from the caller) as a message shows it: in single quotes, its control characters
    /// as <c>?</c> (an escape sequence in a CSV header cleared the terminal that printed the message, and a NUL cut it
    /// short), and past <see cref="QuotedLength"/> characters cut, with its length (a field of a million characters made
    /// a message of a million). A null shows as <c>null</c>; without <c>quotes</c> (a JSON number's text) the same, unquoted.
    /// </summary>
    internal static string Quote(string? text) => text is null ? "null" : Quote(text.AsSpan());

    /// <inheritdoc cref="Quote(string)"/>
    internal static string Quote(ReadOnlySpan<char> text, bool quotes = true)
    {
        string q = quotes ? "'" : "";
        if (text.Length <= QuotedLength)
        {
            return $"{q}{Configuration.Names.Printable(text.ToString())}{q}";
        }

        // Not between the two halves of a surrogate pair: a lone half is not text.
        int cut = char.IsHighSurrogate(text[QuotedLength - 1]) ? QuotedLength - 1 : QuotedLength;
        return string.Create(CultureInfo.InvariantCulture, $"{q}{Configuration.Names.Printable(text[..cut].ToString())}…{q} ({text.Length} characters)");
    }

}
