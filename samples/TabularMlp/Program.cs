using System.Globalization;
using System.Text;
using NeuralCore.Configuration;
using NeuralCore.Data;
using NeuralCore.IO;
using TabularMlp;

// Trains a baseline, a one-layer model and an MLP on four small tabular data sets kept in data/tabular, or on any CSV
// with a header (--csv FILE --label COLUMN), and prints (and with --out, writes) the test metrics side by side.
//   dotnet run -c Release --project samples/TabularMlp [-- --seed 42 --epochs 300 --data DIR --out DIR]
//   dotnet run -c Release --project samples/TabularMlp -- --csv FILE --label COLUMN [--task auto|classification|regression]
//       [--ignore a,b] [--categorical c] [--decimal-separator ,] [--hidden 32] [--test-split 0.2] [--out DIR]
// --folds K scores every model by K-fold cross-validation (stratified by class for classifiers) instead of one split.
// --loss picks the trained models' loss for a --csv file: crossentropy (default) or focal for classes; mse (default),
// mae, huber, log_cosh, mape, msle or poisson for quantities (msle and poisson end the models in Softplus).
const string Usage = "Usage: TabularMlp [--seed N] [--epochs N] [--folds K] [--data DIR] [--out DIR]\n" +
    "       TabularMlp --csv FILE --label COLUMN [--task auto|classification|regression] [--loss NAME] [--ignore COLUMNS] [--categorical COLUMNS] [--decimal-separator .|,] [--hidden N] [--test-split F] [--folds K] [--seed N] [--epochs N] [--out DIR]\n" +
    "       --loss: crossentropy or focal (classes); mse, mae, huber, log_cosh, mape, msle or poisson (quantities)";
ulong seed = 42;
int epochs = 300, hidden = 32, folds = 0;
double testSplit = 0.2;
string? dataDir = null, outDir = null, csv = null, label = null;
string task = "auto";
string? loss = null;
bool testSplitGiven = false, hiddenGiven = false;
char decimalSeparator = '.';
string[] ignore = [], categorical = [];
for (int i = 0; i < args.Length; i++)
{
    string option = args[i];
    if (option is "-h" or "--help")
    {
        Console.WriteLine(Usage);
        return 0;
    }

    if (option is not ("--seed" or "--epochs" or "--data" or "--out" or "--csv" or "--label" or "--task" or "--ignore" or "--categorical" or "--hidden" or "--test-split" or "--decimal-separator" or "--folds" or "--loss"))
    {
        Console.Error.WriteLine($"error: unknown option '{option}'. {Usage}");
        return 2;
    }

    if (i + 1 >= args.Length || string.IsNullOrWhiteSpace(args[i + 1]))
    {
        Console.Error.WriteLine($"error: {option} needs a value. {Usage}");
        return 2;
    }

    string value = args[++i];
    switch (option)
    {
        case "--seed" when !ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out seed):
            Console.Error.WriteLine($"error: --seed must be a non-negative integer below 2^64; got '{value}'.");
            return 2;
        case "--epochs" when !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out epochs) || epochs is < 1 or > 100_000:
            Console.Error.WriteLine($"error: --epochs must be an integer from 1 to 100000; got '{value}'.");
            return 2;
        case "--data":
            dataDir = value;
            break;
        case "--out":
            outDir = value;
            break;
        case "--csv":
            csv = value;
            break;
        case "--label":
            label = value;
            break;
        case "--task" when value is not ("auto" or "classification" or "regression"):
            Console.Error.WriteLine($"error: --task must be auto, classification or regression; got '{value}'.");
            return 2;
        case "--task":
            task = value;
            break;
        case "--loss" when Array.IndexOf(CsvLosses.Names, value) < 0:
            Console.Error.WriteLine($"error: --loss must be one of {string.Join(", ", CsvLosses.Names)}; got '{value}'.");
            return 2;
        case "--loss":
            loss = value;
            break;
        case "--ignore":
            ignore = Columns(value);
            break;
        case "--decimal-separator" when value is not ("." or ","):
            Console.Error.WriteLine($"error: --decimal-separator must be . or ,; got '{value}'.");
            return 2;
        case "--decimal-separator":
            decimalSeparator = value[0];
            break;
        case "--categorical":
            categorical = Columns(value);
            break;
        case "--hidden" when !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out hidden) || hidden is < 1 or > 65_536:
            Console.Error.WriteLine($"error: --hidden must be an integer from 1 to 65536; got '{value}'.");
            return 2;
        case "--hidden":
            hiddenGiven = true;
            break;
        case "--folds" when !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out folds) || folds is < 2 or > 20:
            Console.Error.WriteLine($"error: --folds must be an integer from 2 to 20; got '{value}'.");
            return 2;
        case "--test-split" when !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out testSplit) || !(testSplit is >= 0.05 and <= 0.5):
            Console.Error.WriteLine($"error: --test-split must be a number from 0.05 to 0.5; got '{value}'.");
            return 2;
        case "--test-split":
            testSplitGiven = true;
            break;
    }
}

if ((csv is null) != (label is null))
{
    Console.Error.WriteLine($"error: {(csv is null ? "--label needs --csv FILE" : "--csv needs --label COLUMN")}: the file and the column to predict go together. {Usage}");
    return 2;
}

if (folds > 0 && testSplitGiven)
{
    Console.Error.WriteLine($"error: --test-split and --folds each decide what is held out: give one. {Usage}");
    return 2;
}

if (csv is null && (task != "auto" || ignore.Length > 0 || categorical.Length > 0 || decimalSeparator != '.' || loss is not null))
{
    Console.Error.WriteLine($"error: --task, --ignore, --categorical, --decimal-separator and --loss describe a --csv file; give --csv FILE --label COLUMN. {Usage}");
    return 2;
}

// The four data sets' models and their 80/20 split are fixed: these were accepted, and left out of the report.
if (csv is null && (hiddenGiven || testSplitGiven))
{
    string given = hiddenGiven && testSplitGiven ? "--hidden and --test-split shape" : hiddenGiven ? "--hidden shapes" : "--test-split shapes";
    Console.Error.WriteLine($"error: {given} the models of a --csv file; the four data sets' models and their 80/20 split are fixed. Give --csv FILE --label COLUMN. {Usage}");
    return 2;
}

// --csv FILE replaces the four data sets, so their folder would be read by nothing.
if (csv is not null && dataDir is not null)
{
    Console.Error.WriteLine($"error: --data names the folder of the four data sets, which --csv FILE replaces: give one. {Usage}");
    return 2;
}

if (loss is not null && task != "auto" && CsvLosses.IsClassification(loss) != (task == "classification"))
{
    Console.Error.WriteLine($"error: --loss {loss} is a {(CsvLosses.IsClassification(loss) ? "classification" : "regression")} loss, but --task is {task}. {Usage}");
    return 2;
}

try
{
    if (csv is not null)
    {
        if (outDir is not null && !Writable(outDir))
        {
            return 1;
        }

        var settings = new CsvSettings(csv, label!, task switch { "classification" => LabelKind.Classes, "regression" => LabelKind.Targets, _ => LabelKind.Auto },
            ignore, categorical, hidden, testSplit, decimalSeparator, loss);
        TextTable table = TextTable.Read(csv);
        if (folds > 0)
        {
            return CrossValidateCsv(table, settings);
        }

        (IReadOnlyList<ModelResult> results, TableEncoder encoder, NeuralCore.Models.Sequential mlp, int unlabelled) = Tasks.Csv(table, settings, seed, epochs);
        bool classes = encoder.Classes is not null;
        var csvReport = new StringBuilder();
        csvReport.AppendLine(CultureInfo.InvariantCulture, $"# Tabular MLP on {Path.GetFileName(csv)} (seed {seed}, at most {epochs} epochs, {1 - testSplit:0.##}/{testSplit:0.##} split)").AppendLine();
        if (unlabelled > 0)
        {
            csvReport.AppendLine(CultureInfo.InvariantCulture, $"{unlabelled} of {table.Rows} rows have no '{label}' and were left out.").AppendLine();
        }

        // A label of a few whole numbers (0/1, a rating) is read as a quantity unless told otherwise: said, with the fix.
        if (task == "auto" && encoder.LabelKind == LabelKind.Targets)
        {
            string[] distinct = [.. table.Column(label!).Where(v => encoder.MissingMarkers.All(m => m != v)).Distinct(StringComparer.Ordinal)];
            if (distinct.Length <= 10 && distinct.All(v => int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
            {
                csvReport.AppendLine(CultureInfo.InvariantCulture,
                    $"'{label}' holds only the whole numbers {string.Join(", ", distinct.Order(StringComparer.Ordinal))}, so it was read as a quantity to regress; if they are classes, pass --task classification.").AppendLine();
            }
        }

        // MAPE divides each error by max(|t|, 1e-7): a label of 0 weighs ten million times one of 1.
        if (settings.Loss == "mape" && encoder.Classes is null)
        {
            int zeros = table.Column(label!).Count(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && t == 0);
            if (zeros > 0)
            {
                csvReport.AppendLine(CultureInfo.InvariantCulture,
                    $"'{label}' holds {zeros} zeros: MAPE divides their errors by 1e-7 (Keras's epsilon), so they outweigh every other row; --loss mae or huber suits such a label better.").AppendLine();
            }
        }

        Section(csvReport, classes
                ? $"{Path.GetFileName(csv)}: '{label}', {encoder.Classes!.Count} classes, from {encoder.Columns.Count} columns ({table.Rows} rows, {encoder.FeatureSize} encoded features)"
                : $"{Path.GetFileName(csv)}: regression of '{label}' from {encoder.Columns.Count} columns ({table.Rows} rows, {encoder.FeatureSize} encoded features)",
            results, classes ? ["accuracy", "loss", "macro F1"] : ["mae", "rmse", "r2"]);
        string text = PrintableLines(csvReport.ToString());
        Console.Write(text);
        if (outDir is not null)
        {
            // The report last, and an earlier one removed first: a folder with a report holds this run's model and
            // encoder, which read each other's features, even after a run stopped between the two.
            File.Delete(Path.Combine(outDir, "report.md"));
            encoder.Save(Path.Combine(outDir, "encoder.json"));
            NeuralCore.Serialization.ModelFile.Save(mlp, Path.Combine(outDir, "model.ncm"));
            AtomicFile.Write(Path.Combine(outDir, "report.md"), Encoding.UTF8.GetBytes(text));
            Console.WriteLine($"Wrote report.md, model.ncm (the MLP, reading encoded features) and encoder.json (TableEncoder.Load) to {outDir}");
        }

        return 0;
    }

    dataDir ??= TabularData.Find();
    if (dataDir is null || !Directory.Exists(dataDir))
    {
        Console.Error.WriteLine(dataDir is null
            ? "error: the data/tabular folder was not found: run from the repository, or pass --data DIR."
            : $"error: --data {dataDir}: no such folder.");
        return 1;
    }

    if (outDir is not null && !Writable(outDir))
    {
        return 1;
    }

    var report = new StringBuilder();
    report.AppendLine(CultureInfo.InvariantCulture, $"# Tabular MLP (seed {seed}, at most {epochs} epochs, {(folds > 0 ? $"{folds}-fold cross-validation, mean ± standard deviation over the folds" : "80/20 split")})").AppendLine();
    Dataset diabetes = TabularData.Diabetes(dataDir), cancer = TabularData.BreastCancerData(dataDir), wine = TabularData.WineData(dataDir);
    TextTable penguins = TabularData.PenguinsTable(dataDir);
    Section(report, "Diabetes: regression of disease progression (442 × 10)", folds == 0 ? Tasks.Diabetes(diabetes, seed, epochs)
        : Tasks.CrossValidate(DatasetSplits.PlainFoldAssignment(diabetes.Count, folds, shuffle: true, seed), folds, seed,
            (train, test) => Tasks.Diabetes(diabetes.Subset(train), diabetes.Subset(test), seed, epochs)), ["mae", "rmse", "r2"]);
    Section(report, "Breast cancer Wisconsin: malignant or benign (569 × 30)", folds == 0 ? Tasks.BreastCancer(cancer, seed, epochs)
        : Tasks.CrossValidate(DatasetSplits.StratifiedFoldAssignment(cancer.Labels, folds, shuffle: true, seed), folds, seed,
            (train, test) => Tasks.BreastCancer(cancer.Subset(train), cancer.Subset(test), seed, epochs)), ["accuracy", "loss", "malignant recall", "malignant precision", "ROC AUC"]);
    Section(report, "Wine: three cultivars from 13 chemical measurements (178 × 13)", folds == 0 ? Tasks.Wine(wine, seed, epochs)
        : Tasks.CrossValidate(DatasetSplits.StratifiedFoldAssignment(wine.Labels, folds, shuffle: true, seed), folds, seed,
            (train, test) => Tasks.Wine(wine.Subset(train), wine.Subset(test), seed, epochs)), ["accuracy", "loss", "macro F1"]);
    Section(report, "Palmer penguins: three species from words and measurements (344 × 7, text)", folds == 0 ? Tasks.Penguins(penguins, seed, epochs)
        : Tasks.CrossValidate(DatasetSplits.StratifiedFoldAssignment(Tasks.Codes(penguins.Column("species")), folds, shuffle: true, seed), folds, seed,
            (train, test) => Tasks.Penguins(penguins.Subset(train), penguins.Subset(test), seed, epochs)), ["accuracy", "loss", "macro F1"]);
    Console.Write(report.ToString());
    if (outDir is not null)
    {
        string path = Path.Combine(outDir, "report.md");
        AtomicFile.Write(path, Encoding.UTF8.GetBytes(report.ToString()));
        Console.WriteLine($"Wrote {path}");
    }

    return 0;
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
{
    // A missing or malformed data file, or an output folder that cannot be written: one line naming it.
    // An ArgumentException's message ends with its parameter's name, which means nothing on a command line.
    // Messages quote the file's fields and names, whose escape sequences could clear the terminal or fake output.
    Console.Error.WriteLine($"error: {Names.Printable(ForCommandLine(ex is ArgumentException { ParamName: { } p } ? ex.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal) : ex.Message))}");
    return 1;
}

// Before training: a folder that cannot be written is found now, not after the models have trained.
static bool Writable(string outDir)
{
    try
    {
        Directory.CreateDirectory(outDir);
        AtomicFile.Write(Path.Combine(outDir, ".write-test"), []);
        File.Delete(Path.Combine(outDir, ".write-test"));
        return true;
    }
    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"error: --out {outDir} cannot be written ({ex.Message}); choose another folder.");
        return false;
    }
}

// The encoder's advice names its options; on the command line they are flags.
// A report quotes the CSV's column names and classes: each line's control characters (escape sequences that could
// clear the terminal or fake output) become '?', as the library prints names.
static string PrintableLines(string text) => string.Join('\n', text.Split('\n').Select(Names.Printable));

static string ForCommandLine(string message) => message
    .Replace("TableEncoderOptions.DecimalSeparator = ','", "--decimal-separator ,", StringComparison.Ordinal)
    .Replace("TableEncoderOptions.DecimalSeparator = '.'", "--decimal-separator .", StringComparison.Ordinal)
    .Replace("TableEncoderOptions.Categorical", "--categorical", StringComparison.Ordinal)
    .Replace("TableEncoderOptions.Ignore", "--ignore", StringComparison.Ordinal)
    .Replace("LabelKind = LabelKind.Classes", "--task classification", StringComparison.Ordinal)
    .Replace("LabelKind = LabelKind.Targets", "--task regression", StringComparison.Ordinal);

// --csv with --folds: each fold's models trained and scored with an encoder fitted on its training rows, the folds
// stratified by class when the label holds classes; the report only (a model per fold is not one model to keep).
int CrossValidateCsv(TextTable table, CsvSettings settings)
{
    (TextTable labelled, int unlabelled) = Tasks.Labelled(table, settings);
    bool classes = TableEncoder.Fit(labelled, settings.Label, Tasks.EncoderOptions(settings)).Classes is not null;

    // Every fold reads the label as the whole table does: left to decide from its own training rows, a fold decided
    // again, and one holding a single row of a recurring word among whole numbers was refused.
    settings = settings with { Task = classes ? LabelKind.Classes : LabelKind.Targets };
    string name = Path.GetFileName(settings.Path);
    if (classes)
    {
        // A class of one row is in one fold only, so that fold's training rows never hold it: refused before training.
        string[] rare = [.. labelled.Column(settings.Label).GroupBy(l => l, StringComparer.Ordinal).Where(g => g.Count() < 2).Select(g => $"'{g.Key}'")];
        if (rare.Length > 0)
        {
            throw new InvalidDataException(
                $"{name}: the class{(rare.Length > 1 ? "es" : "")} {string.Join(", ", rare.Take(5))}{(rare.Length > 5 ? $" and {rare.Length - 5} more" : "")} of '{settings.Label}' {(rare.Length > 1 ? "hold" : "holds")} one row: cross-validation trains every fold without it. Remove such rows, or run without --folds.");
        }
    }
    else if (labelled.Rows < 2 * folds)
    {
        // R² needs two test rows: a fold of one gave NaN, and the mean over the folds with it.
        throw new InvalidDataException(
            $"{name}: {labelled.Rows} labelled rows make test folds of one row with --folds {folds}, whose R² is undefined; use at most --folds {labelled.Rows / 2}.");
    }

    int[] fold = classes
        ? DatasetSplits.StratifiedFoldAssignment(Tasks.Codes(labelled.Column(settings.Label)), folds, shuffle: true, seed)
        : DatasetSplits.PlainFoldAssignment(labelled.Rows, folds, shuffle: true, seed);
    IReadOnlyList<ModelResult> results = Tasks.CrossValidate(fold, folds, seed,
        (train, test) => Tasks.CsvOnParts(labelled.Subset(train), labelled.Subset(test), settings, seed, epochs).Results);
    var csvReport = new StringBuilder();
    csvReport.AppendLine(CultureInfo.InvariantCulture, $"# Tabular MLP on {name} (seed {seed}, at most {epochs} epochs, {folds}-fold cross-validation{(classes ? " stratified by class" : "")}, mean ± standard deviation over the folds)").AppendLine();
    if (unlabelled > 0)
    {
        csvReport.AppendLine(CultureInfo.InvariantCulture, $"{unlabelled} of {table.Rows} rows have no '{settings.Label}' and were left out.").AppendLine();
    }

    Section(csvReport, $"{name}: {(classes ? "classes" : "regression")} of '{settings.Label}' ({labelled.Rows} rows)", results,
        classes ? ["accuracy", "loss", "macro F1"] : ["mae", "rmse", "r2"]);
    string text = PrintableLines(csvReport.ToString());
    Console.Write(text);
    if (outDir is not null)
    {
        // A folder with a report holds that run's outputs only: an earlier single split's model and encoder are removed.
        File.Delete(Path.Combine(outDir, "model.ncm"));
        File.Delete(Path.Combine(outDir, "encoder.json"));
        AtomicFile.Write(Path.Combine(outDir, "report.md"), Encoding.UTF8.GetBytes(text));
        Console.WriteLine($"Wrote report.md to {outDir} (cross-validation trains a model per fold and keeps none: run without --folds to save one)");
    }

    return 0;
}

static string[] Columns(string list) => [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

static void Section(StringBuilder report, string title, IReadOnlyList<ModelResult> results, string[] columns)
{
    report.AppendLine(CultureInfo.InvariantCulture, $"## {title}").AppendLine();
    report.Append("| model | ").Append(string.Join(" | ", columns)).AppendLine(" | epochs | seconds | what it is |");
    report.Append("|---|").Append(string.Concat(columns.Select(_ => "---:|"))).AppendLine("---:|---:|---|");
    foreach (ModelResult r in results)
    {
        report.Append(CultureInfo.InvariantCulture, $"| {r.Model} | ");
        report.Append(string.Join(" | ", columns.Select(c => !r.Test.TryGetValue(c, out double v) ? "–"
            : r.Spread is { } spread ? string.Create(CultureInfo.InvariantCulture, $"{v:F4} ± {spread[c]:F4}") : v.ToString("F4", CultureInfo.InvariantCulture))));
        report.AppendLine(CultureInfo.InvariantCulture, $" | {r.Epochs} | {r.Seconds:F2} | {r.Description} |");
    }

    report.AppendLine();
}
