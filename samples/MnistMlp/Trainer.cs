using System.Diagnostics;
using System.Globalization;
using System.Text;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.IO;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Onnx;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Serialization;
using NeuralCore.Training;
using Spectre.Console;

namespace MnistMlp;

/// <summary>One row of an architecture sweep.</summary>
internal sealed record SweepRow(string Name, IReadOnlyList<int> Hidden, int Parameters, double TrainSeconds, double TestAccuracy,
    double ValidationAccuracy, int BestEpoch, string Folder);

/// <summary>Runs the trainer's commands: train, sweep and evaluate.</summary>
internal sealed class Trainer(TextWriter output, TextWriter error, bool interactive)
{
    private static readonly CultureInfo Inv = Formats.Culture;

    /// <summary>How many misclassified images misclassified.png shows.</summary>
    private const int MistakesShown = 24;

    /// <summary>Exit code of a run stopped by Ctrl+C (128 + SIGINT), after its checkpoint is saved.</summary>
    public const int Interrupted = 130;

    private readonly IAnsiConsole _console = ConsoleTables.For(output, interactive);

    public int Train(TrainSettings settings, CancellationToken cancellation)
    {
        CheckMonitor(settings);
        CheckMemory(settings, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        // Before the data loads and anything trains: a folder that cannot be written is found now, not after training.
        ProveWritable(settings.OutputDirectory);
        using FileStream folderLock = LockOutput(settings.OutputDirectory, error);
        RefuseOtherCommandsOutputs(settings.OutputDirectory, "a training run", ["evaluation.md", "sweep.csv", "sweep.png"], sweepFolders: true);
        int threads = ApplyThreads(settings);

        // The plotting library's native code and the font lookup (about 0.15 s) load on another thread while the data
        // loads, rather than in the output phase: --preset fast took 0.01-0.12 s less wall clock in 6 interleaved runs
        // (AMD EPYC Zen 5, 2 real cores). A failure here is the one the first picture meets again (Lazy keeps it).
        _ = Task.Run(Plots.ConfigureFonts, CancellationToken.None);

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

        RequireSplit(settings, data.Train.Count);

        Directory.CreateDirectory(settings.OutputDirectory);
        output.WriteLine($"MNIST: {data.Train.Count:N0} training and {data.Test.Count:N0} test images from {source} ({loadSeconds:0.00} s).");
        if (settings.Preset is not null)
        {
            output.WriteLine($"Preset: {settings.Preset}.");
        }

        Sequential model = BuildModel(settings);
        output.Write(model.Summary());
        output.WriteLine($"Training on {threads} thread(s): {settings.Epochs} epochs, batch {settings.BatchSize}, validation split {settings.ValidationSplit.ToString(Inv)}" +
            (settings.EarlyStoppingPatience is { } p ? $", early stopping on {settings.Monitor} with patience {p}." : "."));

        // The history is logged while training runs, under a temporary name: if the run is interrupted it stays
        // beside the checkpoint, and history.csv keeps describing the last finished run.
        string partialHistory = AtomicFile.TemporaryBeside(Path.Combine(settings.OutputDirectory, "history.csv"));
        try
        {
            return TrainAndReport(settings, data, source, loadSeconds, threads, model, partialHistory, cancellation);
        }
        finally
        {
            // Moved into place when the run finished or was interrupted; anything else leaves nothing behind.
            File.Delete(partialHistory);
        }
    }

    private int TrainAndReport(TrainSettings settings, MnistDataset data, string source, double loadSeconds, int threads, Sequential model,
        string partialHistory, CancellationToken cancellation)
    {
        History history;
        int epochsBefore = model.EpochsTrained;
        try
        {
            history = Fit(model, data, settings, partialHistory, cancellation);
        }
        catch (OperationCanceledException)
        {
            if (model.Optimizer!.Iterations == 0)
            {
                // Stopped before the first step: an untrained model must not replace an earlier checkpoint.
                error.WriteLine("Interrupted before the first training step; nothing was trained, so nothing was saved.");
                return Interrupted;
            }

            string checkpoint = Path.Combine(settings.OutputDirectory, "checkpoint.ncm");
            long steps = model.Optimizer.Iterations;
            string stepsText = steps == 1 ? "1 training step" : $"{steps} training steps";
            if (model.EpochsTrained == epochsBefore && File.Exists(checkpoint))
            {
                // Less than an epoch of this run must not replace an earlier run's checkpoint either: one step after a
                // Ctrl+C at the start had turned a 94% checkpoint into a 17% one.
                error.WriteLine($"Interrupted after {stepsText}, within the first epoch: the earlier checkpoint {checkpoint} was kept, and this run's model was not saved.");
                return Interrupted;
            }

            ModelFile.Save(model, checkpoint);
            if (File.Exists(partialHistory))
            {
                AtomicFile.MoveIntoPlace(partialHistory, Path.Combine(settings.OutputDirectory, "checkpoint-history.csv"));
            }

            error.WriteLine($"Interrupted after {stepsText}; checkpoint saved to {checkpoint} (evaluate it with: evaluate --model {checkpoint}).");
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

        string directory = settings.OutputDirectory;
        // From here until the manifest is written, the folder's outputs are not one run's finished set.
        RunManifest.Invalidate(directory);
        if (!settings.Onnx)
        {
            // An earlier run's export would otherwise sit beside this run's model as if it were its own.
            File.Delete(Path.Combine(directory, "model.onnx"));
        }

        // The curves need only the history: drawn on another thread while the test set is evaluated (the plotting
        // library's native code was loaded while the data loaded).
        int? bestEpoch = Verdict.Judge(history, settings.Monitor, settings).BestEpoch;
        TestResults test;
        // Outputs are written to the end once training is over, whatever signal arrives (see Program.cs).
        Task curves = Task.Run(() => SavePicture(Path.Combine(directory, "curves.png"), path => Plots.Curves(history, path, string.Empty, bestEpoch)), CancellationToken.None);
        try
        {
            // One thread fewer: the curves are drawn on another, and on 2 cores a product split between two threads
            // waited for the half whose thread the drawing kept from running (about 50 ms of the output phase).
            int degree = Parallelism.DegreeOfParallelism;
            Parallelism.DegreeOfParallelism = Math.Max(1, degree - 1);
            try
            {
                test = Test(model, data.Test);
            }
            finally
            {
                Parallelism.DegreeOfParallelism = degree;
            }
        }
        finally
        {
            Outputs.Join(curves);
        }

        int trainCount = settings.ValidationSplit > 0 ? Dataset.SplitIndex(data.Train.Count, settings.ValidationSplit) : data.Train.Count;
        var report = new RunReport(settings, model.ParameterCount, trainCount, data.Train.Count - trainCount, data.Test.Count,
            threads, source, loadSeconds, history, test, model.Summary())
        { RunId = RunManifest.NewRunId() };
        Outputs.Together(
        [
            () => WriteAtomically(Path.Combine(directory, "report.json"), report.Json()),
            () => WriteAtomically(Path.Combine(directory, "report.md"), report.Markdown()),
            .. TestPictures(directory, data.Test, test, title: string.Empty),
            () =>
            {
                ModelFile.Save(model, Path.Combine(directory, "model.ncm"));
                if (settings.Onnx)
                {
                    model.SaveOnnx(Path.Combine(directory, "model.onnx"));
                }
            },
        ]);
        AtomicFile.MoveIntoPlace(partialHistory, Path.Combine(directory, "history.csv"));
        RunManifest.Write(directory, report.RunId,
            ["history.csv", "report.json", "report.md", .. RunPictures, "model.ncm", .. settings.Onnx ? ["model.onnx"] : Array.Empty<string>()]);

        _console.Write(ConsoleTables.PerClass(test.Scores, test.Roc).For(interactive));
        output.WriteLine($"Test accuracy: {test.Accuracy.ToString("P2", Inv)} (loss {test.Loss.ToString("0.0000", Inv)}, top-2 {test.TopTwoAccuracy.ToString("P2", Inv)}, macro ROC AUC {test.Roc.MacroAuc.ToString("0.0000", Inv)}); trained in {report.TrainSeconds.ToString("0.00", Inv)} s.");
        output.WriteLine($"Overfitting: {report.Overfitting.Answer}. {report.Overfitting.Advice}");
        output.WriteLine($"Wrote history.csv, report.json, report.md, curves.png, confusion.png, roc.png, misclassified.png, model.ncm{(settings.Onnx ? ", model.onnx" : "")} and manifest.json to {Path.GetFullPath(directory)}.");
        return 0;
    }

    public int Sweep(TrainSettings settings, IReadOnlyList<IReadOnlyList<int>> architectures, CancellationToken cancellation)
    {
        CheckMonitor(settings);
        foreach (IReadOnlyList<int> hidden in architectures)
        {
            CheckMemory(settings with { Hidden = hidden }, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

            // Before any training: a folder name too long for the file system failed after the architectures before
            // it had trained, and the sweep wrote no report of them.
            if (Encoding.UTF8.GetByteCount(SweepFolderName(hidden)) > 255)
            {
                throw new ArgumentException(string.Create(Inv,
                    $"--archs: the folder of architecture {Name(hidden)} would be named with {Encoding.UTF8.GetByteCount(SweepFolderName(hidden))} bytes ('784-…-10'), more than the 255 a file name may have; sweep fewer or shorter layers, or train it alone with --hidden."));
            }
        }

        ProveWritable(settings.OutputDirectory);
        using FileStream folderLock = LockOutput(settings.OutputDirectory, error);
        RefuseOtherCommandsOutputs(settings.OutputDirectory, "a sweep", ["evaluation.md", "report.json", "history.csv", "model.ncm"], sweepFolders: false);
        int threads = ApplyThreads(settings);
        var (data, source, _) = LoadData(settings, cancellation);
        RequireSplit(settings, data.Train.Count);
        Directory.CreateDirectory(settings.OutputDirectory);
        string runId = RunManifest.NewRunId();
        RunManifest.Invalidate(settings.OutputDirectory);
        output.WriteLine($"Sweep over {architectures.Count} architecture(s) ({string.Join(", ", architectures.Select(Name))}) on {threads} thread(s), {settings.Epochs} epochs each, data from {source}.");
        var rows = new List<SweepRow>();
        var missing = new List<string>();
        bool interrupted = false;
        foreach (IReadOnlyList<int> hidden in architectures)
        {
            if (interrupted)
            {
                missing.Add($"{Name(hidden)} (not started)");
                continue;
            }

            TrainSettings one = settings with { Hidden = hidden };
            string name = Name(hidden);
            string folder = Path.Combine(settings.OutputDirectory, SweepFolderName(hidden));
            Directory.CreateDirectory(folder);
            string partial = AtomicFile.TemporaryBeside(Path.Combine(folder, "history.csv"));
            try
            {
                History history;
                Sequential model;
                try
                {
                    // Before the model is built: the memory check counted one model, not two at once.
                    WarmUp(one, data, cancellation);
                    model = BuildModel(one);
                    output.WriteLine($"hidden {name}: {model.ParameterCount:N0} parameters");
                    history = Fit(model, data, one, partial, cancellation);
                }
                catch (OperationCanceledException)
                {
                    error.WriteLine($"Interrupted during hidden {name}; {rows.Count} architecture(s) finished.");
                    missing.Add($"{name} (interrupted)");
                    interrupted = true;
                    continue;
                }

                if (history.Epochs.Count == 0)
                {
                    error.WriteLine($"hidden {name}: no epoch finished ({history.StopReason}).");
                    missing.Add($"{name} (no epoch finished)");
                    continue;
                }

                TestResults test = Test(model, data.Test);
                Verdict verdict = Verdict.Judge(history, one.Monitor, one);
                WritePictures(folder, data.Test, test, history, verdict.BestEpoch, title: SweepFolderName(hidden));
                AtomicFile.MoveIntoPlace(partial, Path.Combine(folder, "history.csv"));
                int bestEpoch = verdict.BestEpoch ?? history.Epochs[^1].Epoch;
                rows.Add(new SweepRow(name, hidden, model.ParameterCount, history.TotalSeconds, test.Accuracy,
                    history.Epochs[bestEpoch - history.Epochs[0].Epoch].ValidationAccuracy ?? double.NaN, bestEpoch, Path.GetFileName(folder)));
            }
            finally
            {
                File.Delete(partial);
                if (!Directory.EnumerateFileSystemEntries(folder).Any())
                {
                    // An architecture that wrote nothing leaves no empty folder behind.
                    Directory.Delete(folder);
                }
            }
        }

        int exit = interrupted ? Interrupted : missing.Count > 0 ? 1 : 0;
        if (rows.Count == 0)
        {
            return interrupted ? Interrupted : 1;
        }

        _console.Write(ConsoleTables.Sweep(rows).For(interactive));
        // An earlier sweep's folders of other architectures stay (they are that run's results, not this one's to
        // delete), but are named as such: they sat beside the new report as if it had trained them.
        string[] earlier = [.. Directory.EnumerateDirectories(settings.OutputDirectory, "784-*-10").Select(Path.GetFileName).OfType<string>()
            .Where(f => !architectures.Any(a => SweepFolderName(a) == f)).Order(StringComparer.Ordinal)];
        if (earlier.Length > 0)
        {
            error.WriteLine($"Folder(s) of architectures this sweep did not train, left by an earlier run: {string.Join(", ", earlier)}.");
        }

        WriteAtomically(Path.Combine(settings.OutputDirectory, "sweep.csv"), SweepCsv(rows));
        WriteAtomically(Path.Combine(settings.OutputDirectory, "report.md"), SweepMarkdown(settings, threads, rows, missing, earlier));
        SavePicture(Path.Combine(settings.OutputDirectory, "sweep.png"), path => Plots.Sweep(rows, path));
        if (missing.Count > 0)
        {
            // The manifest certifies a finished set; this one lacks architectures, and verify says so.
            output.WriteLine($"Wrote report.md, sweep.csv and sweep.png for the {rows.Count} finished architecture(s) to {Path.GetFullPath(settings.OutputDirectory)}, and no manifest.json: missing {string.Join(", ", missing)}.");
            return exit;
        }

        RunManifest.Write(settings.OutputDirectory, runId,
            ["sweep.csv", "report.md", "sweep.png", .. rows.SelectMany(row => RunPictures.Prepend("history.csv").Select(file => Path.Combine(row.Folder, file)))]);
        output.WriteLine($"Wrote report.md, sweep.csv, sweep.png, manifest.json and a folder of curves and confusion matrices per architecture to {Path.GetFullPath(settings.OutputDirectory)}.");
        return 0;
    }

    public int Evaluate(string modelPath, TrainSettings settings, string? outputDirectory, CancellationToken cancellation)
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

        using FileStream? folderLock = outputDirectory is null ? null : PrepareEvaluationFolder(outputDirectory, error);
        var (data, source, _) = LoadData(settings, cancellation);
        output.Write(model.Summary());
        TestResults test;
        try
        {
            test = Test(model, data.Test);
        }
        catch (InvalidOperationException e)
        {
            // Weights that overflow on MNIST's images (a file of huge weights): the file's model is unusable, which the
            // error line says, instead of a stack trace.
            throw new InvalidDataException($"{Path.GetFileName(modelPath)}: {e.Message}", e);
        }

        output.WriteLine($"Test accuracy on {data.Test.Count:N0} images from {source}: {test.Accuracy.ToString("P2", Inv)} (loss {test.Loss.ToString("0.0000", Inv)}, top-2 {test.TopTwoAccuracy.ToString("P2", Inv)}).");
        output.Write(test.Confusion.ToString());
        _console.Write(ConsoleTables.PerClass(test.Scores, test.Roc).For(interactive));
        if (outputDirectory is not null)
        {
            RunManifest.Invalidate(outputDirectory);
            WriteAtomically(Path.Combine(outputDirectory, "evaluation.md"), EvaluationMarkdown(modelPath, source, test));
            WritePictures(outputDirectory, data.Test, test, history: null, bestEpoch: null, title: string.Empty);
            RunManifest.Write(outputDirectory, RunManifest.NewRunId(), ["evaluation.md", .. RunPictures.Skip(1)]);
            output.WriteLine($"Wrote evaluation.md, confusion.png, roc.png, misclassified.png and manifest.json to {Path.GetFullPath(outputDirectory)}.");
        }

        return 0;
    }

    /// <summary>The verify command: whether <paramref name="directory"/> holds one finished run's outputs.</summary>
    public int Verify(string directory)
    {
        if (File.Exists(directory))
        {
            throw new IOException($"--out names a file, not an output folder: '{Path.GetFullPath(directory)}'; give the folder a run wrote.");
        }

        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The output folder does not exist: '{Path.GetFullPath(directory)}'.");
        }

        IReadOnlyList<string> problems = RunManifest.Verify(directory);
        foreach (string problem in problems)
        {
            error.WriteLine(problem);
        }

        if (problems.Count == 0)
        {
            output.WriteLine($"{Path.GetFullPath(directory)}: every file of its manifest is the one its run wrote.");
        }

        return problems.Count == 0 ? 0 : 1;
    }

    /// <summary>Everything measured on the test set from one pass of predictions.</summary>
    internal static TestResults Test(Sequential model, Dataset test)
    {
        int classes = model.OutputSize;
        float[] probabilities = new float[(long)test.Count * classes];
        Evaluation evaluation = model.Evaluate(test, probabilities);
        int[] predicted = new int[test.Count];
        Metrics.ArgMax(probabilities, predicted, test.Count, classes);
        var confusion = new ConfusionMatrix(test.Labels, predicted, classes);
        var roc = MulticlassRoc.Compute(probabilities, test.Labels, test.Count, classes);
        double topTwo = Metrics.TopKAccuracy(probabilities, test.Labels, test.Count, classes, 2);
        var mistakes = Enumerable.Range(0, test.Count)
            .Where(i => predicted[i] != test.Labels[i])
            .Select(i => new Mistake(i, test.Labels[i], predicted[i], probabilities[(i * classes) + predicted[i]]))
            .OrderByDescending(m => m.Confidence).ThenBy(m => m.Index)
            .Take(MistakesShown)
            .ToArray();
        return new TestResults(evaluation.Loss, evaluation.Accuracy, topTwo, confusion, roc, mistakes);
    }

    private History Fit(Sequential model, MnistDataset data, TrainSettings settings, string historyPath, CancellationToken cancellation)
    {
        // On a terminal, Spectre.Console draws the running epoch (as it draws the tables); its finished epochs, and every
        // line of a redirected run, are the library's ProgressLogger's, Keras's format, which Fit's Verbose = 1 shows any
        // user of the library (the library needs no console package). A terminal too narrow for Spectre's columns gets
        // the library's bar, which fits any width.
        SpectreProgress? live = interactive && _console.Profile.Width >= SpectreProgress.MinimumWidth ? new SpectreProgress(_console) : null;
        var callbacks = new List<Callback> { live ?? (Callback)new ProgressLogger(1, output, interactive), new CsvLogger(historyPath) };
        if (settings.Schedule == "cosine")
        {
            callbacks.Add(new LearningRateScheduler(CosineSchedule(settings, data.Train.Count)));
        }

        if (settings.EarlyStoppingPatience is { } patience)
        {
            callbacks.Add(new EarlyStopping(settings.Monitor, patience, restoreBestWeights: true));
        }

        var options = new FitOptions
        {
            Epochs = settings.Epochs,
            BatchSize = settings.BatchSize,
            ValidationSplit = settings.ValidationSplit,
            Seed = settings.Seed,
            Callbacks = callbacks,
            CancellationToken = cancellation,
        };
        return live is null ? model.Fit(data.Train, options) : live.Run(() => model.Fit(data.Train, options));
    }

    /// <summary>
    /// An untimed training of a throwaway model like the sweep's next one: 64 steps (fewer on a smaller training set)
    /// and, when the sweep validates, a validation pass, so that compiling the code they run is not charged to whichever
    /// architecture comes first (784-32-16-10 took 0.14 s for 2 epochs listed first and 0.08 s listed third).
    /// </summary>
    private static void WarmUp(TrainSettings settings, MnistDataset data, CancellationToken cancellation)
    {
        const int Steps = 64;
        bool validate = settings.ValidationSplit > 0;
        // With validation a fifth more samples, held out by a split of 0.2 whatever the sweep's own (a split of 0.99 of
        // 72 samples would leave none to train on).
        int count = Math.Min(data.Train.Count, (validate ? Steps + (Steps / 4) : Steps) * settings.BatchSize);
        if (count < 2)
        {
            return;
        }

        BuildModel(settings).Fit(data.Train.Slice(0, count), new FitOptions
        {
            Epochs = 1,
            BatchSize = settings.BatchSize,
            ValidationSplit = validate ? 0.2 : 0,
            Seed = settings.Seed,
            CancellationToken = cancellation,
        });
    }

    /// <summary>
    /// Creates the output folder and writes, then deletes, a file in it; throws what the file system says, naming the
    /// folder.
    /// </summary>
    internal static void ProveWritable(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            string probe = AtomicFile.TemporaryBeside(Path.Combine(directory, "write-test"));
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"The output folder '{directory}' cannot be written ({ex.Message}); choose another with --out.", ex);
        }
    }

    /// <summary>
    /// Holds <paramref name="directory"/> for this run until the returned stream is disposed: a second run writing to
    /// the same folder at once would interleave its outputs with this one's (two trainers on one --out left the
    /// manifest of one beside the history of the other), so it is refused. An advisory lock on <c>.lock</c>, which the
    /// system releases when the process ends, however it ends. The file stays: deleting it on release would let a run
    /// that opened it just before lock the deleted file while a third run locks a new one. Once held, the folder is
    /// cleared of what killed runs left there (<see cref="RemoveStale"/>).
    /// </summary>
    /// <param name="directory">The output folder.</param>
    /// <param name="warnings">Where to say that the folder's file system does not enforce the lock, if it does not.</param>
    /// <exception cref="IOException">Another run holds the folder, or the lock file cannot be opened.</exception>
    internal static FileStream LockOutput(string directory, TextWriter? warnings = null)
    {
        string path = Path.Combine(directory, LockFile);
        FileStream held;
        try
        {
            held = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (IsSharingViolation(ex))
        {
            throw new IOException($"Another run is writing to the output folder '{directory}' ({path} is locked); wait for it to finish or choose another --out.", ex);
        }

        // .NET's lock is a best-effort flock on Unix: where the file system has none (NFS without lockd, some FUSE
        // mounts) or DOTNET_SYSTEM_IO_DISABLEFILELOCKING is set, it locks nothing without a word. A second open shows it.
        bool enforced = false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            warnings?.WriteLine($"warning: file locks are not enforced in '{directory}': a second run writing there at the same time would not be refused.");
        }
        catch (IOException ex) when (IsSharingViolation(ex))
        {
            enforced = true;
        }

        // Only once the folder is held (and so not where the lock holds nothing): a run refused by the lock had already
        // removed the files it took for a killed run's, and a live run in another container (another pid namespace)
        // can carry this process's pid, its partial history last written before this process started
        // (AtomicFile.RemoveStale's test of a reused pid).
        try
        {
            if (enforced)
            {
                RemoveStale(directory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover that cannot be listed or removed harms nothing but space.
        }

        return held;
    }

    /// <summary>The lock file every run keeps in its output folder (<see cref="LockOutput"/>).</summary>
    internal const string LockFile = ".lock";

    // A lock held elsewhere: EWOULDBLOCK from flock on Linux (11) and macOS (35), ERROR_SHARING_VIOLATION and
    // ERROR_LOCK_VIOLATION on Windows. Any other failure (a full disk, say) is reported as itself.
    private static bool IsSharingViolation(IOException ex) =>
        ex.GetType() == typeof(IOException) && ex.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    // Files only training and sweep runs write: a folder holding one is a run's, not an evaluation's.
    // (A model.ncm alone is not: the model being evaluated may be kept there.)
    private static readonly string[] TrainingOutputs = ["report.md", "report.json", "history.csv", "sweep.csv"];

    // A run whose folder holds another command's outputs would leave them beside its own, and verify, which checks the
    // files the new manifest lists, passed the mixed folder: a sweep's report.md over a training run's report.json and
    // model.ncm, an evaluation.md that showed the next run's pictures, a sweep's architecture folders beside a run's.
    // Before the data loads; the folder lock is released by its owner's using.
    private static void RefuseOtherCommandsOutputs(string directory, string run, string[] others, bool sweepFolders)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        string[] found =
        [
            .. others.Where(f => File.Exists(Path.Combine(directory, f))),
            .. (sweepFolders ? Directory.EnumerateDirectories(directory, "784-*-10").Select(d => Path.GetFileName(d) + "/").Order(StringComparer.Ordinal) : Enumerable.Empty<string>()),
        ];
        if (found.Length > 0)
        {
            throw new IOException(
                $"The output folder '{directory}' holds another command's outputs ({string.Join(", ", found)}), which would stay beside {run}'s: give another --out, or empty the folder.");
        }
    }

    /// <summary>
    /// Before evaluate loads the data: <c>--out</c> proven writable and locked, and refused where it holds a training
    /// run's outputs, whose confusion.png, roc.png and misclassified.png an evaluation would replace.
    /// </summary>
    private static FileStream PrepareEvaluationFolder(string directory, TextWriter warnings)
    {
        ProveWritable(directory);
        FileStream folderLock = LockOutput(directory, warnings);
        string[] trained = [.. TrainingOutputs.Where(f => File.Exists(Path.Combine(directory, f)))];
        if (trained.Length > 0)
        {
            folderLock.Dispose();
            throw new IOException(
                $"The output folder '{directory}' holds a training run's outputs ({string.Join(", ", trained)}), whose pictures an evaluation would replace: give evaluate another --out.");
        }

        return folderLock;
    }

    /// <summary>
    /// Deletes the temporary and partial files that runs no longer alive left in <paramref name="directory"/> and its
    /// architecture folders when they were killed (<see cref="AtomicFile.RemoveStale"/>); files of live processes and
    /// any other file are kept.
    /// </summary>
    /// <returns>How many files were removed.</returns>
    internal static int RemoveStale(string directory) =>
        AtomicFile.RemoveStale(directory) + Directory.EnumerateDirectories(directory).Sum(folder => AtomicFile.RemoveStale(folder));

    /// <summary>
    /// Refuses, before the data loads, a model this process cannot hold, naming the options: the parameter count that
    /// <c>--hidden</c> gives (in 64-bit arithmetic) against one array, which holds them all, and the memory of the
    /// weights, their gradients, the optimizer's state, the batch's buffers (<c>--batch-size</c>) and the data against
    /// what the process may use.
    /// </summary>
    /// <param name="settings">The options.</param>
    /// <param name="availableBytes">The memory the process may use (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>).</param>
    /// <exception cref="ArgumentException">The parameters would not fit in one array.</exception>
    /// <exception cref="InsufficientMemoryException">The run would need more memory than <paramref name="availableBytes"/>.</exception>
    internal static void CheckMemory(TrainSettings settings, long availableBytes)
    {
        int[] widths = [Mnist.Features, .. settings.Hidden, Mnist.Classes];
        long parameters = 0;
        for (int i = 1; i < widths.Length; i++)
        {
            parameters += ((long)widths[i - 1] * widths[i]) + widths[i];
        }

        // A batch or layer normalization after each hidden layer: γ and β per unit, and an activation buffer of its own.
        bool normalized = settings.Normalization != "none";
        long hiddenUnits = settings.Hidden.Sum(w => (long)w);
        if (normalized)
        {
            parameters += 2 * hiddenUnits;
        }

        string hidden = string.Join(',', settings.Hidden);
        if (parameters > Array.MaxLength)
        {
            throw new ArgumentException(string.Create(Inv,
                $"--hidden {hidden} gives {parameters:N0} parameters, more than one .NET array holds ({Array.MaxLength:N0}), and the model keeps them in one: use fewer or narrower hidden layers."));
        }

        // Each layer's batch buffer is one array too: --hidden 65536 --batch-size 60000 passed this check on a machine
        // with the memory for it, loaded the data, and was then refused by Compile in the library's words (maxBatchSize).
        long widest = widths.Max();
        if ((long)settings.BatchSize * widest > Array.MaxLength)
        {
            throw new ArgumentException(string.Create(Inv,
                $"--batch-size {settings.BatchSize} with --hidden {hidden} needs a buffer of {settings.BatchSize:N0} × {widest:N0} = {(long)settings.BatchSize * widest:N0} values for its widest layer, more than one .NET array holds ({Array.MaxLength:N0}): use at most --batch-size {Array.MaxLength / widest:N0} at this width, or narrower layers."));
        }

        // The checkpoint and model.ncm hold the weights and the optimizer's state (Adam: two moments; the trainer's SGD
        // has no momentum, so none); a file over ModelFile.MaxFileBytes could be neither loaded nor, now, saved.
        int slots = TrainerOptimizers.Get(settings.Optimizer).StateSlots;
        long fileBytes = 4 * parameters * (1 + slots);
        if (fileBytes > ModelFile.MaxFileBytes)
        {
            throw new ArgumentException(string.Create(Inv,
                $"--hidden {hidden} ({parameters:N0} parameters) makes a model file of {fileBytes / (1 << 20):N0} MiB with {settings.Optimizer}'s state, more than the {ModelFile.MaxFileBytes / (1 << 20):N0} MiB a model file may hold, so the run could save neither a checkpoint nor model.ncm: use fewer or narrower hidden layers (at most {ModelFile.MaxFileBytes / (4 * (1 + slots)):N0} parameters with {settings.Optimizer})."));
        }

        // Weights and gradients twice (each layer's own copy, then the model's arena), the optimizer's state
        // (Adam: two moments; the trainer's SGD: none), the activation and gradient buffers of one batch, the data.
        decimal weights = 4m * parameters * (4 + slots);
        decimal buffers = 4m * settings.BatchSize * (widths.Skip(1).Sum(w => (decimal)w) + (normalized ? hiddenUnits : 0) + (2m * widths.Max()));
        decimal data = 4m * 70_000 * Mnist.Features;
        decimal total = weights + buffers + data;
        if (availableBytes > 0 && total > availableBytes)
        {
            throw new InsufficientMemoryException(string.Create(Inv,
                $"--hidden {hidden} ({parameters:N0} parameters) needs {weights / (1 << 20):N0} MiB for the weights, gradients and {settings.Optimizer}'s state, and --batch-size {settings.BatchSize} {buffers / (1 << 20):N0} MiB of buffers: with the data, {total / (1 << 20):N0} MiB, more than the {availableBytes / (1L << 20):N0} MiB this process may use; use smaller --hidden or --batch-size."));
        }
    }

    private static void CheckMonitor(TrainSettings settings)
    {
        if (settings.ValidationSplit == 0 && settings.EarlyStoppingPatience is not null && settings.Monitor.StartsWith("val_", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"--early-stopping watches {settings.Monitor}, which needs validation data: give --validation-split above 0, or --monitor loss.");
        }
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

    /// <summary>The kernel initializers <c>--initializer</c> takes, by Keras's names.</summary>
    internal static readonly IReadOnlyDictionary<string, Func<Initializer>> Initializers = new Dictionary<string, Func<Initializer>>
    {
        ["glorot_uniform"] = Initializer.GlorotUniform,
        ["glorot_normal"] = Initializer.GlorotNormal,
        ["he_normal"] = Initializer.HeNormal,
        ["he_uniform"] = Initializer.HeUniform,
        ["lecun_normal"] = Initializer.LecunNormal,
        ["orthogonal"] = () => Initializer.Orthogonal(),
    };

    internal static Sequential BuildModel(TrainSettings settings)
    {
        var model = new Sequential(Mnist.Features, settings.Seed);
        Regularizer? l2 = settings.L2 > 0 ? Regularizer.L2(settings.L2) : null;
        Constraint? maxNorm = settings.MaxNorm > 0 ? Constraint.MaxNorm(settings.MaxNorm) : null;
        foreach (int units in settings.Hidden)
        {
            model.Add(new Dense(units) { KernelRegularizer = l2, KernelConstraint = maxNorm, KernelInitializer = Initializers[settings.Initializer]() });
            if (settings.Normalization == "batch")
            {
                model.Add(new BatchNormalization());
            }
            else if (settings.Normalization == "layer")
            {
                model.Add(new LayerNormalization());
            }

            model.Add(new Relu());
            if (settings.Dropout > 0)
            {
                model.Add(new Dropout(settings.Dropout));
            }
        }

        model.Add(new Dense(Mnist.Classes) { KernelRegularizer = l2 });
        ILoss loss = settings.Loss == "mse" ? new MeanSquaredError() : new SoftmaxCrossEntropy();
        if (settings.Loss == "mse")
        {
            // The notebook's setup: probabilities out of a softmax layer, compared with one-hot targets.
            model.Add(new Softmax());
        }

        IOptimizer optimizer = TrainerOptimizers.Get(settings.Optimizer).Create(settings.EffectiveLearningRate);
        model.Compile(loss, optimizer, settings.BatchSize);
        return model;
    }

    private static string Name(IReadOnlyList<int> hidden) => string.Join(",", hidden);

    // Each architecture's folder of a sweep: its layer sizes, 784-…-10.
    internal static string SweepFolderName(IReadOnlyList<int> hidden) => "784-" + string.Join("-", hidden) + "-10";

    private static int ApplyThreads(TrainSettings settings)
    {
        Parallelism.DegreeOfParallelism = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        return Parallelism.DegreeOfParallelism;
    }

    private static (MnistDataset Data, string Source, double Seconds) LoadData(TrainSettings settings, CancellationToken cancellation)
    {
        long start = Stopwatch.GetTimestamp();
        MnistLocation location;
        try
        {
            location = MnistLocator.ResolveAsync(settings.DataDirectory, cancellationToken: cancellation).GetAwaiter().GetResult();
        }
        catch (DirectoryNotFoundException e) when (settings.DataDirectory is not null)
        {
            // The library's message says what is wrong with the folder ("is a file", "does not exist"); which option
            // gave it is the trainer's to say.
            throw new DirectoryNotFoundException($"--data: {e.Message}", e);
        }

        MnistDataset data = Mnist.Load(location.Directory, settings.MaxSamples, cancellation);
        RequireEveryDigit(data.Test, location.Directory);
        string source = location.Source switch
        {
            MnistSource.Explicit => location.Directory,
            MnistSource.Repository => $"the repository copy {location.Directory}",
            MnistSource.Cache => $"the cache {location.Directory}",
            _ => $"a fresh download into {location.Directory}",
        };
        return (data, source, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    // Checked as the data loads, before any training: Fit's refusal of a split that leaves a part empty named
    // FitOptions.ValidationSplit ("with ValidationSplit=0.5"), which no user of the trainer typed.
    internal static void RequireSplit(TrainSettings settings, int samples)
    {
        if (settings.ValidationSplit <= 0)
        {
            return;
        }

        try
        {
            _ = Dataset.SplitIndex(samples, settings.ValidationSplit);
        }
        catch (ArgumentException)
        {
            int training = (int)Math.Floor(samples * (1.0 - settings.ValidationSplit));
            throw new ArgumentException(string.Create(Inv,
                $"--validation-split {settings.ValidationSplit} of the {samples} training images leaves {training} to train on and {samples - training} to validate on; each part needs at least one: give another --validation-split, or 0 for none."));
        }
    }

    // The test set's per-digit ROC curves need each digit among its images and not all of them: a test set without a
    // 9 trained to the end, then failed in the ROC code with nothing saved. Checked before any training.
    internal static void RequireEveryDigit(Dataset test, string directory)
    {
        int[] support = new int[Mnist.Classes];
        foreach (int label in test.Labels)
        {
            support[label]++;
        }

        int missing = Array.FindIndex(support, s => s == 0);
        if (missing >= 0)
        {
            throw new InvalidDataException(string.Create(Inv,
                $"The test labels in '{directory}' ({Mnist.TestLabelsFile} or its raw form) hold no image of digit {missing} among their {test.Count}: the test report's per-digit scores and ROC curves need every digit; use a test set with all ten."));
        }
    }

    // What WritePictures writes for a training run (evaluate writes all but the curves).
    private static readonly string[] RunPictures = ["curves.png", "confusion.png", "roc.png", "misclassified.png"];

    // The pictures are independent of each other, so they are drawn side by side (Outputs.Together).
    private void WritePictures(string directory, Dataset testData, TestResults test, History? history, int? bestEpoch, string title)
    {
        Action[] pictures = TestPictures(directory, testData, test, title);
        Outputs.Together(history is null
            ? pictures
            : [() => SavePicture(Path.Combine(directory, "curves.png"), path => Plots.Curves(history, path, title, bestEpoch)), .. pictures]);
    }

    // The pictures drawn from the test set's results: all of RunPictures but the curves.
    private Action[] TestPictures(string directory, Dataset testData, TestResults test, string title) =>
    [
        () => SavePicture(Path.Combine(directory, "confusion.png"), path => Plots.Confusion(test.Confusion, path, title)),
        () => SavePicture(Path.Combine(directory, "roc.png"), path => Plots.Roc(test.Roc, path, title)),
        () => SavePicture(Path.Combine(directory, "misclassified.png"), path => Plots.Misclassified(testData, test.Mistakes, path)),
    ];

    // Called from several threads at once (WritePictures): the warning is written under a lock, since the writer
    // given to the trainer need not be thread-safe.
    private void SavePicture(string path, Action<string> draw)
    {
        if (!Plots.ConfigureFonts())
        {
            lock (error)
            {
                error.WriteLine($"warning: no font is installed, so {Path.GetFileName(path)} would have no text; install fonts-dejavu-core.");
            }
        }

        // The plotting libraries write to a path: drawn into a temporary file, then put in place by AtomicFile, which
        // flushes it to disk and keeps a symbolic link and the old file's permissions, as every other output gets.
        string temporary = AtomicFile.TemporaryBeside(path);
        try
        {
            draw(temporary);
            AtomicFile.MoveIntoPlace(temporary, path);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static string EvaluationMarkdown(string modelPath, string source, TestResults test)
    {
        var md = new System.Text.StringBuilder();
        md.Append(Inv, $"# Evaluation of {Path.GetFileName(modelPath)}\n\n")
          .Append(Inv, $"Test set: {test.Confusion.Total:N0} images from {source}. Accuracy **{test.Accuracy:P2}** (loss {test.Loss:0.0000}, top-2 {test.TopTwoAccuracy:P2}); ")
          .Append(Inv, $"ROC AUC macro {test.Roc.MacroAuc:0.0000}, micro {test.Roc.MicroAuc:0.0000}.\n\n")
          .Append("![confusion matrix](confusion.png)\n\n![ROC curves](roc.png)\n\n")
          .Append("| digit | precision | recall | F1 | support | ROC AUC |\n|---:|---:|---:|---:|---:|---:|\n");
        for (int c = 0; c < test.Scores.Classes.Count; c++)
        {
            ClassScores s = test.Scores.Classes[c];
            md.Append(Inv, $"| {c} | {s.Precision:0.0000} | {s.Recall:0.0000} | {s.F1:0.0000} | {s.Support} | {test.Roc.Classes[c].Auc:0.0000} |\n");
        }

        md.Append("\n```\n").Append(test.Scores.ToString(4)).Append("```\n\n![most confidently misclassified test images](misclassified.png)\n");
        return md.ToString();
    }

    internal static string SweepTable(IReadOnlyList<SweepRow> rows)
    {
        var text = new System.Text.StringBuilder("| hidden layers | parameters | train seconds | best epoch | val accuracy at best epoch | test accuracy | curves | confusion |\n|---|---:|---:|---:|---:|---:|---|---|\n");
        foreach (SweepRow r in rows)
        {
            text.Append(Inv, $"| {r.Name} | {r.Parameters:N0} | {r.TrainSeconds:0.00} | {r.BestEpoch} | {(double.IsNaN(r.ValidationAccuracy) ? "-" : r.ValidationAccuracy.ToString("P2", Inv))} | {r.TestAccuracy:P2} | [curves]({r.Folder}/curves.png) | [matrix]({r.Folder}/confusion.png) |\n");
        }

        return text.ToString();
    }

    private static string SweepMarkdown(TrainSettings settings, int threads, List<SweepRow> rows, List<string> missing, string[] earlier)
    {
        var md = new System.Text.StringBuilder("# Architecture sweep\n\n");
        if (missing.Count > 0)
        {
            md.Append(Inv, $"**Unfinished:** {rows.Count} of {rows.Count + missing.Count} architectures finished; missing {string.Join(", ", missing)}. This report compares the finished ones only.\n\n");
        }

        if (earlier.Length > 0)
        {
            md.Append(Inv, $"**Not of this sweep:** {string.Join(", ", earlier.Select(f => $"`{f}/`"))} in this folder {(earlier.Length == 1 ? "is" : "are")} left by an earlier run; this report, `sweep.csv` and `manifest.json` cover only the architectures below.\n\n");
        }

        // The same settings in the same words as a training run's report (the sweep's had left out the learning rate, its
        // schedule, the normalization, early stopping and the preset).
        md.Append(Inv, $"{settings.ConfigurationHeading}: {settings.Describe()}, seed {settings.Seed}, {threads} thread(s). ")
          .Append(settings.ValidationSplit > 0
              ? string.Create(Inv, $"The best epoch of each architecture is the one with the best {settings.Monitor}; the table gives the validation accuracy of that epoch. ")
              : "Without validation data no epoch can be picked as the best: each row's best epoch is the architecture's last, and its validation accuracy reads '-'. ")
          // The test column is of the weights the run ended with, which only early stopping makes the best epoch's: a
          // best epoch 2 of 3 beside the test accuracy of epoch 3 read as the best epoch's model.
          .Append(settings.EarlyStoppingPatience is null
              ? "The test accuracy is that of the weights the last epoch left, not of the best epoch (--early-stopping restores the best epoch's weights before the test). "
              : "The test accuracy is that of the best epoch's weights, which early stopping restored before the test. ")
          .Append("Each training time follows an untimed warm-up of up to 64 steps of a throwaway copy, so that compiling the code is charged to no architecture.\n\n")
          .Append(SweepTable(rows)).Append("\n![validation accuracy and training time per architecture](sweep.png)\n\n");
        if (rows.Count > 1 && rows.All(r => !double.IsNaN(r.ValidationAccuracy)))
        {
            SweepRow best = rows.MaxBy(r => r.ValidationAccuracy)!, fastest = rows.MinBy(r => r.TrainSeconds)!;
            md.Append(Inv, $"The highest validation accuracy at a best epoch is {best.ValidationAccuracy:P2}, by hidden layers {best.Name} ({best.TrainSeconds:0.0} s of training); ")
              .Append(Inv, $"the fastest architecture, {fastest.Name}, reached {fastest.ValidationAccuracy:P2} in {fastest.TrainSeconds:0.0} s.\n\n");
        }

        foreach (SweepRow r in rows)
        {
            md.Append(Inv, $"## {r.Name}\n\n![curves]({r.Folder}/curves.png)\n\n![confusion matrix]({r.Folder}/confusion.png)\n\n");
        }

        return md.ToString();
    }

    private static string SweepCsv(IReadOnlyList<SweepRow> rows) =>
        "hidden,parameters,train_seconds,best_val_accuracy,best_epoch,test_accuracy\n" + string.Concat(rows.Select(r =>
            // No validation: an empty field, which CSV readers take as missing (a bare NaN is not a number to most).
            string.Create(Inv, $"\"{r.Name}\",{r.Parameters},{r.TrainSeconds:R},{(double.IsNaN(r.ValidationAccuracy) ? "" : r.ValidationAccuracy.ToString("R", Inv))},{r.BestEpoch},{r.TestAccuracy:R}\n")));

    // The library's atomic write: a unique temporary file flushed to disk, then renamed, so that a crash or a second
    // run on the same folder never leaves a half-written report under the final name.
    private static void WriteAtomically(string path, string text) =>
        AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(text));

    private static void WriteAtomically(string path, byte[] bytes) => AtomicFile.Write(path, bytes);
}
