using System.Globalization;
using NeuralCore.Data;
using NeuralCore.Scoring;
using NeuralCore.Training;
using ScottPlot;
using SkiaSharp;

namespace MnistMlp;

/// <summary>A test image the model got wrong, with how sure it was.</summary>
/// <param name="Index">The image's index in the test set.</param>
/// <param name="Actual">The true digit.</param>
/// <param name="Predicted">The predicted digit.</param>
/// <param name="Confidence">The probability the model gave its (wrong) prediction.</param>
internal sealed record Mistake(int Index, int Actual, int Predicted, double Confidence);

/// <summary>The run's pictures, drawn with ScottPlot.</summary>
internal static class Plots
{
    private const string FontFamily = "DejaVu Sans";
    private static readonly CultureInfo Inv = Formats.Culture;

    /// <summary>
    /// Sets a sans-serif font and says whether it exists: without an installed font ScottPlot draws no text at all
    /// and still succeeds, so the caller warns instead of writing silent pictures.
    /// </summary>
    /// <remarks>Thread-safe; the fonts are looked up once per process.</remarks>
    public static bool ConfigureFonts() => s_fonts.Value;

    private static readonly Lazy<bool> s_fonts = new(() =>
    {
        using SKTypeface? face = SKTypeface.FromFamilyName(FontFamily);
        bool found = face is not null && face.FamilyName == FontFamily;
        if (found)
        {
            Fonts.Default = FontFamily;
        }

        return found || SKFontManager.Default.FontFamilies.Any();
    });

    /// <summary>curves.png: loss (left) and accuracy (right) per epoch, training against validation, the best epoch marked.</summary>
    public static void Curves(History history, string path, string title = "", int? bestEpoch = null)
    {
        double[] epochs = [.. history.Epochs.Select(e => (double)e.Epoch)];
        bool validation = history.Epochs.All(e => e.ValidationLoss is not null);

        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Plot loss = multiplot.GetPlot(0), accuracy = multiplot.GetPlot(1);
        Series(loss, epochs, [.. history.Loss], "training", Colors.C0);
        Series(accuracy, epochs, [.. history.Accuracy.Select(a => a * 100)], "training", Colors.C0);
        if (validation)
        {
            Series(loss, epochs, [.. history.ValidationLoss], "validation", Colors.C1);
            Series(accuracy, epochs, [.. history.ValidationAccuracy.Select(a => a * 100)], "validation", Colors.C1);
        }

        if (bestEpoch is { } best)
        {
            foreach (Plot plot in new[] { loss, accuracy })
            {
                var line = plot.Add.VerticalLine(best);
                line.LinePattern = LinePattern.Dashed;
                line.Color = Colors.Gray;
                line.LegendText = string.Create(Inv, $"best epoch ({best})");
            }
        }

        Decorate(loss, Prefix(title) + "Loss", "epoch", "loss");
        Decorate(accuracy, Prefix(title) + "Accuracy", "epoch", "accuracy (%)", Alignment.LowerRight);
        foreach (Plot plot in new[] { loss, accuracy })
        {
            // A margin on both sides, so that the first and last points and the best-epoch line stay off the frame.
            plot.Axes.SetLimitsX(epochs[0] - 0.3, epochs[^1] + 0.3);
        }

        if (epochs.Length <= 30)
        {
            string[] labels = [.. history.Epochs.Select(e => e.Epoch.ToString(CultureInfo.InvariantCulture))];
            loss.Axes.Bottom.SetTicks(epochs, labels);
            accuracy.Axes.Bottom.SetTicks(epochs, labels);
        }

        multiplot.SavePng(path, 1200, 480);
    }

    /// <summary>
    /// confusion.png: the counts on a linear colour scale with its colour bar (left), and each row as a percentage of its
    /// true class (right, so that rare and common digits compare), true digits down, predictions across.
    /// </summary>
    public static void Confusion(ConfusionMatrix matrix, string path, string title = "")
    {
        int n = matrix.Classes;
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        long max = 1;
        for (int t = 0; t < n; t++)
        {
            for (int p = 0; p < n; p++)
            {
                max = Math.Max(max, matrix[t, p]);
            }
        }

        Heatmap(multiplot.GetPlot(0), n, (t, p) => matrix[t, p], max, "count",
            (t, p) => matrix[t, p].ToString(CultureInfo.InvariantCulture),
            Prefix(title) + string.Create(Inv, $"Counts (test accuracy {matrix.Accuracy:P2})"));
        Heatmap(multiplot.GetPlot(1), n, (t, p) => 100.0 * matrix[t, p] / Math.Max(1, matrix.Support(t)), 100, "% of the true digit",
            (t, p) => (100.0 * matrix[t, p] / Math.Max(1, matrix.Support(t))).ToString("0.0", CultureInfo.InvariantCulture),
            Prefix(title) + "Normalized by true digit (%)");
        multiplot.SavePng(path, 1500, 680);
    }

    private static void Heatmap(Plot plot, int n, Func<int, int, double> value, double max, string barLabel, Func<int, int, string> text, string title)
    {
        double[,] cells = new double[n, n];
        for (int t = 0; t < n; t++)
        {
            for (int p = 0; p < n; p++)
            {
                // ScottPlot draws intensity row 0 at the bottom of the extent; flip so row 0 (true digit 0) is on top.
                cells[n - 1 - t, p] = value(t, p);
            }
        }

        var heatmap = plot.Add.Heatmap(cells);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, max);
        heatmap.Rectangle = new CoordinateRect(-0.5, n - 0.5, n - 0.5, -0.5);
        var bar = new ScottPlot.Panels.ColorBar(heatmap, Edge.Right) { Label = barLabel };
        plot.Axes.AddPanel(bar);
        for (int t = 0; t < n; t++)
        {
            for (int p = 0; p < n; p++)
            {
                var label = plot.Add.Text(text(t, p), p, t);
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontSize = 12;
                // Viridis is dark at the bottom and light at the top: white text on the dark half, black on the light.
                label.LabelFontColor = value(t, p) > 0.6 * max ? Colors.Black : Colors.White;
            }
        }

        double[] ticks = [.. Enumerable.Range(0, n).Select(i => (double)i)];
        string[] names = [.. Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        plot.Axes.Bottom.SetTicks(ticks, names);
        plot.Axes.Left.SetTicks(ticks, names);
        plot.Axes.SetLimits(-0.5, n - 0.5, n - 0.5, -0.5);
        Decorate(plot, title, "predicted digit", "true digit", legend: null);
    }

    /// <summary>
    /// roc.png: one-vs-rest ROC curves of the ten digits with the micro and macro averages and chance (left), and the
    /// top-left corner enlarged (right), where curves with AUCs near 1 would otherwise lie on top of each other.
    /// </summary>
    public static void Roc(MulticlassRoc roc, string path, string title = "")
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Plot full = multiplot.GetPlot(0), corner = multiplot.GetPlot(1);
        foreach (Plot plot in new[] { full, corner })
        {
            var chance = plot.Add.Line(0, 0, 1, 1);
            chance.LinePattern = LinePattern.Dotted;
            chance.Color = Colors.Gray;
            chance.LegendText = plot == full ? "chance (AUC 0.5)" : string.Empty;
            for (int c = 0; c < roc.Classes.Count; c++)
            {
                Curve(plot, roc.Classes[c], string.Create(Inv, $"digit {c} (AUC {roc.Classes[c].Auc:0.0000})"), Palette(c), 1.5f, LinePattern.Solid);
            }

            Curve(plot, roc.Micro, string.Create(Inv, $"micro average (AUC {roc.MicroAuc:0.0000})"), Colors.Black, 3, LinePattern.Dashed);
            Curve(plot, roc.Macro, string.Create(Inv, $"macro average (mean AUC {roc.MacroAuc:0.0000})"), Colors.DarkRed, 3, LinePattern.DenselyDashed);
        }

        full.Axes.SetLimits(0, 1, 0, 1.01);
        Decorate(full, Prefix(title) + "ROC curves, one digit against the rest", "false positive rate", "true positive rate", legend: null);
        // The corner down to the lowest curve at a false positive rate of 0.1 (a fixed 0.8 showed 4 of 12 curves of a
        // weak model), with the legend beside the plot, where it covers no curve.
        double lowest = roc.Classes.Append(roc.Micro).Append(roc.Macro).Min(c => c.TruePositiveRateAt(0.1));
        corner.Axes.SetLimits(0, 0.1, CornerBottom(lowest), 1.005);
        Decorate(corner, "Top-left corner enlarged", "false positive rate", "true positive rate", legend: null);
        corner.ShowLegend(Edge.Right);
        multiplot.SavePng(path, 1700, 640);
    }

    /// <summary>The bottom of an enlarged ROC corner showing every curve from <paramref name="lowest"/> up: a multiple of 0.05 below it, at most 0.8.</summary>
    internal static double CornerBottom(double lowest) => Math.Clamp(Math.Floor((lowest - 0.02) * 20) / 20, 0, 0.8);

    private static void Curve(Plot plot, RocCurve curve, string label, Color color, float width, LinePattern pattern)
    {
        var line = plot.Add.ScatterLine(curve.FalsePositiveRates.ToArray(), curve.TruePositiveRates.ToArray());
        line.Color = color;
        line.LineWidth = width;
        line.LinePattern = pattern;
        line.LegendText = label;
    }

    /// <summary>Ten distinct colours (Tableau 10), so that no two digits share one.</summary>
    private static Color Palette(int c) => new ScottPlot.Palettes.Category10().GetColor(c);

    // misclassified.png in coordinates where an image is 1 × 1: six per row, a gap between them, two caption lines under
    // each, a heading above.
    private const int Columns = 6, PixelsPerUnit = 150;
    private const double Pitch = 1.3, RowPitch = 1.55, Heading = 0.45, Side = 0.15;

    /// <summary>
    /// misclassified.png: the test images the model got wrong with the highest confidence, each captioned with its true
    /// digit, the prediction and the probability given to it.
    /// </summary>
    public static void Misclassified(Dataset test, IReadOnlyList<Mistake> mistakes, string path)
    {
        int rows = Math.Max(1, (mistakes.Count + Columns - 1) / Columns);
        var plot = new Plot();
        string heading = mistakes.Count == 0
            ? "No test image was misclassified."
            : string.Create(Inv, $"The {mistakes.Count} most confidently misclassified test images");
        var title = plot.Add.Text(heading, 0, Heading - 0.1);
        title.LabelAlignment = Alignment.UpperLeft;
        title.LabelFontSize = 20;
        title.LabelBold = true;
        // Only the images shown: the whole set's Features would convert all 10,000 test images (31 MB) to draw a few
        // dozen of them.
        float[] features = test.Subset([.. mistakes.Select(m => m.Index)]).Features;
        for (int k = 0; k < mistakes.Count; k++)
        {
            Mistake m = mistakes[k];
            double left = k % Columns * Pitch, top = -(k / Columns) * RowPitch;
            double[,] cells = new double[28, 28];
            for (int r = 0; r < 28; r++)
            {
                for (int c = 0; c < 28; c++)
                {
                    // A heatmap given its Rectangle draws intensity row 0 at the rectangle's top, as the image is stored.
                    cells[r, c] = features[(k * 784) + (r * 28) + c];
                }
            }

            var image = plot.Add.Heatmap(cells);
            // MNIST is white ink on black; drawn dark on light, as on paper.
            image.Colormap = new ScottPlot.Colormaps.GrayscaleReversed();
            image.ManualRange = new ScottPlot.Range(0, 1);
            image.Rectangle = new CoordinateRect(left, left + 1, top - 1, top);
            var frame = plot.Add.Rectangle(left, left + 1, top - 1, top);
            frame.FillStyle.Color = Colors.Transparent;
            frame.LineStyle.Color = Colors.LightGray;
            Caption(plot, string.Create(Inv, $"true {m.Actual}, predicted {m.Predicted}"), left + 0.5, top - 1.04, new Color(0xB0, 0x1E, 0x1E));
            Caption(plot, string.Create(Inv, $"p = {m.Confidence:P1}, #{m.Index}"), left + 0.5, top - 1.2, Colors.Black);
        }

        double right = ((Columns - 1) * Pitch) + 1 + Side, bottom = -((rows - 1) * RowPitch) - 1.45;
        plot.Axes.SetLimits(-Side, right, bottom, Heading);
        plot.Layout.Frameless();
        plot.HideGrid();
        plot.SavePng(path, (int)((right + Side) * PixelsPerUnit), (int)((Heading - bottom) * PixelsPerUnit));
    }

    /// <summary>
    /// The pixel of misclassified.png at the centre of pixel (<paramref name="row"/>, <paramref name="column"/>) of the
    /// <paramref name="k"/>-th image: the layout that <see cref="Misclassified"/> draws, for its tests.
    /// </summary>
    internal static (int X, int Y) MisclassifiedPixel(int k, int row, int column) =>
        ((int)((((k % Columns) * Pitch) + Side + ((column + 0.5) / 28)) * PixelsPerUnit),
         (int)((Heading + ((k / Columns) * RowPitch) + ((row + 0.5) / 28)) * PixelsPerUnit));

    private static void Caption(Plot plot, string text, double x, double y, Color color)
    {
        var caption = plot.Add.Text(text, x, y);
        caption.LabelAlignment = Alignment.UpperCenter;
        caption.LabelFontSize = 15;
        caption.LabelFontColor = color;
    }

    /// <summary>
    /// sweep.png: best validation accuracy (left) and training seconds (right) of each architecture, as labelled bars
    /// on their own axes, so neither hides the other.
    /// </summary>
    public static void Sweep(IReadOnlyList<SweepRow> rows, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Plot accuracy = multiplot.GetPlot(0), seconds = multiplot.GetPlot(1);
        double[] x = [.. Enumerable.Range(0, rows.Count).Select(i => (double)i)];
        string[] names = [.. rows.Select(r => r.Name)];
        bool validation = rows.All(r => !double.IsNaN(r.ValidationAccuracy));
        double[] acc = [.. rows.Select(r => 100 * (validation ? r.ValidationAccuracy : r.TestAccuracy))];
        // Points, not bars: the accuracies differ by tenths of a point, which bars drawn from 0 would hide and bars
        // drawn from a cut axis would exaggerate.
        var points = accuracy.Add.Markers(x, acc);
        points.Color = Colors.C0;
        points.MarkerSize = 12;
        for (int i = 0; i < acc.Length; i++)
        {
            var text = accuracy.Add.Text(acc[i].ToString("0.00", CultureInfo.InvariantCulture) + "%", x[i], acc[i]);
            text.LabelAlignment = Alignment.LowerCenter;
            text.LabelFontSize = 14;
            text.OffsetY = -10;
        }

        Bars(seconds, x, [.. rows.Select(r => r.TrainSeconds)], Colors.C1, v => v.ToString(v < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " s");
        double low = Math.Floor(acc.Min() - 1), high = Math.Min(100.5, Math.Ceiling(acc.Max() + 0.6));
        accuracy.Axes.SetLimitsY(low, high);
        seconds.Axes.SetLimitsY(0, rows.Max(r => r.TrainSeconds) * 1.15);
        foreach (Plot plot in new[] { accuracy, seconds })
        {
            plot.Axes.Bottom.SetTicks(x, names);
            plot.Axes.SetLimitsX(-0.6, rows.Count - 0.4);
        }

        string which = validation ? "Validation accuracy at the best epoch" : "Test accuracy (no validation split)";
        Decorate(accuracy, which, "architecture (hidden layers)", validation ? "validation accuracy (%)" : "test accuracy (%)", legend: null);
        Decorate(seconds, "Training time", "architecture (hidden layers)", "seconds (all epochs)", legend: null);
        multiplot.SavePng(path, 1300, 520);
    }

    private static void Bars(Plot plot, double[] x, double[] y, Color color, Func<double, string> label)
    {
        var bars = plot.Add.Bars(x, y);
        bars.Color = color;
        foreach (var bar in bars.Bars)
        {
            bar.Label = label(bar.Value);
            bar.Size = 0.6;
        }

        bars.ValueLabelStyle.FontSize = 14;
    }

    private static void Series(Plot plot, double[] x, double[] y, string label, Color color)
    {
        var line = plot.Add.Scatter(x, y);
        line.LegendText = label;
        line.Color = color;
        line.MarkerSize = 7;
        line.LineWidth = 2;
    }

    private static string Prefix(string title) => title.Length == 0 ? string.Empty : title + ": ";

    private static void Decorate(Plot plot, string title, string xLabel, string yLabel, Alignment? legend = Alignment.UpperRight)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (legend is { } where)
        {
            plot.ShowLegend(where);
        }
    }
}
