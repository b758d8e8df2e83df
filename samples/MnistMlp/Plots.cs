using System.Globalization;
using NeuralCore.Scoring;
using NeuralCore.Training;
using ScottPlot;
using SkiaSharp;

namespace MnistMlp;

/// <summary>The run's pictures, drawn with ScottPlot.</summary>
internal static class Plots
{
    private const string FontFamily = "DejaVu Sans";

    /// <summary>
    /// Sets a sans-serif font and says whether it exists: without an installed font ScottPlot draws no text at all
    /// and still succeeds, so the caller warns instead of writing silent pictures.
    /// </summary>
    public static bool ConfigureFonts()
    {
        using SKTypeface? face = SKTypeface.FromFamilyName(FontFamily);
        bool found = face is not null && face.FamilyName == FontFamily;
        if (found)
        {
            Fonts.Default = FontFamily;
        }

        return found || SKFontManager.Default.FontFamilies.Any();
    }

    /// <summary>curves.png: loss (left) and accuracy (right) per epoch, training against validation.</summary>
    public static void Curves(History history, string path)
    {
        double[] epochs = [.. history.Epochs.Select(e => (double)e.Epoch)];
        bool validation = history.Epochs.All(e => e.ValidationLoss is not null);

        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Plot loss = multiplot.GetPlot(0), accuracy = multiplot.GetPlot(1);
        Series(loss, epochs, [.. history.Loss], "training", Colors.C0);
        Series(accuracy, epochs, [.. history.Accuracy], "training", Colors.C0);
        if (validation)
        {
            Series(loss, epochs, [.. history.ValidationLoss], "validation", Colors.C1);
            Series(accuracy, epochs, [.. history.ValidationAccuracy], "validation", Colors.C1);
        }

        Decorate(loss, "Loss", "epoch", "loss");
        Decorate(accuracy, "Accuracy", "epoch", "accuracy", Alignment.LowerRight);
        if (epochs.Length <= 30)
        {
            string[] labels = [.. history.Epochs.Select(e => e.Epoch.ToString(CultureInfo.InvariantCulture))];
            loss.Axes.Bottom.SetTicks(epochs, labels);
            accuracy.Axes.Bottom.SetTicks(epochs, labels);
        }
        multiplot.SavePng(path, 1200, 480);
    }

    /// <summary>confusion.png: a heatmap of the counts, true classes down, predictions across, each cell labelled.</summary>
    public static void Confusion(ConfusionMatrix matrix, string path)
    {
        int n = matrix.Classes;
        double[,] cells = new double[n, n];
        long max = 1;
        for (int t = 0; t < n; t++)
        {
            for (int p = 0; p < n; p++)
            {
                // Log scale so the small off-diagonal counts stay visible beside the large diagonal.
                // ScottPlot draws intensity row 0 at the bottom of the extent; flip so row 0 (true digit 0) is on top.
                cells[n - 1 - t, p] = Math.Log10(1 + matrix[t, p]);
                max = Math.Max(max, matrix[t, p]);
            }
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(cells);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Rectangle = new CoordinateRect(-0.5, n - 0.5, n - 0.5, -0.5);
        for (int t = 0; t < n; t++)
        {
            for (int p = 0; p < n; p++)
            {
                var label = plot.Add.Text(matrix[t, p].ToString(CultureInfo.InvariantCulture), p, t);
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontSize = 13;
                label.LabelFontColor = Math.Log10(1 + matrix[t, p]) > 0.6 * Math.Log10(1 + max) ? Colors.Black : Colors.White;
            }
        }

        double[] ticks = [.. Enumerable.Range(0, n).Select(i => (double)i)];
        string[] names = [.. Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        plot.Axes.Bottom.SetTicks(ticks, names);
        plot.Axes.Left.SetTicks(ticks, names);
        plot.Axes.SetLimits(-0.5, n - 0.5, n - 0.5, -0.5);
        Decorate(plot, string.Create(Formats.Culture, $"Confusion matrix (test accuracy {matrix.Accuracy:P2})"), "predicted digit", "true digit", legend: null);
        plot.SavePng(path, 720, 680);
    }

    /// <summary>sweep.png: test accuracy (left axis) and training seconds (right axis) against hidden size.</summary>
    public static void Sweep(IReadOnlyList<SweepRow> rows, string path)
    {
        double[] x = [.. rows.Select(r => Math.Log2(r.Hidden))];
        var plot = new Plot();
        var accuracy = plot.Add.Scatter(x, [.. rows.Select(r => r.TestAccuracy * 100)]);
        accuracy.LegendText = "test accuracy (%)";
        accuracy.MarkerSize = 8;
        var seconds = plot.Add.Scatter(x, [.. rows.Select(r => r.TrainSeconds)]);
        seconds.LegendText = "training seconds";
        seconds.Axes.YAxis = plot.Axes.Right;
        seconds.MarkerSize = 8;
        plot.Axes.Bottom.SetTicks(x, [.. rows.Select(r => r.Hidden.ToString(CultureInfo.InvariantCulture))]);
        plot.Axes.Right.Label.Text = "training seconds";
        Decorate(plot, "Hidden size sweep", "hidden units (log scale)", "test accuracy (%)", Alignment.UpperLeft);
        plot.SavePng(path, 900, 520);
    }

    private static void Series(Plot plot, double[] x, double[] y, string label, Color color)
    {
        var line = plot.Add.Scatter(x, y);
        line.LegendText = label;
        line.Color = color;
        line.MarkerSize = 7;
        line.LineWidth = 2;
    }

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
