using System.Globalization;
using NeuralCore.Data;

namespace TabularMlp;

/// <summary>The four data sets of data/tabular (see its README for provenance and licence), loaded as datasets.</summary>
internal static class TabularData
{
    public const string DiabetesFeatures = "diabetes_data_raw.csv.gz";
    public const string DiabetesTargets = "diabetes_target.csv.gz";
    public const string BreastCancer = "breast_cancer.csv";
    public const string Wine = "wine_data.csv";
    public const string Penguins = "penguins.csv";

    /// <summary>The repository's data/tabular folder, found by walking up from the program and the current directory.</summary>
    public static string? Find()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "tabular");
                if (File.Exists(Path.Combine(candidate, BreastCancer)))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>Diabetes (Efron et al., 2004): 442 patients × 10 baseline variables; target: disease progression a year later.</summary>
    public static Dataset Diabetes(string folder)
    {
        NumericTable features = NumericTable.Read(Path.Combine(folder, DiabetesFeatures), skipLines: 0);
        NumericTable targets = NumericTable.Read(Path.Combine(folder, DiabetesTargets), skipLines: 0);
        if (features.Columns != 10 || targets.Columns != 1 || features.Rows != targets.Rows)
        {
            throw new InvalidDataException(
                $"Expected 10 feature columns and one target per row; found [{features.Rows}, {features.Columns}] features and [{targets.Rows}, {targets.Columns}] targets in {folder}.");
        }

        return new Dataset(features.Values, targets.Values, 10, 1);
    }

    /// <summary>Breast Cancer Wisconsin (Diagnostic): 569 tumours × 30 features; label 0 malignant, 1 benign.</summary>
    public static Dataset BreastCancerData(string folder)
    {
        // The first line is scikit-learn's header: row and column counts and the class names.
        NumericTable table = NumericTable.Read(Path.Combine(folder, BreastCancer), skipLines: 1);
        if (table.Columns != 31)
        {
            throw new InvalidDataException($"Expected 30 features and a label per row in {BreastCancer}; found {table.Columns} columns.");
        }

        return new Dataset(table.ColumnsOf(0, 30), BinaryLabels(table.ColumnsOf(30, 1), BreastCancer), 30);
    }

    /// <summary>Wine recognition (Forina et al.): 178 wines × 13 chemical measurements; label the cultivar, 0, 1 or 2.</summary>
    public static Dataset WineData(string folder)
    {
        // The first line is scikit-learn's header: row and column counts and the class names.
        NumericTable table = NumericTable.Read(Path.Combine(folder, Wine), skipLines: 1);
        if (table.Columns != 14)
        {
            throw new InvalidDataException($"Expected 13 features and a label per row in {Wine}; found {table.Columns} columns.");
        }

        float[] column = table.ColumnsOf(13, 1);
        int[] labels = new int[column.Length];
        for (int row = 0; row < column.Length; row++)
        {
            float v = column[row];
            if (v is not (0f or 1f or 2f))
            {
                throw new InvalidDataException(
                    $"{Wine}, data row {row + 1}: label {v.ToString("R", CultureInfo.InvariantCulture)} is not a class: expected 0, 1 or 2 (the cultivar).");
            }

            labels[row] = (int)v;
        }

        return new Dataset(table.ColumnsOf(0, 13), labels, 13);
    }

    /// <summary>
    /// Palmer penguins (Horst, Hill and Gorman): 344 penguins × 7 columns as text, three of them words (species, island,
    /// sex) and some fields <c>NA</c>; the label is the species.
    /// </summary>
    public static TextTable PenguinsTable(string folder)
    {
        TextTable table = TextTable.Read(Path.Combine(folder, Penguins));
        string[] expected = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"];
        if (!table.ColumnNames.SequenceEqual(expected))
        {
            throw new InvalidDataException($"Expected the columns {string.Join(", ", expected)} in {Penguins}; found {string.Join(", ", table.ColumnNames)}.");
        }

        return table;
    }

    /// <summary>
    /// The label column as classes 0 and 1, refusing by row any other value: <c>(int)v</c> turned 0.5 into class 0
    /// and let the model train on it.
    /// </summary>
    /// <param name="column">The label of each row, as read.</param>
    /// <param name="file">The file, named in errors.</param>
    /// <returns>The labels.</returns>
    /// <exception cref="InvalidDataException">A label is not 0 or 1 (the file, data row and value are named).</exception>
    public static int[] BinaryLabels(float[] column, string file)
    {
        int[] labels = new int[column.Length];
        for (int row = 0; row < column.Length; row++)
        {
            float v = column[row];
            if (v is not (0f or 1f))
            {
                throw new InvalidDataException(
                    $"{file}, data row {row + 1}: label {v.ToString("R", CultureInfo.InvariantCulture)} is not a class: expected 0 (malignant) or 1 (benign).");
            }

            labels[row] = (int)v;
        }

        return labels;
    }
}
