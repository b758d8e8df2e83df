using System.Globalization;
using System.Runtime.Versioning;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Serialization;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class CallbackTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-callbacks-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (Sequential Model, Dataset Data) Setup(int count = 400)
    {
        var (x, y) = FitTests.Blobs(count, seed: 5);
        return (FitTests.Model(), new Dataset(x, y, 2));
    }

    [Fact]
    public void Verbose_2_and_redirected_verbose_1_write_one_line_per_epoch()
    {
        foreach (int verbose in new[] { 1, 2 })
        {
            var (model, data) = Setup();
            var text = new StringWriter();
            model.Fit(data, new FitOptions { Epochs = 3, ValidationSplit = 0.25, Callbacks = [new ProgressLogger(verbose, text)] });
            string[] lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            Assert.DoesNotContain('\r', text.ToString());
            Assert.StartsWith("Epoch 2/3 - 10 steps - ", lines[1], StringComparison.Ordinal);
            Assert.Matches(@" - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$", lines[2]);
        }
    }

    [Fact]
    public void An_epoch_stopped_by_a_callback_reports_the_steps_it_ran()
    {
        // The bar was drawn full and the time divided by all 10 steps of an epoch stopped at step 4.
        var stopper = new LambdaCallback((epoch, step, _, context) =>
        {
            if (step == 4)
            {
                context.StopTraining("test");
            }
        }, readsModel: false);
        var (model, data) = Setup();
        var text = new StringWriter();
        model.Fit(data, new FitOptions { Epochs = 3, ValidationSplit = 0.25, Callbacks = [stopper, new ProgressLogger(2, text)] });
        Assert.StartsWith("Epoch 1/3 - 4 of 10 steps - ", text.ToString(), StringComparison.Ordinal);

        (model, data) = Setup();
        text = new StringWriter();
        model.Fit(data, new FitOptions { Epochs = 1, ValidationSplit = 0.25, Callbacks = [stopper, new ProgressLogger(1, text, interactive: true)] });
        string last = text.ToString().Split('\r')[^1];
        Assert.StartsWith(" 4/10 ", last, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.1234567, "0.1235")]
    [InlineData(-2.5, "-2.5000")]
    [InlineData(0.0015, "0.0015")]
    [InlineData(1e-3, "1.0000e-03")]
    [InlineData(-3e-4, "-3.0000e-04")]
    [InlineData(2.46e-5, "2.4600e-05")]
    [InlineData(0.0, "0.0000e+00")]
    [InlineData(double.NaN, "NaN")]
    // Python rounds the exact binary value: 1.00105 is 1.00104999…, 1.00015e-4 is 1.00014999…e-4 (the custom formats
    // 0.0000 and 0.0000e+00 rounded their 15-digit decimal forms up).
    [InlineData(1.00105, "1.0010")]
    [InlineData(1.00015e-4, "1.0001e-04")]
    [InlineData(-0.0, "-0.0000e+00")]
    public void Values_print_as_kerass_progress_bar_prints_them(double value, string expected) =>
        // Keras's Progbar: f"{avg:.4f}" if abs(avg) > 1e-3 else f"{avg:.4e}".
        Assert.Equal(expected, ProgressLogger.FormatValue(value));

    [Fact]
    public void Fit_allocates_nothing_between_steps_with_a_logger_shuffling_and_a_validation_split() =>
        // A redrawn bar builds its line every 100 ms: a redraw allocates, a step must not.
        AssertNoAllocationBetweenSteps(new ProgressLogger(1, TextWriter.Null, interactive: false), validationSplit: 0.1);

    [Fact]
    public void Fit_allocates_nothing_between_steps_with_a_schedule_of_every_step() =>
        // The scheduler sets the rate after every step; the text naming the schedule and step in its check's message
        // was built for every step, whether the rate was bad or not.
        AssertNoAllocationBetweenSteps(new LearningRateScheduler(new CosineDecay(0.01f, 1000)), validationSplit: 0);

    [Fact]
    public void Fit_allocates_nothing_between_steps_with_every_metric() =>
        // auc, precision and recall count into buffers made with the metric set; the loss metrics' label buffer grows
        // in the first epoch's first step. Every metric is measured after every step.
        // binary_accuracy is refused for a model whose accuracy is categorical; categorical_accuracy counts the same.
        AssertNoAllocationBetweenSteps(new ProgressLogger(1, TextWriter.Null, interactive: false), validationSplit: 0.1,
            [.. MetricSet.Known.Where(name => name != "binary_accuracy")]);

    [Theory]
    [InlineData(0)]
    [InlineData(1_000_000)]
    public void Fit_allocates_nothing_between_steps_with_a_checkpoint(int saveFrequency) =>
        // ModelCheckpoint.OnBatchEnd now runs after every step, also for a checkpoint that saves at epoch ends; its
        // lambda for WithRowMajorWeights captures the parameters batch and context, so the closure is allocated on
        // entry (48 bytes a step) before the early return.
        AssertNoAllocationBetweenSteps(
            new ModelCheckpoint(Path.Combine(_folder, "m.ncm"), monitor: "loss", saveFrequency: saveFrequency),
            validationSplit: 0.1);

    private static void AssertNoAllocationBetweenSteps(Callback callback, double validationSplit, IReadOnlyList<string>? metrics = null)
    {
        var (model, data) = Setup(6400);
        if (metrics is not null)
        {
            model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f), metrics: metrics);
        }

        // Four windows of 35 steps inside the second epoch, where the buffers, the order and the metrics exist and only
        // the step loop runs, each from a settled baseline (the 3,920 bytes a CI run with the scalar paths once read in
        // a window were a collection's retiring this thread's allocation context: AllocationBaseline).
        int[] marks = [10, 45, 80, 115, 150];
        long[] at = new long[marks.Length];
        long[] from = new long[marks.Length];
        var probe = new LambdaCallback(onBatchEnd: (epoch, step, _, _) =>
        {
            int mark = epoch == 2 ? Array.IndexOf(marks, step) : -1;
            if (mark >= 0)
            {
                at[mark] = GC.GetAllocatedBytesForCurrentThread();
                from[mark] = AllocationBaseline.Read();
            }
        });
        model.Fit(data, new FitOptions { Epochs = 2, BatchSize = 32, ValidationSplit = validationSplit, Verbose = 0, Callbacks = [callback, probe] });
        Assert.True(at.All(a => a > 0), "the probe did not run");
        long[] windows = [.. Enumerable.Range(1, marks.Length - 1).Select(i => at[i] - from[i - 1])];
        Assert.True(windows.All(b => b == 0), $"bytes allocated on the training thread per window of 35 steps of Fit: {string.Join(", ", windows)}");
    }

    [Fact]
    public void A_logger_at_verbose_0_writes_nothing_even_on_a_terminal()
    {
        var (model, data) = Setup();
        var text = new StringWriter();
        model.Fit(data, new FitOptions { Epochs = 2, Callbacks = [new ProgressLogger(0, text, interactive: true)] });
        Assert.Equal(string.Empty, text.ToString());
    }

    [Fact]
    public void A_redrawn_bar_never_outgrows_the_terminal()
    {
        var (model, data) = Setup(4000);
        var text = new StringWriter();
        // A slow callback after the logger, so that the 100 ms throttle lets several redraws through.
        var slow = new LambdaCallback(onBatchEnd: (_, _, _, _) => Thread.Sleep(3));
        model.Fit(data, new FitOptions { Epochs = 2, BatchSize = 32, Callbacks = [new ProgressLogger(1, text, interactive: true, width: 60), slow] });
        string output = text.ToString();
        string[] lines = output.Split('\n');
        Assert.Equal("Epoch 1/2", lines[0]);
        Assert.Equal("Epoch 2/2", lines[2]);
        Assert.Equal(string.Empty, lines[^1]);
        string[] redraws = lines[1].Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(redraws.Length >= 3, $"expected several redraws, got {redraws.Length}");
        foreach (string redraw in redraws[..^1])
        {
            Assert.True(redraw.Length <= 59, $"a redrawn line of {redraw.Length} columns in a 60-column terminal: '{redraw}'");
            Assert.Contains("ETA", redraw, StringComparison.Ordinal);
        }

        Assert.StartsWith("125/125 ", redraws[^1], StringComparison.Ordinal);
        Assert.Contains(" - loss: ", redraws[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_redrawn_bar_shows_the_running_loss_and_every_training_metric_as_kerass_batch_logs()
    {
        var (model, data) = Setup(400);
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f), metrics: ["accuracy", "kl_divergence"]);
        var text = new StringWriter();
        var last = new Dictionary<string, double>();
        var watcher = new LambdaCallback(onBatchEnd: (_, _, _, context) =>
        {
            foreach ((string name, double value) in context.EpochValuesSoFar())
            {
                last[name] = value;
            }
        });
        model.Fit(data, new FitOptions { Epochs = 1, BatchSize = 40, ValidationSplit = 0.2, Callbacks = [new ProgressLogger(1, text, interactive: true, width: 200), watcher] });

        // The first redraw (step 1 always draws) and the last step's, which is drawn whatever the throttle.
        string[] redraws = text.ToString().Split('\n')[1].Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^1/8 \[.*\] ETA \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - kl_divergence: \d\.\d{4}", redraws[0]);
        string expected = $" - loss: {ProgressLogger.FormatValue(last["loss"])} - accuracy: {ProgressLogger.FormatValue(last["accuracy"])} - kl_divergence: {ProgressLogger.FormatValue(last["kl_divergence"])}";
        Assert.Contains(redraws.Where(r => r.StartsWith("8/8 ", StringComparison.Ordinal) && r.Contains("ETA", StringComparison.Ordinal)),
            r => r.EndsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_cancelled_fit_ends_the_progress_line_and_tells_every_callback()
    {
        var (model, data) = Setup(4000);
        var text = new StringWriter();
        using var cancellation = new CancellationTokenSource();
        int interrupted = 0, ended = 0;
        var stopper = new LambdaCallback(onBatchEnd: (_, step, _, _) =>
        {
            Thread.Sleep(2);
            if (step == 60)
            {
                cancellation.Cancel();
            }
        });
        var watcher = new Watcher(() => interrupted++, () => ended++);
        Assert.Throws<OperationCanceledException>(() => model.Fit(data, new FitOptions
        {
            Epochs = 2,
            BatchSize = 32,
            CancellationToken = cancellation.Token,
            Callbacks = [new ProgressLogger(1, text, interactive: true, width: 60), stopper, watcher],
        }));
        string output = text.ToString();
        Assert.StartsWith("Epoch 1/2\n", output, StringComparison.Ordinal);
        Assert.EndsWith("\n", output, StringComparison.Ordinal);
        Assert.Contains("/125 [", output.Split('\r')[^1], StringComparison.Ordinal);
        Assert.Equal((1, 0), (interrupted, ended));
    }

    private sealed class Watcher(Action onInterrupted, Action onEnd) : Callback
    {
        public override void OnTrainInterrupted(TrainingContext context) => onInterrupted();

        public override void OnTrainEnd(TrainingContext context) => onEnd();
    }

    [Fact]
    public void Line_fits_its_limit_and_drops_the_bar_when_there_is_no_room()
    {
        string tail = " - loss: 0.1234 - accuracy: 0.9876";
        string wide = ProgressLogger.Line(5, 10, " ETA 1s", tail, 79);
        Assert.Equal(" 5/10 [==============>...............] ETA 1s - loss: 0.1234 - accuracy: 0.9876", wide);
        string narrow = ProgressLogger.Line(5, 10, " ETA 1s", tail, 45);
        Assert.Equal(" 5/10 ETA 1s - loss: 0.1234 - accuracy: 0.987", narrow);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProgressLogger(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProgressLogger(1, width: 1));

        // A terminal of 12 columns keeps its lines within 11 (80 was assumed below 20, and every redraw wrapped).
        var output = new StringWriter();
        var (model, data) = Setup();
        model.Fit(data, new FitOptions { Epochs = 1, BatchSize = 32, Callbacks = [new ProgressLogger(1, output, interactive: true, width: 12)] });
        // Every drawing that a later one overwrites (all but the last of each line, the epoch's summary) fits.
        string[] redrawn = [.. output.ToString().Split('\n').SelectMany(line => line.Split('\r').SkipLast(1))];
        Assert.NotEmpty(redrawn);
        Assert.All(redrawn, drawn => Assert.True(drawn.Length <= 11, $"'{drawn}' is longer than 11 columns"));
    }

    [Fact]
    public void Csv_logger_writes_a_measured_nan_as_nan()
    {
        // One validation sample: its R² is measured and undefined (NaN). The cell was left empty, as for a value never
        // measured, so the log could not tell an undefined or diverged value from a missing one; Keras writes nan.
        var random = new Random(3);
        float[] x = [.. Enumerable.Range(0, 20).Select(_ => (float)random.NextDouble())];
        float[] y = [.. Enumerable.Range(0, 10).Select(i => x[2 * i] - x[(2 * i) + 1])];
        var model = new Sequential(2, seed: 1).Add(new Dense(4)).Add(new Relu()).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Adam(0.01f), metrics: ["r2"]);
        string path = Path.Combine(_folder, "nan.csv");
        History history = model.Fit(new Dataset(x, y, 2, 1), new FitOptions { Epochs = 1, BatchSize = 4, ValidationSplit = 0.1, Callbacks = [new CsvLogger(path)] });
        Assert.True(double.IsNaN(history.Epochs[0].Get("val_r2")!.Value));
        string[] lines = File.ReadAllLines(path);
        Assert.Equal("epoch,loss,r2,val_loss,val_r2,seconds", lines[0]);
        string[] row = lines[1].Split(',');
        Assert.Equal("NaN", row[4]);
        Assert.True(double.IsNaN(double.Parse(row[4], CultureInfo.InvariantCulture)));
        Assert.All(row, cell => Assert.NotEmpty(cell));
    }

    [Fact]
    public void Csv_logger_writes_every_epoch_and_appends_to_a_matching_file()
    {
        var (model, data) = Setup();
        string path = Path.Combine(_folder, "logs", "history.csv");
        History first = model.Fit(data, new FitOptions { Epochs = 2, ValidationSplit = 0.25, Callbacks = [new CsvLogger(path)] });
        string[] lines = File.ReadAllLines(path);
        Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss,seconds", lines[0]);
        Assert.Equal(3, lines.Length);
        string[] row = lines[2].Split(',');
        Assert.Equal("2", row[0]);
        Assert.Equal(first.Epochs[1].Accuracy, double.Parse(row[1], CultureInfo.InvariantCulture));
        Assert.Equal(first.Epochs[1].ValidationLoss, double.Parse(row[4], CultureInfo.InvariantCulture));

        model.Fit(data, new FitOptions { Epochs = 3, InitialEpoch = 2, ValidationSplit = 0.25, Callbacks = [new CsvLogger(path, append: true)] });
        lines = File.ReadAllLines(path);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("3,", lines[3], StringComparison.Ordinal);

        // Without validation the columns differ: appending would mix two layouts in one file. It is refused before
        // any epoch is trained.
        int trained = model.EpochsTrained;
        var ex = Assert.Throws<InvalidOperationException>(() =>
            model.Fit(data, new FitOptions { Epochs = 4, InitialEpoch = 3, Callbacks = [new CsvLogger(path, append: true)] }));
        Assert.Contains("history.csv has the columns", ex.Message, StringComparison.Ordinal);
        Assert.Equal(trained, model.EpochsTrained);

        // A row cut short by a killed run gets its line break before the next one is appended.
        File.AppendAllText(path, "4,0.5");
        model.Fit(data, new FitOptions { Epochs = 5, InitialEpoch = 4, ValidationSplit = 0.25, Callbacks = [new CsvLogger(path, append: true)] });
        lines = File.ReadAllLines(path);
        Assert.Equal("4,0.5", lines[4]);
        Assert.StartsWith("5,", lines[5], StringComparison.Ordinal);

        // Replacing starts over with a semicolon separator.
        History semicolon = model.Fit(data, new FitOptions { Epochs = 1, Callbacks = [new CsvLogger(path, ';')] });
        lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        Assert.Equal("epoch;accuracy;loss;seconds", lines[0]);
        string[] fields = lines[1].Split(';');
        Assert.Equal(4, fields.Length);
        Assert.Equal("1", fields[0]);
        Assert.Equal(semicolon.Epochs[0].Loss, double.Parse(fields[2], CultureInfo.InvariantCulture));
        Assert.Throws<ArgumentException>(() => new CsvLogger(path, '.'));
        Assert.Throws<ArgumentException>(() => new CsvLogger(" "));

        // A folder where the file should be is named as one (it was "access denied"), before any epoch is trained.
        trained = model.EpochsTrained;
        var folder = Assert.Throws<IOException>(() =>
            model.Fit(data, new FitOptions { Epochs = 1, Callbacks = [new CsvLogger(Path.Combine(_folder, "logs"))] }));
        Assert.Contains("logs is a directory: a CSV log must be a regular file", folder.Message, StringComparison.Ordinal);
        Assert.Equal(trained, model.EpochsTrained);
    }

    [Fact]
    public void A_fit_refused_before_its_first_step_leaves_the_csv_log_as_it_was()
    {
        // The logger emptied its file in OnTrainBegin, before a later callback's check refused the training.
        var (model, data) = Setup();
        string path = Path.Combine(_folder, "old.csv");
        const string Old = "epoch,accuracy,loss,seconds\n1,0.5,0.7,1\n";
        File.WriteAllText(path, Old);
        Assert.Throws<InvalidOperationException>(() => model.Fit(data, new FitOptions { Epochs = 1, Callbacks = [new CsvLogger(path), new EarlyStopping("val_loss")] }));
        Assert.Equal(Old, File.ReadAllText(path));
        Assert.Equal(0, model.EpochsTrained);

        // A training that ran but finished no epoch still replaces the old log, with its own header (Keras's file is
        // replaced when training begins).
        History none = model.Fit(data, new FitOptions { Epochs = 2, Callbacks = [new CsvLogger(path), new StopAtEpochBegin(1)] });
        Assert.Empty(none.Epochs);
        Assert.Equal("epoch,accuracy,loss,seconds\n", File.ReadAllText(path));
    }

    [Fact]
    public void Two_callbacks_writing_one_file_are_refused_before_training()
    {
        // A CsvLogger appended its rows to the model file a ModelCheckpoint had just replaced (which Load then refused
        // as extended), two loggers wrote two headers and every row twice, and an every-epoch checkpoint overwrote a
        // best-only one.
        var (model, data) = Setup();
        string path = Path.Combine(_folder, "same");
        foreach (Callback[] pair in new[]
        {
            new Callback[] { new ModelCheckpoint(path, monitor: "loss"), new CsvLogger(path) },
            [new CsvLogger(path), new CsvLogger(Path.Combine(_folder, "x", "..", "same"), append: true)],
            [new ModelCheckpoint(path, monitor: "loss"), new ModelCheckpoint(path, monitor: "loss", saveBestOnly: true)],
        })
        {
            var e = Assert.Throws<InvalidOperationException>(() => model.Fit(data, new FitOptions { Epochs = 1, Callbacks = pair }));
            Assert.Equal($"{pair[0].GetType().Name} and {pair[1].GetType().Name} both write '{path}', and would corrupt each other's file: give each its own path.", e.Message);
        }

        Assert.False(File.Exists(path));
        Assert.Equal(0, model.EpochsTrained);
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void Outputs_in_a_folder_that_takes_no_new_files_are_refused_before_the_first_step()
    {
        // A checkpoint in a read-only folder was found only when the first epoch had trained and tried to save.
        Skip.If(OperatingSystem.IsWindows(), "a folder made read-only with Unix file modes");

        string folder = Path.Combine(_folder, "readonly");
        Directory.CreateDirectory(folder);
        foreach (Callback callback in new Callback[] { new ModelCheckpoint(Path.Combine(folder, "sub", "m.ncm"), monitor: "loss"), new CsvLogger(Path.Combine(folder, "h.csv")) })
        {
            var (model, data) = Setup(40);
            IO.FileAccessOverride.WithModes(
                () =>
                {
                    var e = Assert.Throws<UnauthorizedAccessException>(() => model.Fit(data, new FitOptions { Epochs = 1, Callbacks = [callback] }));
                    Assert.StartsWith($"{callback.GetType().Name}'s path '", e.Message, StringComparison.Ordinal);
                    Assert.Contains($"cannot be written: the folder '{folder}' does not allow new files", e.Message, StringComparison.Ordinal);
                },
                (folder, UnixFileMode.UserRead | UnixFileMode.UserExecute));
            Assert.Equal(0, model.EpochsTrained);
        }

        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void A_stop_asked_at_an_epochs_beginning_takes_no_step_of_it()
    {
        // The epoch still ran and was recorded.
        var (model, data) = Setup(128);
        History history = model.Fit(data, new FitOptions { Epochs = 3, BatchSize = 32, Callbacks = [new StopAtEpochBegin(2)] });
        Assert.Single(history.Epochs);
        Assert.Equal(4, model.Optimizer!.Iterations);
        Assert.Equal(1, model.EpochsTrained);
        Assert.Equal("stopped at the beginning of epoch 2", history.StopReason);
    }

    private sealed class StopAtEpochBegin(int stopAt) : Callback
    {
        public override void OnEpochBegin(int epoch, TrainingContext context)
        {
            if (epoch == stopAt)
            {
                context.StopTraining($"stopped at the beginning of epoch {epoch}");
            }
        }
    }

    [Fact]
    public void Checkpoint_and_csv_log_under_a_file_are_refused_before_training_naming_the_file()
    {
        // A checkpoint under a file trained a whole epoch, then failed with "The file '…/runs' already exists." (from
        // creating its folder); the CSV log failed with the same words before training.
        string file = Path.Combine(_folder, "runs");
        File.WriteAllText(file, "x");
        foreach (Callback callback in new Callback[] { new ModelCheckpoint(Path.Combine(file, "m-{epoch}.ncm"), monitor: "loss"), new CsvLogger(Path.Combine(file, "log", "h.csv")) })
        {
            var (model, data) = Setup(40);
            var e = Assert.Throws<IOException>(() => model.Fit(data, new FitOptions { Epochs = 1, Callbacks = [callback] }));
            Assert.Contains($"'{file}' is a file, not a folder", e.Message, StringComparison.Ordinal);
            Assert.Contains(callback.GetType().Name + "'s path", e.Message, StringComparison.Ordinal);
            Assert.Equal(0, model.EpochsTrained);
        }

        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void Checkpoint_saves_the_best_epochs_only_and_fills_the_path()
    {
        var (model, data) = Setup();
        var best = new ModelCheckpoint(Path.Combine(_folder, "best.ncm"), monitor: "val_accuracy", saveBestOnly: true);
        var every = new ModelCheckpoint(Path.Combine(_folder, "all", "model-{epoch:00}-{val_loss:0.000}.ncm"));
        History history = model.Fit(data, new FitOptions { Epochs = 4, ValidationSplit = 0.25, BatchSize = 64, Callbacks = [best, every] });

        int expectedBest = 1;
        for (int e = 2; e <= 4; e++)
        {
            expectedBest = history.Epochs[e - 1].ValidationAccuracy > history.Epochs[expectedBest - 1].ValidationAccuracy ? e : expectedBest;
        }

        Assert.Equal(expectedBest, best.BestEpoch);
        Sequential saved = ModelFile.Load(Path.Combine(_folder, "best.ncm"));
        Assert.Equal(expectedBest, saved.EpochsTrained);
        string[] files = [.. Directory.GetFiles(Path.Combine(_folder, "all")).Select(Path.GetFileName).Order()!];
        Assert.Equal(4, files.Length);
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"model-03-{history.Epochs[2].ValidationLoss:0.000}.ncm"), files[2]);

        // includeOptimizer: false saves what ModelFile.Save does without the optimizer's state (it was ignored untested).
        string lean = Path.Combine(_folder, "lean.ncm"), reference = Path.Combine(_folder, "reference.ncm");
        model.Fit(data, new FitOptions { Epochs = 5, InitialEpoch = 4, BatchSize = 64, Callbacks = [new ModelCheckpoint(lean, monitor: "loss", includeOptimizer: false)] });
        ModelFile.Save(model, reference, includeOptimizer: false);
        Assert.Equal(File.ReadAllBytes(reference), File.ReadAllBytes(lean));
        ModelFile.Save(model, reference);
        Assert.True(new FileInfo(lean).Length < new FileInfo(reference).Length);
    }

    [Fact]
    public void A_checkpoint_given_to_a_resumed_fit_keeps_the_best_of_the_earlier_fit_as_keras_does()
    {
        var (model, data) = Setup();
        string path = Path.Combine(_folder, "best.ncm");
        var best = new ModelCheckpoint(path, monitor: "val_loss", saveBestOnly: true);
        History first = model.Fit(data, new FitOptions { Epochs = 3, ValidationSplit = 0.25, Callbacks = [best] });
        int bestEpoch = best.BestEpoch;
        byte[] saved = File.ReadAllBytes(path);
        Assert.Equal(first.ValidationLoss.Min(), first.ValidationLoss[bestEpoch - 1]);

        // Damaged weights make the resumed epochs worse than the first Fit's best: the best file stays (reset at each
        // Fit, the first resumed epoch replaced it).
        Span<float> parameters = model.Parameters.Span;
        for (int i = 0; i < parameters.Length; i++)
        {
            parameters[i] = i % 2 == 0 ? 40f : -40f;
        }

        History resumed = model.Fit(data, new FitOptions { Epochs = 5, InitialEpoch = 3, ValidationSplit = 0.25, Callbacks = [best] });
        Assert.True(resumed.ValidationLoss.Min() > first.ValidationLoss.Min(), $"resumed val_loss {resumed.ValidationLoss.Min()}");
        Assert.Equal(bestEpoch, best.BestEpoch);
        Assert.Equal(saved, File.ReadAllBytes(path));

        // A new callback starts afresh.
        var fresh = new ModelCheckpoint(path, monitor: "val_loss", saveBestOnly: true);
        model.Fit(data, new FitOptions { Epochs = 6, InitialEpoch = 5, ValidationSplit = 0.25, Callbacks = [fresh] });
        Assert.Equal(6, fresh.BestEpoch);
        Assert.Equal(6, ModelFile.Load(path).EpochsTrained);
    }

    [Fact]
    public void Checkpoint_paths_take_keras_formats_and_refuse_what_they_cannot_fill()
    {
        var (model, data) = Setup();
        var keras = new ModelCheckpoint(Path.Combine(_folder, "weights.{epoch:02d}-{val_loss:.2f}.ncm"));
        History history = model.Fit(data, new FitOptions { Epochs = 2, ValidationSplit = 0.25, Callbacks = [keras] });
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"weights.02-{history.Epochs[1].ValidationLoss:0.00}.ncm"), Path.GetFileName(keras.LastSavedPath));
        Assert.Equal("0.000e+00", ModelCheckpoint.FormatValue(0.0, ".3e"));

        // A value the training does not report is refused before the first epoch, not written as "NaN".
        int trained = model.EpochsTrained;
        var missing = Assert.Throws<InvalidOperationException>(() =>
            model.Fit(data, new FitOptions { Epochs = 3, InitialEpoch = 2, Callbacks = [new ModelCheckpoint(Path.Combine(_folder, "m-{val_loss:0.000}.ncm"))] }));
        Assert.Contains("'val_loss'", missing.Message, StringComparison.Ordinal);
        Assert.Equal(trained, model.EpochsTrained);

        var bad = Assert.Throws<ArgumentException>(() => new ModelCheckpoint("m-{epoch:abc}.ncm"));
        Assert.Contains("{epoch:abc}", bad.Message, StringComparison.Ordinal);

        // Formats with no digit placeholder printed no value ("m-,.ncm"), so every epoch overwrote one file. ("%" alone,
        // refused for that too, is now Python's percent with 6 decimals.)
        foreach (string format in new[] { ",", "-", "e+" })
        {
            Assert.Throws<ArgumentException>(() => new ModelCheckpoint($"m-{{val_accuracy:{format}}}.ncm"));
        }

        Assert.Equal("0.5%", ModelCheckpoint.FormatValue(0.005, "0.0%"));

        // Doubled braces are literal, as in Python's format strings (Keras's paths).
        var braces = new ModelCheckpoint(Path.Combine(_folder, "m-{{epoch}}-{epoch}.ncm"));
        model.Fit(data, new FitOptions { Epochs = 3, InitialEpoch = 2, ValidationSplit = 0.25, Callbacks = [braces] });
        Assert.Equal("m-{epoch}-3.ncm", Path.GetFileName(braces.LastSavedPath));

        // A path that is a folder, or a file name too long, is refused before an epoch trains (it failed after one).
        trained = model.EpochsTrained;
        var folder = Assert.Throws<IOException>(() =>
            model.Fit(data, new FitOptions { Epochs = trained + 1, InitialEpoch = trained, Callbacks = [new ModelCheckpoint(_folder + Path.DirectorySeparatorChar)] }));
        Assert.Contains("is a folder: a checkpoint must be a file", folder.Message, StringComparison.Ordinal);
        Assert.Throws<IOException>(() =>
            model.Fit(data, new FitOptions { Epochs = trained + 1, InitialEpoch = trained, Callbacks = [new ModelCheckpoint(_folder)] }));
        Assert.Equal(trained, model.EpochsTrained);

        // At the boundary: a file name may have 255 bytes (the temporary name a save writes first is cut to fit). A
        // prefix whose epoch-9 name just fits is refused for a run that reaches epoch 10, before training.
        string prefix = new('m', 255 - "-9.ncm".Length);
        var tooLong = Assert.Throws<PathTooLongException>(() =>
            model.Fit(data, new FitOptions { Epochs = 10, InitialEpoch = 9, Callbacks = [new ModelCheckpoint(Path.Combine(_folder, prefix + "-{epoch}.ncm"))] }));
        Assert.Contains("can reach 256 bytes", tooLong.Message, StringComparison.Ordinal);
        Assert.Equal(trained, model.EpochsTrained);
        var fits = new ModelCheckpoint(Path.Combine(_folder, prefix + "-{epoch}.ncm"));
        model.Fit(data, new FitOptions { Epochs = 9, InitialEpoch = 8, Callbacks = [fits] });
        Assert.True(File.Exists(fits.LastSavedPath));

        // Bytes, not characters: 126 é take 252 bytes. And an unformatted value may print 24 characters.
        Assert.Throws<PathTooLongException>(() => model.Fit(data, new FitOptions
        {
            Epochs = 10,
            InitialEpoch = 9,
            Callbacks = [new ModelCheckpoint(Path.Combine(_folder, new string('é', 126) + ".ncm"))],
        }));
        Assert.Throws<PathTooLongException>(() => model.Fit(data, new FitOptions
        {
            Epochs = 10,
            InitialEpoch = 9,
            Callbacks = [new ModelCheckpoint(Path.Combine(_folder, new string('m', 230) + "-{loss}.ncm"))],
        }));
    }

    [Fact]
    public void A_value_that_formats_longer_than_a_file_name_may_be_is_named_at_its_epoch()
    {
        // A fixed-point format has no length bound: a loss of 1e250 in .2f passed the check before training (which
        // measures ordinary values) and failed in the file system with an error that named neither.
        var model = new Sequential(2, 4).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(0.1f));
        var context = new TrainingContext(model, 3, 1, 32, new History(), ["loss"]);
        var checkpoint = new ModelCheckpoint(Path.Combine(_folder, "m-{epoch}-{loss:.2f}.ncm"));
        checkpoint.OnTrainBegin(context);
        checkpoint.OnEpochEnd(new EpochMetrics(1, 0.5, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = 0.5 } }, context);
        Assert.Equal("m-1-0.50.ncm", Path.GetFileName(checkpoint.LastSavedPath));

        var huge = new EpochMetrics(2, 1e250, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = 1e250 } };
        var e = Assert.Throws<PathTooLongException>(() => checkpoint.OnEpochEnd(huge, context));
        Assert.Contains("file name for epoch 2 ('m-2-", e.Message, StringComparison.Ordinal);
        Assert.Contains("(.4g or .4e, not .4f)", e.Message, StringComparison.Ordinal);
        Assert.Equal(["m-1-0.50.ncm"], Directory.GetFiles(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public void Checkpoint_with_an_initial_threshold_saves_only_what_beats_it()
    {
        var (model, data) = Setup();
        var unbeatable = new ModelCheckpoint(Path.Combine(_folder, "never.ncm"), monitor: "val_accuracy", saveBestOnly: true, initialValueThreshold: 1.01);
        model.Fit(data, new FitOptions { Epochs = 2, ValidationSplit = 0.25, Callbacks = [unbeatable] });
        Assert.Null(unbeatable.LastSavedPath);
        Assert.False(File.Exists(Path.Combine(_folder, "never.ncm")));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelCheckpoint("m.ncm", initialValueThreshold: double.NaN));
    }

    [Fact]
    public void Checkpoint_refuses_unknown_values_and_bad_formats()
    {
        var unknown = Assert.Throws<ArgumentException>(() => new ModelCheckpoint("m-{val_f1}.ncm"));
        Assert.Contains("'{val_f1}'", unknown.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ModelCheckpoint("m.ncm", monitor: "val_f1"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelCheckpoint("m.ncm", mode: (MonitorMode)7));

        // A monitored value that training does not report is named, with the remedy.
        var (model, data) = Setup();
        var ex = Assert.Throws<InvalidOperationException>(() => model.Fit(data, new FitOptions
        {
            Epochs = 1,
            Callbacks = [new ModelCheckpoint(Path.Combine(_folder, "m.ncm"), saveBestOnly: true)],
        }));
        Assert.Contains("ModelCheckpoint monitors 'val_loss'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mode_max_on_a_loss_keeps_the_worst_epoch()
    {
        var (model, data) = Setup();
        var worst = new ModelCheckpoint(Path.Combine(_folder, "worst.ncm"), monitor: "loss", saveBestOnly: true, mode: MonitorMode.Max);
        History history = model.Fit(data, new FitOptions { Epochs = 3, Callbacks = [worst] });
        int highest = history.Epochs.MaxBy(e => e.Loss)!.Epoch;
        Assert.Equal(highest, worst.BestEpoch);
    }

    /// <summary>Drives an <see cref="EarlyStopping"/> with scripted val_loss values; returns the epoch it stopped at (0: none).</summary>
    private static int StopsAt(EarlyStopping stopper, params double[] valLosses) => StopsAt(stopper, new History(), valLosses);

    private static int StopsAt(EarlyStopping stopper, History history, params double[] valLosses)
    {
        var model = new Sequential(2, 4).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(0.1f));
        var context = new TrainingContext(model, valLosses.Length, 1, 32, history, ["loss", "val_loss"]);
        stopper.OnTrainBegin(context);
        for (int epoch = 1; epoch <= valLosses.Length && !context.StopRequested; epoch++)
        {
            var values = new Dictionary<string, double> { ["loss"] = 1, ["val_loss"] = valLosses[epoch - 1] };
            stopper.OnEpochEnd(new EpochMetrics(epoch, 1, double.NaN, valLosses[epoch - 1], null, 0) { Values = values }, context);
        }

        return stopper.StoppedEpoch;
    }

    [Fact]
    public void Early_stopping_used_for_a_second_training_starts_over()
    {
        // Keras's on_train_begin resets the best and the wait: a second Fit with the same callback, from a higher loss,
        // must not stop at once against the first training's best.
        var stopper = new EarlyStopping("val_loss", patience: 1);
        Assert.Equal(2, StopsAt(stopper, 0.1, 0.2, 0.3));
        Assert.Equal(0, StopsAt(stopper, 1.0, 0.9, 0.8));
        Assert.Equal(3, stopper.BestEpoch);
    }

    [Fact]
    public void Early_stopping_counts_a_nan_as_no_improvement_instead_of_a_missing_value()
    {
        // A NaN val_loss was read as "not reported" and Fit threw "EarlyStopping monitors 'val_loss', which this training
        // does not report". Keras counts it as no improvement: here it stops at epoch 4, the best being epoch 2.
        var stopper = new EarlyStopping("val_loss", patience: 2);
        var stopped = new History();
        Assert.Equal(4, StopsAt(stopper, stopped, 1.0, 0.9, double.NaN, double.NaN, double.NaN));
        Assert.Equal(2, stopper.BestEpoch);
        // The training loss stayed finite: the validation data's outputs overflow, which was called a divergence.
        Assert.Contains("val_loss is NaN (the validation loss is not finite while the training loss is", stopped.StopReason, StringComparison.Ordinal);

        // The realistic case: one validation sample, whose R² is NaN (undefined), monitored by name.
        var random = new Random(3);
        float[] x = [.. Enumerable.Range(0, 20).Select(_ => (float)random.NextDouble())];
        float[] y = [.. Enumerable.Range(0, 10).Select(i => x[2 * i] - x[(2 * i) + 1])];
        var model = new Sequential(2, seed: 1).Add(new Dense(4)).Add(new Relu()).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Adam(0.01f), metrics: ["mae", "r2"]);
        var onR2 = new EarlyStopping("val_r2", patience: 1);
        History history = model.Fit(new Dataset(x, y, 2, 1), new FitOptions { Epochs = 4, BatchSize = 4, ValidationSplit = 0.1, Callbacks = [onR2] });
        Assert.True(double.IsNaN(history.Epochs[0].Get("val_r2")!.Value));
        Assert.Equal(2, onR2.StoppedEpoch);
        Assert.Equal(0, onR2.BestEpoch);
        Assert.Contains("no epoch improved", history.StopReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Early_stopping_takes_keras_baseline_and_start_from_epoch()
    {
        // Improving epochs that never beat the baseline do not start the patience over (Keras's order: the count goes up
        // first, an improvement beyond the baseline resets it), so the first epoch that does not improve stops it.
        Assert.Equal(3, StopsAt(new EarlyStopping("val_loss", patience: 2, baseline: 0.5), 0.9, 0.8, 0.85, 0.7, 0.6));
        Assert.Equal(0, StopsAt(new EarlyStopping("val_loss", patience: 2), 0.9, 0.8, 0.85, 0.7, 0.6));
        Assert.Equal(0, StopsAt(new EarlyStopping("val_loss", patience: 2, baseline: 0.85), 0.9, 0.8, 0.85, 0.7, 0.6));

        // The warm-up epochs are not monitored at all: their low values are neither the best nor a reason to stop.
        var warm = new EarlyStopping("val_loss", patience: 1, startFromEpoch: 2);
        Assert.Equal(4, StopsAt(warm, 0.5, 0.4, 1.0, 1.1, 1.2));
        Assert.Equal(3, warm.BestEpoch);
        var cold = new EarlyStopping("val_loss", patience: 1);
        Assert.Equal(3, StopsAt(cold, 0.5, 0.4, 1.0, 1.1, 1.2));
        Assert.Equal(2, cold.BestEpoch);

        Assert.Equal("startFromEpoch", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(startFromEpoch: -1)).ParamName);
        Assert.Equal("baseline", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(baseline: double.NaN)).ParamName);
    }

    [Fact]
    public void The_first_monitored_value_is_the_first_best_even_when_infinite_as_in_keras()
    {
        // Keras's best starts as None, so its first value is the best whatever it is (_is_improvement returns True).
        // Starting from +inf here made an infinite first value no improvement: EarlyStopping's patience ran out one
        // epoch early with no best epoch, ReduceLROnPlateau reduced one epoch early, and a best-only ModelCheckpoint
        // did not save the first epoch.
        var stopper = new EarlyStopping("val_loss", patience: 2);
        double inf = double.PositiveInfinity;
        Assert.Equal(3, StopsAt(stopper, inf, inf, inf, inf, inf));
        Assert.Equal(1, stopper.BestEpoch);

        var model = new Sequential(2, 4).Add(new Dense(4));
        var sgd = new Sgd(1f);
        model.Compile(new SoftmaxCrossEntropy(), sgd);
        var context = new TrainingContext(model, 3, 1, 32, new History(), ["loss"]);
        var plateau = new ReduceLROnPlateau("loss", factor: 0.5f, patience: 2);
        plateau.OnTrainBegin(context);
        var rates = new List<float>();
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            plateau.OnEpochEnd(new EpochMetrics(epoch, inf, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = inf } }, context);
            rates.Add(sgd.LearningRate);
        }

        Assert.Equal([1f, 1f, 0.5f], rates);

        var checkpoint = new ModelCheckpoint(Path.Combine(_folder, "best-{epoch}.ncm"), monitor: "loss", saveBestOnly: true);
        checkpoint.OnTrainBegin(context);
        checkpoint.OnEpochEnd(new EpochMetrics(1, inf, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = inf } }, context);
        Assert.Equal(1, checkpoint.BestEpoch);
        Assert.Equal("best-1.ncm", Path.GetFileName(checkpoint.LastSavedPath));

        // A NaN is still never the best (Keras would take it, and then nothing could beat it).
        var nan = new ModelCheckpoint(Path.Combine(_folder, "nan-{epoch}.ncm"), monitor: "loss", saveBestOnly: true);
        nan.OnTrainBegin(context);
        nan.OnEpochEnd(new EpochMetrics(1, double.NaN, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = double.NaN } }, context);
        Assert.Null(nan.LastSavedPath);
        nan.OnEpochEnd(new EpochMetrics(2, 0.5, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = 0.5 } }, context);
        Assert.Equal(2, nan.BestEpoch);
    }

    [Fact]
    public void Min_delta_is_applied_with_kerass_arithmetic()
    {
        // Keras: monitor_op(current - min_delta, best), min_delta negated in min mode, so 0.4 to 0.3 with a delta of 0.1
        // is 0.3 + 0.1 < 0.4: false (in double, and in float32 as TensorFlow and JAX compare), no improvement. Computed
        // as 0.3 < 0.4 - 0.1 (0.30000000000000004) it was one: EarlyStopping stopped an epoch late, ReduceLROnPlateau
        // did not reduce.
        Assert.Equal(2, StopsAt(new EarlyStopping("val_loss", patience: 1, minDelta: 0.1), 0.4, 0.3, 0.3));

        var model = new Sequential(2, 4).Add(new Dense(4));
        var sgd = new Sgd(1f);
        model.Compile(new SoftmaxCrossEntropy(), sgd);
        var context = new TrainingContext(model, 2, 1, 32, new History(), ["loss"]);
        var plateau = new ReduceLROnPlateau("loss", factor: 0.5f, patience: 1, minDelta: 0.1);
        plateau.OnTrainBegin(context);
        foreach ((int epoch, double loss) in new[] { (1, 0.4), (2, 0.3) })
        {
            plateau.OnEpochEnd(new EpochMetrics(epoch, loss, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = loss } }, context);
        }

        Assert.Equal(0.5f, sgd.LearningRate);
    }

    [Fact]
    public void A_stop_asked_after_a_step_ends_the_epoch_there_as_kerass_stop_training()
    {
        // Keras's fit loop breaks out of the epoch's steps once a callback sets stop_training, then validates and runs
        // on_epoch_end. The request was only read between epochs here, so the epoch ran its remaining steps.
        var (model, data) = Setup(128);
        var ends = new List<int>();
        var stopper = new LambdaCallback(
            onBatchEnd: (epoch, step, _, context) =>
            {
                if (epoch == 1 && step == 2)
                {
                    context.StopTraining("stopped at step 2");
                }
            },
            onEpochEnd: (metrics, _) => ends.Add(metrics.Epoch));
        History history = model.Fit(data, new FitOptions { Epochs = 3, BatchSize = 32, ValidationSplit = 0.25, Callbacks = [stopper] });
        Assert.Equal(2, model.Optimizer!.Iterations);
        Assert.Equal([1], ends);
        Assert.Single(history.Epochs);
        Assert.NotNull(history.Epochs[0].ValidationLoss);
        Assert.Equal("stopped at step 2", history.StopReason);
    }

    [Fact]
    public void Reduce_lr_on_plateau_multiplies_the_rate_by_its_factor_in_double_as_keras()
    {
        // Keras: new_lr = float(lr) * factor with a Python float factor, stored in the float32 variable. A float factor
        // (0.1f) multiplied in float gave 0.0010000000474974513 for 0.01 where Keras gives 0.0009999999310821295.
        var model = new Sequential(2, 4).Add(new Dense(4));
        var sgd = new Sgd(0.01f);
        model.Compile(new SoftmaxCrossEntropy(), sgd);
        var context = new TrainingContext(model, 2, 1, 32, new History(), ["loss"]);
        var plateau = new ReduceLROnPlateau("loss", factor: 0.1, patience: 1);
        plateau.OnTrainBegin(context);
        foreach (int epoch in new[] { 1, 2 })
        {
            plateau.OnEpochEnd(new EpochMetrics(epoch, 1.0, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = 1.0 } }, context);
        }

        Assert.Equal(0.0009999999310821295f, sgd.LearningRate);
    }

    [Fact]
    public void Null_callbacks_and_bad_verbosity_are_refused_by_name()
    {
        var (model, data) = Setup();
        var none = Assert.Throws<ArgumentException>(() => model.Fit(data, new FitOptions { Callbacks = null! }));
        Assert.Contains("FitOptions.Callbacks is null", none.Message, StringComparison.Ordinal);
        var entry = Assert.Throws<ArgumentException>(() => model.Fit(data, new FitOptions { Callbacks = [null!] }));
        Assert.Contains("FitOptions.Callbacks[0] is null", entry.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => model.Fit(data, new FitOptions { Verbose = 3 }));
    }

    [Fact]
    public void Roc_curves_of_a_trained_model()
    {
        var (model, data) = Setup();
        model.Fit(data, new FitOptions { Epochs = 5 });
        MulticlassRoc roc = model.RocCurves(data);
        Assert.Equal(4, roc.Classes.Count);
        Assert.True(roc.MacroAuc > 0.99, $"macro AUC {roc.MacroAuc} on separable blobs");

        // One output: class 1 is scored by the probability, class 0 by one minus it, so both curves have the same area.
        var (x, y) = FitTests.Blobs(300, seed: 2);
        int[] binary = [.. y.Select(c => c % 2)];
        var logistic = new Sequential(2, seed: 3).Add(new Dense(1));
        logistic.Compile(new BinaryCrossentropy(fromLogits: true), new Adam(0.05f));
        var both = new Dataset(x, binary, 2);
        logistic.Fit(both, new FitOptions { Epochs = 10 });
        MulticlassRoc two = logistic.RocCurves(both);
        float[] p = logistic.Predict(both);
        Assert.Equal(RocCurve.Compute(p, [.. binary.Select(b => b == 1)]).Auc, two.Classes[1].Auc, 12);
        Assert.Equal(two.Classes[1].Auc, two.Classes[0].Auc, 12);
    }

    [Fact]
    public void Roc_curves_of_one_output_keep_the_order_of_probabilities_whose_complement_rounds_to_one()
    {
        // Sigmoid probabilities of 2.8e-10 to 3.4e-9: 1 - p is 1.0f for every one of them, so class 0 scored by 1 - p in
        // float tied them all (its AUC 0.5 against class 1's 1.0, the micro AUC 0.625 against 0.75).
        var model = new Sequential(1, seed: 1).Add(new Dense(1));
        model.Compile(new BinaryCrossentropy(fromLogits: true), new Adam());
        var layer = (Dense)model.Layers[0];
        layer.Weights.Span[0] = 1;
        layer.Bias.Span[0] = 0;
        var data = new Dataset([-22f, -21f, -20f, -19.5f], [0, 0, 1, 1], 1);
        Assert.All(model.Predict(data), p => Assert.Equal(1f, 1f - p));

        MulticlassRoc roc = model.RocCurves(data);
        Assert.Equal(1.0, roc.Classes[1].Auc);
        Assert.Equal(1.0, roc.Classes[0].Auc);
        // Decisions ranked: the two class-0 positives (1 - 2.8e-10, 1 - 7.6e-10), the two class-0 negatives, then the
        // class-1 positives (3.4e-9, 2.1e-9) above its negatives: (4 + 4 + 2 + 2) / 16.
        Assert.Equal(0.75, roc.MicroAuc, 12);
    }
}

/// <summary>FitOptions.Verbose writes to the console: alone in the serial collection, so no other test's output mixes in.</summary>
[Collection(SerialTests.Name)]
public sealed class ConsoleVerboseTests
{
    [Fact]
    public void Verbose_in_fit_options_prints_to_the_console()
    {
        var (x, y) = FitTests.Blobs(400, seed: 5);
        Sequential model = FitTests.Model();
        TextWriter original = Console.Out;
        var text = new StringWriter();
        Console.SetOut(text);
        try
        {
            model.Fit(new Dataset(x, y, 2), new FitOptions { Epochs = 2, Verbose = 2 });
        }
        finally
        {
            Console.SetOut(original);
        }

        string[] lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Count(l => l.Contains(" - 13 steps - ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("Epoch 2/2 - 13 steps - ", StringComparison.Ordinal));
    }
}
