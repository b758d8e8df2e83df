using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class NumericTableTests
{
    private static NumericTable Read(string text, int skip = 0) => NumericTable.Read(new StringReader(text), "t.csv", skip);

    [Theory]
    [InlineData("a,b\n1,2.5\n-3,4e2\n", 1)]
    [InlineData("1;2.5\n-3;4e2\n", 0)]
    [InlineData("1\t2.5\n\n-3\t4e2\n", 0)]
    [InlineData("  1   2.5\n -3    4e2\n", 0)]
    [InlineData("\"1\", \"2.5\"\n-3 ,4e2\n", 0)]
    [InlineData("a;b\n1;2,5\n-3;4e2\n", 1)] // decimal commas: split on its commas, this was '2;5' and not a number
    [InlineData("1\t,2.5\n-3\t,4e2\n", 0)] // a comma file padded with tabs: split on its tabs, this was 0.2 and 0.4
    public void Delimited_and_aligned_text_read_the_same(string text, int skip)
    {
        NumericTable table = Read(text, skip);
        Assert.Equal(2, table.Rows);
        Assert.Equal(2, table.Columns);
        Assert.Equal([1f, 2.5f, -3f, 400f], table.Values);
    }

    [Theory]
    [InlineData("\"151\"\n\"75\"\n")]
    [InlineData("151\n75")]
    [InlineData(" \"151\" \r\n\r\n 75\n")]
    public void A_single_column_is_unquoted_as_several_are(string text)
    {
        // A first row of one field went to the split-on-spaces path: "'\"151\"' is not a number".
        NumericTable table = Read(text);
        Assert.Equal((2, 1), (table.Rows, table.Columns));
        Assert.Equal([151f, 75f], table.Values);
    }

    [Theory]
    [InlineData("\uFEFF1,2\n3,4\n", 0)]
    [InlineData("\uFEFF1 2\n3 4\n", 0)]
    [InlineData("\uFEFFa,b\n1,2\n3,4\n", 1)]
    [InlineData("\uFEFF\n1;2\n3;4\n", 0)]
    public void A_byte_order_mark_from_a_reader_is_skipped(string text, int skip)
    {
        // A StreamReader drops it, a StringReader does not: "'\uFEFF1' is not a number".
        Assert.Equal([1f, 2f, 3f, 4f], Read(text, skip).Values);
    }

    [Fact]
    public void Errors_name_the_line_and_the_field()
    {
        var ragged = Assert.Throws<InvalidDataException>(() => Read("x\n1,2\n3\n", 1));
        Assert.Contains("t.csv, line 3: 1 fields, but the first row has 2", ragged.Message, StringComparison.Ordinal);
        var word = Assert.Throws<InvalidDataException>(() => Read("1,2\n3,four\n"));
        Assert.Contains("t.csv, line 2, field 2: 'four' is not a number", word.Message, StringComparison.Ordinal);
        // A comma in a comma-separated file separates; one that is not a decimal comma is no number elsewhere either.
        Assert.Contains("field 2: '2,5,1' is not a number", Assert.Throws<InvalidDataException>(() => Read("1;2,5,1\n")).Message, StringComparison.Ordinal);
        Assert.Contains("field 2: '2,5.1' is not a number", Assert.Throws<InvalidDataException>(() => Read("1;2,5.1\n")).Message, StringComparison.Ordinal);
        var empty = Assert.Throws<InvalidDataException>(() => Read("header\n", 1));
        Assert.Contains("holds no rows", empty.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1,2\n\"3\n\",4\n5,6\n7,x\n", 0, "t.csv, line 5, field 2: 'x' is not a number")]
    [InlineData("h\n\n1,2\n\"3\r\n\n\",4\r\n\r\n7,x\n", 1, "t.csv, line 8, field 2: 'x' is not a number")]
    [InlineData("1,2\n\"3\n\",x\n", 0, "t.csv, lines 2-3, field 2: 'x' is not a number")]
    [InlineData("1,2\n\"3\n\n\"\n", 0, "t.csv, lines 2-4: 1 fields, but the first row has 2")]
    [InlineData("\"1\n\",2\n3,x\n", 0, "t.csv, line 3, field 2: 'x' is not a number")]
    [InlineData("\"1\n\";2\n3;x\n", 0, "t.csv, line 3, field 2: 'x' is not a number")]
    [InlineData("h\n\"1\n\"\t2\n3\tx\n", 1, "t.csv, line 4, field 2: 'x' is not a number")]
    public void Lines_are_counted_across_quoted_newlines(string text, int skip, string message)
    {
        // Rows were counted as lines: the x of the first case was reported on line 4.
        // The last two chose their separator from the first row's first line ('"1', which holds none), and read the
        // row as one field.
        var e = Assert.Throws<InvalidDataException>(() => Read(text, skip));
        Assert.Equal(message + ".", e.Message);
    }

    [Theory]
    [InlineData("1e999")]
    [InlineData("-1e39")]
    [InlineData("NaN")]
    [InlineData("-Infinity")]
    public void Values_that_are_no_finite_float_are_refused_by_line_and_field_from_a_reader_and_a_file(string field)
    {
        // float.TryParse turned 1e999 into an infinity and took "NaN" without a word.
        string text = $"1,2\n3,{field}\n";
        var fromReader = Assert.Throws<InvalidDataException>(() => Read(text));
        Assert.Contains($"t.csv, line 2, field 2: '{field}' is not a finite float32", fromReader.Message, StringComparison.Ordinal);
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, text);
            var fromFile = Assert.Throws<InvalidDataException>(() => NumericTable.Read(path, 0));
            Assert.Contains($"line 2, field 2: '{field}' is not a finite float32", fromFile.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Gzip_files_are_read_and_a_missing_file_is_named()
    {
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-{Guid.NewGuid():N}.csv.gz");
        try
        {
            using (var gzip = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
            using (var writer = new StreamWriter(gzip))
            {
                writer.Write("1,2\n3,4\n");
            }

            Assert.Equal([1f, 2, 3, 4], NumericTable.Read(path, 0).Values);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Throws<FileNotFoundException>(() => NumericTable.Read(path, 0));

        // An empty path was looked up as a file: FileNotFoundException ": no such table file.", naming nothing.
        foreach (string blank in new[] { "", " \t" })
        {
            var e = Assert.Throws<ArgumentException>(() => NumericTable.Read(blank, 0));
            Assert.Equal("path", e.ParamName);
            Assert.StartsWith("Expected the path of a table file. Received: path=", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_cut_of_a_gzip_file_and_a_plain_file_named_gz_are_refused_by_name()
    {
        // GZipStream reports a cut stream as a normal end: cuts loaded the first rows (50 of 569) or, without the
        // trailer, everything, and others failed as "line 2, field 23: '' is not a number".
        var text = new System.Text.StringBuilder();
        for (int r = 0; r < 40; r++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{r},{r * 0.5},{r * r},{-r}\n");
        }

        byte[] gz = Compress(text.ToString());
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-{Guid.NewGuid():N}.csv.gz");
        string name = Path.GetFileName(path);
        try
        {
            File.WriteAllBytes(path, gz);
            Assert.Equal(40, NumericTable.Read(path, 0).Rows);
            for (int length = 0; length < gz.Length; length++)
            {
                File.WriteAllBytes(path, gz[..length]);
                var e = Assert.Throws<InvalidDataException>(() => NumericTable.Read(path, 0));
                Assert.StartsWith($"{name}: truncated or not a gzip file (", e.Message, StringComparison.Ordinal);
            }

            File.WriteAllText(path, text.ToString());
            var plain = Assert.Throws<InvalidDataException>(() => NumericTable.Read(path, 0));
            Assert.Equal($"{name}: truncated or not a gzip file (it does not start with the gzip magic bytes 1f 8b).", plain.Message);

            byte[] damaged = (byte[])gz.Clone();
            damaged[^6] ^= 0xFF; // inside the CRC-32: the length matches, zlib's CRC check fails
            File.WriteAllBytes(path, damaged);
            var crc = Assert.Throws<InvalidDataException>(() => NumericTable.Read(path, 0));
            Assert.StartsWith($"{name}: corrupt gzip data: ", crc.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Compress(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(System.Text.Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }

    [Fact]
    public void Delimited_text_is_streamed_and_a_table_over_the_limit_is_refused_by_line()
    {
        // The reader built the whole text as one string (first + "\n" + ReadToEnd()): a 1.2 GB CSV threw a raw
        // OutOfMemoryException from StringBuilder.ToString. This reader fails if anything asks for all of it.
        NumericTable table = NumericTable.Read(new GeneratedRows(100_000), "big.csv", 0);
        Assert.Equal((100_000, 4), (table.Rows, table.Columns));
        Assert.Equal([0.1f, 0.2f, 0.3f, 0.4f], table.Values[^4..]);

        var e = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader("1,2\n3,4\n5,6\n"), "t.csv", 0, maxValues: 5));
        Assert.StartsWith("t.csv, line 3: more than 5 values, the most one table holds", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader("1 2\n3 4\n5 6\n"), "t.txt", 0, maxValues: 4));
        Assert.StartsWith("t.txt, line 3: more than 4 values", e.Message, StringComparison.Ordinal);
        Assert.Equal(6, NumericTable.Read(new StringReader("1,2\n3,4\n5,6\n"), "t.csv", 0, maxValues: 6).Values.Length);
    }

    [Fact]
    public void A_file_of_blank_quoted_rows_is_refused_at_its_first_empty_field()
    {
        // Each "" row was skipped as blank, and with no other row the table's width stayed -1 and reached its
        // constructor; a quoted empty field is a value, which is no number.
        var e = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader("\"\"\n\"\"\n"), "t.csv", 0));
        Assert.Equal("t.csv, line 1, field 1: '' is not a number.", e.Message);
        e = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader("\n  \n"), "t.csv", 0));
        Assert.Equal("t.csv holds no rows of numbers.", e.Message);
    }

    [Fact]
    public void A_row_too_long_for_the_csv_reader_is_refused_by_file_and_line()
    {
        // Sep stops at rows of 16M characters with a NotSupportedException, which no caller of Read expects.
        string text = "1,2\n3,4\n" + string.Join(',', Enumerable.Repeat("1", 9_000_000)) + "\n";
        var e = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader(text), "wide.csv", 0));
        Assert.StartsWith("wide.csv, after line 2: a row longer than the CSV reader takes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_without_line_breaks_is_refused_by_name_without_reading_it_whole()
    {
        // The first line (and every line of space-aligned text) was read whole with ReadLine: a 2 GiB file of zero
        // bytes (a sparse file, or a disk image named .csv) took 40 s and 8 GB, then threw ArgumentOutOfRangeException
        // ("minimumLength ('-2147483648') must be a non-negative value") from the string it built.
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-{Guid.NewGuid():N}.csv");
        try
        {
            using (FileStream file = File.Create(path))
            {
                file.SetLength(1L << 31);
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<InvalidDataException>(() => NumericTable.Read(path, 0));
            Assert.StartsWith($"{Path.GetFileName(path)}, line 1: a line longer than 16777216 characters", e.Message, StringComparison.Ordinal);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 256L << 20, "the line was read past the limit");
        }
        finally
        {
            File.Delete(path);
        }

        // A header line to skip, and a line of aligned text, are bounded the same way.
        var skipped = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new PrefixedReader("", new Endless('x')), "h.csv", 1));
        Assert.StartsWith("h.csv, line 1: a line longer than", skipped.Message, StringComparison.Ordinal);
        var aligned = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new PrefixedReader("1 2\n3 4\n", new Endless(' ')), "a.txt", 0));
        Assert.StartsWith("a.txt, line 3: a line longer than", aligned.Message, StringComparison.Ordinal);
    }

    /// <summary>The same character for ever, never a line break.</summary>
    private sealed class Endless(char c) : TextReader
    {
        public override int Peek() => c;

        public override int Read() => c;

        public override int Read(Span<char> buffer)
        {
            buffer.Fill(c);
            return buffer.Length;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));
    }

    /// <summary>Yields a prefix, then the rest of another reader.</summary>
    private sealed class PrefixedReader(string prefix, TextReader rest) : TextReader
    {
        private int _position;

        public override int Peek() => _position < prefix.Length ? prefix[_position] : rest.Peek();

        public override int Read() => _position < prefix.Length ? prefix[_position++] : rest.Read();

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            if (_position < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _position);
                prefix.AsSpan(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }

            return rest.Read(buffer);
        }
    }

    [Theory]
    [InlineData(6, -1, 3, "Rows", "rows=-1")]
    [InlineData(6, 3, -1, "Columns", "columns=-1")]
    [InlineData(2, 5, 3, "Values", "Values holds 2 floats but [Rows=5, Columns=3] needs 15")]
    [InlineData(7, 2, 3, "Values", "Values holds 7 floats but [Rows=2, Columns=3] needs 6")]
    [InlineData(0, 65536, 65536, "Values", "[Rows=65536, Columns=65536] needs 4294967296")]
    public void The_constructor_refuses_a_shape_its_values_do_not_fill(int values, int rows, int columns, string name, string message)
    {
        // new NumericTable(new float[6], -1, 3).ColumnsOf(0, 1) threw an OverflowException, and a table of 2 values
        // said to be [5, 3] a bare ArgumentOutOfRangeException from ColumnsOf; 65536 x 65536 overflowed int to 0.
        var e = Assert.ThrowsAny<ArgumentException>(() => new NumericTable(new float[values], rows, columns));
        Assert.Equal(name, e.ParamName);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Equal("Values", Assert.Throws<ArgumentNullException>(() => new NumericTable(null!, 0, 0)).ParamName);
    }

    [Fact]
    public void With_refuses_a_bad_property_at_once_and_a_bad_shape_where_the_table_is_read()
    {
        var table = new NumericTable([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal("Rows", Assert.Throws<ArgumentOutOfRangeException>(() => table with { Rows = -1 }).ParamName);
        Assert.Equal("Columns", Assert.Throws<ArgumentOutOfRangeException>(() => table with { Columns = -1 }).ParamName);
        Assert.Equal("Values", Assert.Throws<ArgumentNullException>(() => table with { Values = null! }).ParamName);

        // A reshape sets Rows and Columns one after the other, so the shape can only be checked once both are set.
        Assert.Equal([1f, 2, 3, 4, 5, 6], (table with { Rows = 3, Columns = 2 }).ColumnsOf(0, 2));
        Assert.Equal([7f, 10], (table with { Values = [7, 8, 9, 10, 11, 12] }).ColumnsOf(0, 1));
        NumericTable torn = table with { Rows = 5 };
        var e = Assert.Throws<InvalidOperationException>(() => torn.ColumnsOf(0, 1));
        Assert.Contains("Values holds 6 floats but [Rows=5, Columns=3] needs 15", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1, 1, "first")]
    [InlineData(4, 0, "first")]
    [InlineData(0, 4, "count")]
    [InlineData(2, 2, "count")]
    [InlineData(1, -1, "count")]
    [InlineData(int.MaxValue, 1, "first")]
    [InlineData(1, int.MaxValue, "count")]
    public void ColumnsOf_names_the_argument_outside_the_table(int first, int count, string name)
    {
        var table = new NumericTable([1, 2, 3, 4, 5, 6], 2, 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => table.ColumnsOf(first, count));
        Assert.Equal(name, e.ParamName);
        Assert.Contains($"Received: first={first}, count={count}", e.Message, StringComparison.Ordinal);
        Assert.Equal([3f, 6], table.ColumnsOf(2, 1));
        Assert.Equal([], table.ColumnsOf(3, 0));
    }

    /// <summary>"0.1,0.2,0.3,0.4" lines made as they are read; reading everything at once throws.</summary>
    private sealed class GeneratedRows(int rows) : TextReader
    {
        private const string Line = "0.1,0.2,0.3,0.4\n";
        private long _position;

        public override int Peek() => _position < (long)rows * Line.Length ? Line[(int)(_position % Line.Length)] : -1;

        public override int Read()
        {
            int c = Peek();
            _position += c >= 0 ? 1 : 0;
            return c;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            int n = (int)Math.Min(buffer.Length, ((long)rows * Line.Length) - _position);
            for (int i = 0; i < n; i++)
            {
                buffer[i] = Line[(int)((_position + i) % Line.Length)];
            }

            _position += n;
            return n;
        }

        public override string ReadToEnd() => throw new InvalidOperationException("ReadToEnd: the reader must stream.");
    }
}
