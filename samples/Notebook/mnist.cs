// MNIST with a multilayer perceptron: the course notebook as a .NET 10 file-based app.
//
//     dotnet run -c Release samples/Notebook/mnist.cs
//
// (-c Release matters: a Debug build of NeuralCore trains about ten times slower.)
// Reads top to bottom like the notebook: data, model, training, curves, confusion matrix, ROC curves, and the four
// answers. Change the settings just below and run it again. Every result also goes into runs/notebook/mnist.html, one
// self-contained page with its pictures inline, to hand in or open in a browser.
#:project ../../src/NeuralCore/NeuralCore.csproj
#:project ../../src/NeuralCore.Datasets/NeuralCore.Datasets.csproj
#:package ScottPlot
#:property NoWarn=$(NoWarn);CA1303;CA1305;CA1515;CA1812;CA1852;CA2007

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.IO;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Training;
using ScottPlot;

var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
culture.NumberFormat.PercentPositivePattern = 1;  // 97.76%, not 97.76 %
CultureInfo.CurrentCulture = culture;
if (typeof(Sequential).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true)
{
    Console.Error.WriteLine("note: NeuralCore was built in Debug, which trains about ten times slower: run with dotnet run -c Release samples/Notebook/mnist.cs");
}

// ---------------------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------------------
int hiddenSize = 128;          // units in the hidden layer: try 16, 64, 128, 512
int epochs = 10;               // passes over the training images
int batchSize = 32;            // images per step (Keras's default)
double validationSplit = 0.1;  // the last 10% of the training images are held out, as Keras does
ulong seed = 42;               // one seed gives bitwise the same run
string outputFolder = Path.Combine("runs", "notebook");

var notebook = new Notebook($"MNIST: 784-{hiddenSize}-10 multilayer perceptron");

// ---------------------------------------------------------------------------------------------------------------
// 1. Data
// ---------------------------------------------------------------------------------------------------------------
// The repository keeps the four MNIST files in data/mnist; the locator finds them from this file's folder.
MnistLocation location = await MnistLocator.ResolveAsync(null, searchFrom: [ScriptFolder(), Environment.CurrentDirectory]);
MnistDataset data = Mnist.Load(location.Directory);
notebook.Section("1. Data")
    .Text($"{data.Train.Count:N0} training images and {data.Test.Count:N0} test images of 28×28 pixels, scaled to [0, 1], from {location.Directory}. " +
          (validationSplit > 0 ? $"The last {validationSplit:P0} of the training images are held out for validation." : "No validation data is held out (validationSplit = 0)."));

Plot samples = new();
for (int i = 0; i < 10; i++)
{
    double[,] pixels = new double[28, 28];
    for (int r = 0; r < 28; r++)
    {
        for (int c = 0; c < 28; c++)
        {
            // ScottPlot draws row 0 of a heatmap at the top of its rectangle: the image as stored, top row first.
            pixels[r, c] = data.Train.Features[(i * 784) + (r * 28) + c];
        }
    }

    var image = samples.Add.Heatmap(pixels);
    image.Colormap = new ScottPlot.Colormaps.Grayscale();
    image.Rectangle = new CoordinateRect(i * 30, (i * 30) + 28, 0, 28);
    samples.Add.Text($"{data.Train.Labels[i]}", (i * 30) + 14, -2).LabelAlignment = Alignment.UpperCenter;
}

samples.Axes.SetLimits(-2, 300, -8, 30);
samples.HideGrid();
samples.Layout.Frameless();
notebook.Image(samples, "the first ten training images and their labels", 900, 120);

// ---------------------------------------------------------------------------------------------------------------
// 2. Model: 784 -> Dense(hiddenSize) -> ReLU -> Dense(10) -> Softmax
// ---------------------------------------------------------------------------------------------------------------
// The softmax lives in the loss (categorical cross-entropy from logits), which is the same function computed more
// accurately; Predict returns the probabilities.
var model = new Sequential(Mnist.Features, seed)
    .Add(new Dense(hiddenSize)).Add(new Relu())
    .Add(new Dense(Mnist.Classes));
model.Compile(new SoftmaxCrossEntropy(), new Adam(learningRate: 0.001f));
notebook.Section("2. Model").Code(model.Summary());

// ---------------------------------------------------------------------------------------------------------------
// 3. Training
// ---------------------------------------------------------------------------------------------------------------
notebook.Section("3. Training"); // before Fit, so that its progress lines print under this heading
History history = model.Fit(data.Train, new FitOptions
{
    Epochs = epochs,
    BatchSize = batchSize,
    ValidationSplit = validationSplit,
    Seed = seed,
    Verbose = 1,
});
var table = new StringBuilder("| epoch | loss | accuracy | val_loss | val_accuracy | seconds |\n|---:|---:|---:|---:|---:|---:|\n");
foreach (EpochMetrics e in history.Epochs)
{
    table.Append($"| {e.Epoch} | {e.Loss:0.0000} | {e.Accuracy:0.0000} | {e.ValidationLoss:0.0000} | {e.ValidationAccuracy:0.0000} | {e.Seconds:0.00} |\n");
}

if (history.Epochs.Count == 0)
{
    Console.Error.WriteLine($"No epoch finished ({history.StopReason}), so there is nothing to report.");
    return 1;
}

notebook.Text($"{history.Epochs.Count} epochs in {history.TotalSeconds:0.00} s.").Table(table.ToString());

// ---------------------------------------------------------------------------------------------------------------
// 4. Loss and accuracy curves
// ---------------------------------------------------------------------------------------------------------------
double[] x = [.. history.Epochs.Select(e => (double)e.Epoch)];
Plot lossPlot = new(), accuracyPlot = new();
lossPlot.Add.Scatter(x, history.Loss.ToArray()).LegendText = "training";
lossPlot.Add.Scatter(x, history.ValidationLoss.ToArray()).LegendText = "validation";
accuracyPlot.Add.Scatter(x, history.Accuracy.Select(a => a * 100).ToArray()).LegendText = "training";
accuracyPlot.Add.Scatter(x, history.ValidationAccuracy.Select(a => a * 100).ToArray()).LegendText = "validation";
lossPlot.Title("Loss");
lossPlot.XLabel("epoch");
lossPlot.YLabel("cross-entropy");
lossPlot.ShowLegend(Alignment.UpperRight);
accuracyPlot.Title("Accuracy");
accuracyPlot.XLabel("epoch");
accuracyPlot.YLabel("accuracy (%)");
accuracyPlot.ShowLegend(Alignment.LowerRight);
notebook.Section("4. Loss and accuracy curves").Image(lossPlot, "loss per epoch", 640, 420).Image(accuracyPlot, "accuracy per epoch", 640, 420);

// ---------------------------------------------------------------------------------------------------------------
// 5. Test set: accuracy, per-digit scores, confusion matrix
// ---------------------------------------------------------------------------------------------------------------
Evaluation test = model.Evaluate(data.Test);
ConfusionMatrix confusion = model.ConfusionMatrix(data.Test);
var scores = new ClassificationReport(confusion);
notebook.Section("5. Test set")
    .Text($"Test accuracy {test.Accuracy:P2}, test loss {test.Loss:0.0000}.")
    .Code(scores.ToString(4));

Plot matrixPlot = new();
double[,] cells = new double[10, 10];
for (int t = 0; t < 10; t++)
{
    for (int p = 0; p < 10; p++)
    {
        cells[9 - t, p] = confusion[t, p];  // heatmap row 0 is drawn at the bottom
        var count = matrixPlot.Add.Text($"{confusion[t, p]}", p, t);
        count.LabelAlignment = Alignment.MiddleCenter;
        count.LabelFontColor = confusion[t, p] > 600 ? Colors.Black : Colors.White;
    }
}

var heatmap = matrixPlot.Add.Heatmap(cells);
heatmap.Rectangle = new CoordinateRect(-0.5, 9.5, 9.5, -0.5);
matrixPlot.MoveToBack(heatmap);
matrixPlot.Add.ColorBar(heatmap).Label = "images";
DigitAxes(matrixPlot, "Confusion matrix");
notebook.Image(matrixPlot, "confusion matrix", 700, 640);

// The same matrix normalized by true digit (each row sums to 100%): the digits have 892 to 1,135 test images each, so
// counts compare errors unevenly; a row's percentages are that digit's recall and where its misses went.
Plot normalizedPlot = new();
double[,] shares = new double[10, 10];
for (int t = 0; t < 10; t++)
{
    long row = confusion.Support(t); // the true digit's images
    for (int p = 0; p < 10; p++)
    {
        double share = row == 0 ? 0 : 100.0 * confusion[t, p] / row;
        shares[9 - t, p] = share;
        var label = normalizedPlot.Add.Text(share == 0 ? "0" : share < 0.05 ? "<0.1" : $"{share:0.#}", p, t);
        label.LabelAlignment = Alignment.MiddleCenter;
        label.LabelFontSize = 11;
        label.LabelFontColor = share > 60 ? Colors.Black : Colors.White;
    }
}

var shareMap = normalizedPlot.Add.Heatmap(shares);
shareMap.Rectangle = new CoordinateRect(-0.5, 9.5, 9.5, -0.5);
shareMap.ManualRange = new ScottPlot.Range(0, 100);
normalizedPlot.MoveToBack(shareMap);
normalizedPlot.Add.ColorBar(shareMap).Label = "% of the true digit's images";
DigitAxes(normalizedPlot, "Confusion matrix, normalized by true digit (%)");
notebook.Image(normalizedPlot, "confusion matrix normalized by true digit", 700, 640);

// ---------------------------------------------------------------------------------------------------------------
// 6. ROC curves: each digit against the rest, with the micro and macro averages
// ---------------------------------------------------------------------------------------------------------------
MulticlassRoc roc = model.RocCurves(data.Test);
Plot fullRocPlot = new(), rocPlot = new();
AddRocCurves(fullRocPlot, roc, legend: false);
AddRocCurves(rocPlot, roc, legend: true);
// The whole square first, as ROC curves are usually shown, with the diagonal of a classifier that guesses.
var chance = fullRocPlot.Add.Line(0, 0, 1, 1);
chance.LinePattern = LinePattern.Dotted;
chance.Color = Colors.Gray;
fullRocPlot.Add.Text("guessing", 0.55, 0.5).LabelFontColor = Colors.Gray;
fullRocPlot.Axes.SetLimits(0, 1, 0, 1.01);
fullRocPlot.Title("ROC curves (the top-left corner is enlarged below)");
fullRocPlot.XLabel("false positive rate");
fullRocPlot.YLabel("true positive rate");
// The curves hug the top-left corner; that corner is where they differ. Its bottom: a multiple of 0.05 under the
// lowest curve at a false positive rate of 0.1, so that a weaker model's curves are drawn too.
double lowestCurve = roc.Classes.Append(roc.Micro).Append(roc.Macro).Min(c => c.TruePositiveRateAt(0.1));
rocPlot.Axes.SetLimits(0, 0.1, Math.Clamp(Math.Floor((lowestCurve - 0.02) * 20) / 20, 0, 0.8), 1.005);
rocPlot.Title("ROC curves (top-left corner: false positive rate up to 0.1)");
rocPlot.XLabel("false positive rate");
rocPlot.YLabel("true positive rate");
rocPlot.ShowLegend(Edge.Right); // beside the plot, where it covers no curve
notebook.Section("6. ROC curves")
    .Image(fullRocPlot, "ROC curves over the whole square, with the diagonal of guessing", 640, 560)
    .Image(rocPlot, "ROC curves, the top-left corner enlarged, with the AUC of each", 1100, 620);

// ---------------------------------------------------------------------------------------------------------------
// 7. The four answers
// ---------------------------------------------------------------------------------------------------------------
OverfittingVerdict verdict = OverfittingVerdict.Judge(history, monitor: "val_accuracy");
var worst = scores.Classes.MinBy(c => c.F1)!;
var confused = confusion.MostConfused(3);
int lowest = Enumerable.Range(0, 10).MinBy(d => roc.Classes[d].Auc);
// Said from this run's numbers: a small or short model can leave a digit that it ranks poorly or never predicts.
string ranking = roc.Classes[lowest].Auc >= 0.99
    ? "every digit is ranked almost perfectly against the others"
    : $"digit {lowest} is ranked worst against the others (AUC {roc.Classes[lowest].Auc:0.0000})";
string validation = history.Epochs[^1].ValidationAccuracy is { } lastValidation
    ? $" (validation {lastValidation:P2} in the last epoch)"
    : " (no validation data was held out)";
notebook.Section("7. Answers")
    .Text($"**How long did it train?** {history.TotalSeconds:0.00} s for {history.Epochs.Count} epochs, {history.TotalSeconds / history.Epochs.Count:0.00} s per epoch, on at most {Parallelism.DegreeOfParallelism} thread(s) of this machine's {Environment.ProcessorCount} logical processor(s).")
    .Text($"**What accuracy did it reach?** {test.Accuracy:P2} on the {data.Test.Count:N0} test images{validation}.")
    .Text($"**What do the confusion matrix and the ROC curves show?** The weakest digit is {worst.Name} (F1 {worst.F1:0.000}); the most frequent confusions are " +
          string.Join(", ", confused.Select(c => $"{c.Actual} taken for {c.Predicted} ({c.Count}×)")) +
          $". The ROC AUCs average {roc.MacroAuc:0.0000}: {ranking}.")
    .Text($"**Does it overfit?** {verdict.AnswerText}. {verdict.Evidence}")
    .Text($"**What to try next:** {string.Join(" ", Advice(verdict, history, hiddenSize, epochs, validationSplit))}")
    .Text($"Rule: {OverfittingVerdict.Rule}");

string page = notebook.Save(Path.Combine(outputFolder, "mnist.html"));
Console.WriteLine($"Wrote {Path.GetFullPath(page)}");
return 0;

static string ScriptFolder([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

// Advice in this file's own terms (the settings at its top), from the verdict: the trainer's report gives the same
// advice in terms of its command-line options.
static IEnumerable<string> Advice(OverfittingVerdict verdict, History history, int hiddenSize, int epochs, double validationSplit)
{
    int last = history.Epochs[^1].Epoch;
    switch (verdict.Answer)
    {
        case OverfittingAnswer.CannotTell:
            yield return validationSplit > 0
                ? $"Train for more epochs (epochs = {epochs * 2}) to see the trends."
                : "Set validationSplit = 0.1: without validation images overfitting cannot be judged.";
            break;
        case OverfittingAnswer.Yes or OverfittingAnswer.Slightly:
            if (verdict.ValidationAccuracyStillImproving)
            {
                yield return "Validation accuracy still improved in the last epoch: the rising validation loss comes from growing over-confidence on the images the model gets wrong, not from lost accuracy.";
            }

            if (verdict.BestEpoch is { } best && best < last)
            {
                yield return $"The best {verdict.Monitor} came in epoch {best}: set epochs = {best}, or add Callbacks = [new EarlyStopping(\"{verdict.Monitor}\", patience: 2, restoreBestWeights: true)] to the FitOptions to stop there and keep that epoch's weights.";
            }

            yield return "Add dropout after the ReLU (.Add(new Dropout(0.2f))) to regularize.";
            if (verdict.Answer == OverfittingAnswer.Yes && hiddenSize > 64)
            {
                yield return $"A smaller hidden layer (hiddenSize = {hiddenSize / 2}) has less capacity to memorize.";
            }

            break;
        default:
            yield return verdict.BestEpoch is not { } earlier || earlier == last
                ? $"The best {verdict.Monitor} came in the last epoch: more epochs (epochs = {epochs * 2}) or a wider hidden layer (hiddenSize = {hiddenSize * 2}) may still help."
                : $"The best {verdict.Monitor} came in epoch {earlier}: more epochs would add little; an EarlyStopping callback would stop there.";
            break;
    }
}

// A confusion matrix's axes: digits 0-9 down (true) and across (predicted), row 0 at the top.
static void DigitAxes(Plot plot, string title)
{
    double[] digits = [.. Enumerable.Range(0, 10).Select(d => (double)d)];
    string[] names = [.. Enumerable.Range(0, 10).Select(d => $"{d}")];
    plot.Axes.Bottom.SetTicks(digits, names);
    plot.Axes.Left.SetTicks(digits, names);
    plot.Axes.SetLimits(-0.5, 9.5, 9.5, -0.5);
    plot.Title(title);
    plot.XLabel("predicted digit");
    plot.YLabel("true digit");
}

// The ten digits' curves and the two averages.
static void AddRocCurves(Plot plot, MulticlassRoc roc, bool legend)
{
    for (int d = 0; d < 10; d++)
    {
        var curve = plot.Add.ScatterLine(roc.Classes[d].FalsePositiveRates.ToArray(), roc.Classes[d].TruePositiveRates.ToArray());
        curve.LegendText = legend ? $"digit {d} (AUC {roc.Classes[d].Auc:0.0000})" : "";
    }

    var micro = plot.Add.ScatterLine(roc.Micro.FalsePositiveRates.ToArray(), roc.Micro.TruePositiveRates.ToArray());
    micro.LegendText = legend ? $"micro average (AUC {roc.MicroAuc:0.0000})" : "";
    micro.LineWidth = 3;
    micro.LinePattern = LinePattern.Dashed;
    micro.Color = Colors.Black;
    var macro = plot.Add.ScatterLine(roc.Macro.FalsePositiveRates.ToArray(), roc.Macro.TruePositiveRates.ToArray());
    macro.LegendText = legend ? $"macro average (mean AUC {roc.MacroAuc:0.0000})" : "";
    macro.LineWidth = 3;
    macro.LinePattern = LinePattern.DenselyDashed;
    macro.Color = Colors.DarkRed;
}

/// <summary>Collects the results as a notebook-like HTML page (pictures inline) and echoes the text to the console.</summary>
sealed class Notebook(string title)
{
    private readonly StringBuilder _html = new();

    public Notebook Section(string heading)
    {
        Console.WriteLine($"\n## {heading}\n");
        _html.Append("<h2>").Append(WebUtility.HtmlEncode(heading)).Append("</h2>\n");
        return this;
    }

    /// <summary>A paragraph; **bold** is the only markup.</summary>
    public Notebook Text(string text)
    {
        Console.WriteLine(text.Replace("**", "", StringComparison.Ordinal));
        string[] parts = WebUtility.HtmlEncode(text).Split("**");
        _html.Append("<p>");
        for (int i = 0; i < parts.Length; i++)
        {
            _html.Append(i % 2 == 1 ? $"<b>{parts[i]}</b>" : parts[i]);
        }

        _html.Append("</p>\n");
        return this;
    }

    public Notebook Code(string text)
    {
        Console.WriteLine(text);
        _html.Append("<pre>").Append(WebUtility.HtmlEncode(text)).Append("</pre>\n");
        return this;
    }

    /// <summary>A Markdown table (header, rule, rows) as an HTML table.</summary>
    public Notebook Table(string markdown)
    {
        Console.WriteLine(markdown);
        string[] lines = markdown.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        _html.Append("<table>\n");
        for (int i = 0; i < lines.Length; i++)
        {
            if (i == 1)
            {
                continue;
            }

            string cell = i == 0 ? "th" : "td";
            _html.Append("<tr>");
            foreach (string value in lines[i].Trim('|').Split('|'))
            {
                _html.Append($"<{cell}>{WebUtility.HtmlEncode(value.Trim())}</{cell}>");
            }

            _html.Append("</tr>\n");
        }

        _html.Append("</table>\n");
        return this;
    }

    public Notebook Image(Plot plot, string description, int width, int height)
    {
        // Written here rather than with Plot.GetPngHtml, whose img tag has no alt text.
        string png = Convert.ToBase64String(plot.GetImageBytes(width, height, ImageFormat.Png));
        _html.Append($"<img class='figure' alt='{WebUtility.HtmlEncode(description)}' src='data:image/png;base64,{png}'>\n");
        return this;
    }

    /// <summary>Writes the page (to a temporary file, then renamed, so a page is never half-written).</summary>
    public string Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + WebUtility.HtmlEncode(title) + "</title>\n" +
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.45}pre{background:#f4f4f4;padding:0.8em;overflow-x:auto}" +
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:0.2em 0.6em;text-align:right}.figure{max-width:100%;display:block;margin:1em 0}</style>\n" +
            "</head><body>\n<h1>" + WebUtility.HtmlEncode(title) + "</h1>\n" +
            $"<p>Generated by samples/Notebook/mnist.cs on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with NeuralCore.</p>\n" +
            _html + "</body></html>\n";
        AtomicFile.Write(path, Encoding.UTF8.GetBytes(page)); // flushed to disk and renamed into place: never half-written
        return path;
    }
}
