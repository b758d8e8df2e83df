using System.Globalization;
using NeuralCore.Scoring;
using Spectre.Console;

namespace MnistMlp;

/// <summary>Tables for the terminal, drawn by Spectre.Console (plain ASCII borders when output is redirected).</summary>
internal static class ConsoleTables
{
    private static readonly CultureInfo Inv = Formats.Culture;

    /// <summary>
    /// A console that writes to <paramref name="output"/>, with colour, box drawing and live progress only on a terminal.
    /// </summary>
    public static IAnsiConsole For(TextWriter output, bool interactive) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(output),
        Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
    });

    /// <summary>
    /// <paramref name="table"/> with ASCII borders when output is redirected (a log read in any encoding shows them;
    /// Spectre drew the rounded box characters into logs too), as it is on a terminal.
    /// </summary>
    public static Table For(this Table table, bool interactive)
    {
        if (!interactive)
        {
            table.Border = TableBorder.Ascii;
        }

        return table;
    }

    /// <summary>Per-digit precision, recall, F1, support and AUC, with the averages.</summary>
    public static Table PerClass(ClassificationReport report, MulticlassRoc roc)
    {
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle("Test set, per digit") };
        table.AddColumn("digit");
        foreach (string name in new[] { "precision", "recall", "F1", "support", "ROC AUC" })
        {
            table.AddColumn(new TableColumn(name).RightAligned());
        }

        for (int c = 0; c < report.Classes.Count; c++)
        {
            ClassScores s = report.Classes[c];
            table.AddRow(Markup.Escape(s.Name), F(s.Precision), F(s.Recall), F(s.F1), s.Support.ToString(Inv), roc.Classes[c].Auc.ToString("0.0000", Inv));
        }

        table.AddEmptyRow();
        table.AddRow("macro avg", F(report.MacroAverage.Precision), F(report.MacroAverage.Recall), F(report.MacroAverage.F1),
            report.Total.ToString(Inv), roc.MacroAuc.ToString("0.0000", Inv));
        table.AddRow("weighted avg", F(report.WeightedAverage.Precision), F(report.WeightedAverage.Recall), F(report.WeightedAverage.F1),
            report.Total.ToString(Inv), string.Empty);
        table.AddRow("micro avg", string.Empty, string.Empty, string.Empty, string.Empty, roc.MicroAuc.ToString("0.0000", Inv));
        return table;
    }

    /// <summary>One row per architecture of a sweep.</summary>
    public static Table Sweep(IReadOnlyList<SweepRow> rows)
    {
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle("Architecture sweep") };
        table.AddColumn("hidden");
        foreach (string name in new[] { "parameters", "train seconds", "best epoch", "val accuracy", "test accuracy" })
        {
            table.AddColumn(new TableColumn(name).RightAligned());
        }

        foreach (SweepRow r in rows)
        {
            table.AddRow(Markup.Escape(r.Name), r.Parameters.ToString("N0", Inv), r.TrainSeconds.ToString("0.00", Inv),
                r.BestEpoch.ToString(Inv), double.IsNaN(r.ValidationAccuracy) ? "-" : r.ValidationAccuracy.ToString("P2", Inv),
                r.TestAccuracy.ToString("P2", Inv));
        }

        return table;
    }

    private static string F(double value) => value.ToString("0.0000", Inv);
}
