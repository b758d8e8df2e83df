using System.Globalization;
using System.Text.Json;
using NeuralCore.IO;

namespace NeuralCore.Data;

/// <summary>How a <see cref="TableEncoder"/> turns one column of a table into features.</summary>
public enum ColumnKind
{
    /// <summary>One feature: the field read as a float32 (invariant culture).</summary>
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
    public IReadOnlyList<string> Categories => CategoryList;

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

    private readonly EncodedColumn[] _columns;
    private readonly string[] _featureNames;
    private readonly string[]? _classes;
    private readonly Dictionary<string, int>? _classIndex;
    private readonly HashSet<string> _missing;
    private readonly string[] _missingMarkers;

    private TableEncoder(EncodedColumn[] columns, string? label, LabelKind labelKind, string[]? classes, UnknownCategories unknown, string[] missingMarkers)
    {
        _columns = columns;
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

        var names = new List<string>();
        foreach (EncodedColumn column in columns)
        {
            if (column.Kind == ColumnKind.Numeric)
            {
                names.Add(column.Name);
            }
            else
            {
                names.AddRange(column.CategoryList.Select(c => $"{column.Name}={c}"));
            }
        }

        _featureNames = [.. names];
    }

    /// <summary>The encoded columns, in feature order.</summary>
    public IReadOnlyList<EncodedColumn> Columns => _columns;

    /// <summary>The number of features in an encoded row: the sum of the columns' widths.</summary>
    public int FeatureSize => _featureNames.Length;

    /// <summary>Each feature's name: a numeric column's name, or <c>column=category</c>.</summary>
    public IReadOnlyList<string> FeatureNames => _featureNames;

    /// <summary>The label column's name, or null when the encoder was fitted without one (features only).</summary>
    public string? LabelColumn { get; }

    /// <summary>What the label column holds: <see cref="LabelKind.Classes"/> or <see cref="LabelKind.Targets"/> (never Auto once fitted); Auto when there is no label.</summary>
    public LabelKind LabelKind { get; }

    /// <summary>The classes in label order (label <c>i</c> is <c>Classes[i]</c>), or null when the label is not class labels.</summary>
    public IReadOnlyList<string>? Classes => _classes;

    /// <summary>What an unseen category becomes when a table is encoded.</summary>
    public UnknownCategories UnknownCategories { get; }

    /// <summary>The fields read as missing values.</summary>
    public IReadOnlyList<string> MissingMarkers => _missingMarkers;

    /// <summary>
    /// Learns the encoding from a training table: which columns are numeric and which categorical (see
    /// <see cref="TableEncoderOptions"/>), each categorical column's categories (in ordinal order), the fill of each
    /// numeric column's missing values (with <see cref="MissingNumbers.Mean"/>, computed in double precision), and the
    /// label's classes. Every column but the label and the ignored ones is a feature.
    /// </summary>
    /// <param name="table">The training table; at least one row. Rows are counted from 0 in messages.</param>
    /// <param name="label">The label column, or null to encode features only.</param>
    /// <param name="options">How to read the columns; null for the defaults.</param>
    /// <returns>The fitted encoder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The table has no rows; the label or a column named in the options is not in the table, or the label is also
    /// ignored or categorical; no feature column is left; a numeric field is not finite; a numeric column has a missing
    /// value and <see cref="MissingNumbers.Error"/> is chosen, or only missing values; a categorical column has more
    /// than <see cref="TableEncoderOptions.MaxCategories"/> categories; a missing marker is null; a label is missing, or not a finite number for
    /// <see cref="LabelKind.Targets"/>. The message names the column and, for a field, its row and value.
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
        if (label is not null)
        {
            table.IndexOf(label);
            if (options.Ignore.Contains(label) || options.Categorical.Contains(label))
            {
                throw new ArgumentException(
                    $"The label column '{label}' is also in TableEncoderOptions.{(options.Ignore.Contains(label) ? "Ignore" : "Categorical")}: the label is not a feature; to read its numbers as classes, set LabelKind = LabelKind.Classes.",
                    nameof(label));
            }
        }

        var missing = new HashSet<string>(options.MissingMarkers, StringComparer.Ordinal);
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

            string[] fields = table.RawColumn(c);
            EncodedColumn column = !forced.Contains(name) && AllNumbers(fields, missing)
                ? FitNumeric(name, fields, missing, options.MissingNumbers, offset)
                : FitCategorical(name, fields, options.MaxCategories, offset);
            columns.Add(column);
            offset += column.Width;
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
            string[] fields = table.RawColumn(table.IndexOf(label));
            int gap = Array.FindIndex(fields, missing.Contains);
            if (gap >= 0)
            {
                throw new ArgumentException($"Row {gap}: the label '{label}' is missing ('{fields[gap]}'); remove the rows without a label first.", nameof(table));
            }

            bool numbers = AllNumbers(fields, missing);
            kind = options.LabelKind == LabelKind.Auto ? (numbers ? LabelKind.Targets : LabelKind.Classes) : options.LabelKind;
            if (kind == LabelKind.Classes)
            {
                classes = ClassesOf(fields, numbers);
            }
            else
            {
                // Checks that every target is a finite number, naming the first that is not.
                _ = ParseTargets(fields, label, "the label");
            }
        }

        return new TableEncoder([.. columns], label, kind, classes, options.UnknownCategories, [.. options.MissingMarkers.Distinct(StringComparer.Ordinal)]);
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
            string[] fields = table.RawColumn(FindColumn(table, column.Name, "feature"));
            for (int r = 0; r < rows; r++)
            {
                string field = fields[r];
                if (column.Kind == ColumnKind.Numeric)
                {
                    features[(r * width) + column.Offset] = _missing.Contains(field)
                        ? column.Fill ?? throw new ArgumentException(
                            $"Row {r}, column '{column.Name}': a missing value ('{field}'); fit the encoder with MissingNumbers.Mean to fill it, or remove the row.", nameof(table))
                        : Number(field, r, column.Name, "the numeric column");
                }
                else if (column.Index.TryGetValue(field, out int category))
                {
                    features[(r * width) + column.Offset + category] = 1f;
                }
                else if (UnknownCategories == UnknownCategories.Error)
                {
                    throw new ArgumentException(
                        $"Row {r}, column '{column.Name}': '{field}' is not one of the {column.CategoryList.Length} categories seen in fitting ({TextTable.Listed(column.CategoryList)}); fit with UnknownCategories.AllZero to encode unseen ones as zeros.",
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
                : $"The label '{LabelColumn}' holds real-valued targets, not classes; read them with Targets, or fit with LabelKind.Classes.");
        }

        string[] fields = table.RawColumn(FindColumn(table, LabelColumn!, "label"));
        int[] labels = new int[fields.Length];
        for (int r = 0; r < fields.Length; r++)
        {
            labels[r] = _classIndex.TryGetValue(fields[r], out int label)
                ? label
                : throw new ArgumentException(
                    $"Row {r}, label '{LabelColumn}': '{fields[r]}' is not one of the {_classes!.Length} classes seen in fitting ({TextTable.Listed(_classes)}).", nameof(table));
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
                : $"The label '{LabelColumn}' holds classes, not real-valued targets; read them with Labels.");
        }

        return ParseTargets(table.RawColumn(FindColumn(table, LabelColumn!, "label")), LabelColumn!, "the target");
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
    /// <exception cref="IOException">The file cannot be written; an earlier file at <paramref name="path"/> is untouched.</exception>
    public void Save(string path) => AtomicFile.Write(path, ToJson());

    /// <summary>Reads an encoder written by <see cref="Save"/>; it encodes bit for bit as the saved one.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The encoder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is larger than <see cref="MaxFileBytes"/>, not JSON, not a NeuralCore table encoder, of a later format
    /// version, or inconsistent (a missing or ill-typed field, a repeated column, category or class); the file and
    /// the field are named.
    /// </exception>
    public static TableEncoder Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
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
        if (root.ValueKind != JsonValueKind.Object || Optional(root, "format", JsonValueKind.String, file) is not { } format || format.GetString() != Format)
        {
            throw new InvalidDataException($"{file}: not a NeuralCore table encoder (no \"format\": \"{Format}\").");
        }

        int version = Required(root, "version", JsonValueKind.Number, file).TryGetInt32(out int v) ? v : -1;
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"{file}: table encoder format version {Required(root, "version", JsonValueKind.Number, file).GetRawText()}; this NeuralCore reads version {FormatVersion}.");
        }

        var columns = new List<EncodedColumn>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int offset = 0;
        foreach (JsonElement element in Required(root, "columns", JsonValueKind.Array, file).EnumerateArray())
        {
            string where = $"columns[{columns.Count}]";
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{file}: {where} is not an object.");
            }

            string name = Text(element, "name", file, where);
            if (!names.Add(name))
            {
                throw new InvalidDataException($"{file}: {where} repeats the column '{name}'.");
            }

            EncodedColumn column = Text(element, "kind", file, where) switch
            {
                "numeric" => new EncodedColumn(name, ColumnKind.Numeric, [], Optional(element, "fill", JsonValueKind.Number, file) is { } fill ? Finite(fill, file, where) : null, offset),
                "categorical" => new EncodedColumn(name, ColumnKind.Categorical, Distinct(element, "categories", file, where, atLeastOne: true), null, offset),
                string other => throw new InvalidDataException($"{file}: {where}.kind is '{other}'; expected 'numeric' or 'categorical'."),
            };
            columns.Add(column);
            offset = checked(offset + column.Width);
        }

        if (columns.Count == 0)
        {
            throw new InvalidDataException($"{file}: \"columns\" is empty; an encoder has at least one feature column.");
        }

        string? label = null;
        LabelKind kind = LabelKind.Auto;
        string[]? classes = null;
        if (Optional(root, "label", JsonValueKind.Object, file) is { } labelElement)
        {
            label = Text(labelElement, "name", file, "label");
            if (names.Contains(label))
            {
                throw new InvalidDataException($"{file}: the label '{label}' is also a feature column.");
            }

            kind = Text(labelElement, "kind", file, "label") switch
            {
                "classes" => LabelKind.Classes,
                "targets" => LabelKind.Targets,
                string other => throw new InvalidDataException($"{file}: label.kind is '{other}'; expected 'classes' or 'targets'."),
            };
            classes = kind == LabelKind.Classes ? Distinct(labelElement, "classes", file, "label", atLeastOne: true) : null;
        }

        UnknownCategories unknown = Text(root, "unknownCategories", file, "the encoder") switch
        {
            "error" => UnknownCategories.Error,
            "allZero" => UnknownCategories.AllZero,
            string other => throw new InvalidDataException($"{file}: unknownCategories is '{other}'; expected 'error' or 'allZero'."),
        };
        return new TableEncoder([.. columns], label, kind, classes, unknown, Distinct(root, "missingMarkers", file, "the encoder", atLeastOne: false));
    }

    private static JsonElement? Optional(JsonElement parent, string property, JsonValueKind kind, string file)
    {
        if (!parent.TryGetProperty(property, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == kind ? value : throw new InvalidDataException($"{file}: \"{property}\" is a {value.ValueKind}; expected a {kind}.");
    }

    private static JsonElement Required(JsonElement parent, string property, JsonValueKind kind, string file) =>
        Optional(parent, property, kind, file) ?? throw new InvalidDataException($"{file}: \"{property}\" is missing.");

    private static string Text(JsonElement parent, string property, string file, string where) =>
        parent.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataException($"{file}: {where} needs a string \"{property}\".");

    private static float Finite(JsonElement number, string file, string where) =>
        number.TryGetSingle(out float value) && float.IsFinite(value)
            ? value
            : throw new InvalidDataException($"{file}: {where}.fill is {number.GetRawText()}, not a finite float32.");

    private static string[] Distinct(JsonElement parent, string property, string file, string where, bool atLeastOne)
    {
        JsonElement array = Optional(parent, property, JsonValueKind.Array, file) ?? throw new InvalidDataException($"{file}: {where} needs an array \"{property}\".");
        var values = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonElement item in array.EnumerateArray())
        {
            string value = item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new InvalidDataException($"{file}: {where}.{property}[{values.Count}] is not a string.");
            if (!seen.Add(value))
            {
                throw new InvalidDataException($"{file}: {where}.{property} holds '{value}' twice.");
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
                    $"TableEncoderOptions.{option} names the column '{name}', which the table does not have; its columns are {TextTable.Listed(table.ColumnNames)}.");
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
            : throw new ArgumentException($"The table has no {role} column '{name}', which the encoder was fitted with; its columns are {TextTable.Listed(table.ColumnNames)}.", nameof(table));

    // Whether every field that is not a missing marker reads as a number (infinite ones included, refused later with
    // their row, rather than making the column categorical).
    private static bool AllNumbers(string[] fields, HashSet<string> missing)
    {
        foreach (string field in fields)
        {
            if (!missing.Contains(field) && !float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                return false;
            }
        }

        return true;
    }

    private static EncodedColumn FitNumeric(string name, string[] fields, HashSet<string> missing, MissingNumbers policy, int offset)
    {
        double sum = 0;
        int count = 0;
        for (int r = 0; r < fields.Length; r++)
        {
            if (missing.Contains(fields[r]))
            {
                if (policy == MissingNumbers.Error)
                {
                    throw BadTable(
                        $"Row {r}, column '{name}': a missing value ('{fields[r]}'); fill it in, remove the row, or fit with MissingNumbers.Mean.");
                }

                continue;
            }

            sum += Number(fields[r], r, name, "the numeric column");
            count++;
        }

        return count == 0
            ? throw BadTable($"Column '{name}' holds only missing values; leave it out with TableEncoderOptions.Ignore.")
            : new EncodedColumn(name, ColumnKind.Numeric, [], policy == MissingNumbers.Mean ? (float)(sum / count) : null, offset);
    }

    private static EncodedColumn FitCategorical(string name, string[] fields, int maxCategories, int offset)
    {
        var categories = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string field in fields)
        {
            if (categories.Add(field) && categories.Count > maxCategories)
            {
                throw BadTable(
                    $"Column '{name}' has more than {maxCategories} distinct values (TableEncoderOptions.MaxCategories), one feature each: an identifier or free text? Leave it out with TableEncoderOptions.Ignore, or raise MaxCategories.");
            }
        }

        return new EncodedColumn(name, ColumnKind.Categorical, [.. categories], null, offset);
    }

    // Numbers in numeric order (so that "10" follows "9"; equal numbers written differently by their text), else text
    // in ordinal order.
    private static string[] ClassesOf(string[] fields, bool numbers)
    {
        string[] distinct = [.. fields.Distinct(StringComparer.Ordinal)];
        return numbers
            ? [.. distinct.OrderBy(f => float.Parse(f, NumberStyles.Float, CultureInfo.InvariantCulture)).ThenBy(f => f, StringComparer.Ordinal)]
            : [.. distinct.Order(StringComparer.Ordinal)];
    }

    private static float[] ParseTargets(string[] fields, string label, string what)
    {
        float[] targets = new float[fields.Length];
        for (int r = 0; r < fields.Length; r++)
        {
            targets[r] = Number(fields[r], r, label, what);
        }

        return targets;
    }

    private static float Number(string field, int row, string column, string what) =>
        float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && float.IsFinite(value)
            ? value
            : throw BadTable(
                $"Row {row}, column '{column}': '{field}' is not a finite float32, which {what} needs (a number beyond ±3.4E+38, an infinity, or text).");
}
