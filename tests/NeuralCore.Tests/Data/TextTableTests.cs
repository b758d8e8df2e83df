using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class TextTableTests
{
    private static TextTable Read(string text) => TextTable.Read(new StringReader(text), "t.csv");

    [Theory]
    [InlineData("name,colour,size\nann,red,1.5\nbob, \"blue, dark\" ,2\n")]
    [InlineData("\uFEFF\n\nname;colour;size\r\nann;red;1.5\r\n\r\nbob;\"blue, dark\";2\r\n")]
    [InlineData("name\tcolour\tsize\nann\tred\t1.5\nbob\t\"blue, dark\"\t2\n")]
    [InlineData("name;\"colour\";size\nann;red;1.5\nbob;\"blue, dark\";2\n")]
    public void Header_and_fields_are_read_whatever_the_separator(string text)
    {
        TextTable table = Read(text);
        Assert.Equal(["name", "colour", "size"], table.ColumnNames);
        Assert.Equal((2, 3), (table.Rows, table.Columns));
        Assert.Equal("blue, dark", table[1, 1]);
        Assert.Equal(["1.5", "2"], table.Column("size"));
        Assert.Equal(2, table.IndexOf("size"));
    }

    [Fact]
    public void A_separator_inside_a_quoted_header_name_does_not_choose_the_separator()
    {
        // "price, net";qty was read as one column named 'price, net;qty'.
        TextTable table = Read("\"price, net\";qty\n1;2\n");
        Assert.Equal(["price, net", "qty"], table.ColumnNames);
        Assert.Equal("2", table[0, 1]);
    }

    [Fact]
    public void A_header_name_holding_a_line_break_does_not_hide_the_separator()
    {
        // The separator was chosen from the header's first line, '"a', which holds none: one column named 'a\nb;c'.
        TextTable table = Read("\"a\nb\";c\n1;2\n");
        Assert.Equal(["a\nb", "c"], table.ColumnNames);
        Assert.Equal("2", table[0, 1]);
        Assert.Equal(["a\r\nb", "c"], Read("\r\n\"a\r\nb\"\tc\r\n1\t2\r\n").ColumnNames);
        var ragged = Assert.Throws<InvalidDataException>(() => Read("\n\"a\nb\";c\n1;2\n3\n"));
        Assert.Equal("t.csv, line 5: 1 fields, but the header names 2 columns ('a?b', 'c').", ragged.Message);
    }

    [Fact]
    public void A_header_of_semicolons_and_commas_is_separated_by_its_semicolons()
    {
        // Split on its comma, as it was: columns 'Preis' and 'netto;Menge' holding '1' and '5;2'.
        TextTable table = Read("Preis, netto;Menge\n1,5;2\n");
        Assert.Equal(["Preis, netto", "Menge"], table.ColumnNames);
        Assert.Equal(["1,5", "2"], [table[0, 0], table[0, 1]]);

        // A comma file with a semicolon in a name is then refused by its rows, not misread.
        var ex = Assert.Throws<InvalidDataException>(() => Read("a;b,c\n1,2\n"));
        Assert.StartsWith("t.csv, line 2: 1 fields, but the header names 2 columns", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_quoted_field_may_hold_a_line_break_and_lines_are_counted_across_it()
    {
        TextTable table = Read("a,b\n\"x\ny\",1\nz,2\n");
        Assert.Equal("x\ny", table[0, 0]);
        var ragged = Assert.Throws<InvalidDataException>(() => Read("a,b\n\"x\ny\",1\nz\n"));
        Assert.Equal("t.csv, line 4: 1 fields, but the header names 2 columns ('a', 'b').", ragged.Message);
    }

    [Theory]
    [InlineData("a,b\n1,5\" screen\n2,3\n4,5\n", "t.csv, lines 2-5")]
    [InlineData("a,b\n1,\"2\n3,4\n", "t.csv, lines 2-4")]
    [InlineData("a,b\n1,2\n3,\"4", "t.csv, line 3")]
    public void A_quote_that_never_closes_is_refused_rather_than_swallowing_the_rows_after_it(string text, string where)
    {
        // The first read as a table of one row whose last field held the rest of the file, two rows lost.
        var ex = Assert.Throws<InvalidDataException>(() => Read(text));
        Assert.StartsWith($"{where}: a quote (\") opens a field that never closes", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader(text.Replace("a,b\n", "", StringComparison.Ordinal)), "n.csv", 0));
        Assert.Contains("a quote (\") opens a field that never closes", ex.Message, StringComparison.Ordinal);

        // Quotes in pairs still read: enclosing ones, and doubled ones inside.
        TextTable table = Read("a,b\n1,\"5\"\" screen\"\n2,3\n");
        Assert.Equal("5\" screen", table[0, 1]);
        Assert.Equal(2, table.Rows);
    }

    [Theory]
    [InlineData("item,size,price\nTV,55\" wide,500\nTV,65\" wide,900\nRadio,small,20\n", "t.csv, line 2")]
    [InlineData("a,b\nx,5\" screen\ny,6\" screen\n", "t.csv, line 2")]
    [InlineData("screen\n55\" TV\n65\" TV\n", "t.csv, line 2")]
    [InlineData("a,b\n1,2\n3,5\" x 3\" screen\n", "t.csv, line 3")]
    public void A_quote_inside_a_field_that_does_not_start_with_one_is_refused(string text, string where)
    {
        // The first three read as one row joining two lines (2, 1 and 1 rows instead of 3, 2 and 2), the last as the
        // field '5 x 3 screen' with its quotes dropped, all without a word.
        var ex = Assert.Throws<InvalidDataException>(() => Read(text));
        Assert.StartsWith($"{where}: a quote (\") inside a field that does not start with one", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader("1,2\"\n3,4\"\n5,6\n"), "n.csv", 0));
        Assert.StartsWith("n.csv, line 1: a quote (\") inside a field that does not start with one", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_after_a_fields_closing_quote_is_refused_and_blanks_around_quotes_are_read()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Read("a,b\n1,2\n\"x\ny\"z,3\n"));
        Assert.StartsWith("t.csv, line 4: text follows the closing quote of a quoted field", ex.Message, StringComparison.Ordinal);

        TextTable table = Read("a , \"b\" \n \"x,\"\"1\"\"\" , \"y\nz\"\n");
        Assert.Equal(["a", "b"], table.ColumnNames);
        Assert.Equal("x,\"1\"", table[0, 0]);
        Assert.Equal("y\nz", table[0, 1]);

        // The CSV reader trims spaces, not tabs: a tab before a quote left the field as '<tab>"y"', quotes and all.
        ex = Assert.Throws<InvalidDataException>(() => Read("a,b\n1,\t\"y\"\n"));
        Assert.StartsWith("t.csv, line 2: a quote (\") inside a field that does not start with one", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "t.csv holds no header row")]
    [InlineData("\n \n", "t.csv holds no header row")]
    [InlineData("a,,c\n1,2,3\n", "t.csv, line 1: column 2 of the header has no name")]
    [InlineData("a,b,a\n1,2,3\n", "t.csv, line 1: the header names column 'a' twice (columns 1 and 3)")]
    [InlineData("a,b\n1,2\n3,4,5\n", "t.csv, line 3: 3 fields, but the header names 2 columns")]
    public void Bad_text_is_refused_naming_the_line(string text, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Read(text));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_table_past_its_field_limit_is_refused_naming_the_line()
    {
        var e = Assert.Throws<InvalidDataException>(() => TextTable.Read(new StringReader("a,b\n1,2\n3,4\n5,6\n"), "t.csv", maxFields: 5));
        Assert.StartsWith("t.csv, line 4: the table holds more than 5 fields", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Repeated_values_of_a_column_share_one_string()
    {
        TextTable table = Read("c\nred\nred\nblue\nred\n");
        Assert.Same(table[0, 0], table[1, 0]);
        Assert.Same(table[0, 0], table[3, 0]);
        Assert.Equal(["red", "red", "blue", "red"], table.Column("c"));
    }

    [Fact]
    public void Unknown_columns_and_cells_outside_the_table_are_named()
    {
        TextTable table = Read("a,b\n1,2\n");
        var e = Assert.Throws<ArgumentException>(() => table.Column("c"));
        Assert.StartsWith("The table has no column 'c'; its columns are 'a', 'b'.", e.Message, StringComparison.Ordinal);
        Assert.False(table.HasColumn("A"));
        Assert.Throws<ArgumentOutOfRangeException>(() => table[1, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => table[0, 2]);
    }

    [Fact]
    public void Rows_built_in_memory_are_checked_and_copied()
    {
        string[] row = ["1", "x"];
        var table = new TextTable(["n", "s"], [row, ["2", "y"]]);
        row[0] = "changed";
        Assert.Equal("1", table[0, 0]);
        Assert.Throws<ArgumentException>(() => new TextTable([], []));
        Assert.Throws<ArgumentException>(() => new TextTable(["a", "a"], []));
        var ragged = Assert.Throws<ArgumentException>(() => new TextTable(["a", "b"], [["1"]]));
        Assert.StartsWith("rows[0] holds 1 fields, but the header names 2 columns.", ragged.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => new TextTable(["a"], [[null!]]));
    }

    [Fact]
    public void A_shuffled_split_takes_the_rows_of_the_datasets_rule()
    {
        string[][] rows = [.. Enumerable.Range(0, 10).Select(i => new[] { i.ToString(System.Globalization.CultureInfo.InvariantCulture) })];
        var table = new TextTable(["i"], rows);
        (TextTable train, TextTable test) = table.SplitShuffled(0.25, seed: 7);
        var data = new Dataset([.. Enumerable.Range(0, 10).Select(i => (float)i)], [.. Enumerable.Range(0, 10)], 1);
        (Dataset trainData, Dataset testData) = data.SplitShuffled(0.25, seed: 7);
        Assert.Equal(trainData.Labels.Select(i => rows[i][0]), train.Column("i"));
        Assert.Equal(testData.Labels.Select(i => rows[i][0]), test.Column("i"));
        Assert.Equal(3, test.Rows);
        Assert.Throws<ArgumentOutOfRangeException>(() => table.SplitShuffled(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.Subset([0, 10]));
        // Of a table with no rows, every index is outside (an IndexOutOfRangeException before).
        Assert.Throws<ArgumentOutOfRangeException>(() => Read("a,b\n").Subset([0]));
        Assert.Equal(0, Read("a,b\n").Subset([]).Rows);
    }

    [Fact]
    public void A_file_that_is_not_utf8_is_refused_naming_the_byte_and_one_with_a_byte_order_mark_is_read()
    {
        // Decoded with replacement characters before, 'Café' and 'Cafè' became one category 'Caf\uFFFD'.
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes("drink,price\nCafé,1\nCafè,2\n"));
            string name = Path.GetFileName(path);
            var e = Assert.Throws<InvalidDataException>(() => TextTable.Read(path));
            Assert.StartsWith($"{name}: 0xE9 is not UTF-8 text", e.Message, StringComparison.Ordinal);
            e = Assert.Throws<InvalidDataException>(() => NumericTable.Read(path, skipLines: 1));
            Assert.StartsWith($"{name}: 0xE9 is not UTF-8 text", e.Message, StringComparison.Ordinal);

            File.WriteAllText(path, "drink,price\nCafé,1\nCafè,2\n", System.Text.Encoding.Unicode);
            TextTable table = TextTable.Read(path);
            Assert.Equal(["Café", "Cafè"], [table[0, 0], table[1, 0]]);
            File.WriteAllText(path, "drink,price\nCafé,1\n", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
            Assert.Equal(["drink", "price"], TextTable.Read(path).ColumnNames);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Files_are_read_plain_and_gzipped_and_a_missing_one_is_named()
    {
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-{Guid.NewGuid():N}.csv.gz");
        try
        {
            using (var gzip = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
            using (var writer = new StreamWriter(gzip))
            {
                writer.Write("k,v\na,1\n");
            }

            Assert.Equal("1", TextTable.Read(path)[0, 1]);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Throws<FileNotFoundException>(() => TextTable.Read(path));

        // An empty path was looked up as a file: FileNotFoundException ": no such table file.", naming nothing.
        foreach (string blank in new[] { "", "  " })
        {
            var e = Assert.Throws<ArgumentException>(() => TextTable.Read(blank));
            Assert.Equal("path", e.ParamName);
            Assert.StartsWith("Expected the path of a table file. Received: path=", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_quoted_empty_field_in_a_one_column_table_is_a_row_and_a_blank_line_is_not()
    {
        // "" was skipped as a blank line: the rows below it moved up, each label beside another sample's features.
        TextTable table = Read("y\n1\n\"\"\n\n  \n3\n");
        Assert.Equal(3, table.Rows);
        Assert.Equal(["1", "", "3"], table.Column("y"));
        var ex = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader("1\n\"\"\n3\n"), "n.csv", 0));
        Assert.Contains("n.csv, line 2, field 1: '' is not a number", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_and_fields_from_a_file_reach_messages_without_control_characters_and_cut_to_a_length()
    {
        // A header or field holding an escape sequence was copied into the message raw (printing it cleared the terminal),
        // a NUL cut it short in C-string consumers, and a field of a million characters made a message of a million.
        const string Escape = "\u001b[2J\u0000";
        var duplicate = Assert.Throws<InvalidDataException>(() => Read($"a{Escape},b,a{Escape}\n1,2,3\n"));
        Assert.Contains("the header names column 'a?[2J?' twice", duplicate.Message, StringComparison.Ordinal);

        string field = new('7', 500);
        var number = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader($"1,x{Escape}\n2,{field}x\n"), "n.csv", 0));
        Assert.Contains("n.csv, line 1, field 2: 'x?[2J?' is not a number", number.Message, StringComparison.Ordinal);
        number = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader($"1,2\n2,{field}x\n"), "n.csv", 0));
        Assert.Contains($"field 2: '{new string('7', 80)}…' (501 characters) is not a number", number.Message, StringComparison.Ordinal);

        TextTable table = Read($"x,y{Escape}\n1,red\n2,blue\n3,red\n");
        var column = Assert.Throws<ArgumentException>(() => table.Column($"z{Escape}"));
        Assert.Contains("no column 'z?[2J?'; its columns are 'x', 'y?[2J?'", column.Message, StringComparison.Ordinal);
        TableEncoder encoder = TableEncoder.Fit(table, label: $"y{Escape}");
        var unseen = Assert.Throws<ArgumentException>(() => encoder.Labels(Read($"x,y{Escape}\n1,gr{Escape}een\n")));
        Assert.Contains("label 'y?[2J?': 'gr?[2J?een' is not one of the 2 classes seen in fitting ('blue', 'red')", unseen.Message, StringComparison.Ordinal);
        // An encoder file's values too, and a cut never splits a surrogate pair (a lone half is not text).
        string json = $"{{\"format\":\"neuralcore-table-encoder\",\"version\":1,\"columns\":[{{\"name\":\"a\",\"kind\":\"num\\u001b[2J\\u0000eric\"}}],\"label\":{{\"name\":\"y\",\"kind\":\"targets\"}},\"unknownCategories\":\"error\"}}";
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, json);
            var kind = Assert.Throws<InvalidDataException>(() => TableEncoder.Load(path));
            Assert.Contains("columns[0].kind is 'num?[2J?eric'; expected 'numeric' or 'categorical'", kind.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(kind.Message, c => char.IsControl(c));
        }
        finally
        {
            File.Delete(path);
        }

        string emoji = new string('a', 79) + "\U0001F600" + "b";
        var split = Assert.Throws<ArgumentException>(() => table.Column(emoji));
        Assert.Contains($"no column '{new string('a', 79)}…' (82 characters)", split.Message, StringComparison.Ordinal);
        foreach (Exception e in new Exception[] { duplicate, number, column, unseen })
        {
            Assert.DoesNotContain(e.Message, c => char.IsControl(c));
        }
    }
}

