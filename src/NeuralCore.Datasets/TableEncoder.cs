using System.Globalization;
using System.Text.Json;
using NeuralCore.IO;

namespace NeuralCore.Data;

/// <summary>How a <see cref="TableEncoder"/> turns one column of a table into features.</summary>
public enum ColumnKind
{
    /// <summary>One feature: the field read as a float32 (invariant culture, with the encoder's <see cref="TableEncoder.DecimalSeparator"/>).</summary>
    Numeric,

    /// <summary>One feature per category: 1 for the row's category, 0 for the others (one-hot).</summary>
    Categorical,
}

/// <summary>One input column of a fitted <see cref="TableEncoder"/>, and where its features sit.</summary>
public sealed class EncodedColumn
{
    internal EncodedColumn(string name, ColumnKind kind, string[] categories, float? fill, int offset)
    {
        Name = name;
        Kind = kind;
        CategoryList = categories;
        Fill = fill;
        Offset = offset;
        Index = new Dictionary<string, int>(categories.Length, StringComparer.Ordinal);
        for (int i = 0; i < categories.Length; i++)
        {
            Index.Add(categories[i], i);
        }
    }

    /// <summary>The column's name in the table.</summary>
    public string Name { get; }

    /// <summary>Numeric (one feature) or categorical (one feature per category).</summary>
    public ColumnKind Kind { get; }

    /// <summary>A categorical column's categories in feature order (ordinal order of their text); empty for a numeric column.</summary>
    public IReadOnlyList<string> Categories => Array.AsReadOnly(CategoryList);

    /// <summary>The value a numeric column's missing fields become (the fitting table's mean), or null when they are refused.</summary>
    public float? Fill { get; }

    /// <summary>The column's first feature in an encoded row.</summary>
    public int Offset { get; }

    /// <summary>The column's number of features: 1, or its number of categories.</summary>
    public int Width => Kind == ColumnKind.Numeric ? 1 : CategoryList.Length;

    internal string[] CategoryList { get; }

    internal Dictionary<string, int> Index { get; }
}

/// <summary>
/// Turns the text columns of a <see cref="TextTable"/> into the features and labels a model trains on, with what it
/// learned from a training table: numeric columns pass through as float32, categorical ones become one-hot blocks
/// (scikit-learn's <c>OneHotEncoder</c> inside a <c>ColumnTransformer</c>), and the label column becomes class indices
/// or real-valued targets. Fit it on the training rows only, then encode every split with it; save it beside the
/// model so that new rows are encoded the same way.
/// </summary>
/// <example>
/// <code>
/// TextTable table = TextTable.Read("penguins.csv");
/// (TextTable train, TextTable test) = table.SplitShuffled(0.2, seed: 42);
/// TableEncoder encoder = TableEncoder.Fit(train, label: "species", new TableEncoderOptions { MissingNumbers = MissingNumbers.Mean });
/// Dataset trainSet = encoder.Transform(train), testSet = encoder.Transform(test);
/// // encoder.FeatureSize inputs, encoder.Classes.Count outputs; encoder.Save("encoder.json") beside the model.
/// </code>
/// </example>
/// <remarks>
/// Features are laid out column by column in the table's order (<see cref="Columns"/> gives each one's offset and
/// width), so a feature's name is <see cref="FeatureNames"/>' entry. Scale the numeric features afterwards
/// (<see cref="Standardizer"/>, or a <c>Normalization</c> layer adapted to the training features); the encoder leaves
/// their values as read. An encoder is immutable and safe to share between threads.
/// </remarks>
public sealed class TableEncoder
{
    private const string Format = "neuralcore-table-encoder";
    private const int FormatVersion = 1;

    /// <summary>The largest encoder file <see cref="Load"/> reads: 64 MiB (a thousand columns of a thousand categories take about 20 MB).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>The most features an encoder makes (columns and categories together): 2^20.</summary>
    public const int MaxFeatures = 1 << 20;

    /// <summary>The longest column name or category an encoder takes, in characters: a longer one is free text, not a category.</summary>
    public const int MaxTextLength = 4096;

    private readonly EncodedColumn[] _columns;
    private readonly Lazy<string[]> _featureNames;
    private readonly string[]? _classes;
    private readonly Dictionary<string, int>? _classIndex;
    private readonly HashSet<string> _missing;
    private readonly string[] _missingMarkers;

    private readonly NumberFormatInfo _numbers;

    private TableEncoder(EncodedColumn[] columns, string? label, LabelKind labelKind, string[]? classes, UnknownCategories unknown, string[] missingMarkers,
        char decimalSeparator)
    {
        _columns = columns;
        DecimalSeparator = decimalSeparator;
        _numbers = NumbersWith(decimalSeparator);
        LabelColumn = label;
        LabelKind = labelKind;
        _classes = classes;
        UnknownCategories = unknown;
        _missingMarkers = missingMarkers;
        _missing = new HashSet<string>(missingMarkers, StringComparer.Ordinal);
        if (classes is not null)
        {
            _classIndex = new Dictionary<string, int>(classes.Length, StringComparer.Ordinal);
            for (int i = 0; i < classes.Length; i++)
            {
                _classIndex.Add(classes[i], i);
            }
        }

        FeatureSize = columns.Sum(c => c.Width);
        // Built on first use: a column's name repeats in each of its categories' names.
        _featureNames = new Lazy<string[]>(() =>
            [.. columns.SelectMany(c => c.Kind == ColumnKind.Numeric ? [c.Name] : c.CategoryList.Select(category => $"{c.Name}={category}"))]);
    }

    /// <summary>The encoded columns, in feature order.</summary>
    public IReadOnlyList<EncodedColumn> Columns => Array.AsReadOnly(_columns);

    /// <summary>The number of features in an encoded row: the sum of the columns' widths.</summary>
    public int FeatureSize { get; }

    /// <summary>
    /// Each feature's name: a numeric column's name, or <c>column=category</c>. Two names can read the same where a
    /// column's name itself holds <c>=</c> (a numeric column <c>color=red</c> beside a category <c>red</c> of a column
    /// <c>color</c>); <see cref="Columns"/> tells them apart by offset.
    /// </summary>
    public IReadOnlyList<string> FeatureNames => Array.AsReadOnly(_featureNames.Value);

    /// <summary>The label column's name, or null when the encoder was fitted without one (features only).</summary>
    public string? LabelColumn { get; }

    /// <summary>What the label column holds: <see cref="LabelKind.Classes"/> or <see cref="LabelKind.Targets"/> (never Auto once fitted); Auto when there is no label.</summary>
    public LabelKind LabelKind { get; }

    /// <summary>The classes in label order (label <c>i</c> is <c>Classes[i]</c>), or null when the label is not class labels.</summary>
    public IReadOnlyList<string>? Classes => _classes is null ? null : Array.AsReadOnly(_classes);

    /// <summary>What an unseen category becomes when a table is encoded.</summary>
    public UnknownCategories UnknownCategories { get; }

    /// <summary>The fields read as missing values.</summary>
    public IReadOnlyList<string> MissingMarkers => Array.AsReadOnly(_missingMarkers);

    /// <summary>The decimal separator numbers are read with: '.' or ','.</summary>
    public char DecimalSeparator { get; }

    /// <summary>
    /// Learns the encoding from a training table: which columns are numeric and which categorical (see
    /// <see cref="TableEncoderOptions"/>), each categorical column's categories (in ordinal order), the fill of each
    /// numeric column's missing values (with <see cref="MissingNumbers.Mean"/>, computed in double precision), and the
    /// label's classes. Every column but the label and the ignored ones is a feature.
    /// </summary>
    /// <param name="table">The training table; at least one row. Messages name a row by its file and line when the table was read from text, else by its index from 0.</param>
    /// <param name="label">The label column, or null to encode features only.</param>
    /// <param name="options">How to read the columns; null for the defaults.</param>
    /// <returns>The fitted encoder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The table has no rows; the label or a column named in the options is not in the table, or the label is also
    /// ignored or categorical, or a column both; no feature column is left; a numeric field is not finite; a column of
    /// numbers holds a few fields that are not (a typo would otherwise make it categorical); a column's numbers are
    /// written with a decimal comma while <see cref="TableEncoderOptions.DecimalSeparator"/> is '.'; a numeric column
    /// has a missing value and <see cref="MissingNumbers.Error"/> is chosen, or only missing values; a categorical
    /// column has more than <see cref="TableEncoderOptions.MaxCategories"/> categories; a column name or category is
    /// longer than <see cref="MaxTextLength"/>, or the features would be more than <see cref="MaxFeatures"/>; a missing
    /// marker is null; a label is missing, or not a finite number for <see cref="LabelKind.Targets"/>; a label read as
    /// classes holds one class only. The message
    /// names the column and, for a field, its row and value.
    /// </exception>
    public static TableEncoder Fit(TextTable table, string? label = null, TableEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        options ??= new TableEncoderOptions();
        if (table.Rows == 0)
        {
            throw new ArgumentException("Expected a table with at least one row to fit the encoder on. Received: a header only.", nameof(table));
        }

        if (options.MissingMarkers.Any(m => m is null))
        {
            throw new ArgumentException("TableEncoderOptions.MissingMarkers holds null; a marker is a field's text (\"\" for an empty field).", nameof(options));
        }

        RequireColumns(table, options.Categorical, nameof(options.Categorical));
        RequireColumns(table, options.Ignore, nameof(options.Ignore));
        if (options.Categorical.FirstOrDefault(options.Ignore.Contains) is { } both)
        {
            throw new ArgumentException($"Column {TextTable.Quote(both)} is in both TableEncoderOptions.Categorical and Ignore; keep it in one.", nameof(options));
        }

        if (label is not null)
        {
            // Checked here: the table's own lookup names its parameter, name, which the caller never wrote.
            if (!table.HasColumn(label))
            {
                throw new ArgumentException(
                    $"The table has no label column {TextTable.Quote(label)}; its columns are {TextTable.Listed(table.ColumnNames)}.", nameof(label));
            }

            int labelIndex = table.IndexOf(label);
            if (options.Ignore.Contains(label))
            {
                throw new ArgumentException(
                    $"The label column {TextTable.Quote(label)} is also in TableEncoderOptions.Ignore: the column to predict cannot be left out; remove it from TableEncoderOptions.Ignore, or choose another label.",
                    nameof(label));
            }

            if (options.Categorical.Contains(label))
            {
                // Advice that fits the label: only numbers left to Auto become classes by LabelKind; a label of words,
                // or one whose kind is set, only has to leave the list (each was told to set LabelKind = Classes).
                string advice = options.LabelKind switch
                {
                    LabelKind.Classes => "it is read as classes already (LabelKind = LabelKind.Classes); remove it from TableEncoderOptions.Categorical",
                    LabelKind.Targets => "it is read as a quantity (LabelKind = LabelKind.Targets); remove it from TableEncoderOptions.Categorical",
                    _ when AllParse(table.RawColumn(labelIndex), new HashSet<string>(options.MissingMarkers, StringComparer.Ordinal), NumbersWith(options.DecimalSeparator)) =>
                        "to read its numbers as classes, set LabelKind = LabelKind.Classes and remove it from TableEncoderOptions.Categorical",
                    _ => "a label of words is read as classes already; remove it from TableEncoderOptions.Categorical",
                };
                throw new ArgumentException(
                    $"The label column {TextTable.Quote(label)} is also in TableEncoderOptions.Categorical, which lists features to one-hot encode, and the label is not a feature: {advice}.",
                    nameof(label));
            }
        }

        var missing = new HashSet<string>(options.MissingMarkers, StringComparer.Ordinal);
        NumberFormatInfo numbers = NumbersWith(options.DecimalSeparator);
        var forced = new HashSet<string>(options.Categorical, StringComparer.Ordinal);
        var ignored = new HashSet<string>(options.Ignore, StringComparer.Ordinal);
        var columns = new List<EncodedColumn>();
        int offset = 0;
        for (int c = 0; c < table.Columns; c++)
        {
            string name = table.ColumnNames[c];
            if (name == label || ignored.Contains(name))
            {
                continue;
            }

            if (name.Length > MaxTextLength)
            {
                throw new ArgumentException($"Column {TextTable.Quote(name)} has a name of {name.Length} characters, more than {MaxTextLength}; is the header a header?", nameof(table));
            }

            EncodedColumn column = !forced.Contains(name) && Numeric(table, c, missing, numbers, options.DecimalSeparator, label: false)
                ? FitNumeric(table, c, missing, numbers, options.MissingNumbers, offset)
                : FitCategorical(table, c, options.MaxCategories, offset);
            columns.Add(column);
            offset += column.Width;
            if (offset > MaxFeatures)
            {
                throw new ArgumentException(
                    $"The columns up to {TextTable.Quote(name)} already make {offset} features, more than the {MaxFeatures} an encoder makes; leave out identifier or free-text columns (TableEncoderOptions.Ignore).", nameof(table));
            }
        }

        if (columns.Count == 0)
        {
            throw new ArgumentException(
                $"No feature column is left: the table's columns ({TextTable.Listed(table.ColumnNames)}) are all the label or ignored.", nameof(options));
        }

        LabelKind kind = LabelKind.Auto;
        string[]? classes = null;
        if (label is not null)
        {
            if (label.Length > MaxTextLength)
            {
                throw new ArgumentException($"The label column {TextTable.Quote(label)} has a name of {label.Length} characters, more than {MaxTextLength}; is the header a header?", nameof(label));
            }

            int index = table.IndexOf(label);
            string[] fields = table.RawColumn(index);
            int gap = Array.FindIndex(fields, missing.Contains);
            if (gap >= 0)
            {
                throw new ArgumentException($"{table.Where(gap)}: the label {TextTable.Quote(label)} is missing ({TextTable.Quote(fields[gap])}); remove the rows without a label first.", nameof(table));
            }

            // In Auto, a label of numbers with a stray word is refused like a feature column; chosen as classes, any
            // text is a class.
            bool allNumbers = options.LabelKind == LabelKind.Auto
                ? Numeric(table, index, missing, numbers, options.DecimalSeparator, label: true)
                : AllParse(fields, missing, numbers);
            kind = options.LabelKind == LabelKind.Auto ? (allNumbers ? LabelKind.Targets : LabelKind.Classes) : options.LabelKind;
            if (kind == LabelKind.Classes)
            {
                classes = ClassesOf(fields, allNumbers, numbers);
                if (classes.Length == 1)
                {
                    // A classifier fitted on one class learns to predict it always; the loss then refuses one output,
                    // or trains to an accuracy of 1 on two, either way far from the cause.
                    string quantity = allNumbers ? ", or read the label as a quantity (LabelKind = LabelKind.Targets) if it is one" : "";
                    throw new ArgumentException(
                        $"{table.Name}: {table.Rows switch { 1 => "its one row has", 2 => "both rows have", int n => $"all {n} rows have" }} the label {TextTable.Quote(label)} = {TextTable.Quote(classes[0])}, and a classifier needs two classes or more: fit on rows that hold every class (a stratified split keeps them){quantity}.",
                        nameof(table));
                }

                if (classes.FirstOrDefault(c => c.Length > MaxTextLength) is { } longClass)
                {
                    throw new ArgumentException($"The label {TextTable.Quote(label)} has a class of {longClass.Length} characters, more than {MaxTextLength}; is it the label column?", nameof(label));
                }
            }
            else
            {
                // Checks that every target is a finite number, naming the first that is not.
                _ = ParseTargets(table, index, numbers, "the label");
            }
        }

        return new TableEncoder([.. columns], label, kind, classes, options.UnknownCategories, [.. options.MissingMarkers.Distinct(StringComparer.Ordinal)],
            options.DecimalSeparator);
    }

    /// <summary>
    /// Encodes a table's feature columns, <c>[table.Rows, FeatureSize]</c> row-major. The table needs every fitted
    /// feature column (found by name, in any order); its other columns, the label among them, are not read.
    /// </summary>
    /// <param name="table">The table to encode.</param>
    /// <returns>The features, one row of <see cref="FeatureSize"/> per table row.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// A feature column is not in the table; a numeric field is not a finite number, or missing with no fill; a category
    /// was not seen in fitting and <see cref="UnknownCategories"/> is <see cref="UnknownCategories.Error"/>. The message
    /// names the row, the column and the value.
    /// </exception>
    public float[] Features(TextTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        int rows = table.Rows, width = FeatureSize;
        if ((long)rows * width > Array.MaxLength)
        {
            throw new ArgumentException($"{rows} rows of {width} features exceed the {Array.MaxLength} floats one array holds; encode the table in parts (TextTable.Subset).", nameof(table));
        }

        float[] features = new float[rows * width];
        foreach (EncodedColumn column in _columns)
        {
            int index = FindColumn(table, column.Name, "feature");
            string[] fields = table.RawColumn(index);
            for (int r = 0; r < rows; r++)
            {
                string field = fields[r];
                if (column.Kind == ColumnKind.Numeric)
                {
                    features[(r * width) + column.Offset] = _missing.Contains(field)
                        ? column.Fill ?? throw new ArgumentException(
                            $"{table.Where(r)}, column {TextTable.Quote(column.Name)}: a missing value ({TextTable.Quote(field)}); fit the encoder with MissingNumbers.Mean to fill it, or remove the row.", nameof(table))
                        : Number(table, r, index, _numbers, "the numeric column");
                }
                else if (column.Index.TryGetValue(field, out int category))
                {
                    features[(r * width) + column.Offset + category] = 1f;
                }
                else if (UnknownCategories == UnknownCategories.Error)
                {
                    throw new ArgumentException(
                        $"{table.Where(r)}, column {TextTable.Quote(column.Name)}: {TextTable.Quote(field)} is not one of the {column.CategoryList.Length} categories seen in fitting ({TextTable.Listed(column.CategoryList)}); fit with UnknownCategories.AllZero to encode unseen ones as zeros.",
                        nameof(table));
                }
            }
        }

        return features;
    }

    /// <summary>The label column's classes as indices into <see cref="Classes"/>.</summary>
    /// <param name="table">A table holding the label column.</param>
    /// <returns>One label per row.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The encoder has no label column, or its labels are targets, not classes.</exception>
    /// <exception cref="ArgumentException">The label column is not in the table, or a row's class was not seen in fitting (row and value named).</exception>
    public int[] Labels(TextTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (_classIndex is null)
        {
            throw new InvalidOperationException(LabelColumn is null
                ? "The encoder was fitted without a label column; pass label: to Fit."
                : $"The label {TextTable.Quote(LabelColumn)} holds real-valued targets, not classes; read them with Targets, or fit with LabelKind.Classes.");
        }

        string[] fields = table.RawColumn(FindColumn(table, LabelColumn!, "label"));
        int[] labels = new int[fields.Length];
        for (int r = 0; r < fields.Length; r++)
        {
            labels[r] = _classIndex.TryGetValue(fields[r], out int label)
                ? label
                : throw new ArgumentException(
                    $"{table.Where(r)}, label {TextTable.Quote(LabelColumn)}: {TextTable.Quote(fields[r])} is not one of the {_classes!.Length} classes seen in fitting ({TextTable.Listed(_classes)}).", nameof(table));
        }

        return labels;
    }

    /// <summary>The label column's real-valued targets, one per row.</summary>
    /// <param name="table">A table holding the label column.</param>
    /// <returns>One target per row.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The encoder has no label column, or its labels are classes.</exception>
    /// <exception cref="ArgumentException">The label column is not in the table, or a target is missing or not a finite number (row and value named).</exception>
    public float[] Targets(TextTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (LabelKind != LabelKind.Targets)
        {
            throw new InvalidOperationException(LabelColumn is null
                ? "The encoder was fitted without a label column; pass label: to Fit."
                : $"The label {TextTable.Quote(LabelColumn)} holds classes, not real-valued targets; read them with Labels.");
        }

        return ParseTargets(table, FindColumn(table, LabelColumn!, "label"), _numbers, "the target");
    }

    /// <summary>
    /// Encodes a table into a dataset: <see cref="Features"/>, with <see cref="Labels"/> for classes or
    /// <see cref="Targets"/> (one per sample) for regression.
    /// </summary>
    /// <param name="table">A table holding the feature columns and the label column.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The encoder was fitted without a label column (use <see cref="Features"/>).</exception>
    /// <exception cref="ArgumentException">As <see cref="Features"/>, <see cref="Labels"/> and <see cref="Targets"/>; or the table has no rows.</exception>
    public Dataset Transform(TextTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (LabelColumn is null)
        {
            throw new InvalidOperationException("The encoder was fitted without a label column, so a table gives features only: call Features.");
        }

        if (table.Rows == 0)
        {
            throw new ArgumentException("Expected a table with at least one row. Received: a header only.", nameof(table));
        }

        float[] features = Features(table);
        return LabelKind == LabelKind.Classes
            ? new Dataset(features, Labels(table), FeatureSize)
            : new Dataset(features, Targets(table), FeatureSize, 1);
    }

    /// <summary>
    /// Writes the encoder as JSON (its columns, categories, fills, classes and markers), atomically: the file is
    /// replaced whole or not at all. Numbers are written so that they read back to the same float32.
    /// </summary>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or a folder.</exception>
    /// <exception cref="IOException">The file cannot be written, or the path is a FIFO or a device; an earlier file at <paramref name="path"/> is untouched.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written (permissions); an earlier file is untouched.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Before anything is written: AtomicFile wrote the bytes beside the folder, then its rename failed with an
        // IOException ("Is a directory").
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"Expected the path of a file. Received: path=\"{path}\" (a folder); name the file to write, such as encoder.json in it.", nameof(path));
        }

        AtomicFile.Write(path, ToJson());
    }

    /// <summary>Reads an encoder written by <see cref="Save"/>; it encodes bit for bit as the saved one.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The encoder.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is larger than <see cref="MaxFileBytes"/>, not JSON, not a NeuralCore table encoder, of a later format
    /// version, or inconsistent (a missing or ill-typed field, a repeated column, category or class); the file and
    /// the field are named.
    /// </exception>
    public static TableEncoder Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        InputFile.RequireRegular(path, "table encoder file");
        string name = Path.GetFileName(path);
        using FileStream file = File.OpenRead(path);
        if (file.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"{name}: {file.Length} bytes, more than the {MaxFileBytes} a table encoder file may hold; is this an encoder saved by TableEncoder.Save?");
        }

        byte[] bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            return FromJson(document.RootElement, name);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{name}: not valid JSON ({e.Message}); is this an encoder saved by TableEncoder.Save?", e);
        }
        catch (InvalidOperationException e)
        {
            // A string of JSON that is no UTF-16 text (a lone surrogate escape, "\uD800"): GetString's own error.
            throw new InvalidDataException($"{name}: a string that is not valid text ({e.Message}); is this an encoder saved by TableEncoder.Save?", e);
        }
    }

    private byte[] ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteNumber("version", FormatVersion);
            json.WriteStartArray("columns");
            foreach (EncodedColumn column in _columns)
            {
                json.WriteStartObject();
                json.WriteString("name", column.Name);
                json.WriteString("kind", column.Kind == ColumnKind.Numeric ? "numeric" : "categorical");
                if (column.Kind == ColumnKind.Numeric)
                {
                    if (column.Fill is { } fill)
                    {
                        json.WriteNumber("fill", fill);
                    }
                }
                else
                {
                    WriteStrings(json, "categories", column.CategoryList);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (LabelColumn is not null)
            {
                json.WriteStartObject("label");
                json.WriteString("name", LabelColumn);
                json.WriteString("kind", LabelKind == LabelKind.Classes ? "classes" : "targets");
                if (_classes is not null)
                {
                    WriteStrings(json, "classes", _classes);
                }

                json.WriteEndObject();
            }

            json.WriteString("unknownCategories", UnknownCategories == UnknownCategories.Error ? "error" : "allZero");
            json.WriteString("decimalSeparator", DecimalSeparator.ToString());
            WriteStrings(json, "missingMarkers", _missingMarkers);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, string[] values)
    {
        json.WriteStartArray(name);
        foreach (string value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static TableEncoder FromJson(JsonElement root, string file)
    {
        if (root.ValueKind != JsonValueKind.Object || Optional(root, "format", JsonValueKind.String, file, "the encoder") is not { } format || format.GetString() != Format)
        {
            throw new InvalidDataException($"{file}: not a NeuralCore table encoder (no \"format\": \"{Format}\").");
        }

        JsonElement versionElement = Required(root, "version", JsonValueKind.Number, file, "the encoder");
        if (!versionElement.TryGetInt32(out int version) || version != FormatVersion)
        {
            throw new InvalidDataException($"{file}: table encoder format version {TextTable.Quote(versionElement.GetRawText(), quotes: false)}; this NeuralCore reads version {FormatVersion}.");
        }

        // A misspelt or damaged key was passed over: "lbel" loaded an encoder without its label.
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (property.Name is not ("format" or "version" or "columns" or "label" or "unknownCategories" or "decimalSeparator" or "missingMarkers"))
            {
                throw new InvalidDataException(Configuration.Names.Printable(
                    $"{file}: the encoder has a property {TextTable.Quote(property.Name)} that version {FormatVersion} does not define (it defines format, version, columns, label, unknownCategories, decimalSeparator and missingMarkers)."));
            }
        }

        var columns = new List<EncodedColumn>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int offset = 0;
        foreach (JsonElement element in Required(root, "columns", JsonValueKind.Array, file, "the encoder").EnumerateArray())
        {
            string where = $"columns[{columns.Count}]";
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{file}: {where} is not an object.");
            }

            string name = Text(element, "name", file, where);
            if (!names.Add(name))
            {
                throw new InvalidDataException($"{file}: {where} repeats the column {TextTable.Quote(name)}.");
            }

            string columnKind = Text(element, "kind", file, where);
            if (columnKind is "numeric" or "categorical")
            {
                DefinedOnly(element, file, where, $"a {columnKind} column", "name", "kind", columnKind == "numeric" ? "fill" : "categories");
            }

            EncodedColumn column = columnKind switch
            {
                "numeric" => new EncodedColumn(name, ColumnKind.Numeric, [], Optional(element, "fill", JsonValueKind.Number, file, where) is { } fill ? Finite(fill, file, where) : null, offset),
                "categorical" => new EncodedColumn(name, ColumnKind.Categorical, Distinct(element, "categories", file, where, atLeastOne: true), null, offset),
                string other => throw new InvalidDataException($"{file}: {where}.kind is {TextTable.Quote(other)}; expected 'numeric' or 'categorical'."),
            };
            columns.Add(column);
            offset += column.Width;
            if (offset > MaxFeatures)
            {
                throw new InvalidDataException($"{file}: the columns up to {where} make more than the {MaxFeatures} features an encoder makes.");
            }
        }

        if (columns.Count == 0)
        {
            throw new InvalidDataException($"{file}: \"columns\" is empty; an encoder has at least one feature column.");
        }

        string? label = null;
        LabelKind kind = LabelKind.Auto;
        string[]? classes = null;
        if (Optional(root, "label", JsonValueKind.Object, file, "the encoder") is { } labelElement)
        {
            label = Text(labelElement, "name", file, "label");
            if (names.Contains(label))
            {
                throw new InvalidDataException($"{file}: the label {TextTable.Quote(label)} is also a feature column.");
            }

            kind = Text(labelElement, "kind", file, "label") switch
            {
                "classes" => LabelKind.Classes,
                "targets" => LabelKind.Targets,
                string other => throw new InvalidDataException($"{file}: label.kind is {TextTable.Quote(other)}; expected 'classes' or 'targets'."),
            };
            classes = kind == LabelKind.Classes ? Distinct(labelElement, "classes", file, "label", atLeastOne: true) : null;
            DefinedOnly(labelElement, file, "label", kind == LabelKind.Classes ? "a label of classes" : "a label of targets",
                kind == LabelKind.Classes ? ["name", "kind", "classes"] : ["name", "kind"]);
        }

        UnknownCategories unknown = Text(root, "unknownCategories", file, "the encoder") switch
        {
            "error" => UnknownCategories.Error,
            "allZero" => UnknownCategories.AllZero,
            string other => throw new InvalidDataException($"{file}: unknownCategories is {TextTable.Quote(other)}; expected 'error' or 'allZero'."),
        };
        // Files written before the separator was saved read numbers with '.'.
        char separator = Optional(root, "decimalSeparator", JsonValueKind.String, file, "the encoder")?.GetString() switch
        {
            null or "." => '.',
            "," => ',',
            string other => throw new InvalidDataException($"{file}: decimalSeparator is {TextTable.Quote(other)}; expected '.' or ','."),
        };
        return new TableEncoder([.. columns], label, kind, classes, unknown, Distinct(root, "missingMarkers", file, "the encoder", atLeastOne: false), separator);
    }

    // A misspelt or damaged key inside a column or the label was passed over as the root's were: "fil" for "fill"
    // loaded a column without its mean imputation, which the next table with a missing value then failed on.
    private static void DefinedOnly(JsonElement element, string file, string where, string what, params string[] defined)
    {
        foreach (JsonProperty property in element.EnumerateObject())
        {
            if (Array.IndexOf(defined, property.Name) < 0)
            {
                throw new InvalidDataException(Configuration.Names.Printable(
                    $"{file}: {where} has a property {TextTable.Quote(property.Name)} that version {FormatVersion} does not define for {what} (it defines {string.Join(", ", defined[..^1])} and {defined[^1]})."));
            }
        }
    }

    private static JsonElement? Optional(JsonElement parent, string property, JsonValueKind kind, string file, string where)
    {
        if (!parent.TryGetProperty(property, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == kind ? value : throw new InvalidDataException($"{file}: {where}'s \"{property}\" is a {value.ValueKind}; expected a {kind}.");
    }

    private static JsonElement Required(JsonElement parent, string property, JsonValueKind kind, string file, string where) =>
        Optional(parent, property, kind, file, where) ?? throw new InvalidDataException($"{file}: {where} has no \"{property}\".");

    private static string Text(JsonElement parent, string property, string file, string where)
    {
        string text = parent.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataException($"{file}: {where} needs a string \"{property}\".");
        return text.Length <= MaxTextLength ? text : throw new InvalidDataException($"{file}: {where}.{property} is {text.Length} characters long, more than {MaxTextLength}.");
    }

    private static float Finite(JsonElement number, string file, string where) =>
        number.TryGetSingle(out float value) && float.IsFinite(value)
            ? value
            : throw new InvalidDataException($"{file}: {where}.fill is {TextTable.Quote(number.GetRawText(), quotes: false)}, not a finite float32.");

    private static string[] Distinct(JsonElement parent, string property, string file, string where, bool atLeastOne)
    {
        JsonElement array = Optional(parent, property, JsonValueKind.Array, file, where) ?? throw new InvalidDataException($"{file}: {where} needs an array \"{property}\".");
        var values = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonElement item in array.EnumerateArray())
        {
            string value = item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new InvalidDataException($"{file}: {where}.{property}[{values.Count}] is not a string.");
            if (!seen.Add(value))
            {
                throw new InvalidDataException($"{file}: {where}.{property} holds {TextTable.Quote(value)} twice.");
            }

            if (value.Length > MaxTextLength && property != "missingMarkers")
            {
                throw new InvalidDataException($"{file}: {where}.{property}[{values.Count}] is {value.Length} characters long, more than {MaxTextLength}.");
            }

            values.Add(value);
        }

        return atLeastOne && values.Count == 0 ? throw new InvalidDataException($"{file}: {where}.{property} is empty.") : [.. values];
    }

    private static void RequireColumns(TextTable table, IReadOnlyCollection<string> names, string option)
    {
        foreach (string name in names)
        {
            if (name is null || !table.HasColumn(name))
            {
                throw BadOptions(
                    $"TableEncoderOptions.{option} names the column {TextTable.Quote(name)}, which the table does not have; its columns are {TextTable.Listed(table.ColumnNames)}.");
            }
        }
    }

    // Errors found by the helpers in what a public method was given, named after that method's parameter.
#pragma warning disable CA2208
    private static ArgumentException BadTable(string message) => new(message, "table");

    private static ArgumentException BadOptions(string message) => new(message, "options");
#pragma warning restore CA2208

    private static int FindColumn(TextTable table, string name, string role) =>
        table.HasColumn(name)
            ? table.IndexOf(name)
            : throw new ArgumentException($"The table has no {role} column {TextTable.Quote(name)}, which the encoder was fitted with; its columns are {TextTable.Listed(table.ColumnNames)}.", nameof(table));

    private static NumberFormatInfo NumbersWith(char decimalSeparator)
    {
        var format = (NumberFormatInfo)NumberFormatInfo.InvariantInfo.Clone();
        format.NumberDecimalSeparator = decimalSeparator.ToString();
        return NumberFormatInfo.ReadOnly(format);
    }

    private static bool Parses(string field, NumberFormatInfo numbers, out float value) =>
        float.TryParse(field, NumberStyles.Float, numbers, out value);

    // Whether every field that is not a missing marker reads as a number (infinite ones included, refused later with
    // their row, rather than making the column categorical).
    private static bool AllParse(string[] fields, HashSet<string> missing, NumberFormatInfo numbers) =>
        fields.All(f => missing.Contains(f) || Parses(f, numbers, out _));

    // Whether a column reads as numbers. Refused rather than made categorical: a column mostly of numbers written with
    // the other separator ("1,5" or "1,000" read with '.', "1.5" with ','), which would become one category per value;
    // and a column mostly of numbers whose other values each occur once, naming the first: one typo ("1O.5") would
    // otherwise turn a measurement into one-hot features, or not, depending on which rows a split kept. A word that
    // recurs ("5more" beside 2, 3 and 4) makes the column categorical.
    private static bool Numeric(TextTable table, int column, HashSet<string> missing, NumberFormatInfo numbers, char separator, bool label)
    {
        string[] fields = table.RawColumn(column);
        char other = separator == '.' ? ',' : '.';
        int count = 0, parsed = 0, otherSeparated = 0, firstWord = -1, firstOther = -1;
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int r = 0; r < fields.Length; r++)
        {
            string field = fields[r];
            if (missing.Contains(field))
            {
                continue;
            }

            count++;
            if (Parses(field, numbers, out _))
            {
                parsed++;
            }
            else if (WrittenWith(field, other))
            {
                otherSeparated++;
                firstOther = firstOther < 0 ? r : firstOther;
            }
            else
            {
                firstWord = firstWord < 0 ? r : firstWord;
                words[field] = words.GetValueOrDefault(field) + 1;
            }
        }

        if (parsed == count)
        {
            return true;
        }

        string name = table.ColumnNames[column];
        // A feature of categories is one-hot encoded; a label of them is read as classes.
        string ifCategories = label
            ? "read it as classes (LabelKind = LabelKind.Classes) if its values are classes"
            : "list the column in TableEncoderOptions.Categorical if its values are categories";
        if (otherSeparated > 0 && 2 * (parsed + otherSeparated) > count)
        {
            throw BadTable(
                $"Column {TextTable.Quote(name)} holds numbers written with '{other}' ({TextTable.Quote(fields[firstOther])}, {table.Where(firstOther)}), which a DecimalSeparator of '{separator}' does not read: if '{other}' is the decimal separator, set TableEncoderOptions.DecimalSeparator = '{other}'; if it separates thousands, remove it from the file; {ifCategories}.");
        }

        if (2 * parsed > count && words.Values.All(n => n == 1))
        {
            throw BadTable(
                $"{table.Where(firstWord)}, column {TextTable.Quote(name)}: {TextTable.Quote(fields[firstWord])} is not a number, but {parsed} of the column's {count} values are; correct it, add it to TableEncoderOptions.MissingMarkers if it marks a missing value, or {ifCategories}.");
        }

        return false;
    }

    // Digits with '.' and ',' (and a sign), holding the separator: a number in another locale's writing.
    private static bool WrittenWith(string field, char separator) =>
        field.Contains(separator, StringComparison.Ordinal) && field.Any(char.IsAsciiDigit) && field.All(c => char.IsAsciiDigit(c) || c is '.' or ',' or '-' or '+');

    private static EncodedColumn FitNumeric(TextTable table, int index, HashSet<string> missing, NumberFormatInfo numbers, MissingNumbers policy, int offset)
    {
        string[] fields = table.RawColumn(index);
        string name = table.ColumnNames[index];
        double sum = 0;
        int count = 0;
        for (int r = 0; r < fields.Length; r++)
        {
            if (missing.Contains(fields[r]))
            {
                if (policy == MissingNumbers.Error)
                {
                    throw BadTable(
                        $"{table.Where(r)}, column {TextTable.Quote(name)}: a missing value ({TextTable.Quote(fields[r])}); fill it in, remove the row, or fit with MissingNumbers.Mean.");
                }

                continue;
            }

            sum += Number(table, r, index, numbers, "the numeric column");
            count++;
        }

        return count == 0
            ? throw BadTable($"Column {TextTable.Quote(name)} holds only missing values; leave it out with TableEncoderOptions.Ignore.")
            : new EncodedColumn(name, ColumnKind.Numeric, [], policy == MissingNumbers.Mean ? (float)(sum / count) : null, offset);
    }

    private static EncodedColumn FitCategorical(TextTable table, int index, int maxCategories, int offset)
    {
        string name = table.ColumnNames[index];
        var categories = new SortedSet<string>(StringComparer.Ordinal);
        string[] fields = table.RawColumn(index);
        for (int r = 0; r < fields.Length; r++)
        {
            if (fields[r].Length > MaxTextLength)
            {
                throw BadTable(
                    $"{table.Where(r)}, column {TextTable.Quote(name)}: a value of {fields[r].Length} characters, more than the {MaxTextLength} of a category: free text? Leave the column out with TableEncoderOptions.Ignore.");
            }

            if (categories.Add(fields[r]) && categories.Count > maxCategories)
            {
                throw BadTable(
                    $"Column {TextTable.Quote(name)} has more than {maxCategories} distinct values (TableEncoderOptions.MaxCategories), one feature each: an identifier or free text? Leave it out with TableEncoderOptions.Ignore, or raise MaxCategories.");
            }
        }

        return new EncodedColumn(name, ColumnKind.Categorical, [.. categories], null, offset);
    }

    // Numbers in numeric order (so that "10" follows "9"; equal numbers written differently, "1" and "1.0", are two
    // classes, ordered by their text), else text in ordinal order.
    private static string[] ClassesOf(string[] fields, bool numbers, NumberFormatInfo format)
    {
        string[] distinct = [.. fields.Distinct(StringComparer.Ordinal)];
        return numbers
            ? [.. distinct.OrderBy(f => float.Parse(f, NumberStyles.Float, format)).ThenBy(f => f, StringComparer.Ordinal)]
            : [.. distinct.Order(StringComparer.Ordinal)];
    }

    private static float[] ParseTargets(TextTable table, int index, NumberFormatInfo numbers, string what)
    {
        float[] targets = new float[table.Rows];
        for (int r = 0; r < targets.Length; r++)
        {
            targets[r] = Number(table, r, index, numbers, what);
        }

        return targets;
    }

    private static float Number(TextTable table, int row, int column, NumberFormatInfo numbers, string what)
    {
        string field = table.RawColumn(column)[row];
        return Parses(field, numbers, out float value) && float.IsFinite(value)
            ? value
            : throw BadTable(
                $"{table.Where(row)}, column {TextTable.Quote(table.ColumnNames[column])}: {TextTable.Quote(field)} is not a finite float32, which {what} needs (a number beyond ±3.4E+38, an infinity, or text).");
    }
}
