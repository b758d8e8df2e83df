using System.Diagnostics;
using System.Globalization;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Scoring;
using NeuralCore.Training;

namespace MnistMlp;

/// <summary>One row of a hidden-size sweep.</summary>
internal sealed record SweepRow(int Hidden, int Parameters, double TrainSeconds, double TestAccuracy, double ValidationAccuracy);

/// <summary>Runs the trainer's commands: train, sweep and evaluate.</summary>
internal sealed class Trainer(TextWriter output, TextWriter error, bool interactive)
{
    private static readonly CultureInfo Inv = Formats.Culture;

    /// <summary>Exit code of a run stopped by Ctrl+C (128 + SIGINT), after its checkpoint is saved.</summary>
    public const int Interrupted = 130;

    public int Train(TrainSettings settings, CancellationToken cancellation)
    {
        int threads = ApplyThreads(settings);
        MnistDataset data;
        string source;
        double loadSeconds;
        try
        {
            (data, source, loadSeconds) = LoadData(settings, cancellation);
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("Interrupted while loading the data; nothing was trained, so nothing was saved.");
            return Interrupted;
        }

        Directory.CreateDirectory(settings.OutputDirectory);
        output.WriteLine($"MNIST: {data.Train.Count:N0} training and {data.Test.Count:N0} test images from {source} ({loadSeconds:0.00} s).");
        if (settings.Preset is not null)
        {
            output.WriteLine($"Preset: {settings.Preset}.");
        }

        Sequential model = BuildModel(settings);
        output.Write(model.Summary());
        output.WriteLine($"Training on {threads} thread(s): {settings.Epochs} epochs, batch {settings.BatchSize}, validation split {settings.ValidationSplit.ToString(Inv)}.");

        History history;
        try
        {
            history = Fit(model, data, settings, cancellation);
        }
        catch (OperationCanceledException)
        {
            string checkpoint = Path.Combine(settings.OutputDirectory, "checkpoint.ncm");
            ModelFile.Save(model, checkpoint);
            if (interactive)
            {
                output.WriteLine();
            }

            error.WriteLine($"Interrupted after {model.Optimizer!.Iterations} training steps; checkpoint saved to {checkpoint} (evaluate it with: evaluate --model {checkpoint}).");
            return Interrupted;
        }

        if (history.StopReason is { } reason)
        {
            output.WriteLine($"Stopped early: {reason}.");
        }

        if (history.Epochs.Count == 0)
        {
            error.WriteLine("No epoch finished, so there is nothing to report.");
            return 1;
        }

        Evaluation test = model.Evaluate(data.Test);
        ConfusionMatrix confusion = model.ConfusionMatrix(data.Test);
        int trainCount = settings.ValidationSplit > 0 ? Dataset.SplitIndex(data.Train.Count, settings.ValidationSplit) : data.Train.Count;
        var report = new RunReport(settings, model.ParameterCount, trainCount, data.Train.Count - trainCount, data.Test.Count,
            threads, source, loadSeconds, history, test.Loss, test.Accuracy, confusion, model.Summary());
        WriteOutputs(report, model, settings.OutputDirectory);

        output.WriteLine($"Test accuracy: {test.Accuracy.ToString("P2", Inv)} (loss {test.Loss.ToString("0.0000", Inv)}); trained in {report.TrainSeconds.ToString("0.00", Inv)} s.");
        output.WriteLine($"Wrote history.csv, report.json, report.md, curves.png, confusion.png and model.ncm to {Path.GetFullPath(settings.OutputDirectory)}.");
        return 0;
    }

    public int Sweep(TrainSettings settings, IReadOnlyList<int> sizes, CancellationToken cancellation)
    {
        int threads = ApplyThreads(settings);
        var (data, source, _) = LoadData(settings, cancellation);
        Directory.CreateDirectory(settings.OutputDirectory);
        output.WriteLine($"Sweep over hidden sizes {string.Join(", ", sizes)} on {threads} thread(s), {settings.Epochs} epochs each, data from {source}.");
        var rows = new List<SweepRow>();
        foreach (int hidden in sizes)
        {
            TrainSettings one = settings with { Hidden = [hidden] };
            Sequential model = BuildModel(one);
            output.WriteLine($"hidden {hidden}: {model.ParameterCount:N0} parameters");
            History history;
            try
            {
                history = Fit(model, data, one, cancellation);
            }
            catch (OperationCanceledException)
            {
                error.WriteLine($"Interrupted during hidden size {hidden}; {rows.Count} size(s) finished.");
                break;
            }

            if (history.Epochs.Count == 0)
            {
                error.WriteLine($"hidden {hidden}: no epoch finished ({history.StopReason}).");
                continue;
            }

            Evaluation test = model.Evaluate(data.Test);
            rows.Add(new SweepRow(hidden, model.ParameterCount, history.TotalSeconds, test.Accuracy,
                history.Epochs[^1].ValidationAccuracy ?? double.NaN));
        }

        if (rows.Count == 0)
        {
            return Interrupted;
        }

        string table = SweepTable(rows);
        output.Write(table);
        WriteAtomically(Path.Combine(settings.OutputDirectory, "sweep.csv"), SweepCsv(rows));
        WriteAtomically(Path.Combine(settings.OutputDirectory, "sweep.md"),
            $"# Hidden size sweep\n\n{settings.Epochs} epochs, batch {settings.BatchSize}, {settings.Optimizer}, loss {settings.Loss}, seed {settings.Seed}, {threads} thread(s).\n\n{table}\n![sweep](sweep.png)\n");
        SavePicture(Path.Combine(settings.OutputDirectory, "sweep.png"), path => Plots.Sweep(rows, path));
        output.WriteLine($"Wrote sweep.csv, sweep.md and sweep.png to {Path.GetFullPath(settings.OutputDirectory)}.");
        return rows.Count == sizes.Count ? 0 : Interrupted;
    }

    public int Evaluate(string modelPath, TrainSettings settings, CancellationToken cancellation)
    {
        ApplyThreads(settings);
        Sequential model = ModelFile.Load(modelPath);
        if (model.InputSize != Mnist.Features || model.OutputSize != Mnist.Classes)
        {
            throw new InvalidDataException(
                $"{Path.GetFileName(modelPath)}: the model maps {model.InputSize} features to {model.OutputSize} classes, not MNIST's {Mnist.Features} to {Mnist.Classes}.");
        }

        if (!model.IsCompiled)
        {
            model.Compile(model.Layers[^1] is Softmax ? new MeanSquaredError() : new SoftmaxCrossEntropy(), new Adam());
        }

        var (data, source, _) = LoadData(settings, cancellation);
        output.Write(model.Summary());
        Evaluation test = model.Evaluate(data.Test);
        ConfusionMatrix confusion = model.ConfusionMatrix(data.Test);
        output.WriteLine($"Test accuracy on {data.Test.Count:N0} images from {source}: {test.Accuracy.ToString("P2", Inv)} (loss {test.Loss.ToString("0.0000", Inv)}).");
        output.Write(confusion.ToString());
        return 0;
    }

    private History Fit(Sequential model, MnistDataset data, TrainSettings settings, CancellationToken cancellation)
    {
        var callbacks = new List<Callback> { new ConsoleProgress(output, interactive) };
        if (settings.Schedule == "cosine")
        {
            callbacks.Add(new LearningRateScheduler(CosineSchedule(settings, data.Train.Count)));
        }

        return model.Fit(data.Train, new FitOptions
        {
            Epochs = settings.Epochs,
            BatchSize = settings.BatchSize,
            ValidationSplit = settings.ValidationSplit,
            Seed = settings.Seed,
            Callbacks = callbacks,
            CancellationToken = cancellation,
        });
    }

    /// <summary>
    /// Keras's CosineDecay over every step of the run: with a warmup, from a tenth of the rate up to the rate over
    /// the first <see cref="TrainSettings.Warmup"/> of the steps, then down to 0.
    /// </summary>
    internal static CosineDecay CosineSchedule(TrainSettings settings, int samples)
    {
        int trainCount = settings.ValidationSplit > 0 ? Dataset.SplitIndex(samples, settings.ValidationSplit) : samples;
        long steps = (long)settings.Epochs * ((trainCount + settings.BatchSize - 1) / settings.BatchSize);
        long warmup = Math.Min((long)(steps * settings.Warmup), steps - 1);
        float rate = settings.EffectiveLearningRate;
        return warmup > 0 ? new CosineDecay(rate / 10, steps - warmup, 0f, rate, warmup) : new CosineDecay(rate, steps);
    }

    internal static Sequential BuildModel(TrainSettings settings)
    {
        var model = new Sequential(Mnist.Features, settings.Seed);
        foreach (int units in settings.Hidden)
        {
            model.Add(new Dense(units)).Add(new Relu());
            if (settings.Dropout > 0)
            {
                model.Add(new Dropout(settings.Dropout));
            }
        }

        model.Add(new Dense(Mnist.Classes));
        ILoss loss = settings.Loss == "mse" ? new MeanSquaredError() : new SoftmaxCrossEntropy();
        if (settings.Loss == "mse")
        {
            // The notebook's setup: probabilities out of a softmax layer, compared with one-hot targets.
            model.Add(new Softmax());
        }

        IOptimizer optimizer = settings.Optimizer == "sgd"
            ? new Sgd(new SgdOptions(settings.EffectiveLearningRate))
            : new Adam(settings.EffectiveLearningRate);
        model.Compile(loss, optimizer, settings.BatchSize);
        return model;
    }

    private static int ApplyThreads(TrainSettings settings)
    {
        Parallelism.DegreeOfParallelism = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        return Parallelism.DegreeOfParallelism;
    }

    private static (MnistDataset Data, string Source, double Seconds) LoadData(TrainSettings settings, CancellationToken cancellation)
    {
        long start = Stopwatch.GetTimestamp();
        MnistLocation location = MnistLocator.ResolveAsync(settings.DataDirectory, cancellationToken: cancellation).GetAwaiter().GetResult();
        MnistDataset data = Mnist.Load(location.Directory);
        string source = location.Source switch
        {
            MnistSource.Explicit => location.Directory,
            MnistSource.Repository => $"the repository copy {location.Directory}",
            MnistSource.Cache => $"the cache {location.Directory}",
            _ => $"a fresh download into {location.Directory}",
        };
        return (data, source, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    private void WriteOutputs(RunReport report, Sequential model, string directory)
    {
        WriteAtomically(Path.Combine(directory, "history.csv"), report.HistoryCsv());
        WriteAtomically(Path.Combine(directory, "report.json"), report.Json());
        WriteAtomically(Path.Combine(directory, "report.md"), report.Markdown());
        SavePicture(Path.Combine(directory, "curves.png"), path => Plots.Curves(report.History, path));
        SavePicture(Path.Combine(directory, "confusion.png"), path => Plots.Confusion(report.Confusion, path));
        ModelFile.Save(model, Path.Combine(directory, "model.ncm"));
    }

    private void SavePicture(string path, Action<string> draw)
    {
        if (!Plots.ConfigureFonts())
        {
            error.WriteLine($"warning: no font is installed, so {Path.GetFileName(path)} would have no text; install fonts-dejavu-core.");
        }

        string temporary = TemporaryBeside(path);
        try
        {
            draw(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    internal static string SweepTable(IReadOnlyList<SweepRow> rows)
    {
        var text = new System.Text.StringBuilder("| hidden | parameters | train seconds | test accuracy | val accuracy |\n|---:|---:|---:|---:|---:|\n");
        foreach (SweepRow r in rows)
        {
            text.Append(Inv, $"| {r.Hidden} | {r.Parameters:N0} | {r.TrainSeconds:0.00} | {r.TestAccuracy:P2} | {r.ValidationAccuracy:P2} |\n");
        }

        return text.ToString();
    }

    private static string SweepCsv(IReadOnlyList<SweepRow> rows) =>
        "hidden,parameters,train_seconds,test_accuracy,val_accuracy\n" + string.Concat(rows.Select(r =>
            string.Create(Inv, $"{r.Hidden},{r.Parameters},{r.TrainSeconds:R},{r.TestAccuracy:R},{r.ValidationAccuracy:R}\n")));

    private static void WriteAtomically(string path, string text) =>
        WriteAtomically(path, System.Text.Encoding.UTF8.GetBytes(text));

    // A unique temporary file flushed to disk, then renamed: a crash or a second run on the same folder never leaves
    // a half-written report under the final name.
    private static void WriteAtomically(string path, byte[] bytes)
    {
        string temporary = TemporaryBeside(path);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static string TemporaryBeside(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp{Path.GetExtension(path)}");
}
