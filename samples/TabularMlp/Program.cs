using System.Globalization;
using System.Text;
using TabularMlp;

// Trains a baseline, a one-layer model and an MLP on two small tabular data sets kept in data/tabular, and prints
// (and with --out, writes) the test metrics side by side.
//   dotnet run -c Release --project samples/TabularMlp [-- --seed 42 --epochs 300 --data DIR --out DIR]
ulong seed = 42;
int epochs = 300;
string? dataDir = null, outDir = null;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--seed":
            seed = ulong.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--epochs":
            epochs = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--data":
            dataDir = Value();
            break;
        case "--out":
            outDir = Value();
            break;
        case "-h" or "--help":
            Console.WriteLine("Usage: TabularMlp [--seed N] [--epochs N] [--data DIR] [--out DIR]");
            return 0;
        default:
            Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: TabularMlp [--seed N] [--epochs N] [--data DIR] [--out DIR]");
            return 2;
    }
}

dataDir ??= TabularData.Find();
if (dataDir is null || !Directory.Exists(dataDir))
{
    Console.Error.WriteLine("The data/tabular folder was not found: run from the repository, or pass --data DIR.");
    return 1;
}

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"# Tabular MLP (seed {seed}, at most {epochs} epochs, 80/20 split)").AppendLine();
Section(report, "Diabetes: regression of disease progression (442 × 10)", Tasks.Diabetes(TabularData.Diabetes(dataDir), seed, epochs), ["mae", "rmse", "r2"]);
Section(report, "Breast cancer Wisconsin: malignant or benign (569 × 30)", Tasks.BreastCancer(TabularData.BreastCancerData(dataDir), seed, epochs),
    ["accuracy", "loss", "malignant recall", "malignant precision"]);
Console.Write(report.ToString());
if (outDir is not null)
{
    Directory.CreateDirectory(outDir);
    string path = Path.Combine(outDir, "report.md");
    File.WriteAllText(path + ".tmp", report.ToString());
    File.Move(path + ".tmp", path, overwrite: true);
    Console.WriteLine($"Wrote {path}");
}

return 0;

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
