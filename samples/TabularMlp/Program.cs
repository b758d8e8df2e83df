using System.Globalization;
using System.Text;
using NeuralCore.IO;
using TabularMlp;

// Trains a baseline, a one-layer model and an MLP on four small tabular data sets kept in data/tabular, and prints
// (and with --out, writes) the test metrics side by side.
//   dotnet run -c Release --project samples/TabularMlp [-- --seed 42 --epochs 300 --data DIR --out DIR]
const string Usage = "Usage: TabularMlp [--seed N] [--epochs N] [--data DIR] [--out DIR]";
ulong seed = 42;
int epochs = 300;
string? dataDir = null, outDir = null;
for (int i = 0; i < args.Length; i++)
{
    string option = args[i];
    if (option is "-h" or "--help")
    {
        Console.WriteLine(Usage);
        return 0;
    }

    if (option is not ("--seed" or "--epochs" or "--data" or "--out"))
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
    }
}

try
{
    dataDir ??= TabularData.Find();
    if (dataDir is null || !Directory.Exists(dataDir))
    {
        Console.Error.WriteLine(dataDir is null
            ? "error: the data/tabular folder was not found: run from the repository, or pass --data DIR."
            : $"error: --data {dataDir}: no such folder.");
        return 1;
    }

    if (outDir is not null)
    {
        // Before training: a folder that cannot be written is found now, not after the models have trained.
        try
        {
            Directory.CreateDirectory(outDir);
            AtomicFile.Write(Path.Combine(outDir, ".write-test"), []);
            File.Delete(Path.Combine(outDir, ".write-test"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: --out {outDir} cannot be written ({ex.Message}); choose another folder.");
            return 1;
        }
    }

    var report = new StringBuilder();
    report.AppendLine(CultureInfo.InvariantCulture, $"# Tabular MLP (seed {seed}, at most {epochs} epochs, 80/20 split)").AppendLine();
    Section(report, "Diabetes: regression of disease progression (442 × 10)", Tasks.Diabetes(TabularData.Diabetes(dataDir), seed, epochs), ["mae", "rmse", "r2"]);
    Section(report, "Breast cancer Wisconsin: malignant or benign (569 × 30)", Tasks.BreastCancer(TabularData.BreastCancerData(dataDir), seed, epochs),
        ["accuracy", "loss", "malignant recall", "malignant precision"]);
    Section(report, "Wine: three cultivars from 13 chemical measurements (178 × 13)", Tasks.Wine(TabularData.WineData(dataDir), seed, epochs),
        ["accuracy", "loss", "macro F1"]);
    Section(report, "Palmer penguins: three species from words and measurements (344 × 7, text)", Tasks.Penguins(TabularData.PenguinsTable(dataDir), seed, epochs),
        ["accuracy", "loss", "macro F1"]);
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
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

static void Section(StringBuilder report, string title, IReadOnlyList<ModelResult> results, string[] columns)
{
    report.AppendLine(CultureInfo.InvariantCulture, $"## {title}").AppendLine();
    report.Append("| model | ").Append(string.Join(" | ", columns)).AppendLine(" | epochs | seconds | what it is |");
    report.Append("|---|").Append(string.Concat(columns.Select(_ => "---:|"))).AppendLine("---:|---:|---|");
    foreach (ModelResult r in results)
    {
        report.Append(CultureInfo.InvariantCulture, $"| {r.Model} | ");
        report.Append(string.Join(" | ", columns.Select(c => r.Test.TryGetValue(c, out double v) ? v.ToString("F4", CultureInfo.InvariantCulture) : "–")));
        report.AppendLine(CultureInfo.InvariantCulture, $" | {r.Epochs} | {r.Seconds:F2} | {r.Description} |");
    }

    report.AppendLine();
}
